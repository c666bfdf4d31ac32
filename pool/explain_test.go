package pool

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestExplain checks, rule by rule (docs/behaviour.md sections 2 and 3),
// that the explanation names why each entry is or is not in the answer, the
// failover chain followed and the candidate set.
func TestExplain(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		spec   Spec
		steps  []step
		region string
		// want: address → substring of its reason and whether it is in
		// the answer.
		want map[string]struct {
			reason string
			in     bool
		}
		candidates string
		hops       []FailoverHop
		status     Status
	}{
		{
			name: "down obey entry is left out with its message and time",
			spec: gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{
				ent("192.0.2.1", ServeObey, 1), ent("192.0.2.2", ServeObey, 1)}}),
			steps:  seq(up("t:192.0.2.1"), up("t:192.0.2.2"), down("t:192.0.2.2")),
			region: GlobalRegion,
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.1": {"up", true},
				"192.0.2.2": {"down since 2026-11-23T06:00:03Z: connection refused", false},
			},
			candidates: "192.0.2.1", status: StatusTrouble,
		},
		{
			name: "serve_mode always is served while down, serve_mode no never",
			spec: gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{
				ent("192.0.2.1", ServeAlways, 1), ent("192.0.2.2", ServeNo, 1), ent("192.0.2.3", ServeObey, 1)}}),
			steps:  seq(down("t:192.0.2.1"), up("t:192.0.2.2"), up("t:192.0.2.3")),
			region: GlobalRegion,
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.1": {"serve_mode always: served anyway", true},
				"192.0.2.2": {"serve_mode no", false},
				"192.0.2.3": {"up", true},
			},
			candidates: "192.0.2.1,192.0.2.3", status: StatusTrouble,
		},
		{
			name: "serve_mode remove is removed until recovered",
			spec: gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{
				ent("192.0.2.1", ServeRemove, 1), ent("192.0.2.2", ServeObey, 1)}}),
			steps:  seq(up("t:192.0.2.2"), down("t:192.0.2.1"), up("t:192.0.2.1")),
			region: GlobalRegion,
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.1": {"removed until recovered", false},
				"192.0.2.2": {"up", true},
			},
			candidates: "192.0.2.2", status: StatusOK,
		},
		{
			name: "failover to another region follows the chain",
			spec: gslbSpec(true, 0,
				Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent("192.0.2.10", ServeObey, 1)}},
				Region{Code: "eu", MinHealthy: 1, FailoverMode: FailoverRegion, FailoverData: GlobalRegion,
					Entries: []Entry{ent("192.0.2.20", ServeObey, 1)}}),
			steps:  seq(up("t:192.0.2.10"), down("t:192.0.2.20")),
			region: "eu",
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.20": {"region is in failover", false},
			},
			candidates: "192.0.2.10", status: StatusFailover,
			hops: []FailoverHop{{From: "eu", Mode: FailoverRegion, To: GlobalRegion}},
		},
		{
			name: "failover_mode ip serves the backup address",
			spec: gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 2, FailoverMode: FailoverIP, FailoverData: "198.51.100.9",
				Entries: []Entry{ent("192.0.2.1", ServeObey, 1), ent("192.0.2.2", ServeObey, 1)}}),
			steps:  seq(up("t:192.0.2.1"), down("t:192.0.2.2")),
			region: GlobalRegion,
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.1": {"region is in failover", false},
			},
			candidates: "198.51.100.9", status: StatusFailover,
			hops: []FailoverHop{{From: GlobalRegion, Mode: FailoverIP, To: "198.51.100.9"}},
		},
		{
			name:   "a region the service lacks is answered by global",
			spec:   gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent("192.0.2.1", ServeObey, 1)}}),
			steps:  seq(up("t:192.0.2.1")),
			region: "Asia",
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.1": {"up", true},
			},
			candidates: "192.0.2.1", status: StatusOK,
		},
		{
			name: "rttm serves the fastest and says who is not among them",
			spec: Spec{Sites: []string{"iad"}, Services: []Service{{FQDN: "app.example.com.", Kind: KindRTTM, Active: true, AutoRecover: true,
				Regions: []Region{{Code: GlobalRegion, EP: 1, APMC: 1, EPMC: 1, Entries: []Entry{
					ent("192.0.2.1", ServeObey, 1), ent("192.0.2.2", ServeObey, 1)}}}}}},
			steps:  seq(up("t:192.0.2.1"), up("t:192.0.2.2"), perf("p:192.0.2.1", 40*ms), perf("p:192.0.2.2", 10*ms)),
			region: GlobalRegion,
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.1": {"not among the 1 fastest (median 40ms); up", false},
				"192.0.2.2": {"eligibility pool rank 1 (median 10ms)", true},
			},
			candidates: "192.0.2.2", status: StatusOK,
		},
		{
			name: "a deactivated service serves its full pool",
			spec: gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{
				ent("192.0.2.1", ServeObey, 1), ent("192.0.2.2", ServeNo, 1)}}),
			steps: seq(down("t:192.0.2.1"), cmd(func(e *Engine, now time.Time) (bool, []Transition, error) {
				return e.Deactivate("app.example.com.", now)
			})),
			region: GlobalRegion,
			want: map[string]struct {
				reason string
				in     bool
			}{
				"192.0.2.1": {"not monitored", true},
				"192.0.2.2": {"serve_mode no", false},
			},
			candidates: "192.0.2.1", status: StatusUnk,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(tc.spec, nil)
			run(t, e, newClock(), tc.steps)
			before := e.State()
			ex, err := e.Explain("app.example.com.", tc.region)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, e.State()) {
				t.Fatal("Explain changed the engine's state")
			}
			if ex.Status != tc.status {
				t.Errorf("status %s, want %s", ex.Status, tc.status)
			}
			if got := strings.Join(sortedData(ex.Candidates), ","); got != tc.candidates {
				t.Errorf("candidates %s, want %s", got, tc.candidates)
			}
			if tc.hops == nil {
				tc.hops = []FailoverHop{}
			}
			if !reflect.DeepEqual(ex.Failover, tc.hops) {
				t.Errorf("failover %+v, want %+v", ex.Failover, tc.hops)
			}
			for _, en := range ex.Entries {
				w, ok := tc.want[en.Address]
				if !ok {
					continue
				}
				if !strings.Contains(en.Reason, w.reason) || en.InAnswer != w.in {
					t.Errorf("%s: reason %q in_answer %v, want %q and %v", en.Address, en.Reason, en.InAnswer, w.reason, w.in)
				}
			}
			if len(ex.Steps) < 2 {
				t.Errorf("steps %q: want the decision in sentences", ex.Steps)
			}
		})
	}
}

