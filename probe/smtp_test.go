package probe

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
)

func TestSMTPBanner(t *testing.T) {
	checkLeaks(t)
	p := Probers(ProberOptions{})[SMTP]
	start := func(greeting string) int {
		s := startRaw(t, "tcp4", "127.0.0.1:0", smtpBanner(greeting))
		_, port := s.addr(t)
		return port
	}
	single := start("220 mail.example.com ESMTP Postfix\r\n")
	multi := start("220-mail.example.com ESMTP\r\n220-welcome\r\n220 failoverd-ready\r\n")
	busy := start("421 4.3.2 Service not available\r\n")
	refused := start("554 5.7.1 No SMTP service here\r\n")
	multiBad := start("554-go away\r\n554 really\r\n")
	bare := start("220\r\n")
	junk := start("hello there\r\n")
	s6 := startRaw(t, "tcp6", "[::1]:0", smtpBanner("220 v6 ready\r\n"))
	_, v6 := s6.addr(t)
	tests := []struct {
		name     string
		addr     string
		port     int
		expected string
		up       bool
		msg      string
	}{
		{"220 is up", "127.0.0.1", single, "", true, "SMTP 220"},
		{"expected in banner", "127.0.0.1", single, "ESMTP Postfix", true, "SMTP 220"},
		{"expected is case-sensitive", "127.0.0.1", single, "esmtp", false, "expected string not found"},
		{"multi-line banner read whole", "127.0.0.1", multi, "failoverd-ready", true, "SMTP 220"},
		{"expected may include the code, as sent", "127.0.0.1", multi, "220-welcome", true, "SMTP 220"},
		{"greeting without a domain is malformed", "127.0.0.1", bare, "", false, `malformed SMTP reply: short response: "220"`},
		{"421 is down", "127.0.0.1", busy, "", false, "SMTP 421 4.3.2 Service not available"},
		{"554 is down even with expected present", "127.0.0.1", refused, "SMTP", false, "SMTP 554 5.7.1 No SMTP service here"},
		{"multi-line 5xx is down", "127.0.0.1", multiBad, "", false, "SMTP 554 go away"},
		{"not SMTP", "127.0.0.1", junk, "", false, `malformed SMTP reply: short response: "hello there"`},
		{"ipv6", "::1", v6, "ready", true, "SMTP 220"},
		{"fqdn", "localhost", single, "", true, "SMTP 220"},
		{"refused", "127.0.0.1", testutil.FreePort(t, "127.0.0.1"), "", false, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := Target{Protocol: SMTP, Address: tt.addr, Port: tt.port, Expected: tt.expected, Interval: time.Minute, Timeout: 3 * time.Second}
			r := Round(t.Context(), tg, p)
			if r.Up != tt.up || r.Message != tt.msg {
				t.Errorf("up=%v msg=%q, want %v %q", r.Up, r.Message, tt.up, tt.msg)
			}
		})
	}
}

func TestSMTPSaysQuit(t *testing.T) {
	checkLeaks(t)
	got := make(chan string, 1)
	s := startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, c net.Conn) {
		defer c.Close()
		_, _ = io.WriteString(c, "220-first\r\n220 ready\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "221 bye\r\n")
		got <- line
	})
	_, port := s.addr(t)
	r := Round(t.Context(), Target{Protocol: SMTP, Address: "127.0.0.1", Port: port, Interval: time.Minute, Timeout: 3 * time.Second}, Probers(ProberOptions{})[SMTP])
	if !r.Up {
		t.Fatalf("down: %q", r.Message)
	}
	select {
	case line := <-got:
		if line != "QUIT\r\n" {
			t.Errorf("client said %q, want QUIT", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server saw nothing")
	}
}

func TestSMTPBannerTooLongIsDown(t *testing.T) {
	checkLeaks(t)
	s := startRaw(t, "tcp4", "127.0.0.1:0", func(done <-chan struct{}, c net.Conn) {
		line := "220-" + strings.Repeat("x", 1000) + "\r\n"
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	})
	_, port := s.addr(t)
	r := Round(t.Context(), Target{Protocol: SMTP, Address: "127.0.0.1", Port: port, Interval: time.Minute, Timeout: 3 * time.Second}, Probers(ProberOptions{})[SMTP])
	if r.Up || r.Message != "SMTP banner too long" {
		t.Errorf("up=%v msg=%q", r.Up, r.Message)
	}
}
