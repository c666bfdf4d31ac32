package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/sites"
	"github.com/failoverd/failoverd/store"
)

func TestOpCommand_TargetNamesWhatTheJobChanges(t *testing.T) {
	tests := []struct {
		oc   opCommand
		want string
	}{
		{opCommand{Action: api.ActionDeactivate, FQDN: "www.example.test."}, "www.example.test."},
		{opCommand{Action: api.ActionRecover, FQDN: "www.example.test.", Address: "192.0.2.1"}, "www.example.test./192.0.2.1"},
		{opCommand{Action: api.ActionSetWeight, Cluster: "web", Service: "https", Real: "web1", Weight: 3}, "web/https/web1"},
	}
	for _, tc := range tests {
		if got := tc.oc.target(); got != tc.want {
			t.Errorf("%+v: target %q, want %q", tc.oc, got, tc.want)
		}
		if _, _, err := tc.oc.ops(); err != nil {
			t.Errorf("%+v: %v", tc.oc, err)
		}
	}
	if _, _, err := (opCommand{Action: "explode"}).ops(); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("unknown action: %v, want a bad request", err)
	}
}

// A refused command keeps its API error type across etcd: the submitting
// node answers as the node that ran it would.
func TestDoneError_KeepsTheAPIErrorType(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{fmt.Errorf("service x: %w", pool.ErrNotFound), api.ErrDoesNotExist},
		{fmt.Errorf("force: %w", pool.ErrPrecondition), api.ErrPreconditionFailed},
		{fmt.Errorf("%w: unknown action", api.ErrBadRequest), api.ErrBadRequest},
	}
	for _, tc := range tests {
		got := fromDone(doneError(tc.err))
		if !errors.Is(got, tc.want) {
			t.Errorf("%v: after etcd %v, want %v", tc.err, got, tc.want)
		}
	}
	if got := fromDone(doneError(errors.New("disk full"))); errors.Is(got, api.ErrBadRequest) || got.Error() != "disk full" {
		t.Errorf("an unclassified error became %v", got)
	}
}

