package notify

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zaptest"
)

// startDispatcher runs d until the test ends and waits for Run to return.
func startDispatcher(t *testing.T, d *Dispatcher) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	return cancel
}

// udpReceiver listens on loopback UDP and returns its port and a channel
// of received datagrams.
func udpReceiver(t *testing.T) (int, <-chan string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 100)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr).Port, ch
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no message received")
		return ""
	}
}

func TestDispatcherSendsSyslogOverUDP(t *testing.T) {
	port, ch := udpReceiver(t)
	reg := prometheus.NewRegistry()
	d := NewDispatcher(Options{Hostname: "ns1.example.net"}, zaptest.NewLogger(t), reg)
	startDispatcher(t, d)
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: port, Facility: "local3", Ident: "gslb"}}
	v := fullVars()
	v.Time = time.Date(2026, 11, 23, 6, 0, 0, 0, time.Local)
	d.Publish(Event{Kind: KindIP, Service: "app.example.com.", NewStatus: "down", Vars: v}, route)
	d.Publish(Event{Kind: KindRound, Service: "app.example.com.", Vars: v}, route) // delivery change: silent
	v.Status = "ok"
	d.Publish(Event{Kind: KindSvc, Service: "app.example.com.", Vars: v}, route)

	want := []string{
		"<155>Nov 23 06:00:00 ns1.example.net gslb: ns1.example.net probe " + v.Time.UTC().Format(time.RFC3339) +
			": iad down 0.012 connection refused 192.0.2.10",
		"<158>Nov 23 06:00:00 ns1.example.net gslb: ns1.example.net status " + v.Time.UTC().Format(time.RFC3339) +
			": US East ok 2026112305 192.0.2.10,192.0.2.11",
	}
	for _, w := range want {
		if got := recv(t, ch); got != w {
			t.Errorf("got  %q\nwant %q", got, w)
		}
	}
	waitFor(t, func() bool { return value(d.sent.WithLabelValues("syslog")) == 2 })
}

func TestPublishNeverBlocksAndCountsDrops(t *testing.T) {
	reg := prometheus.NewRegistry()
	// Run is not started: nothing drains the queue of size 2.
	d := NewDispatcher(Options{Hostname: "h", QueueSize: 2}, zaptest.NewLogger(t), reg)
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: 9, Delivery: "all"}}
	for i := range 50 {
		d.Publish(Event{Kind: KindRound, Vars: Vars{Address: strconv.Itoa(i)}}, route)
	}
	if got := value(d.dropped.WithLabelValues("syslog")); got != 48 {
		t.Errorf("dropped = %v, want 48", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not reached in 10s")
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// tcpCounter accepts TCP syslog connections and counts octet-counted frames.
func tcpCounter(t *testing.T) (int, func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := bufio.NewReader(c)
				for {
					if _, err := readOctetCounted(br); err != nil {
						return
					}
					mu.Lock()
					n++
					mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().(*net.TCPAddr).Port, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestRunDrainsQueuedMessagesOnShutdown(t *testing.T) {
	port, count := tcpCounter(t)
	d := NewDispatcher(Options{Hostname: "h"}, zaptest.NewLogger(t), prometheus.NewRegistry())
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: port, Transport: "tcp", Delivery: "all"}}
	for i := range 100 {
		d.Publish(Event{Kind: KindRound, Vars: Vars{Address: strconv.Itoa(i)}}, route)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run starts already told to stop: it must still drain the queue.
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if sent := value(d.sent.WithLabelValues("syslog")); sent != 100 {
		t.Errorf("sent = %v, want 100", sent)
	}
	waitFor(t, func() bool { return count() == 100 })
	// After Run, Publish still returns and counts the loss.
	d.Publish(Event{Kind: KindRound}, route)
	if n := value(d.dropped.WithLabelValues("syslog")); n != 1 {
		t.Errorf("dropped after stop = %v, want 1", n)
	}
}

func TestRunGivesUpDrainingADeadSinkAtTheDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	d := NewDispatcher(Options{Hostname: "h", DrainTimeout: 300 * time.Millisecond,
		Retry: Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond, MaxAttempts: 1 << 20}},
		zaptest.NewLogger(t), prometheus.NewRegistry())
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: port, Transport: "tcp"}}
	for range 5 {
		d.Publish(Event{Kind: KindIP}, route)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, func() bool { return value(d.failed.WithLabelValues("syslog")) > 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the drain deadline")
	}
	if n := value(d.dropped.WithLabelValues("syslog")); n != 5 {
		t.Errorf("dropped = %v, want 5", n)
	}
}

func TestStalledReceiverNeverDelaysPublish(t *testing.T) {
	// The receiver accepts connections and never reads: writes pile up in
	// the kernel and then block.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	d := NewDispatcher(Options{Hostname: "h", QueueSize: 10, SyslogTimeout: 30 * time.Second, DrainTimeout: 200 * time.Millisecond},
		zaptest.NewLogger(t), prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Transport: "tcp", Delivery: "all"}}
	big := strings.Repeat("x", 4000)
	const total = 3000 // ~12 MB: more than loopback socket buffers hold
	for i := range total {
		d.Publish(Event{Kind: KindRound, Vars: Vars{Message: big, Address: strconv.Itoa(i)}}, route)
	}
	// Every Publish returned while the sink was stuck; the excess is counted.
	if value(d.dropped.WithLabelValues("syslog")) == 0 {
		t.Error("no drop counted although the queue overflowed")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	// Nothing is lost silently: each message was either handed to the
	// socket or counted as dropped.
	if sent, dropped := value(d.sent.WithLabelValues("syslog")), value(d.dropped.WithLabelValues("syslog")); sent+dropped != total {
		t.Errorf("sent %v + dropped %v != %d", sent, dropped, total)
	}
}
