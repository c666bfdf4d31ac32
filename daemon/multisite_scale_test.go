package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/sites"
)

// scaleServices is how many services the commit test holds: far more than
// the one-value layout fitted in etcd's 1.5 MiB request limit.
const scaleServices = 20000

// scaleSpec is n gslb services of two probed addresses each.
func scaleSpec(n int) pool.Spec {
	spec := pool.Spec{Sites: []string{"a"}}
	for i := range n {
		a, b := fmt.Sprintf("10.%d.%d.1", i/256, i%256), fmt.Sprintf("10.%d.%d.2", i/256, i%256)
		spec.Services = append(spec.Services, pool.Service{
			FQDN: fmt.Sprintf("svc%05d.example.test.", i), Kind: pool.KindGSLB, TTL: 30, Active: true, AutoRecover: true,
			Regions: []pool.Region{{Code: pool.GlobalRegion, MinHealthy: 1, FailoverMode: pool.FailoverGlobal, Entries: []pool.Entry{
				{Address: a, Weight: 1, ServeMode: pool.ServeObey, Target: "TCP|" + a + ":80"},
				{Address: b, Weight: 1, ServeMode: pool.ServeObey, Target: "TCP|" + b + ":80"},
			}}},
		})
	}
	return spec
}

// leaderOn opens a site on etcd and waits until it leads; committed gets
// what a follower would be handed.
func leaderOn(t *testing.T, endpoint, site string, committed func(sites.Committed)) *sites.Sites {
	t.Helper()
	lead := make(chan bool, 8)
	s, err := sites.Open(context.Background(), sites.Options{
		Endpoints: []string{endpoint}, Site: site, Hostname: site + ".test", LeaseTTL: 2 * time.Second,
		OnLeader:    func(b bool) { lead <- b },
		OnCommitted: committed,
	}, zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran; _ = s.Close() })
	if committed != nil {
		return s // a follower: another site leads
	}
	select {
	case <-lead:
	case <-time.After(30 * time.Second):
		t.Fatal("site never became leader")
	}
	return s
}

// stateKeys reads the committed state keys changed after rev: their number,
// total bytes (keys and values, as etcd stores them) and largest value.
func stateKeys(t *testing.T, cli *clientv3.Client, rev int64) (keys, total, largest int, names []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, sites.DefaultPrefix+"state/", clientv3.WithPrefix(), clientv3.WithMinModRev(rev+1))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		keys++
		total += len(kv.Key) + len(kv.Value)
		largest = max(largest, len(kv.Value))
		names = append(names, strings.TrimPrefix(string(kv.Key), sites.DefaultPrefix+"state/"))
	}
	return keys, total, largest, names
}

