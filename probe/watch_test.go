package probe

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// watched is a loopback server for watch tests: it speaks just enough of
// its protocol for a probe to be up, then holds the connection until the
// peer ends it, counting connections accepted and open. kill stops it the
// way a dying process does: the listener goes and every connection is
// reset (SO_LINGER 0).
type watched struct {
	srv      *rawServer
	port     int
	accepted atomic.Int64
	open     atomic.Int64
}

func startWatched(t *testing.T, proto Protocol) *watched {
	t.Helper()
	w := &watched{}
	w.srv = startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, c net.Conn) {
		w.accepted.Add(1)
		w.open.Add(1)
		defer w.open.Add(-1)
		defer c.Close()
		br := bufio.NewReader(c)
		switch proto {
		case HTTP:
			// A request gets an answer and the connection closed; a watch
			// connection sends nothing and waits here.
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
					return
				}
			}
		case SMTP:
			if _, err := io.WriteString(c, "220 mail.example.com ESMTP\r\n"); err != nil {
				return
			}
			if line, err := br.ReadString('\n'); err == nil && line == "QUIT\r\n" {
				_, _ = io.WriteString(c, "221 bye\r\n")
				return
			}
		}
		_, _ = io.Copy(io.Discard, br)
	})
	_, w.port = w.srv.addr(t)
	return w
}

func (w *watched) kill() {
	_ = w.srv.ln.Close()
	w.srv.mu.Lock()
	defer w.srv.mu.Unlock()
	for c := range w.srv.conns {
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}
}