func sortedData(recs []Record) []string {
	d := rdata(recs)
	sort.Strings(d)
	return d
}

// TestExplainUnknownService: an unknown name is ErrNotFound.
func TestExplainUnknownService(t *testing.T) {
	e := New(gslbSpec(true, 0, Region{Code: GlobalRegion}), nil)
	if _, err := e.Explain("nope.example.com.", GlobalRegion); err == nil {
		t.Fatal("want an error")
	}
}

// TestExplainCandidatesAreTheServedSet is the property that matters: over
// random services and random rounds, the candidates Explain gives for every
// region (and for a region the service lacks) are exactly the records the
// engine publishes for DNS, and explaining changes nothing.
func TestExplainCandidatesAreTheServedSet(t *testing.T) {
	for seed := range uint64(300) {
		explainMatchesServed(t, seed)
	}
}

// FuzzExplainMatchesServed is TestExplainCandidatesAreTheServedSet over
// seeds the fuzzer picks.
func FuzzExplainMatchesServed(f *testing.F) {
	for _, seed := range []uint64{1, 7, 300, 4242} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { explainMatchesServed(t, seed) })
}

// explainMatchesServed drives one random service with random rounds and
// commands, and after each checks that Explain's candidates, serve_count
// and in_answer flags are the published served sets, for every region and
// for a region the service lacks, and that explaining changed nothing.
func explainMatchesServed(t *testing.T, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 11))
	spec, targets := fuzzSpec(r)
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	e := New(spec, nil)
	for step := range 60 {
		now = now.Add(time.Second)
		switch r.IntN(10) {
		case 0:
			_, _, _ = e.Recover("f.example.com.", "", now)
		case 1:
			if r.IntN(3) == 0 {
				_, _, _ = e.Deactivate("f.example.com.", now)
			} else {
				_, _, _ = e.Activate("f.example.com.", now)
			}
		default:
			e.Observe(Observation{Target: targets[r.IntN(len(targets))], Up: r.IntN(3) > 0,
				RTT: time.Duration(1+r.IntN(100)) * time.Millisecond, Time: now, Message: "connection refused"})
		}
		ans := e.AnswersOf("f.example.com.")[0]
		view, _ := e.Service("f.example.com.")
		state := e.State()
		for _, code := range append(slices.Collect(keys(ans.Regions)), "nowhere") {
			ex, err := e.Explain("f.example.com.", code)
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			want := ans.Regions[code]
			if code == "nowhere" {
				want = ans.Regions[GlobalRegion]
			}
			if !reflect.DeepEqual(ex.Candidates, want.Records) && !(len(ex.Candidates) == 0 && len(want.Records) == 0) {
				t.Fatalf("seed %d step %d region %s: explain %v, DNS %v", seed, step, code, ex.Candidates, want.Records)
			}
			if ex.ServeCount != want.ServeCount {
				t.Fatalf("seed %d step %d region %s: serve_count %d, DNS %d", seed, step, code, ex.ServeCount, want.ServeCount)
			}
			for _, en := range ex.Entries {
				if en.InAnswer != slices.Contains(rdata(want.Records), en.Address) {
					t.Fatalf("seed %d step %d region %s: %s in_answer %v", seed, step, code, en.Address, en.InAnswer)
				}
			}
		}
		after, _ := e.Service("f.example.com.")
		if !reflect.DeepEqual(view, after) || !reflect.DeepEqual(state, e.State()) {
			t.Fatalf("seed %d step %d: Explain changed the engine", seed, step)
		}
	}
}