func revision(t *testing.T, cli *clientv3.Client) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// The committed state is one value per service: 20,000 services commit in
// values that each stay far below etcd's request limit, and a decision
// about one service writes that service's value alone, which is all a
// follower is handed.
func TestMultisiteCommit_OneValuePerServiceScales(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and commits 20,000 services")
	}
	etcd := testutil.StartEtcd(t)
	spec := scaleSpec(scaleServices)
	engine := pool.New(spec, nil)
	now := time.Now()
	for _, sc := range spec.Services { // state in every service: one address up, one down
		engine.Observe(pool.Observation{Target: sc.Regions[0].Entries[0].Target, Up: true, RTT: time.Millisecond, Time: now})
		engine.Observe(pool.Observation{Target: sc.Regions[0].Entries[1].Target, Message: "connection refused", Time: now})
	}

	followed := make(chan sites.Committed, 64)
	stop := make(chan struct{})
	s := leaderOn(t, etcd.Endpoint, "a", nil)
	leaderOn(t, etcd.Endpoint, "b", func(c sites.Committed) {
		if !c.Full {
			select {
			case followed <- c:
			case <-stop: // the test is over: let the follower stop
			}
		}
	})
	t.Cleanup(func() { close(stop) }) // before the follower's cleanup
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })

	l := &decisionLoop{engine: engine, pub: &publisher{zones: map[string]*zoneState{}}}
	m := &multisite{loop: l, s: s, log: zap.NewNop(), last: map[string]valueDigest{}, lastSerials: map[string]uint32{}}
	ctx := context.Background()

	before := revision(t, cli)
	start := time.Now()
	if _, err := m.commit(ctx, l, nil, nil); err != nil {
		t.Fatalf("committing %d services: %v", scaleServices, err)
	}
	took := time.Since(start)
	keys, total, largest, _ := stateKeys(t, cli, before)
	t.Logf("whole state: %d services in %d values, %d bytes, largest value %d bytes, %d transactions, %s",
		scaleServices, keys, total, largest, revision(t, cli)-before, took)
	if keys != scaleServices {
		t.Errorf("%d state values for %d services, want one each", keys, scaleServices)
	}
	if largest > 4096 {
		t.Errorf("largest value %d bytes: a service's value should be small", largest)
	}

	// One service's address goes down: one value, one event.
	before = revision(t, cli)
	trs := engine.Observe(pool.Observation{Target: spec.Services[42].Regions[0].Entries[0].Target, Message: "timeout", Time: now.Add(time.Second)})
	dec := Decision{Time: now.Add(time.Second), Transitions: trs}
	var events []pool.Transition
	for _, tr := range trs {
		if isChange(tr.Kind) {
			events = append(events, tr)
		}
	}
	if len(events) == 0 {
		t.Fatal("the round changed nothing: the test decides nothing")
	}
	start = time.Now()
	if _, err := m.commit(ctx, l, decisionUnits(dec, events), events); err != nil {
		t.Fatal(err)
	}
	took = time.Since(start)
	keys, total, largest, names := stateKeys(t, cli, before)
	txns := revision(t, cli) - before
	t.Logf("one service's change: %d state values (%v), %d bytes, %d transactions, %s", keys, names, total, txns, took)
	if want := "svc%2F" + spec.Services[42].FQDN; keys != 1 || names[0] != want {
		t.Errorf("state values written %v, want only %s", names, want)
	}
	if txns != 1 {
		t.Errorf("%d transactions for one service's change, want 1", txns)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case c := <-followed:
			if c.Revision < before+txns {
				continue // the whole state's commit
			}
			if len(c.State) != 1 || c.State[stateUnit+spec.Services[42].FQDN] == nil {
				t.Fatalf("the follower was handed %d values, want the changed service's alone", len(c.State))
			}
			return
		case <-deadline:
			t.Fatal("the follower never saw the change")
		}
	}
}

