package notify

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

func TestEscapeWritesOutControlCharacters(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"printable ASCII is kept", "HTTP 503: Service Unavailable", "HTTP 503: Service Unavailable"},
		{"UTF-8 text is kept", "certificate for ünïcödé.example ✓", "certificate for ünïcödé.example ✓"},
		{"CR and LF are written as \\r and \\n", "a\r\nb", `a\r\nb`},
		{"tab is written as \\t", "a\tb", `a\tb`},
		{"other C0 controls are written as \\xHH", "a\x00b\x1bc\x07", `a\x00b\x1bc\x07`},
		{"DEL is written as \\x7f", "a\x7fb", `a\x7fb`},
		{"C1 controls are written as \\u00HH", "a\u0085b\u009bc", `a\u0085b\u009bc`},
		{"bytes that are not UTF-8 are written as \\xHH", "a\xff\xfeb", `a\xff\xfeb`},
		{"a backslash is kept", `C:\path`, `C:\path`},
		{"empty stays empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Escape(tc.in); got != tc.want {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestProbeMessageIsCappedAt512BytesOnABoundary(t *testing.T) {
	tests := []struct {
		name string
		msg  string
	}{
		{"exactly 512 bytes is kept whole", strings.Repeat("a", MaxMessageBytes)},
		{"60 KB of ASCII", strings.Repeat("x", 60<<10)},
		{"60 KB of 3-byte characters", strings.Repeat("€", 20<<10)},
		{"60 KB of escapes", strings.Repeat("\r\n\x00", 20<<10)},
		{"an escape straddling the cut", strings.Repeat("a", 508) + "\x00bbbb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Format("%msg", Vars{Message: tc.msg})
			got = strings.TrimSuffix(got, " ")
			if len(got) > MaxMessageBytes {
				t.Fatalf("rendered %%msg has %d bytes, cap is %d", len(got), MaxMessageBytes)
			}
			if !utf8.ValidString(got) {
				t.Errorf("cut inside a character: %q", got[len(got)-8:])
			}
			esc := Escape(tc.msg)
			if len(esc) <= MaxMessageBytes {
				if got != esc {
					t.Errorf("a message within the cap was changed: %q", got)
				}
				return
			}
			if !strings.HasSuffix(got, truncatedMarker) {
				t.Fatalf("cut message lacks the marker: %q", got[len(got)-8:])
			}
			kept := strings.TrimSuffix(got, truncatedMarker)
			if !strings.HasPrefix(esc, kept) {
				t.Errorf("cut message is not a prefix of the escaped message")
			}
			if strings.HasSuffix(kept, `\`) || strings.HasSuffix(kept, `\x`) || strings.HasSuffix(kept, `\x0`) {
				t.Errorf("cut inside an escape: %q", kept[len(kept)-8:])
			}
		})
	}
}

// hostileVars is what a hostile target can put in a probe's message: a
// forged syslog line, forged mail headers and an SMTP end of data.
func hostileVars() Vars {
	v := fullVars()
	v.Message = "refused\n<11>Nov 23 06:00:00 ns1 dynect: forged\r\nSubject: forged\r\n.\r\nMAIL FROM:<x@evil>\x1b[2J" + strings.Repeat("A", 60<<10)
	return v
}

func TestHostileProbeMessageCannotForgeSyslogLines(t *testing.T) {
	port, ch := udpReceiver(t)
	d := NewDispatcher(Options{Hostname: "ns1.example.net"}, zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: port, Protocol: ProtocolRFC5424}}
	d.Publish(Event{Kind: KindIP, Service: "www.example.com.", Address: "192.0.2.1", NewStatus: "down", Vars: hostileVars()}, route)
	frame := recv(t, ch)
	if strings.ContainsAny(frame, "\r\n\x1b") {
		t.Errorf("control characters reached the frame: %q", frame)
	}
	if !strings.Contains(frame, `refused\n<11>Nov 23`) || !strings.Contains(frame, `forged\r\nSubject`) {
		t.Errorf("escaped message missing from %q", frame)
	}
	if len(frame) > 1024 {
		t.Errorf("frame has %d bytes: %%msg was not capped", len(frame))
	}
}

func TestHostileProbeMessageCannotForgeMailHeaders(t *testing.T) {
	srv := &smtpServer{}
	startSMTP(t, srv, "127.0.0.1:0")
	d := mailDispatcher(t, SMTPOptions{Server: srv.addr(), StartTLS: StartTLSNever})
	d.Publish(Event{Kind: KindIP, Service: "www.example.com.", Address: "192.0.2.1", NewStatus: "down", Vars: hostileVars()},
		Route{Emails: contact[:1], NotifyEvents: []string{KindIP}})
	m := srv.waitMails(1)[0]
	if m.Subject != "failoverd: www.example.com. address 192.0.2.1 (US East) is down" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.From != "failoverd@example.net" {
		t.Errorf("envelope from %q", m.From)
	}
	var probeLine string
	for _, l := range strings.Split(m.Body, "\n") {
		if strings.HasPrefix(l, "Probe message:") {
			probeLine = strings.TrimRight(l, "\r")
		}
		if strings.HasPrefix(l, "Subject:") || strings.HasPrefix(l, "MAIL FROM") || strings.ContainsRune(l, '\x1b') {
			t.Errorf("forged line in the body: %q", l)
		}
	}
	if !strings.Contains(probeLine, `refused\n<11>`) || !strings.HasSuffix(probeLine, truncatedMarker) {
		t.Errorf("probe message line %q", probeLine)
	}
	if len(m.Body) > 2048 {
		t.Errorf("body has %d bytes: the probe message was not capped", len(m.Body))
	}
}

func TestQueueIsBoundedByBytesAsWellAsCount(t *testing.T) {
	// Run is not started: nothing drains the queue. 100 messages fit by
	// count; 4 KiB holds only a few frames of several hundred bytes.
	const budget = 4 << 10
	d := NewDispatcher(Options{Hostname: "h", QueueSize: 100, QueueBytes: budget}, zaptest.NewLogger(t), prometheus.NewRegistry())
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: 9, Delivery: DeliveryAll}}
	for i := range 100 {
		d.Publish(Event{Kind: KindRound, Vars: Vars{Address: strconv.Itoa(i), Message: strings.Repeat("m", 600)}}, route)
	}
	dropped := value(d.dropped.WithLabelValues("syslog"))
	if dropped == 0 {
		t.Fatal("no drop: the queue is bounded by count only")
	}
	d.mu.Lock()
	var q *queue
	for _, v := range d.syslogs {
		q = v
	}
	d.mu.Unlock()
	queued, bytes := len(q.ch), q.bytes.Load()
	if int(dropped)+queued != 100 {
		t.Errorf("dropped %v + queued %d != 100 published", dropped, queued)
	}
	if bytes > budget {
		t.Errorf("queue holds %d bytes, budget %d", bytes, budget)
	}
	var sum int64
	for range queued {
		sum += (<-q.ch).size()
	}
	if sum != bytes {
		t.Errorf("queue accounts %d bytes, holds %d", bytes, sum)
	}
}

func TestQueueBytesAreReleasedOnDelivery(t *testing.T) {
	port, ch := udpReceiver(t)
	d := NewDispatcher(Options{Hostname: "h", QueueBytes: 2 << 10}, zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: port, Delivery: DeliveryAll}}
	// Ten times the budget, one message at a time: each fits once the
	// previous one has left the queue.
	for i := range 40 {
		d.Publish(Event{Kind: KindRound, Vars: Vars{Address: strconv.Itoa(i), Message: strings.Repeat("m", 500)}}, route)
		recv(t, ch)
	}
	if n := value(d.dropped.WithLabelValues("syslog")); n != 0 {
		t.Errorf("dropped = %v: delivered bytes were not released", n)
	}
}

// silentListener accepts TCP connections and never writes to them.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestSMTPGreetingTimeoutBoundsASilentServer(t *testing.T) {
	addr := silentListener(t)
	// The session timeout and the context are long: only the greeting
	// timeout can end this attempt early.
	s, err := NewSMTP(SMTPOptions{Server: addr, From: "failoverd@example.test", StartTLS: StartTLSNever,
		Timeout: time.Minute, GreetingTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err = s.Deliver(ctx, Message{Mail: &Mail{To: []string{"ops@example.test"}, Subject: "s", Body: "b"}})
	took := time.Since(start)
	if err == nil {
		t.Fatal("delivery to a silent server succeeded")
	}
	if !strings.Contains(err.Error(), "no greeting") {
		t.Errorf("error %q does not say the server never greeted", err)
	}
	if took > 10*time.Second {
		t.Errorf("delivery took %v with a 200ms greeting timeout", took)
	}
}

func TestStalledMailSessionDoesNotHoldBackOtherMails(t *testing.T) {
	// The first session is accepted and never greeted; with long timeouts
	// it stays stalled for the whole test. A second worker must deliver
	// the second mail meanwhile.
	srv := &smtpServer{silent: 1}
	startSMTP(t, srv, "127.0.0.1:0")
	o := SMTPOptions{Server: srv.addr(), From: "failoverd@example.net", StartTLS: StartTLSNever,
		Timeout: 5 * time.Minute, GreetingTimeout: 5 * time.Minute}
	d := NewDispatcher(Options{
		Hostname:     "ns1.example.net",
		SMTP:         &o,
		SendTimeout:  5 * time.Minute,
		DrainTimeout: 100 * time.Millisecond, // the stalled session is cut at shutdown
	}, zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	route := Route{Emails: contact[:1], NotifyEvents: []string{KindIP}}
	d.Publish(Event{Kind: KindIP, Service: "a.example.com.", Address: "192.0.2.1", NewStatus: "down", Vars: Vars{Time: testTime}}, route)
	waitFor(t, func() bool { srv.mu.Lock(); defer srv.mu.Unlock(); return srv.sessions == 1 })
	d.Publish(Event{Kind: KindIP, Service: "b.example.com.", Address: "192.0.2.2", NewStatus: "down", Vars: Vars{Time: testTime}}, route)
	m := srv.waitMails(1)[0]
	if m.Subject != "failoverd: b.example.com. address 192.0.2.2 is down" {
		t.Errorf("subject %q", m.Subject)
	}
}
