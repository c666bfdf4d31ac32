package sites

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestOpen_DuplicateSiteRefusedNamingTheHolder(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	openNode(t, eps, prefix, "ams")
	_, err := tryOpenNode(t, eps, prefix, "ams", func(o *Options) { o.Hostname = "ns2.example.net" })
	if !errors.Is(err, ErrSiteTaken) {
		t.Fatalf("second node with site ams: err = %v, want ErrSiteTaken", err)
	}
	if !strings.Contains(err.Error(), "ams.example.net") {
		t.Errorf("error %q does not name the holder ams.example.net", err)
	}
}

func TestOpen_RestartOnSameHostWaitsForTheKilledProcessLease(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	first := openNode(t, eps, prefix, "ams")
	first.crash() // its lease lives on until lease_ttl
	second := openNode(t, eps, prefix, "ams")
	if got := second.s.Sites(); len(got.Sites) != 1 || got.Sites[0].Site != "ams" {
		for _, e := range second.logs.All() {
			t.Logf("%s %s %v", e.Level, e.Message, e.ContextMap())
		}
		t.Fatalf("sites after restart: %+v", got)
	}
}

func TestOpen_LiveProcessOnSameHostRefusedAfterOneLeaseTTL(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	openNode(t, eps, prefix, "ams")
	_, err := tryOpenNode(t, eps, prefix, "ams")
	if !errors.Is(err, ErrSiteTaken) {
		t.Fatalf("err = %v, want ErrSiteTaken", err)
	}
}