func keys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCloneSharesNothing: a clone answers and reports exactly as the engine
// does, and inputs to the clone never reach the engine.
func TestCloneSharesNothing(t *testing.T) {
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 3))
		spec, targets := fuzzSpec(r)
		now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
		e := New(spec, nil)
		for range 40 {
			now = now.Add(time.Second)
			e.Observe(Observation{Target: targets[r.IntN(len(targets))], Up: r.IntN(3) > 0, RTT: time.Millisecond, Time: now})
		}
		c := e.Clone()
		if !reflect.DeepEqual(e.Answers(), c.Answers()) || !reflect.DeepEqual(e.Services(), c.Services()) ||
			!reflect.DeepEqual(e.Clusters(), c.Clusters()) || !reflect.DeepEqual(e.State(), c.State()) {
			t.Fatalf("seed %d: the clone differs from the engine", seed)
		}
		answers, views, state := e.Answers(), e.Services(), e.State()
		for range 40 {
			now = now.Add(time.Second)
			c.Observe(Observation{Target: targets[r.IntN(len(targets))], Up: r.IntN(2) == 0, RTT: time.Millisecond, Time: now})
		}
		_, _, _ = c.Recover("f.example.com.", "", now)
		_, _, _ = c.ClusterDisable("c", "https", "r0", now)
		_, _, _ = c.Deactivate("f.example.com.", now)
		if !reflect.DeepEqual(answers, e.Answers()) || !reflect.DeepEqual(views, e.Services()) || !reflect.DeepEqual(state, e.State()) {
			t.Fatalf("seed %d: inputs to the clone changed the engine", seed)
		}
	}
}

