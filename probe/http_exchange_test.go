package probe

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startMinimalHTTP serves every connection one fixed 200 answer after the
// request's header, so that a benchmark measures the prober's CPU rather
// than a full net/http server's.
func startMinimalHTTP(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				tp := textproto.NewReader(bufio.NewReader(c))
				if _, err := tp.ReadLine(); err != nil { // request line
					return
				}
				if _, err := tp.ReadMIMEHeader(); err != nil {
					return
				}
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nhealth OK"))
			}()
		}
	}()
	tb.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port
}

// BenchmarkHTTPRound is one plain HTTP probe round on loopback: connect,
// GET, status rule and expected string, close. bench/probescale multiplies
// this cost by the number of targets. "round" is Round with the protocol's
// prober, which builds the request every round; "scheduled" is what the
// Scheduler runs, the request built once per target. cpu-ns/op is the
// process's CPU time (prober and the minimal server in it), which a loaded
// machine does not inflate as it does the wall time of ns/op.
func BenchmarkHTTPRound(b *testing.B) {
	port := startMinimalHTTP(b)
	po := ProberOptions{Version: "bench"}.withDefaults()
	tg := Target{Protocol: HTTP, Address: "127.0.0.1", Port: port, Path: "/health", StatusRule: Require2xx,
		Expected: "OK", Interval: 10 * time.Second, Timeout: 5 * time.Second}.WithDefaults()
	perCall, bound := po.probers()[HTTP], po.boundHTTP(tg)
	for _, bb := range []struct {
		name  string
		round func() Result
	}{
		{"round", func() Result { return Round(b.Context(), tg, perCall) }},
		{"scheduled", func() Result { return round(b.Context(), tg, "key", bound) }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, n := processCPU(), 0
			for b.Loop() {
				if r := bb.round(); !r.Up {
					b.Fatalf("round down: %s", r.Message)
				}
				n++
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestHTTPAnswerFraming checks what the probe's own request/answer exchange
// must keep from net/http's transport: informational answers are skipped,
// a header block is bounded, and every request asks to close.
func TestHTTPAnswerFraming(t *testing.T) {
	checkLeaks(t)
	answer := func(resp string) int {
		s := startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, c net.Conn) {
			defer c.Close() // the end of a body without a length
			readHeaders(c)
			_, _ = c.Write([]byte(resp))
		})
		_, p := s.addr(t)
		return p
	}
	hugeHeader := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", MaxBodyBytes+10) + "\r\n\r\n"
	tests := []struct {
		name string
		resp string
		up   bool
		msg  string
	}{
		{"100 continue is skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", true, "HTTP 200"},
		{"103 early hints is skipped", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", false, "HTTP 503"},
		{"too many informational answers", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", MaxInformational+1), false, "too many 1xx informational responses"},
		{"header block beyond the limit", hugeHeader, false, fmt.Sprintf("server response headers exceeded %d bytes; aborted", MaxBodyBytes)},
		{"body without length read to the close", "HTTP/1.1 200 OK\r\n\r\nall is OK", true, "HTTP 200"},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n", false, `malformed HTTP response "SSH-2.0-OpenSSH"`},
	}
	p := Probers(ProberOptions{})[HTTP]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := Target{Protocol: HTTP, Address: "127.0.0.1", Port: answer(tt.resp), Path: "/", StatusRule: Require2xx, Expected: "OK",
				Interval: time.Minute, Timeout: 5 * time.Second}
			r := Round(t.Context(), tg, p)
			if r.Up != tt.up || r.Message != tt.msg {
				t.Errorf("up=%v msg=%q, want %v %q", r.Up, r.Message, tt.up, tt.msg)
			}
		})
	}
}

// TestScheduledRoundSendsTheSameRequest checks that building a target's
// request once, as the Scheduler does, sends the bytes that building it
// every round sends, for every request option, and sends them again on
// the next round (a body read once would be missing from the second).
func TestScheduledRoundSendsTheSameRequest(t *testing.T) {
	checkLeaks(t)
	requests := make(chan string, 3)
	s := startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		var req strings.Builder
		length := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			req.WriteString(line)
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" {
				break
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		req.Write(body)
		requests <- req.String()
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"))
	})
	_, port := s.addr(t)
	po := ProberOptions{Version: "test"}.withDefaults()
	tests := []struct {
		name string
		tg   Target
	}{
		{"GET with defaults", Target{}},
		{"POST with a body, host and header lines", Target{Method: "post", Path: "status?full=1", Host: "www.example.com",
			Body: "a=1&b=2", Header: []string{"X-Probe: yes", "Accept: text/plain", "User-Agent: custom"}}},
		{"HEAD with a path that needs escaping", Target{Method: "HEAD", Path: "/a b/%41"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.tg
			tg.Protocol, tg.Address, tg.Port, tg.Interval, tg.Timeout = HTTP, "127.0.0.1", port, time.Minute, 3*time.Second
			tg = tg.WithDefaults()
			bound := po.boundHTTP(tg)
			var got [3]string
			for i, p := range []Func{po.probers()[HTTP], bound, bound} {
				if r := round(t.Context(), tg, tg.Key(), p); !r.Up {
					t.Fatalf("round %d: down: %s", i, r.Message)
				}
				select {
				case got[i] = <-requests:
				case <-time.After(5 * time.Second):
					t.Fatalf("round %d: the server saw no request", i)
				}
			}
			if got[1] != got[0] || got[2] != got[0] {
				t.Errorf("built every round:\n%s\nbuilt once, first round:\n%s\nsecond round:\n%s", got[0], got[1], got[2])
			}
			if !strings.Contains(got[0], "\r\nConnection: close\r\n") || !strings.HasSuffix(got[0], "\r\n\r\n"+tg.Body) {
				t.Errorf("request without Connection: close or its body:\n%s", got[0])
			}
		})
	}
}