func TestOpen_BadOptionsAreErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Options
	}{
		{"no endpoints", Options{Site: "ams"}},
		{"endpoint without a scheme", Options{Endpoints: []string{"127.0.0.1:2379"}, Site: "ams"}},
		{"prefix without a trailing slash", Options{Endpoints: []string{"http://127.0.0.1:1"}, Prefix: "/x", Site: "ams"}},
		{"lease_ttl under 2s", Options{Endpoints: []string{"http://127.0.0.1:1"}, LeaseTTL: time.Second, Site: "ams"}},
		{"no site", Options{Endpoints: []string{"http://127.0.0.1:1"}}},
		{"unreadable CA file", Options{Endpoints: []string{"https://127.0.0.1:1"}, CAFile: "/nonexistent/ca.pem", Site: "ams"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Open(context.Background(), tt.o, nil, nil); err == nil {
				s.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func TestOpen_UnreachableEtcdStartsDisconnectedAndJoinsLater(t *testing.T) {
	etcdBinary(t)
	eps := sharedCluster(t)
	p := startProxy(t, eps[0])
	p.setCut(true)
	start := time.Now()
	n := openNode(t, []string{p.endpoint()}, testPrefix(t), "ams")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Open took %s with etcd unreachable, want it bounded by dial_timeout", took)
	}
	if !n.errorLogged("etcd unreachable at start") {
		t.Error("no error logged for the unreachable etcd")
	}
	if n.s.Connection().Connected {
		t.Fatal("connected without etcd")
	}
	eventually(t, 10*time.Second, "partitioned after lease_ttl", func() bool { return n.s.Connection().Partitioned })
	if _, err := n.s.Submit(context.Background(), []byte("x")); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Submit while partitioned: %v, want ErrDisconnected", err)
	}
	p.setCut(false)
	eventually(t, 15*time.Second, "connected once etcd is reachable", func() bool { return n.s.Connection().Connected })
	eventually(t, 5*time.Second, "this site is listed", func() bool {
		v := n.s.Sites()
		return len(v.Sites) == 1 && v.Sites[0].Site == "ams"
	})
	if n.metric(n.s.m.connected) != 1 {
		t.Error("failoverd_etcd_connected is not 1")
	}
}

func TestElection_OneLeaderAndFailoverWhenItsSessionCloses(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	b := openNode(t, eps, prefix, "fra")
	c := openNode(t, eps, prefix, "lon")
	first := leaderOf(t, 10*time.Second, a, b, c)
	eventually(t, 5*time.Second, "every node names the leader", func() bool {
		for _, n := range []*node{a, b, c} {
			if n.s.Sites().Leader != first.s.o.Site {
				return false
			}
		}
		return true
	})
	eventually(t, 5*time.Second, "every node lists the three sites", func() bool {
		for _, n := range []*node{a, b, c} {
			if len(n.s.Sites().Sites) != 3 {
				return false
			}
		}
		return true
	})
	for _, si := range a.s.Sites().Sites {
		if si.Hostname != si.Site+".example.net" || si.Version != "test" || si.Started.IsZero() {
			t.Errorf("site %+v: registration not shown", si)
		}
		if age := time.Since(si.LastSeen); age < 0 || age > 10*time.Second {
			t.Errorf("site %s last seen %s ago while alive", si.Site, age)
		}
	}
	first.stop() // revokes its lease: the others take over at once
	var rest []*node
	for _, n := range []*node{a, b, c} {
		if n != first {
			rest = append(rest, n)
		}
	}
	second := leaderOf(t, 5*time.Second, rest...)
	if second == first {
		t.Fatal("the stopped node is still leader")
	}
	if got := second.metric(second.s.m.leader); got != 1 {
		t.Errorf("failoverd_leader = %v on the new leader", got)
	}
	eventually(t, 5*time.Second, "two live sites", func() bool { return second.metric(second.s.m.sitesLive) == 2 })
}

func TestElection_LeaderKilledIsReplacedWithinLeaseTTL(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	b := openNode(t, eps, prefix, "fra")
	first := leaderOf(t, 10*time.Second, a, b)
	other := b
	if first == b {
		other = a
	}
	killed := time.Now()
	first.crash()
	// lease_ttl plus the etcd lessor's expiry check and one
	// keep-alive round: bounded generously, measured in the log.
	leaderOf(t, 10*time.Second, other)
	t.Logf("new leader %s after %s (lease_ttl %s)", other.s.o.Site, time.Since(killed).Round(10*time.Millisecond), other.s.o.LeaseTTL)
	eventually(t, 5*time.Second, "the killed site is gone", func() bool { return len(other.s.Sites().Sites) == 1 })
}

func TestCommit_DeposedLeaderIsRefused(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	if _, err := a.s.Commit(context.Background(), Batch{State: map[string][]byte{"svc": []byte("one")}}); err != nil {
		t.Fatalf("leader commit: %v", err)
	}
	a.s.mu.Lock()
	term := a.s.lead
	a.s.mu.Unlock()
	// Another node's client deletes the leader key, as an expired lease
	// would: a commit with the old term must be refused by etcd itself.
	cli := (&cluster{t: t}).client(eps...)
	if _, err := cli.Delete(context.Background(), term.key); err != nil {
		t.Fatal(err)
	}
	_, err := a.s.guarded(context.Background(), a.s.currentClient(), term,
		[]clientv3.Op{clientv3.OpPut(a.s.k.state("svc"), encode(dataValue{V: valueVersion, Data: []byte("two")}))})
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("deposed commit: err = %v, want ErrNotLeader", err)
	}
	resp, err := cli.Get(context.Background(), a.s.k.state("svc"))
	if err != nil {
		t.Fatal(err)
	}
	var dv dataValue
	if err := decode(resp.Kvs[0].Value, &dv); err != nil || string(dv.Data) != "one" {
		t.Fatalf("committed value %q after a refused commit, want one", dv.Data)
	}
	if got := a.metric(a.s.m.commitConflicts); got != 1 {
		t.Errorf("failoverd_etcd_commit_refused_total = %v, want 1", got)
	}
	// The node campaigns again with its live session.
	leaderOf(t, 10*time.Second, a)
}

func TestCommit_FollowersGetWholeServicesAndSerials(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams", func(o *Options) { o.MaxTxnOps = 8 })
	b := openNode(t, eps, prefix, "fra", func(o *Options) { o.MaxTxnOps = 8 })
	leader := leaderOf(t, 10*time.Second, a, b)
	follower := a
	if leader == a {
		follower = b
	}
	batch := Batch{State: map[string][]byte{}, Serials: map[string]uint32{"example.com.": 2026120601}}
	for i := range 20 { // more than one transaction of 8
		batch.State[fmt.Sprintf("svc%02d.example.com.", i)] = []byte(fmt.Sprintf(`{"served":["192.0.2.%d"]}`, i))
	}
	follower.rec.mu.Lock()
	seen := len(follower.rec.committed)
	follower.rec.mu.Unlock()
	res, err := leader.s.Commit(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the follower holds the commit", func() bool {
		return follower.s.Snapshot().Revision >= res.Revision
	})
	// The commit took several transactions, yet the follower was handed it
	// once, whole: it never serves part of one commit.
	var handed []Committed
	eventually(t, 5*time.Second, "the follower is handed the commit", func() bool {
		follower.rec.mu.Lock()
		defer follower.rec.mu.Unlock()
		handed = slices.Clone(follower.rec.committed[seen:])
		return len(handed) > 0 && handed[len(handed)-1].Revision >= res.Revision
	})
	var parts []string
	for _, c := range handed {
		if !c.Full {
			parts = append(parts, fmt.Sprintf("rev %d: %d names, %d serials", c.Revision, len(c.State), len(c.Serials)))
		}
	}
	if len(parts) != 1 || len(handed[len(handed)-1].State) != 20 || handed[len(handed)-1].Serials["example.com."] != 2026120601 {
		t.Errorf("the follower was handed the commit in parts: %v", parts)
	}
	if resp, err := (&cluster{t: t}).client(eps...).Get(context.Background(), prefix+kindBatch, clientv3.WithPrefix()); err != nil || len(resp.Kvs) != 0 {
		t.Errorf("batch keys left after the commit: %v (%v)", resp, err)
	}
	snap := follower.s.Snapshot()
	if len(snap.State) != 20 || snap.Serials["example.com."] != 2026120601 {
		t.Fatalf("follower snapshot: %d names, serials %v", len(snap.State), snap.Serials)
	}
	for name, v := range batch.State {
		if string(snap.State[name]) != string(v) {
			t.Errorf("%s = %q, want %q", name, snap.State[name], v)
		}
	}
	// Delete one name: followers see it go.
	if _, err := leader.s.Commit(context.Background(), Batch{State: map[string][]byte{"svc00.example.com.": nil}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the deleted name is gone on the follower", func() bool {
		_, ok := follower.s.Snapshot().State["svc00.example.com."]
		return !ok
	})
	if _, err := follower.s.Commit(context.Background(), batch); !errors.Is(err, ErrNotLeader) {
		t.Errorf("follower commit: %v, want ErrNotLeader", err)
	}
}