// TestWatchSeesAKilledTargetAtOnce kills watched targets whose interval is
// 30 s: the watch connection's reset makes the scheduler probe at once,
// and the down round arrives long before the next scheduled one.
func TestWatchSeesAKilledTargetAtOnce(t *testing.T) {
	for _, proto := range []Protocol{TCP, HTTP, SMTP} {
		t.Run(string(proto), func(t *testing.T) {
			checkLeaks(t)
			w := startWatched(t, proto)
			var col collector
			s := NewScheduler(SchedulerOptions{StartupWindow: 10 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
			s.SetTargets([]Target{{Protocol: proto, Address: "127.0.0.1", Port: w.port, Interval: 30 * time.Second, Timeout: 2 * time.Second, Watch: true}})
			runScheduler(t, s)
			waitFor(t, 5*time.Second, "the first round and a watch connection", func() bool {
				return len(col.results()) == 1 && w.accepted.Load() >= 2 && w.open.Load() == 1
			})
			if r := col.results()[0]; !r.Up {
				t.Fatalf("first round down: %q", r.Message)
			}
			// Holding the connection (and reading an SMTP banner on it) is
			// not a reason to probe.
			if n := len(col.results()); n != 1 {
				t.Fatalf("%d rounds before the kill, want 1", n)
			}
			killed := time.Now()
			w.kill()
			waitFor(t, 5*time.Second, "a down round after the kill", func() bool {
				rs := col.results()
				return len(rs) > 1 && !rs[len(rs)-1].Up
			})
			rs := col.results()
			last := rs[len(rs)-1]
			if last.Message != "connection refused" || last.Local {
				t.Errorf("round after the kill: %q local=%v", last.Message, last.Local)
			}
			t.Logf("down %v after the kill (interval 30s)", last.Time.Sub(killed))
		})
	}
}

// TestWatchPolicyCloseCostsAtMostOneRoundPerClose probes a target that
// closes every connection after 100 ms: each close of the watch connection
// costs one extra round, and the watcher backs off (1 s, 2 s, 4 s ...)
// before reconnecting, so a few seconds hold a handful of rounds, not one
// every 100 ms.
func TestWatchPolicyCloseCostsAtMostOneRoundPerClose(t *testing.T) {
	checkLeaks(t)
	var accepted atomic.Int64
	srv := startRaw(t, "tcp4", "127.0.0.1:0", func(done <-chan struct{}, c net.Conn) {
		accepted.Add(1)
		defer c.Close()
		select {
		case <-done:
		case <-time.After(100 * time.Millisecond):
		}
	})
	_, port := srv.addr(t)
	var col collector
	s := NewScheduler(SchedulerOptions{StartupWindow: 10 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
	s.SetTargets([]Target{{Protocol: TCP, Address: "127.0.0.1", Port: port, Interval: 30 * time.Second, Timeout: 2 * time.Second, Watch: true}})
	runScheduler(t, s)
	waitFor(t, 10*time.Second, "two rounds asked for by closes", func() bool { return len(col.results()) >= 3 })
	first := col.results()[0].Time
	// Wait out five seconds after the first round (a slow machine only
	// makes fewer rounds).
	time.Sleep(time.Until(first.Add(5 * time.Second)))
	var rounds int
	for _, r := range col.results() {
		if !r.Up {
			t.Errorf("a policy close made a round down: %q", r.Message)
		}
		if r.Time.Sub(first) <= 5*time.Second {
			rounds++
		}
	}
	// Without back-off a close every ~100 ms would make ~50 rounds; with
	// it: the first, then rounds at about 0.1, 1.2 and 3.3 s.
	if rounds > 6 {
		t.Errorf("%d rounds in 5 s, want at most 6 with back-off", rounds)
	}
	// Every round but the first is paid for by one watch connection's close:
	// connections = rounds + watch connections. (The server counts a
	// connection a moment after the prober has it: poll briefly.)
	waitFor(t, 2*time.Second, "at most one round per watch connection", func() bool {
		n := len(col.results())
		return n-1 <= int(accepted.Load())-n
	})
}

// TestWatchEndsWhenTheTargetIsRemoved checks that removing a watched
// target closes its watch connection and ends its watcher.
func TestWatchEndsWhenTheTargetIsRemoved(t *testing.T) {
	checkLeaks(t)
	w := startWatched(t, TCP)
	var col collector
	s := NewScheduler(SchedulerOptions{StartupWindow: 10 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
	s.SetTargets([]Target{{Protocol: TCP, Address: "127.0.0.1", Port: w.port, Interval: 30 * time.Second, Timeout: 2 * time.Second, Watch: true}})
	runScheduler(t, s)
	waitFor(t, 5*time.Second, "a watch connection", func() bool { return w.accepted.Load() >= 2 && w.open.Load() == 1 })
	s.SetTargets(nil)
	waitFor(t, 5*time.Second, "the watch connection to close", func() bool { return w.open.Load() == 0 })
	if n := len(col.results()); n != 1 {
		t.Errorf("%d rounds, want 1: closing the watch on removal is not a reason to probe", n)
	}
}

// TestWatchUnsetHoldsNoConnection checks that a target without watch
// leaves no connection open between rounds.
func TestWatchUnsetHoldsNoConnection(t *testing.T) {
	checkLeaks(t)
	w := startWatched(t, TCP)
	var col collector
	s := NewScheduler(SchedulerOptions{StartupWindow: 10 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
	tg := Target{Protocol: TCP, Address: "127.0.0.1", Port: w.port, Interval: 30 * time.Second, Timeout: 2 * time.Second}
	s.SetTargets([]Target{tg})
	runScheduler(t, s)
	// A round is over (not Running) once it is rescheduled, which is
	// where a watcher would have been started.
	waitFor(t, 5*time.Second, "the first round to end", func() bool {
		st := statusOf(s, tg.Key())
		return st.HasLast && !st.Running && w.open.Load() == 0
	})
	s.mu.Lock()
	watcher := s.entries[tg.Key()].stopWatch != nil
	s.mu.Unlock()
	if watcher || w.accepted.Load() != 1 {
		t.Errorf("watcher started: %v; %d connections, want 1", watcher, w.accepted.Load())
	}
}
