package probe

import (
	"net"
	"testing"
	"time"
)

// TestHostileTargetsCostAtMostTheTimeout checks that slow and hostile
// targets end within the attempt's timeout (with slack for a busy machine)
// and leave no goroutine or descriptor behind.
func TestHostileTargetsCostAtMostTheTimeout(t *testing.T) {
	checkLeaks(t)
	const timeout = 1500 * time.Millisecond
	port := func(h func(<-chan struct{}, net.Conn)) int {
		s := startRaw(t, "tcp4", "127.0.0.1:0", h)
		_, p := s.addr(t)
		return p
	}
	silent := port(stall)
	trickleHTTP := port(func(done <-chan struct{}, c net.Conn) {
		readHeaders(c)
		trickle("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")(done, c)
	})
	trickleSMTP := port(trickle("220 mail.example.com ESMTP\r\n"))
	trickleBody := port(func(done <-chan struct{}, c net.Conn) {
		readHeaders(c)
		trickle("HTTP/1.1 200 OK\r\n\r\nslowly, very slowly")(done, c)
	})
	endless := port(endlessBody)
	probers := Probers(ProberOptions{})
	tests := []struct {
		name     string
		tg       Target
		up       bool
		msg      string
		quick    bool // ends well before the timeout
		attempts int
	}{
		{"HTTP accepts and never answers", Target{Protocol: HTTP, Port: silent}, false, "timeout after 1.5s", false, 1},
		{"HTTPS handshake stalls", Target{Protocol: HTTPS, Port: silent}, false, "timeout after 1.5s", false, 1},
		{"SMTP never sends a banner", Target{Protocol: SMTP, Port: silent}, false, "timeout after 1.5s", false, 1},
		{"HTTP headers trickle a byte a second", Target{Protocol: HTTP, Port: trickleHTTP}, false, "timeout after 1.5s", false, 1},
		{"HTTP body trickles, expected set", Target{Protocol: HTTP, Port: trickleBody, Expected: "never"}, false, "timeout after 1.5s", false, 1},
		{"SMTP banner trickles", Target{Protocol: SMTP, Port: trickleSMTP}, false, "timeout after 1.5s", false, 1},
		{"endless body, expected set: 64 KiB read", Target{Protocol: HTTP, Port: endless, Expected: "needle"}, false, "expected string not found", true, 1},
		{"endless body, no expected: not read", Target{Protocol: HTTP, Port: endless}, true, "HTTP 200", true, 1},
		{"retries each bounded", Target{Protocol: HTTP, Port: silent, Retries: 1}, false, "timeout after 1.5s", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the parent's leak check runs after every subtest
			tt.tg.Address, tt.tg.Interval, tt.tg.Timeout = "127.0.0.1", time.Minute, timeout
			start := time.Now()
			r := Round(t.Context(), tt.tg, probers[tt.tg.Protocol])
			took := time.Since(start)
			if r.Up != tt.up || r.Message != tt.msg || r.Attempts != tt.attempts {
				t.Errorf("up=%v msg=%q attempts=%d, want %v %q %d", r.Up, r.Message, r.Attempts, tt.up, tt.msg, tt.attempts)
			}
			limit := time.Duration(tt.attempts)*timeout + time.Second
			if tt.quick {
				limit = timeout
			}
			if took > limit {
				t.Errorf("took %v, limit %v", took, limit)
			}
		})
	}
}