// A node that served a deployment's committed serials, which may be below
// serials it published itself before (deciding alone while cut off, or a
// previous run), publishes its own next serial above its high-water mark
// once it stops serving committed ones: never a serial it published for
// other content.
func TestOwnSerials_AboveTheHighWaterMarkAfterCommittedOnes(t *testing.T) {
	td := startTestDaemon(t, clusterConfig)
	l := td.d.loop
	s0 := soaSerial(t, td)
	var hw uint32
	if err := l.call(context.Background(), func() error {
		// Serve a committed serial below what this node published.
		l.pub.committed = map[string]uint32{"example.test.": s0 - 5}
		l.pub.publish(time.Now(), []string{}, l.engine)
		(&multisite{}).ownSerials(l)
		hw = l.pub.serials.hw["example.test."]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s := soaSerial(t, td); s != s0-5 {
		t.Fatalf("serving the committed serial: SOA %d, want %d", s, s0-5)
	}
	if err := l.call(context.Background(), func() error {
		if _, _, err := l.engine.ClusterDisable("web", "http", "web1", time.Now()); err != nil {
			return err
		}
		l.pub.apply(Decision{Time: time.Now(), Full: true}, l.engine)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s := soaSerial(t, td); s <= hw || s <= s0 {
		t.Errorf("own serial after committed ones: %d, want above the high-water mark %d (published %d before)", s, hw, s0)
	}
}

// A follower handed one committed unit serves that unit's answers with the
// committed serial and adopts its state, leaving every other name as it
// was: its apply is proportional to what changed.
func TestFollower_AppliesTheCommittedUnitsItIsHanded(t *testing.T) {
	td := startTestDaemon(t, clusterConfig)
	l := td.d.loop
	appBefore := td.answer("app.example.test.", dns.TypeA)
	if got := td.answer("web.example.test.", dns.TypeA); !strings.Contains(got, "192.0.2.51") {
		t.Fatalf("web.example.test. before: %s, want both reals", got)
	}

	// The leader disabled web1 and deactivated app (not handed over).
	leader := pool.New(l.plan.spec, nil)
	if _, _, err := leader.ClusterDisable("web", "http", "web1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := leader.Deactivate("app.example.test.", time.Now()); err != nil {
		t.Fatal(err)
	}
	web, err := unitOf(leader, "web.example.test.")
	if err != nil || web == nil {
		t.Fatalf("unit value: %v", err)
	}
	m := &multisite{loop: l, log: zap.NewNop(), view: map[string][]byte{}, viewSerials: map[string]uint32{}}
	// Above the node's own serial: a committed serial below it would be
	// held back until the leader raised it (serialFloor).
	committed := soaSerial(t, td) + 7
	var followerState, leaderState *pool.State
	if err := l.call(context.Background(), func() error {
		m.committed(l, sites.Committed{Revision: 2, State: map[string][]byte{stateUnit + "web.example.test.": web},
			Serials: map[string]uint32{"example.test.": committed}})
		followerState, leaderState = l.engine.StateOf("web.example.test."), leader.StateOf("web.example.test.")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := td.answer("web.example.test.", dns.TypeA); strings.Contains(got, "192.0.2.51") || !strings.Contains(got, "192.0.2.52") {
		t.Errorf("web.example.test. after the committed unit: %s, want web2 alone", got)
	}
	if got := td.answer("app.example.test.", dns.TypeA); got != appBefore {
		t.Errorf("app.example.test. changed without being handed: %s, was %s", got, appBefore)
	}
	if s := soaSerial(t, td); s != committed {
		t.Errorf("SOA serial %d, want the committed %d", s, committed)
	}
	if !reflect.DeepEqual(followerState, leaderState) {
		t.Errorf("the follower's engine holds %+v for web, want the leader's %+v", followerState, leaderState)
	}
}

// During a rolling upgrade a follower of this version serves what a leader
// of the earlier version commits (the whole engine state in one value and
// one value per answer) until a unit is committed.
func TestFollower_ServesTheLayoutBeforeUnits(t *testing.T) {
	td := startTestDaemon(t, clusterConfig)
	l := td.d.loop
	leader := pool.New(l.plan.spec, nil)
	if _, _, err := leader.ClusterDisable("web", "http", "web1", time.Now()); err != nil {
		t.Fatal(err)
	}
	state := map[string][]byte{legacyEngine: engineState(leader)}
	for _, a := range leader.Answers() {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		state[legacyAnswer+a.Name] = b
	}
	m := &multisite{loop: l, log: zap.NewNop(), view: map[string][]byte{}, viewSerials: map[string]uint32{}}
	var got, want *pool.State
	if err := l.call(context.Background(), func() error {
		m.committed(l, sites.Committed{Revision: 2, State: state, Serials: map[string]uint32{"example.test.": 2000000009}})
		got, want = l.engine.State(), leader.State()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if a := td.answer("web.example.test.", dns.TypeA); strings.Contains(a, "192.0.2.51") || !strings.Contains(a, "192.0.2.52") {
		t.Errorf("web.example.test. from the earlier layout: %s, want web2 alone", a)
	}
	if s := soaSerial(t, td); s != 2000000009 {
		t.Errorf("SOA serial %d, want the committed 2000000009", s)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the follower's engine holds %+v, want the leader's %+v", got, want)
	}
}
