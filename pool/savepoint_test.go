package pool

import (
	"reflect"
	"testing"
)

// A command taken back with Rollback leaves no trace: the persisted state,
// every view and every answer are as before it.
func TestSavepoint_RollbackUndoesEveryCommand(t *testing.T) {
	const app, sf = "app.example.com.", "a.example.com."
	for _, tc := range []struct {
		name string
		save func(e *Engine) *Savepoint
		cmd  func(e *Engine, now timeT) (bool, []Transition, error)
	}{
		{"deactivate", func(e *Engine) *Savepoint { return e.SaveService(app) }, func(e *Engine, now timeT) (bool, []Transition, error) { return e.Deactivate(app, now) }},
		{"recover service", func(e *Engine) *Savepoint { return e.SaveService(app) }, func(e *Engine, now timeT) (bool, []Transition, error) { return e.Recover(app, "", now) }},
		{"recover address", func(e *Engine) *Savepoint { return e.SaveService(app) }, func(e *Engine, now timeT) (bool, []Transition, error) { return e.Recover(app, e1, now) }},
		{"force", func(e *Engine) *Savepoint { return e.SaveService(sf) }, func(e *Engine, now timeT) (bool, []Transition, error) { return e.Force(sf, now) }},
		{"cluster disable", func(e *Engine) *Savepoint { return e.SaveClusterService("web-cluster", "https") }, func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.ClusterDisable("web-cluster", "https", "web1", now)
		}},
		{"cluster weight", func(e *Engine) *Savepoint { return e.SaveClusterService("web-cluster", "https") }, func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.ClusterSetWeight("web-cluster", "https", "web2", 0, now)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := gslbSpec(false, 0, threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1)...)
			spec.Services[0].Regions[0].Entries[0].ServeMode = ServeRemove
			sfs := sfSpec([]string{"iad"}, SensitivityLow, backup, LiveNotForced)
			spec.Services = append(spec.Services, sfs.Services...)
			spec.Clusters = clusterSpec(rs("web1", "192.0.2.51", 10, true, false), rs("web2", "192.0.2.52", 5, true, false)).Clusters
			c := newClock()
			e := New(spec, nil)
			run(t, e, c, seq(allDown(e1, e2, w1), allUp(e2, w1), down("c:web1"), up("c:web2")))

			state, services, clusters, answers := e.State(), e.Services(), e.Clusters(), e.Answers()
			sp := tc.save(e)
			mustChange(t)(tc.cmd(e, c.next()))
			if reflect.DeepEqual(e.State(), state) && reflect.DeepEqual(e.Answers(), answers) && reflect.DeepEqual(e.Services(), services) {
				t.Fatal("the command changed nothing: the test would prove nothing")
			}
			e.Rollback(sp)
			if got := e.State(); !reflect.DeepEqual(got, state) {
				t.Errorf("state after rollback:\n%+v\nwant\n%+v", got, state)
			}
			if got := e.Services(); !reflect.DeepEqual(got, services) {
				t.Errorf("services after rollback:\n%+v\nwant\n%+v", got, services)
			}
			if got := e.Clusters(); !reflect.DeepEqual(got, clusters) {
				t.Errorf("clusters after rollback:\n%+v\nwant\n%+v", got, clusters)
			}
			if got := e.Answers(); !reflect.DeepEqual(got, answers) {
				t.Errorf("answers after rollback:\n%+v\nwant\n%+v", got, answers)
			}
			// The engine goes on deciding from the restored state.
			run(t, e, c, seq(allUp(e1)))
		})
	}
}
