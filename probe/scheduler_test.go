package probe

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	ports "github.com/failoverd/failoverd/internal/testutil"
	"go.uber.org/zap/zaptest"
)

// counter is a loopback TCP server that counts accepted connections.
type counter struct {
	port int
	n    atomic.Int64
}

func startCounter(t *testing.T) *counter {
	t.Helper()
	c := &counter{}
	s := startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, conn net.Conn) {
		c.n.Add(1)
		_ = conn.Close()
	})
	_, c.port = s.addr(t)
	return c
}

// collector gathers results delivered by a scheduler.
type collector struct {
	mu  sync.Mutex
	got []Result
}

func (c *collector) add(r Result) {
	c.mu.Lock()
	c.got = append(c.got, r)
	c.mu.Unlock()
}

func (c *collector) results() []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Result(nil), c.got...)
}

// waitFor polls cond every 10 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// runScheduler starts s.Run and stops it at cleanup, checking it returns.
func runScheduler(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func tcpTarget(port int, interval time.Duration) Target {
	return Target{Protocol: TCP, Address: "127.0.0.1", Port: port, Interval: interval, Timeout: interval / 2}
}

func TestSchedulerProbesIdenticalTargetsOnce(t *testing.T) {
	checkLeaks(t)
	a, b := startCounter(t), startCounter(t)
	var col collector
	s := NewScheduler(SchedulerOptions{Site: "iad", StartupWindow: 100 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
	ta := tcpTarget(a.port, 300*time.Millisecond)
	// Three services refer to a; spelled differently but equal after defaults.
	ta2 := ta
	ta2.Protocol = "tcp"
	s.SetTargets([]Target{ta, ta2, ta, tcpTarget(b.port, 300*time.Millisecond)})
	if n := len(s.Status()); n != 2 {
		t.Fatalf("%d targets, want 2", n)
	}
	runScheduler(t, s)
	waitFor(t, 5*time.Second, "3 rounds of b", func() bool { return b.n.Load() >= 3 })
	perKey := map[string]int{}
	for _, r := range col.results() {
		perKey[r.Key]++
		if r.Site != "iad" || !r.Up || r.Scheduled.IsZero() {
			t.Errorf("result %+v", r)
		}
	}
	if len(perKey) != 2 {
		t.Errorf("results for %d keys, want 2", len(perKey))
	}
	// a is probed at b's pace, not three times as often.
	if na, nb := a.n.Load(), b.n.Load(); na > nb+1 || nb > na+1 {
		t.Errorf("a accepted %d connections, b %d: identical targets were not merged", na, nb)
	}
}

func TestSchedulerFirstRoundsWithinStartupWindowAndSpread(t *testing.T) {
	checkLeaks(t)
	c := startCounter(t)
	var col collector
	window := 500 * time.Millisecond
	s := NewScheduler(SchedulerOptions{StartupWindow: window, OnResult: col.add}, zaptest.NewLogger(t), nil)
	var ts []Target
	for i := 0; i < 40; i++ {
		tg := tcpTarget(c.port, time.Minute)
		tg.Retries = i // distinct keys, same server
		ts = append(ts, tg)
	}
	start := time.Now()
	s.SetTargets(ts)
	runScheduler(t, s)
	waitFor(t, 5*time.Second, "40 first rounds", func() bool { return len(col.results()) >= 40 })
	var first, last time.Time
	for i, r := range col.results() {
		if i == 0 || r.Scheduled.Before(first) {
			first = r.Scheduled
		}
		if r.Scheduled.After(last) {
			last = r.Scheduled
		}
		if r.Scheduled.Sub(start) > window {
			t.Errorf("first round scheduled %v after start, window %v", r.Scheduled.Sub(start), window)
		}
	}
	// 40 hashes spread over the window do not land in one quarter of it.
	if spread := last.Sub(first); spread < window/4 {
		t.Errorf("first rounds spread over %v only", spread)
	}
	// With a one-minute interval nobody gets a second round yet.
	if n := len(col.results()); n != 40 {
		t.Errorf("%d results, want 40", n)
	}
}

func TestSchedulerIntervalAndPhaseAreStable(t *testing.T) {
	checkLeaks(t)
	c := startCounter(t)
	var col collector
	s := NewScheduler(SchedulerOptions{StartupWindow: 50 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
	interval := 200 * time.Millisecond
	s.SetTargets([]Target{tcpTarget(c.port, interval)})
	runScheduler(t, s)
	waitFor(t, 5*time.Second, "5 rounds", func() bool { return len(col.results()) >= 5 })
	rs := col.results()
	for i := 2; i < len(rs); i++ {
		// From the second round on, rounds sit exactly one interval apart.
		if d := rs[i].Scheduled.Sub(rs[i-1].Scheduled); d != interval {
			t.Errorf("round %d scheduled %v after the previous, want %v", i, d, interval)
		}
	}
	if d := rs[1].Scheduled.Sub(rs[0].Scheduled); d < interval/2 || d > interval*3/2 {
		t.Errorf("second round %v after the first", d)
	}
}

func TestSchedulerReloadKeepsUnchangedTargets(t *testing.T) {
	checkLeaks(t)
	a, b, c := startCounter(t), startCounter(t), startCounter(t)
	var col collector
	s := NewScheduler(SchedulerOptions{StartupWindow: 100 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
	ta, tb, tc := tcpTarget(a.port, 400*time.Millisecond), tcpTarget(b.port, 400*time.Millisecond), tcpTarget(c.port, 400*time.Millisecond)
	s.SetTargets([]Target{ta, tb})
	runScheduler(t, s)
	waitFor(t, 5*time.Second, "a round of a", func() bool { _, ok := s.Last(ta.Key()); return ok })
	before := statusOf(s, ta.Key())
	s.SetTargets([]Target{ta, tc}) // b removed, c added
	after := statusOf(s, ta.Key())
	if !after.HasLast || after.Last.Time != before.Last.Time {
		t.Errorf("reload lost a's last result")
	}
	if !before.Running && !after.Running && !after.Next.Equal(before.Next) {
		t.Errorf("reload moved a's next round from %v to %v", before.Next, after.Next)
	}
	if _, ok := s.Last(tb.Key()); ok {
		t.Error("b still known after removal")
	}
	nb := b.n.Load()
	waitFor(t, 5*time.Second, "c's first round", func() bool { return c.n.Load() >= 1 })
	waitFor(t, 5*time.Second, "two more rounds of a", func() bool { return a.n.Load() >= 3 })
	if got := b.n.Load(); got > nb+1 { // a round already running may finish
		t.Errorf("b probed %d times after removal", got-nb)
	}
}

func statusOf(s *Scheduler, key string) TargetStatus {
	for _, st := range s.Status() {
		if st.Key == key {
			return st
		}
	}
	return TargetStatus{}
}

func TestSchedulerBoundsRoundsInFlight(t *testing.T) {
	checkLeaks(t)
	// Every round stalls for its whole timeout on a server that never
	// answers HTTP; count how many run at once.
	srv := startRaw(t, "tcp4", "127.0.0.1:0", stall)
	_, port := srv.addr(t)
	var cur, peak, total atomic.Int64
	real := Probers(ProberOptions{})
	counting := func(ctx context.Context, tg Target) Result {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer cur.Add(-1)
		total.Add(1)
		return real[HTTP](ctx, tg)
	}
	reg := prometheus.NewRegistry()
	s := NewScheduler(SchedulerOptions{MaxInFlight: 3, StartupWindow: 10 * time.Millisecond,
		Probers: map[Protocol]Func{HTTP: counting}}, zaptest.NewLogger(t), reg)
	var ts []Target
	for i := 0; i < 12; i++ {
		ts = append(ts, Target{Protocol: HTTP, Address: "127.0.0.1", Port: port, Path: "/" + string(rune('a'+i)), Interval: time.Minute, Timeout: 200 * time.Millisecond})
	}
	s.SetTargets(ts)
	runScheduler(t, s)
	waitFor(t, 10*time.Second, "12 rounds", func() bool { return total.Load() >= 12 && cur.Load() == 0 })
	if p := peak.Load(); p > 3 {
		t.Errorf("%d rounds in flight, bound 3", p)
	}
	// The bound made later rounds wait: lateness is measured and exported.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
		if mf.GetName() == "failoverd_probe_schedule_lateness_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() < 12 || h.GetSampleSum() < 0.2 {
				t.Errorf("lateness: %d samples, sum %.3fs", h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
	for _, name := range []string{"failoverd_probe_rounds_total", "failoverd_probe_round_failures_total", "failoverd_probe_round_duration_seconds", "failoverd_probe_schedule_lateness_seconds", "failoverd_probe_rounds_in_flight", "failoverd_probe_targets"} {
		if !found[name] {
			t.Errorf("metric %s not exported", name)
		}
	}
}

func TestSchedulerRunEndsPromptlyWithRoundsInFlight(t *testing.T) {
	checkLeaks(t)
	srv := startRaw(t, "tcp4", "127.0.0.1:0", stall)
	_, port := srv.addr(t)
	var col collector
	s := NewScheduler(SchedulerOptions{StartupWindow: 10 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), nil)
	s.SetTargets([]Target{{Protocol: HTTP, Address: "127.0.0.1", Port: port, Interval: time.Minute, Timeout: 30 * time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, 5*time.Second, "the round to start", func() bool {
		st := s.Status()
		return len(st) == 1 && st[0].Running
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waiting for a 30 s round")
	}
	if n := len(col.results()); n != 0 {
		t.Errorf("%d results delivered for canceled rounds", n)
	}
}

func TestSchedulerSharesMetricsOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewScheduler(SchedulerOptions{}, zaptest.NewLogger(t), reg)
	NewScheduler(SchedulerOptions{}, zaptest.NewLogger(t), reg) // must not panic or fail
}

// TestSchedulerCountsTargetsDownAndLocalFailures checks the aggregate
// series that replace per-target ones: targets down now, by protocol, and
// rounds that failed locally, which are not failures and change no count.
func TestSchedulerCountsTargetsDownAndLocalFailures(t *testing.T) {
	checkLeaks(t)
	up := startCounter(t)
	refused := ports.FreePort(t, "127.0.0.1")
	reg := prometheus.NewRegistry()
	var col collector
	s := NewScheduler(SchedulerOptions{StartupWindow: 10 * time.Millisecond, OnResult: col.add}, zaptest.NewLogger(t), reg)
	tUp, tDown := tcpTarget(up.port, time.Minute), tcpTarget(refused, time.Minute)
	s.SetTargets([]Target{tUp, tDown})
	runScheduler(t, s)
	waitFor(t, 5*time.Second, "both first rounds", func() bool { return len(col.results()) >= 2 })
	if v := testutil.ToFloat64(s.m.down.WithLabelValues("TCP")); v != 1 {
		t.Errorf("targets down = %v, want 1", v)
	}
	if v := testutil.ToFloat64(s.m.failures.WithLabelValues("TCP")); v != 1 {
		t.Errorf("round failures = %v, want 1", v)
	}
	s.SetTargets([]Target{tUp})
	if v := testutil.ToFloat64(s.m.down.WithLabelValues("TCP")); v != 0 {
		t.Errorf("targets down after removing the down one = %v, want 0", v)
	}

	// From a source address this host does not have, every round fails
	// locally: counted as such, and no target is down.
	reg2 := prometheus.NewRegistry()
	var col2 collector
	s2 := NewScheduler(SchedulerOptions{StartupWindow: 10 * time.Millisecond, OnResult: col2.add, Source: netip.MustParseAddr("192.0.2.250")}, zaptest.NewLogger(t), reg2)
	s2.SetTargets([]Target{tUp, tDown})
	runScheduler(t, s2)
	waitFor(t, 5*time.Second, "both first rounds", func() bool { return len(col2.results()) >= 2 })
	for _, r := range col2.results() {
		if !r.Local {
			t.Errorf("round from a foreign source not local: %+v", r)
		}
	}
	if v := testutil.ToFloat64(s2.m.local.WithLabelValues("TCP")); v != 2 {
		t.Errorf("local failures = %v, want 2", v)
	}
	if v := testutil.ToFloat64(s2.m.down.WithLabelValues("TCP")) + testutil.ToFloat64(s2.m.failures.WithLabelValues("TCP")); v != 0 {
		t.Errorf("local failures counted as down (%v)", v)
	}
}

// pastDeadline is a context whose deadline has passed but whose timer has
// not fired yet: Err is still nil, as it is for a moment at Run's end.
type pastDeadline struct{ context.Context }

func (pastDeadline) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

func TestSchedulerDiscardsRoundsCutShortByRunsDeadline(t *testing.T) {
	var col collector
	cutShort := func(ctx context.Context, tg Target) Result {
		// The attempt's deadline is Run's: the attempt ends as a timeout.
		return Result{Target: tg, Message: "timeout", Time: time.Now()}
	}
	s := NewScheduler(SchedulerOptions{OnResult: col.add, Probers: map[Protocol]Func{TCP: cutShort}}, zaptest.NewLogger(t), nil)
	s.SetTargets([]Target{{Protocol: TCP, Address: "127.0.0.1", Port: 9, Interval: time.Minute, Timeout: 5 * time.Second}})
	e, _ := s.next(time.Now().Add(time.Hour))
	if e == nil {
		t.Fatal("no round due")
	}
	s.round(pastDeadline{context.Background()}, e)
	if got := col.results(); len(got) != 0 {
		t.Errorf("round cut short by Run's deadline reported: %+v", got)
	}
	if _, ok := s.Last(e.key); ok {
		t.Error("round cut short by Run's deadline kept as the target's last")
	}
}

// TestSchedulerKeepsEveryFieldOfTheLastRound checks that a target's last
// round, kept without its Target, comes back whole: every field of Result
// set, kept, and read back equal (a field added to Result and not kept
// fails here).
func TestSchedulerKeepsEveryFieldOfTheLastRound(t *testing.T) {
	var want Result
	v := reflect.ValueOf(&want).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case Target:
			f.Set(reflect.ValueOf(Target{Protocol: HTTP, Address: "192.0.2.1", Port: 8080, Path: "/health"}))
		case time.Time:
			f.Set(reflect.ValueOf(time.Unix(1700000000+int64(i), 0)))
		case []netip.Addr:
			f.Set(reflect.ValueOf([]netip.Addr{netip.MustParseAddr("192.0.2.7")}))
		default:
			switch f.Kind() {
			case reflect.Bool:
				f.SetBool(true)
			case reflect.String:
				f.SetString(v.Type().Field(i).Name + " value")
			case reflect.Int, reflect.Int64:
				f.SetInt(int64(i + 1))
			default:
				t.Fatalf("Result.%s: a %s field this test cannot set", v.Type().Field(i).Name, f.Type())
			}
		}
	}
	if got := keepLast(want).result(want.Target); !reflect.DeepEqual(got, want) {
		t.Errorf("kept and read back:\n%+v\nwant:\n%+v", got, want)
	}
}
