package sites

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// writeCounter counts the puts etcd applies under a key prefix, through a
// watch of the test's own.
type writeCounter struct {
	mu   sync.Mutex
	puts map[string]int
	n    int
}

func countWrites(t *testing.T, cli *clientv3.Client, prefix string) *writeCounter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wc := &writeCounter{puts: map[string]int{}}
	ch := cli.Watch(ctx, prefix, clientv3.WithPrefix())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for resp := range ch {
			wc.mu.Lock()
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypePut {
					wc.puts[string(ev.Kv.Key)]++
					wc.n++
				}
			}
			wc.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	// The watch is open once a probe write shows up in it.
	probe := prefix + "zz-watch-open"
	eventually(t, 5*time.Second, "the counting watch is open", func() bool {
		if _, err := cli.Put(context.Background(), probe, "x"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		return wc.count(probe) > 0
	})
	return wc
}

func (wc *writeCounter) count(key string) int {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return wc.puts[key]
}

func (wc *writeCounter) total(prefix string) int {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	n := 0
	for k, c := range wc.puts {
		if strings.HasPrefix(k, prefix) {
			n += c
		}
	}
	return n
}

func TestPublish_WritesOnChangeOnlyNotPerRound(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	cli := (&cluster{t: t}).client(eps...)
	wc := countWrites(t, cli, prefix+kindObs)
	// The default lease: a short one lost on a loaded machine would
	// rewrite every observation and spoil the count.
	a := openNode(t, eps, prefix, "ams", func(o *Options) { o.LeaseTTL = DefaultLeaseTTL })
	obsPrefix := a.s.k.obsSite("ams")

	const targets, rounds = 50, 20
	base := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	round := func(r int, status func(i int) Status, rtt time.Duration) {
		for i := range targets {
			a.s.Publish(Observation{Target: fmt.Sprintf("HTTP|192.0.2.%d:80|/", i), Status: status(i),
				Message: "", RTT: rtt, Time: base.Add(time.Duration(r) * 10 * time.Second)})
		}
	}
	allUp := func(int) Status { return StatusUp }
	// 20 steady rounds (200 s of probing) with RTT jitter under the
	// threshold: one write per target, however many rounds.
	for r := range rounds {
		round(r, allUp, time.Duration(10+r%2)*time.Millisecond)
	}
	// A marker written after the rounds proves the writer has drained them.
	marker := func(status Status) {
		a.s.Publish(Observation{Target: "marker", Status: status, Time: base})
	}
	marker(StatusUp)
	eventually(t, 5*time.Second, "the marker is written", func() bool { return wc.count(a.s.k.obs("ams", "marker")) == 1 })
	if got := wc.total(obsPrefix); got != targets+1 {
		t.Fatalf("%d steady rounds of %d targets cost %d writes, want %d (one per target)", rounds, targets, got, targets+1)
	}
	// One target goes down: exactly one more write.
	round(rounds, func(i int) Status {
		if i == 7 {
			return StatusDown
		}
		return StatusUp
	}, 10*time.Millisecond)
	marker(StatusDown)
	eventually(t, 5*time.Second, "the marker change is written", func() bool { return wc.count(a.s.k.obs("ams", "marker")) == 2 })
	if got := wc.total(obsPrefix); got != targets+3 {
		t.Fatalf("one changed target cost %d writes in all, want %d", got, targets+3)
	}
	if got := wc.count(a.s.k.obs("ams", "HTTP|192.0.2.7:80|/")); got != 2 {
		t.Errorf("the changed target was written %d times, want 2", got)
	}
	if got := a.metric(a.s.m.published); int(got) != targets+3 {
		t.Errorf("failoverd_observations_published_total = %v, want %d", got, targets+3)
	}
	// The leader (this node) sees every live site's report.
	eventually(t, 5*time.Second, "reports reach the watch", func() bool {
		rs := a.s.Reports("HTTP|192.0.2.7:80|/")
		return len(rs) == 1 && rs[0].Status == StatusDown && rs[0].Site == "ams"
	})
}

func TestPublish_RTTAloneIsWrittenThrottledAndOnlyWhenItFeedsADecision(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams", func(o *Options) { o.RTTRefresh, o.LeaseTTL = 30*time.Second, DefaultLeaseTTL })
	base := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	markers := 0
	// publish sends a view of the perf target, then a marker behind it,
	// and returns the perf RTT the watch shows once the marker arrived.
	publish := func(sec int, rtt time.Duration) time.Duration {
		t.Helper()
		a.s.Publish(Observation{Target: "perf", Status: StatusUp, RTT: rtt, TrackRTT: true, Time: base.Add(time.Duration(sec) * time.Second)})
		a.s.Publish(Observation{Target: "plain", Status: StatusUp, RTT: rtt, Time: base.Add(time.Duration(sec) * time.Second)})
		markers++
		msg := fmt.Sprint("marker ", markers)
		a.s.Publish(Observation{Target: "marker", Status: StatusUp, Message: msg, Time: base})
		eventually(t, 5*time.Second, msg+" arrives", func() bool {
			rs := a.s.Reports("marker")
			return len(rs) == 1 && rs[0].Message == msg
		})
		if got := a.s.Reports("plain")[0].RTT; got != 10*time.Millisecond {
			t.Fatalf("an RTT that feeds no decision was rewritten alone: %v, want the first one, 10ms", got)
		}
		return a.s.Reports("perf")[0].RTT
	}
	ms := time.Millisecond
	steps := []struct {
		name string
		sec  int
		rtt  time.Duration
		want time.Duration
	}{
		{"the first view is written", 0, 10 * ms, 10 * ms},
		{"a moved RTT too soon after the last write is not", 10, 50 * ms, 10 * ms},
		{"a moved RTT a refresh after the last write is", 40, 60 * ms, 60 * ms},
		{"an RTT within 20 % of the last written is not", 90, 65 * ms, 60 * ms},
	}
	for _, st := range steps {
		if got := publish(st.sec, st.rtt); got != st.want {
			t.Fatalf("%s: published RTT %v, want %v", st.name, got, st.want)
		}
	}
}

