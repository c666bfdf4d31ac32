package pool

import (
	"reflect"
	"testing"
)

// unitFixture is an engine with a latch, a removed address, an sf_pool
// override, a cluster weight override and a deactivated-then-activated
// service: every kind of state State holds.
func unitFixture(t *testing.T) (Spec, *Engine) {
	t.Helper()
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
	return spec, e
}

// The units' states merged are the engine's State: a deployment that
// commits unit by unit commits everything State holds.
func TestStateOf_UnitsMergeToState(t *testing.T) {
	_, e := unitFixture(t)
	units := e.Units()
	if len(units) < 3 {
		t.Fatalf("units = %v, want the gslb, sf_pool and cluster names", units)
	}
	merged := &State{}
	for _, u := range units {
		merged.Merge(e.StateOf(u))
	}
	if want := e.State(); !reflect.DeepEqual(merged, want) {
		t.Fatalf("merged units differ from State:\n got %+v\nwant %+v", merged, want)
	}
	if st := e.StateOf("nowhere.example."); !reflect.DeepEqual(st, &State{}) {
		t.Fatalf("StateOf an unknown name = %+v, want empty", st)
	}
}

// Restoring every unit of another engine's state gives its state and
// answers, and keeps this engine's own round history.
func TestRestore_AdoptsUnitStateKeepsHistory(t *testing.T) {
	spec, leader := unitFixture(t)
	follower := New(spec, nil)
	c := newClock()
	run(t, follower, c, seq(allUp(e1, e2, w1)))
	before, _ := follower.Service("app.example.com.")
	for _, u := range leader.Units() {
		follower.Restore(u, leader.StateOf(u))
	}
	if got, want := follower.State(), leader.State(); !reflect.DeepEqual(got, want) {
		t.Fatalf("state after Restore:\n got %+v\nwant %+v", got, want)
	}
	if got, want := follower.Answers(), leader.Answers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers after Restore:\n got %+v\nwant %+v", got, want)
	}
	after, _ := follower.Service("app.example.com.")
	if len(after.Regions[0].Entries[0].History) == 0 || !reflect.DeepEqual(after.Regions[0].Entries[0].History, before.Regions[0].Entries[0].History) {
		t.Fatalf("history not kept: before %+v after %+v", before.Regions[0].Entries[0].History, after.Regions[0].Entries[0].History)
	}
}

// Restore resets what the unit's state leaves out: no latch, no removed
// address, no override.
func TestRestore_EmptyStateResetsUnit(t *testing.T) {
	spec, e := unitFixture(t)
	for _, u := range e.Units() {
		e.Restore(u, nil)
	}
	fresh := New(spec, nil)
	if got, want := e.State(), fresh.State(); !reflect.DeepEqual(got, want) {
		t.Fatalf("state after restoring nothing:\n got %+v\nwant %+v", got, want)
	}
	if got, want := e.Answers(), fresh.Answers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers after restoring nothing:\n got %+v\nwant %+v", got, want)
	}
}
