package notify

import (
	"context"
	"net"
	"strconv"
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