// TestWhatIf checks the prediction against the real outage: WhatIf(down,
// up) changes nothing, and feeding the same rounds to the engine afterwards
// (the up addresses first) produces exactly the predicted statuses and
// served sets.
func TestWhatIf(t *testing.T) {
	spec := gslbSpec(false, 1,
		Region{Code: GlobalRegion, MinHealthy: 1, FailoverMode: FailoverIP, FailoverData: "198.51.100.9",
			Entries: []Entry{ent("192.0.2.10", ServeObey, 1), ent("192.0.2.11", ServeObey, 1)}},
		Region{Code: "eu", MinHealthy: 1, FailoverMode: FailoverRegion, FailoverData: GlobalRegion,
			Entries: []Entry{ent("192.0.2.20", ServeObey, 1)}})
	e := New(spec, nil)
	c := newClock()
	run(t, e, c, seq(up("t:192.0.2.10"), down("t:192.0.2.11"), up("t:192.0.2.20")))
	state, answers := e.State(), e.Answers()

	got, err := e.WhatIf([]string{"192.0.2.20", "192.0.2.10"}, []string{"192.0.2.11"}, c.next())
	if err != nil {
		t.Fatal(err)
	}
	want := []WhatIfChange{
		{FQDN: "app.example.com.", Region: GlobalRegion, StatusNow: StatusTrouble, StatusThen: StatusTrouble,
			ServedNow: []string{"192.0.2.10"}, ServedThen: []string{"192.0.2.11"}},
		{FQDN: "app.example.com.", Region: "eu", StatusNow: StatusOK, StatusThen: StatusFailover,
			ServedNow: []string{"192.0.2.20"}, ServedThen: []string{"192.0.2.11"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("what-if:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(state, e.State()) || !reflect.DeepEqual(answers, e.Answers()) {
		t.Fatal("WhatIf changed the engine")
	}
	// The real outage: the same rounds through the live engine.
	run(t, e, c, seq(rounds(2, up("t:192.0.2.11")), down("t:192.0.2.20"), down("t:192.0.2.10")))
	for _, w := range want {
		if s := regionStatus(t, e, w.FQDN, w.Region); s != w.StatusThen {
			t.Errorf("%s: status %s, predicted %s", w.Region, s, w.StatusThen)
		}
		if s := served(t, e, w.FQDN, w.Region); !eq(s, w.ServedThen) {
			t.Errorf("%s: served %v, predicted %v", w.Region, s, w.ServedThen)
		}
	}
}

// TestWhatIfUnknownAddress: an address no service monitors is ErrNotFound.
func TestWhatIfUnknownAddress(t *testing.T) {
	e := New(gslbSpec(true, 0, Region{Code: GlobalRegion, Entries: []Entry{ent("192.0.2.1", ServeObey, 1)}}), nil)
	if _, err := e.WhatIf([]string{"192.0.2.99"}, nil, time.Time{}); err == nil {
		t.Fatal("want an error")
	}
	if got, err := e.WhatIf([]string{"192.0.2.1"}, nil, time.Time{}); err != nil || len(got) == 0 {
		t.Fatalf("what-if 192.0.2.1 down: %v %v", got, err)
	}
}

// TestWhatIfPredictsTheOutage is the property over random states: for a
// random address set, the outcome WhatIf predicts is what the engine
// reaches when those rounds really happen.
func TestWhatIfPredictsTheOutage(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 5))
		spec, targets := fuzzSpec(r)
		now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
		e := New(spec, nil)
		for range 30 {
			now = now.Add(time.Second)
			e.Observe(Observation{Target: targets[r.IntN(len(targets))], Up: r.IntN(3) > 0, RTT: time.Millisecond, Time: now})
		}
		var addrs []string
		for _, s := range spec.Services {
			for _, reg := range s.Regions {
				for _, en := range reg.Entries {
					addrs = append(addrs, en.Address)
				}
			}
		}
		for _, rl := range spec.Clusters[0].Services[0].Reals {
			addrs = append(addrs, rl.IP)
		}
		var down []string
		for _, a := range addrs {
			if r.IntN(3) == 0 && len(e.targetsOf(a)) > 0 {
				down = append(down, a)
			}
		}
		if len(down) == 0 {
			continue
		}
		now = now.Add(time.Second)
		pred, err := e.WhatIf(down, nil, now)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		before := e.outcomes()
		for _, a := range down {
			for _, tg := range e.targetsOf(a) {
				e.Observe(Observation{Target: tg, Message: "what-if: down", Site: "iad", Time: now})
			}
		}
		after := e.outcomes()
		var real []WhatIfChange
		for i := range before {
			if before[i].status != after[i].status || !slices.Equal(before[i].served, after[i].served) {
				real = append(real, WhatIfChange{FQDN: before[i].fqdn, Region: before[i].region, StatusNow: before[i].status,
					StatusThen: after[i].status, ServedNow: before[i].served, ServedThen: after[i].served})
			}
		}
		if !reflect.DeepEqual(pred, real) {
			t.Fatalf("seed %d (down %v):\npredicted %+v\n   real %+v", seed, down, pred, real)
		}
	}
}

// TestExplainCluster: a cluster service's reals with why each is served or
// not (docs/behaviour.md section 6), candidates equal to the served set.
func TestExplainCluster(t *testing.T) {
	e := New(clusterSpec(rs("web1", "192.0.2.51", 10, true, false), rs("web2", "192.0.2.52", 5, false, false),
		rs("web3", "192.0.2.53", 0, true, false), rs("web4", "192.0.2.54", 1, true, false), rs("sorry", "192.0.2.59", 1, true, true)), nil)
	c := newClock()
	run(t, e, c, seq(up("c:web1"), down("c:web4")))
	for _, name := range []string{"web.example.com.", "_https._tcp.web.example.com."} {
		ex, err := e.Explain(name, GlobalRegion)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			reason string
			in     bool
		}{
			"192.0.2.51": {"up", true},
			"192.0.2.52": {"disabled", false},
			"192.0.2.53": {"weight 0", false},
			"192.0.2.54": {"down since", false},
			"192.0.2.59": {"the fallback, served only when", false},
		}
		for _, en := range ex.Entries {
			w := want[en.Address]
			if !strings.HasPrefix(en.Reason, w.reason) || en.InAnswer != w.in {
				t.Errorf("%s %s: reason %q in_answer %v, want %q %v", name, en.Address, en.Reason, en.InAnswer, w.reason, w.in)
			}
		}
		var wantRecs []Record
		for _, a := range e.AnswersOf("web.example.com.") {
			if a.Name == name {
				wantRecs = a.Regions[GlobalRegion].Records
			}
		}
		if !reflect.DeepEqual(ex.Candidates, wantRecs) {
			t.Errorf("%s: candidates %v, served %v", name, ex.Candidates, wantRecs)
		}
	}
}
