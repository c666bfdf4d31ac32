package sites

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func TestWatch_CompactionWhileCutOffIsRecoveredByRelisting(t *testing.T) {
	c := startEtcd(t, 1) // its own etcd: compaction is store-wide
	eps := c.endpoints()
	prefix := testPrefix(t)
	cli := c.client(eps...)
	leader := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, leader)
	p := startProxy(t, eps[0])
	follower := openNode(t, []string{p.endpoint()}, prefix, "fra")
	if _, err := leader.s.Commit(context.Background(), Batch{State: map[string][]byte{"svc1": []byte("v1")}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "follower has svc1", func() bool { return string(follower.s.Snapshot().State["svc1"]) == "v1" })
	// The callbacks have caught up once OnCommitted has handed over svc1;
	// count the complete states up to there.
	var fullBefore int
	eventually(t, 5*time.Second, "OnCommitted hands over svc1", func() bool {
		follower.rec.mu.Lock()
		defer follower.rec.mu.Unlock()
		fullBefore = countFull(follower.rec.committed)
		for _, c := range follower.rec.committed {
			if string(c.State["svc1"]) == "v1" {
				return true
			}
		}
		return false
	})

	// Cut the follower off, change the state, compact past what its
	// watch has seen, then let it back.
	eventually(t, 10*time.Second, "follower connected", func() bool { return follower.s.Connection().Connected })
	t.Log("cut")
	p.setCut(true)
	eventually(t, 10*time.Second, "follower notices it is disconnected", func() bool { return !follower.s.Connection().Connected })
	if _, err := leader.s.Commit(context.Background(), Batch{State: map[string][]byte{"svc1": nil, "svc2": []byte("v2")}}); err != nil {
		t.Fatal(err)
	}
	res, err := leader.s.Commit(context.Background(), Batch{Serials: map[string]uint32{"example.com.": 7}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(context.Background(), res.Revision); err != nil {
		t.Fatal(err)
	}
	p.setCut(false)
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range follower.logs.All() {
				t.Logf("%s %s %s %v", e.Time.Format("15:04:05.000"), e.Level, e.Message, e.ContextMap())
			}
			t.Logf("follower snapshot %+v conn %+v", follower.s.Snapshot(), follower.s.Connection())
		}
	})
	eventually(t, 15*time.Second, "follower re-lists the compacted state", func() bool {
		s := follower.s.Snapshot()
		_, has1 := s.State["svc1"]
		return !has1 && string(s.State["svc2"]) == "v2"
	})
	if got := follower.metric(follower.s.m.resyncs); got < 1 {
		t.Errorf("failoverd_etcd_watch_resyncs_total = %v, want at least 1", got)
	}
	eventually(t, 5*time.Second, "OnCommitted gets a complete state after the resync (else a deleted name would linger)", func() bool {
		follower.rec.mu.Lock()
		defer follower.rec.mu.Unlock()
		return countFull(follower.rec.committed) > fullBefore
	})
	// And the follower keeps following.
	if _, err := leader.s.Commit(context.Background(), Batch{State: map[string][]byte{"svc3": []byte("v3")}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "follower follows after the resync", func() bool { return string(follower.s.Snapshot().State["svc3"]) == "v3" })
}

func TestWatch_ResumingFromACompactedRevisionIsDetected(t *testing.T) {
	c := startEtcd(t, 1)
	eps := c.endpoints()
	prefix := testPrefix(t)
	cli := c.client(eps...)
	a := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	var last int64
	for i := range 5 {
		res, err := a.s.Commit(context.Background(), Batch{State: map[string][]byte{"svc": []byte{byte('a' + i)}}})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Revision
	}
	if _, err := cli.Compact(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	// A watch that is behind (as after a lost connection) must say so
	// instead of silently skipping what compaction removed.
	a.s.mu.Lock()
	saved := a.s.v.rev
	a.s.v.rev = 2
	a.s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.s.watch(ctx, a.s.currentClient())
	a.s.mu.Lock()
	a.s.v.rev = max(a.s.v.rev, saved)
	a.s.mu.Unlock()
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("watch from a compacted revision: %v, want ErrCompacted", err)
	}
}

func countFull(cs []Committed) int {
	n := 0
	for _, c := range cs {
		if c.Full {
			n++
		}
	}
	return n
}