func TestClient_WorksAgainstTheInstalledEtcdServer(t *testing.T) {
	eps := sharedCluster(t)
	cli := (&cluster{t: t}).client(eps...)
	st, err := cli.Status(context.Background(), eps[0])
	if err != nil {
		t.Fatal(err)
	}
	// Every other test of this package runs against this server; the
	// client is pinned in go.mod.
	t.Logf("etcd server %s, client go.etcd.io/etcd/client/v3 from go.mod", st.Version)
	if !strings.HasPrefix(st.Version, "3.") {
		t.Fatalf("etcd server %s: the v3 API needs a 3.x server", st.Version)
	}
}

// What is committed while a batch key stands is held back from followers
// until the key goes, also when it goes with its leader's lease (a leader
// that died midway): followers then get what was committed, not nothing.
func TestCommit_HeldWhileABatchStandsDeliveredWhenItsLeaseEnds(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	b := openNode(t, eps, prefix, "fra")
	leader := leaderOf(t, 10*time.Second, a, b)
	follower := a
	if leader == a {
		follower = b
	}
	cli := (&cluster{t: t}).client(eps...)
	ctx := context.Background()
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, leader.s.k.batch("gone"), encode(batchValue{V: valueVersion}), clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	res, err := leader.s.Commit(ctx, Batch{State: map[string][]byte{"svc.example.com.": []byte("one")}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the follower saw the commit", func() bool {
		return follower.s.Snapshot().Revision >= res.Revision
	})
	handedSvc := func() bool {
		follower.rec.mu.Lock()
		defer follower.rec.mu.Unlock()
		for _, c := range follower.rec.committed {
			if !c.Full && string(c.State["svc.example.com."]) == "one" {
				return true
			}
		}
		return false
	}
	if handedSvc() {
		t.Fatal("the follower was handed a change while a batch stood")
	}
	if _, err := cli.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the held change is handed over once the batch's lease ends", handedSvc)
}
