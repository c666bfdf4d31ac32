package pool

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// State survives a JSON round trip and restores the same decisions.
func TestState_JSONRoundTrip(t *testing.T) {
	spec := gslbSpec(false, 0, threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1)...)
	spec.Services[0].Regions[0].Entries[0].ServeMode = ServeRemove
	sf := sfSpec([]string{"iad"}, SensitivityLow, backup, LiveNotForced)
	spec.Services = append(spec.Services, sf.Services...)
	spec.Clusters = clusterSpec(rs("web1", "192.0.2.51", 10, true, false), rs("web2", "192.0.2.52", 5, true, false)).Clusters
	c := newClock()
	e := New(spec, nil)
	run(t, e, c, seq(allDown(e1, e2, w1), allUp(e2, w1), down("c:web1")))
	mustChange(t)(e.Force("a.example.com.", c.next()))
	mustChange(t)(e.ClusterSetWeight("web-cluster", "https", "web2", 3, c.next()))
	mustChange(t)(e.Deactivate("app.example.com.", c.next()))
	mustChange(t)(e.Activate("app.example.com.", c.next()))
	run(t, e, c, seq(allDown(e1), allUp(e2, w1)))

	st := e.State()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, &back) {
		t.Fatalf("round trip differs:\n%+v\n%+v", st, &back)
	}
	e2x := New(spec, &back)
	if !reflect.DeepEqual(e.Answers(), e2x.Answers()) {
		t.Fatalf("answers differ after restart:\n%+v\n%+v", e.Answers(), e2x.Answers())
	}
	for i, v := range e.Services() {
		w := e2x.Services()[i]
		if v.Status != w.Status || v.Active != w.Active || v.LiveRecordState != w.LiveRecordState {
			t.Fatalf("service %s differs after restart: %s/%v vs %s/%v", v.FQDN, v.Status, v.Active, w.Status, w.Active)
		}
	}
	if !st.Latches[RegionKey("app.example.com.", "US East")] || !st.Addresses[AddressKey("app.example.com.", "US East", e1)].Removed {
		t.Fatalf("state lacks the latch or the removed address: %+v", st)
	}
}

func mustChange(t *testing.T) func(bool, []Transition, error) {
	return func(changed bool, _ []Transition, err error) {
		t.Helper()
		if err != nil || !changed {
			t.Fatalf("command: changed=%v err=%v", changed, err)
		}
	}
}

// An operator override yields to a later configuration change of the same
// setting, and is dropped when the operator sets the configured value.
func TestState_OverrideYieldsToConfigChange(t *testing.T) {
	spec := afSpec("192.0.2.1", "t:p", FailoverIP, "192.0.2.2", true, 0)
	c := newClock()
	e := New(spec, nil)
	mustChange(t)(e.Deactivate("www.example.com.", c.next()))
	if st := e.State(); st.Active["www.example.com."] != (BoolOverride{Value: false, Config: true}) {
		t.Fatalf("override = %+v", st.Active)
	}
	e = New(spec, e.State())
	if v, _ := e.Service("www.example.com."); v.Active {
		t.Fatal("deactivation lost across restart")
	}
	spec.Services[0].Active = false
	e.Reconfigure(spec, c.next())
	spec.Services[0].Active = true
	e.Reconfigure(spec, c.next())
	if v, _ := e.Service("www.example.com."); !v.Active {
		t.Fatal("configuration change did not win over the old override")
	}
	mustChange(t)(e.Deactivate("www.example.com.", c.next()))
	mustChange(t)(e.Activate("www.example.com.", c.next()))
	if len(e.State().Active) != 0 {
		t.Fatalf("override kept after returning to the configured value: %+v", e.State().Active)
	}
}

// Reconfigure: unchanged addresses and targets keep their status, changed
// targets restart from unk, new regions start fresh, and status changes of
// surviving regions are reported.
func TestReconfigure_KeepsUnchangedState(t *testing.T) {
	spec := gslbSpec(true, 0, threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1)...)
	c := newClock()
	e := New(spec, nil)
	run(t, e, c, allDown(e1, w1, w2, g1))
	spec2 := gslbSpec(true, 0, threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1)...)
	spec2.Services[0].Regions[1].Entries[0].Target = "t:new-monitor" // w1's probe changed
	tr := e.Reconfigure(spec2, c.next())
	if got := entryView(t, e, "app.example.com.", "US East", e1).Status; got != StatusDown {
		t.Fatalf("e1 = %s, want down (kept)", got)
	}
	if got := entryView(t, e, "app.example.com.", "US West", w1).Status; got != StatusUnk {
		t.Fatalf("w1 = %s, want unk (target changed)", got)
	}
	if got := kinds(tr, false); !eq(got, []string{"svc:US West::failover>trouble"}) {
		t.Fatalf("reconfigure transitions = %q", got)
	}
	if got := e.Observe(Observation{Target: "t:" + w1, Up: true, Time: c.next()}); len(got) != 0 {
		t.Fatalf("old target still consumed: %q", kinds(got, false))
	}
}