func TestWatch_UnreadableValueIsSkippedAndLogged(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	cli := (&cluster{t: t}).client(eps...)
	ctx := context.Background()
	// One value already there at start, more arriving through the watch.
	if _, err := cli.Put(ctx, prefix+"state/from-the-future", `{"v":2,"data":"eA=="}`); err != nil {
		t.Fatal(err)
	}
	a := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	for k, v := range map[string]string{
		prefix + "obs/lon/t1":          `not json`,
		prefix + "state/no-version":    `{"data":"eA=="}`,
		prefix + "newkind/whatever":    `{"v":1}`,
		prefix + "obs/lon/bad-status":  `{"v":1,"status":"sideways"}`,
		prefix + "jobs/not-a-number":   `{"v":1}`,
		prefix + "serial/example.com.": `{"v":1,"serial":"x"}`,
	} {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.s.Commit(ctx, Batch{State: map[string][]byte{"good": []byte("ok")}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the readable value arrives", func() bool { return string(a.s.Snapshot().State["good"]) == "ok" })
	snap := a.s.Snapshot()
	for _, name := range []string{"from-the-future", "no-version"} {
		if _, ok := snap.State[name]; ok {
			t.Errorf("unreadable %s is in the state", name)
		}
	}
	if len(a.s.Reports("t1")) != 0 {
		t.Error("an unreadable observation counted")
	}
	eventually(t, 5*time.Second, "failoverd_etcd_unreadable_values_total reaches 7", func() bool {
		return a.metric(a.s.m.unreadable) == 7
	})
	for _, key := range []string{"state/from-the-future", "obs/lon/t1", "newkind/whatever"} {
		if !a.errorLogged(prefix + key) {
			t.Errorf("no error logged naming %s", key)
		}
	}
	if !a.errorLogged("value version 2") {
		t.Error("the log does not say which version the value has")
	}
	// Still running and leading.
	if _, err := a.s.Commit(ctx, Batch{State: map[string][]byte{"good": []byte("still")}}); err != nil {
		t.Fatal(err)
	}
}

func TestConnection_PartitionReportedAfterLeaseTTLAndHealed(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	p := startProxy(t, eps[0])
	a := openNode(t, []string{p.endpoint()}, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	eventually(t, 5*time.Second, "connected", func() bool { return a.s.Connection().Connected })
	p.setCut(true)
	eventually(t, 10*time.Second, "disconnected", func() bool { return !a.s.Connection().Connected })
	eventually(t, 10*time.Second, "partitioned after lease_ttl", func() bool { return a.s.Connection().Partitioned })
	eventually(t, 10*time.Second, "no longer leader while cut off", func() bool { return !a.s.IsLeader() })
	if got := a.metric(a.s.m.connected); got != 0 {
		t.Errorf("failoverd_etcd_connected = %v while cut off", got)
	}
	p.setCut(false)
	eventually(t, 15*time.Second, "connected again", func() bool {
		c := a.s.Connection()
		return c.Connected && !c.Partitioned
	})
	leaderOf(t, 10*time.Second, a)
	eventually(t, 5*time.Second, "OnConnection said partitioned, then connected", func() bool {
		a.rec.mu.Lock()
		defer a.rec.mu.Unlock()
		var sawPartition bool
		for _, c := range a.rec.conns {
			sawPartition = sawPartition || c.Partitioned
		}
		return sawPartition && a.rec.conn.Connected
	})
}

func TestSites_ConfigurationDifferingFromTheLeadersIsLogged(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	b := openNode(t, eps, prefix, "fra", func(o *Options) { o.ConfigDigest = "digest-2" })
	eventually(t, 5*time.Second, "fra logs the differing configuration", func() bool {
		return b.errorLogged("differ from the leader's")
	})
	if !b.errorLogged("digest-1") {
		t.Error("the error does not show the leader's digest")
	}
	if a.errorLogged("differ from the leader's") {
		t.Error("the leader logged its own configuration as differing")
	}
	// The leader reloads to the follower's configuration: published, and
	// the follower sees it (no new error once they agree).
	if err := a.s.SetConfigDigest(context.Background(), "digest-2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the new digest reaches fra", func() bool {
		for _, si := range b.s.Sites().Sites {
			if si.Site == "ams" {
				return si.ConfigDigest == "digest-2"
			}
		}
		return false
	})
	eventually(t, 5*time.Second, "fra no longer holds the leader's configuration as differing", func() bool {
		b.s.mu.Lock()
		defer b.s.mu.Unlock()
		return b.s.digestWarn == ""
	})
}

func TestRun_SiteTakenWhileCutOffEndsRun(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	p := startProxy(t, eps[0])
	a := openNode(t, []string{p.endpoint()}, prefix, "ams")
	eventually(t, 5*time.Second, "connected", func() bool { return a.s.Connection().Connected })
	p.setCut(true)
	cli := (&cluster{t: t}).client(eps...)
	eventually(t, 15*time.Second, "ams's lease expires", func() bool {
		resp, err := cli.Get(context.Background(), a.s.k.site("ams"))
		return err == nil && len(resp.Kvs) == 0
	})
	// A misconfigured second node takes the free site meanwhile.
	openNode(t, eps, prefix, "ams", func(o *Options) { o.Hostname = "ns9.example.net" })
	p.setCut(false)
	select {
	case err := <-a.done:
		if !errors.Is(err, ErrSiteTaken) || !strings.Contains(err.Error(), "ns9.example.net") {
			t.Fatalf("Run returned %v, want ErrSiteTaken naming ns9.example.net", err)
		}
		a.done <- err // for the cleanup's stop
	case <-time.After(20 * time.Second):
		t.Fatal("Run kept going with its site held by another node")
	}
}
