//go:build linux

package dnsserver

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// TestUDPReaderModesAnswerCountAndStop: in both reader modes (blocking
// recvmmsg outside the netpoller, and through the netpoller) several
// SO_REUSEPORT readers answer every query, the per-reader counters add up
// to the queries answered, and Run returns when its context ends, both
// with idle readers and while queries keep arriving. The blocking readers'
// receive timeout is set to an hour, so an idle one returns only if the
// shutdown(2) wake-up works.
func TestUDPReaderModesAnswerCountAndStop(t *testing.T) {
	for _, tc := range []struct {
		name     string
		blocking bool
		flood    bool // queries keep arriving while Run stops
	}{
		{"BlockingReadersStopWhenIdle", true, false},
		{"BlockingReadersStopUnderLoad", true, true},
		{"NetpollerReadersStopWhenIdle", false, false},
		{"NetpollerReadersStopUnderLoad", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prevMode, prevTick := udpBlockingReaders, blockingTick
			udpBlockingReaders, blockingTick = tc.blocking, time.Hour
			t.Cleanup(func() { udpBlockingReaders, blockingTick = prevMode, prevTick })
			prev := runtime.GOMAXPROCS(2)
			t.Cleanup(func() { runtime.GOMAXPROCS(prev) })

			reg := prometheus.NewRegistry()
			s, err := NewServer(Options{Listen: []string{"127.0.0.1:0"}}, zaptest.NewLogger(t), reg)
			if err != nil {
				t.Fatal(err)
			}
			s.Publish(testSnapshot(t))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			stopped := false
			t.Cleanup(func() {
				cancel()
				if stopped {
					return
				}
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					// Left running; the failure is already reported.
					t.Error("Run still running at the end of the test")
				}
			})
			select {
			case <-s.Ready():
			case err := <-done:
				stopped = true
				t.Fatalf("Run ended early: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("server not ready")
			}
			addr := s.Addrs()[0].String()

			// Each exchange has its own source port, so the queries
			// spread over both readers.
			const n = 200
			for i := range n {
				m := new(dns.Msg)
				m.SetQuestion("static.example.com.", dns.TypeA)
				if r := exchange(t, "udp", addr, m); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					t.Fatalf("query %d: %v", i, r)
				}
			}
			testutil.Eventually(t, 10*time.Second, "every answer counted", func() (bool, string) {
				var got float64
				mfs, err := reg.Gather()
				if err != nil {
					t.Fatal(err)
				}
				for _, mf := range mfs {
					if mf.GetName() == "failoverd_dns_queries_total" {
						for _, m := range mf.GetMetric() {
							got += m.GetCounter().GetValue()
						}
					}
				}
				return got == n, fmt.Sprintf("queries_total %v, want %d", got, n)
			})

			if tc.flood {
				startFlood(t, addr)
			}
			cancel()
			select {
			case err := <-done:
				stopped = true
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
	}
}

// startFlood sends queries to addr from one socket until the test ends,
// so readers always have a batch to answer.
func startFlood(t *testing.T, addr string) {
	flood, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flood.Close() })
	q := new(dns.Msg)
	q.SetQuestion("static.example.com.", dns.TypeA)
	raw, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	stopFlood := make(chan struct{})
	floodDone := make(chan struct{})
	go func() {
		defer close(floodDone)
		for range 1_000_000 {
			select {
			case <-stopFlood:
				return
			default:
			}
			flood.Write(raw)
		}
	}()
	t.Cleanup(func() { close(stopFlood); <-floodDone })
}