func TestEntryTarget_FindsTheProbeKeyOfAnAddress(t *testing.T) {
	af := pool.Service{FQDN: "af.example.test.", Address: "192.0.2.1", Target: "TCP|192.0.2.1:80"}
	gslb := pool.Service{FQDN: "g.example.test.", Regions: []pool.Region{
		{Code: "global", Entries: []pool.Entry{{Address: "192.0.2.10", Target: "HTTP|192.0.2.10:80|/"}}},
		{Code: "EU", Entries: []pool.Entry{{Address: "192.0.2.10", Target: "HTTP|192.0.2.10:8080|/"}}},
	}}
	tests := []struct {
		name            string
		sc              pool.Service
		region, address string
		want            string
	}{
		{"active_failover_primary", af, "global", "192.0.2.1", "TCP|192.0.2.1:80"},
		{"gslb_entry_of_its_region", gslb, "EU", "192.0.2.10", "HTTP|192.0.2.10:8080|/"},
		{"unknown_address", gslb, "global", "192.0.2.99", ""},
	}
	for _, tc := range tests {
		if got := entryTarget(tc.sc, tc.region, tc.address); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCommittedState_AnswersEveryCommittedNameInOrder(t *testing.T) {
	m := &multisite{log: zap.NewNop(), view: map[string][]byte{}}
	for _, a := range []pool.Answer{{Name: "b.example.test.", TTL: 2}, {Name: "a.example.test.", TTL: 1}} {
		b, err := json.Marshal(unitValue{State: &pool.State{}, Answers: []pool.Answer{a}})
		if err != nil {
			t.Fatal(err)
		}
		m.view[stateUnit+a.Name] = b
	}
	m.view["engine"] = []byte(`{"addresses":{}}`) // a name of the layout before units: not an answer
	cs := &committedState{m: m}
	got := cs.Answers()
	if len(got) != 2 || got[0].Name != "a.example.test." || got[1].Name != "b.example.test." {
		t.Fatalf("Answers() = %+v", got)
	}
	if a := cs.AnswersOf("b.example.test."); len(a) != 1 || a[0].TTL != 2 {
		t.Errorf("AnswersOf(b) = %+v", a)
	}
	if a := cs.AnswersOf("c.example.test."); a != nil {
		t.Errorf("AnswersOf(c) = %+v, want none", a)
	}
}

// A deployment's finished commands that changed something are kept in
// every node's job history (as a single node keeps its own); refused and
// unchanged ones are not, and a local job holding the same id stays.
func TestRecordJobs_KeepsTheDeploymentsChangesPerService(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	local := store.Job{ID: 40, Action: "reload", Target: "", Created: time.Now().UTC()}
	if err := st.Commit(store.Batch{Job: &local}); err != nil {
		t.Fatal(err)
	}
	cmd := func(oc opCommand) []byte {
		b, err := json.Marshal(oc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	now := time.Now().UTC().Truncate(time.Second)
	deactivate := cmd(opCommand{Action: api.ActionDeactivate, FQDN: "www.example.test.", Actor: "ops"})
	jobs := []sites.Job{
		{ID: 40, Data: deactivate, Submitted: now},                                // the local job's id
		{ID: 41, Data: deactivate, Submitted: now},                                // changed: kept
		{ID: 42, Data: deactivate, Submitted: now, Error: doneNotFound + "gone"},  // refused
		{ID: 43, Data: deactivate, Submitted: now, Result: []byte(doneUnchanged)}, // unchanged
	}
	m := &multisite{log: zap.NewNop()}
	l := &decisionLoop{store: st}
	m.recordJobs(l, jobs)
	m.recordJobs(l, jobs) // a resync hands them again
	got, err := st.JobsOf("www.example.test.", now.Add(-time.Minute), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 41 || got[0].Action != api.ActionDeactivate || got[0].Actor != "ops" || !got[0].Created.Equal(now) {
		t.Fatalf("jobs of www.example.test.: %+v, want job 41 alone", got)
	}
	if j, ok, err := st.Job(40); err != nil || !ok || j.Action != "reload" {
		t.Errorf("the local job 40 became %+v (%v, %v)", j, ok, err)
	}
}

// The leader takes a down verdict as soon as another site's report gives
// it, not at its own next round of the target; only turns to down, and
// never for targets the engine keeps per-site state of.
func TestEarlyDown_OtherSitesReportsTurnAVerdictDownAtOnce(t *testing.T) {
	up := func(site string) sites.Report { return sites.Report{Site: site, Status: sites.StatusUp} }
	down := func(site string) sites.Report {
		return sites.Report{Site: site, Status: sites.StatusDown, Message: "connection refused"}
	}
	twoOfThreeDown := []sites.Report{up("a"), down("b"), down("c")}
	tests := []struct {
		name     string
		last     sites.Status // the verdict last fed; "" none yet
		target   string
		reports  []sites.Report
		wantSite string // "" no early verdict
	}{
		{"QuorumDownAfterUp", sites.StatusUp, "t", twoOfThreeDown, "b,c"},
		{"QuorumNotReached", sites.StatusUp, "t", []sites.Report{up("a"), up("b"), down("c")}, ""},
		{"AlreadyDown", sites.StatusDown, "t", twoOfThreeDown, ""},
		{"NoVerdictYetWaitsForTheLeadersRound", "", "t", twoOfThreeDown, ""},
		{"SfPoolMonitorWaits", sites.StatusUp, "sf", twoOfThreeDown, ""},
		{"PerformanceTargetWaits", sites.StatusUp, "perf", twoOfThreeDown, ""},
		{"TargetNoLongerConfigured", sites.StatusUp, "gone", twoOfThreeDown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &multisite{quorum: sites.Quorum{Mode: sites.QuorumMajority}, verdicts: map[string]sites.Status{},
				sfTargets: map[string]string{"sf": "LOW"}, perfTargets: map[string]bool{"perf": true}}
			if tc.last != "" {
				m.verdicts[tc.target] = tc.last
			}
			now := time.Unix(1_700_000_000, 0)
			got := m.earlyDown(map[string]bool{"t": true, "sf": true, "perf": true}, map[string][]sites.Report{tc.target: tc.reports}, now)
			if tc.wantSite == "" {
				if len(got) != 0 {
					t.Fatalf("early verdicts %+v, want none", got)
				}
				return
			}
			want := pool.Observation{Target: tc.target, Message: "connection refused", Site: tc.wantSite, Time: now}
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("early verdicts %+v, want [%+v]", got, want)
			}
			if m.verdicts[tc.target] != sites.StatusDown {
				t.Errorf("verdict kept %q, want down", m.verdicts[tc.target])
			}
		})
	}
}