func TestPublish_SiteLeavingTakesItsReportsAlong(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	b := openNode(t, eps, prefix, "fra")
	a.s.Publish(Observation{Target: "t1", Status: StatusDown, Message: "connection refused"})
	b.s.Publish(Observation{Target: "t1", Status: StatusUp})
	eventually(t, 5*time.Second, "both reports reach ams", func() bool { return len(a.s.Reports("t1")) == 2 })
	d := Decide(Quorum{Mode: QuorumMajority}, a.s.Reports("t1"))
	if d.Status != StatusUp {
		t.Fatalf("one of two down under majority: %s, want up", d.Status)
	}
	b.crash()
	eventually(t, 10*time.Second, "fra's report expires with its lease", func() bool {
		rs := a.s.Reports("t1")
		return len(rs) == 1 && rs[0].Site == "ams"
	})
	eventually(t, 5*time.Second, "OnReports says only ams reports on t1", func() bool {
		a.rec.mu.Lock()
		defer a.rec.mu.Unlock()
		got := a.rec.reports["t1"]
		return len(got) == 1 && got[0].Site == "ams"
	})
	if d := Decide(Quorum{Mode: QuorumMajority}, a.s.Reports("t1")); d.Status != StatusDown || d.Message != "connection refused" {
		t.Errorf("after fra left: %+v, want down by ams", d)
	}
}

func TestPublish_RepublishedUnderANewLeaseAfterALostOne(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	cli := (&cluster{t: t}).client(eps...)
	a := openNode(t, eps, prefix, "ams")
	a.s.Publish(Observation{Target: "t1", Status: StatusDown, Message: "HTTP 503"})
	eventually(t, 5*time.Second, "published", func() bool { return len(a.s.Reports("t1")) == 1 })
	// Revoke the site's lease from outside, as etcd does when keep-alives
	// stop arriving: registration and observations vanish with it.
	lease := a.s.currentSession().lease
	if _, err := cli.Revoke(context.Background(), lease); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "re-registered under a new lease with its observations", func() bool {
		ss := a.s.currentSession()
		rs := a.s.Reports("t1")
		return ss != nil && ss.lease != lease && len(rs) == 1 && rs[0].Message == "HTTP 503"
	})
	if got := a.metric(a.s.m.leaseLosses); got < 1 {
		t.Errorf("failoverd_etcd_lease_losses_total = %v", got)
	}
	leaderOf(t, 10*time.Second, a)
}

func TestPublish_TenThousandSteadyTargetsCostNoWritesAfterTheirFirst(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	cli := (&cluster{t: t}).client(eps...)
	wc := countWrites(t, cli, prefix+kindObs)
	a := openNode(t, eps, prefix, "ams", func(o *Options) { o.LeaseTTL = DefaultLeaseTTL })
	// A minute of rounds at a 10 s interval over the 10,000 targets of the
	// scale target (under 5 writes/s per site).
	const targets, rounds = 10000, 6
	base := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for r := range rounds {
		for i := range targets {
			a.s.Publish(Observation{Target: fmt.Sprintf("HTTP|10.%d.%d.%d:80|/", i>>16, (i>>8)&255, i&255), Status: StatusUp,
				RTT: 5 * time.Millisecond, Time: base.Add(time.Duration(r) * 10 * time.Second)})
		}
	}
	a.s.Publish(Observation{Target: "marker", Status: StatusUp, Time: base})
	eventually(t, 30*time.Second, "the marker is written", func() bool { return wc.count(a.s.k.obs("ams", "marker")) == 1 })
	if got := wc.total(a.s.k.obsSite("ams")); got != targets+1 {
		for _, e := range a.logs.All() {
			t.Logf("%s %s %s %v", e.Time.Format("15:04:05.000"), e.Level, e.Message, e.ContextMap())
		}
		t.Fatalf("%d rounds of %d steady targets cost %d writes, want %d: one per target, none per round", rounds, targets, got, targets+1)
	}
	eventually(t, 30*time.Second, "the reports reach the watch", func() bool {
		a.s.mu.Lock()
		defer a.s.mu.Unlock()
		return len(a.s.v.reports) == targets+1
	})
}

func TestForget_WithdrawsTheSitesViewOfATarget(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	a.s.Publish(Observation{Target: "gone", Status: StatusDown, Message: "timeout"})
	a.s.Publish(Observation{Target: "kept", Status: StatusUp})
	eventually(t, 5*time.Second, "published", func() bool { return len(a.s.Reports("gone")) == 1 && len(a.s.Reports("kept")) == 1 })
	a.s.Forget("gone")
	eventually(t, 5*time.Second, "withdrawn", func() bool { return len(a.s.Reports("gone")) == 0 })
	eventually(t, 5*time.Second, "OnReports says nobody reports on the forgotten target", func() bool {
		a.rec.mu.Lock()
		defer a.rec.mu.Unlock()
		got, told := a.rec.reports["gone"]
		return told && len(got) == 0
	})
	if len(a.s.Reports("kept")) != 1 {
		t.Error("Forget took another target along")
	}
	// Publishing it again writes it again.
	a.s.Publish(Observation{Target: "gone", Status: StatusDown, Message: "timeout"})
	eventually(t, 5*time.Second, "published again", func() bool { return len(a.s.Reports("gone")) == 1 })
}