// Operator commands report whether they changed anything and wrap
// ErrNotFound for unknown services and addresses.
func TestCommands_ChangedAndErrors(t *testing.T) {
	spec := gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(g1, ServeRemove, 1), ent(g2, ServeObey, 1)}})
	c := newClock()
	e := New(spec, nil)
	if changed, _, err := e.Activate("app.example.com.", c.next()); changed || err != nil {
		t.Fatalf("Activate active service: %v %v", changed, err)
	}
	if _, _, err := e.Activate("x.example.com.", c.next()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Activate unknown: %v", err)
	}
	if _, _, err := e.Recover("app.example.com.", "192.0.2.99", c.next()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Recover unknown address: %v", err)
	}
	if changed, _, err := e.Recover("app.example.com.", g1, c.next()); changed || err != nil {
		t.Fatalf("Recover address that is not removed: %v %v", changed, err)
	}
	run(t, e, c, seq(down("t:"+g1), up("t:"+g1)))
	changed, tr, err := e.Recover("app.example.com.", "", c.next())
	if !changed || err != nil {
		t.Fatalf("Recover service: %v %v", changed, err)
	}
	if got := kinds(tr, false); !eq(got, []string{"ip:global:192.0.2.30:down>up", "svc:global::unk>ok"}) {
		t.Fatalf("recover transitions = %q", got)
	}
	if tr[0].Served == nil || len(tr[0].Served) != 2 {
		t.Fatalf("recover ip transition served = %v", tr[0].Served)
	}
}

// Deactivated gslb: full pool served (serve_mode no excluded), status unk.
func TestCommands_DeactivateServesFullPool(t *testing.T) {
	spec := gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, FailoverMode: FailoverIP, FailoverData: "198.51.100.1",
		Entries: []Entry{ent(g1, ServeObey, 1), ent(g2, ServeObey, 1), ent("192.0.2.32", ServeNo, 1)}})
	c := newClock()
	e := New(spec, nil)
	run(t, e, c, allDown(g1, g2))
	changed, tr, err := e.Deactivate("app.example.com.", c.next())
	if !changed || err != nil || !eq(kinds(tr, false), []string{"svc:global::failover>unk"}) {
		t.Fatalf("Deactivate: %v %q %v", changed, kinds(tr, false), err)
	}
	if got := served(t, e, "app.example.com.", GlobalRegion); !eq(got, list(g1+","+g2)) {
		t.Fatalf("served = %v", got)
	}
}

// AnswersOf returns exactly the entries of Answers for one fqdn: the
// service name, or a cluster service's A, SRV and target names.
func TestAnswersOf_MatchesAnswers(t *testing.T) {
	spec := afSpec("192.0.2.1", "t:p", FailoverIP, "192.0.2.2", true, 0)
	spec.Clusters = clusterSpec(rs("web1", "192.0.2.51", 10, true, false), rs("web2", "192.0.2.52", 5, true, false)).Clusters
	e := New(spec, nil)
	all := map[string]Answer{}
	for _, a := range e.Answers() {
		all[a.Name] = a
	}
	tests := []struct {
		fqdn  string
		names []string
	}{
		{"www.example.com.", []string{"www.example.com."}},
		{web, []string{"_https._tcp." + web, web, "web1." + web, "web2." + web}},
		{"unknown.example.com.", nil},
	}
	for _, tc := range tests {
		got := e.AnswersOf(tc.fqdn)
		var names []string
		for _, a := range got {
			names = append(names, a.Name)
			if !reflect.DeepEqual(a, all[a.Name]) {
				t.Errorf("%s: %+v differs from Answers' %+v", a.Name, a, all[a.Name])
			}
		}
		if !eq(names, tc.names) {
			t.Errorf("AnswersOf(%s) names = %v, want %v", tc.fqdn, names, tc.names)
		}
	}
}
