package pool

import (
	"errors"
	"fmt"
	"testing"
)

const live, backup = "192.0.2.40", "192.0.2.41"

func sfSpec(sites []string, sensitivity, backupRData, state string) Spec {
	return Spec{Sites: sites, Services: []Service{{
		FQDN: "a.example.com.", Kind: KindSFPool, TTL: 300, Active: true, RRType: "A", LiveRData: live,
		BackupRData: backupRData, LiveRecordState: state, Sensitivity: sensitivity, Target: "sf:a",
	}}}
}

func sites(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("s%d", i+1)
	}
	return out
}

// sfDown reports down from the first n sites and up from the rest.
func sfDown(all []string, n int) []step {
	var out []step
	for i, s := range all {
		if i < n {
			out = append(out, downSite("sf:a", s))
		} else {
			out = append(out, upSite("sf:a", s))
		}
	}
	return out
}

// docs/behaviour.md section 5: LOW vs HIGH region_failure_sensitivity over 1, 2 and 4 sites.
func TestSFPool_Sensitivity(t *testing.T) {
	tests := []struct {
		name        string
		sites       int
		sensitivity string
		down        int
		want        Status
	}{
		{"LOW_1Site_0Down", 1, SensitivityLow, 0, SFStatusOK},
		{"LOW_1Site_1Down", 1, SensitivityLow, 1, SFStatusCritical},
		{"HIGH_1Site_1Down", 1, SensitivityHigh, 1, SFStatusCritical},
		{"LOW_2Sites_1Down", 2, SensitivityLow, 1, SFStatusOK},
		{"LOW_2Sites_2Down", 2, SensitivityLow, 2, SFStatusCritical},
		{"HIGH_2Sites_1Down", 2, SensitivityHigh, 1, SFStatusOK},
		{"HIGH_2Sites_2Down", 2, SensitivityHigh, 2, SFStatusCritical},
		{"LOW_4Sites_2Down", 4, SensitivityLow, 2, SFStatusOK},
		{"LOW_4Sites_3Down", 4, SensitivityLow, 3, SFStatusOK},
		{"LOW_4Sites_4Down", 4, SensitivityLow, 4, SFStatusCritical},
		{"HIGH_4Sites_1Down", 4, SensitivityHigh, 1, SFStatusOK},
		{"HIGH_4Sites_2Down", 4, SensitivityHigh, 2, SFStatusCritical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := sites(tc.sites)
			e := New(sfSpec(all, tc.sensitivity, backup, LiveNotForced), nil)
			run(t, e, newClock(), sfDown(all, tc.down))
			v, _ := e.Service("a.example.com.")
			if v.Status != tc.want {
				t.Fatalf("status = %s, want %s", v.Status, tc.want)
			}
			want := live
			if tc.want == SFStatusCritical {
				want = backup
			}
			if got := served(t, e, "a.example.com.", GlobalRegion); !eq(got, []string{want}) {
				t.Fatalf("served = %v, want %s", got, want)
			}
		})
	}
}

// docs/behaviour.md section 5: a site's latest result counts; a site without a result
// counts as OK.
func TestSFPool_LatestResultPerSite(t *testing.T) {
	all := sites(2)
	e := New(sfSpec(all, SensitivityLow, backup, LiveNotForced), nil)
	c := newClock()
	run(t, e, c, seq(downSite("sf:a", "s1"), downSite("sf:a", "s1")))
	if v, _ := e.Service("a.example.com."); v.Status != SFStatusOK {
		t.Fatalf("one site down, other unknown: status = %s, want OK", v.Status)
	}
	run(t, e, c, seq(downSite("sf:a", "s2")))
	if v, _ := e.Service("a.example.com."); v.Status != SFStatusCritical {
		t.Fatalf("both down: %s", v.Status)
	}
	tr := run(t, e, c, seq(upSite("sf:a", "s1")))
	if v, _ := e.Service("a.example.com."); v.Status != SFStatusOK {
		t.Fatalf("s1 up again: %s", v.Status)
	}
	if got := kinds(tr, true); !eq(got, []string{"ip:global:192.0.2.40:down>up", "svc:global::CRITICAL>OK"}) {
		t.Fatalf("transitions = %q", got)
	}
}

// docs/behaviour.md section 5: live_record_state, Simple Monitor and the first round.
func TestSFPool_LiveRecordState(t *testing.T) {
	force := cmd(func(e *Engine, now timeT) (bool, []Transition, error) { return e.Force("a.example.com.", now) })
	unforce := cmd(func(e *Engine, now timeT) (bool, []Transition, error) { return e.Unforce("a.example.com.", now) })
	tests := []struct {
		name       string
		backup     string
		state      string
		steps      []step
		wantStatus Status
		wantServed string
	}{
		{"OKBeforeFirstRound", backup, LiveNotForced, nil, SFStatusOK, live},
		{"OKWhileMonitorUp", backup, LiveNotForced, seq(upSite("sf:a", "s1")), SFStatusOK, live},
		{"CriticalServesBackup", backup, LiveNotForced, seq(downSite("sf:a", "s1")), SFStatusCritical, backup},
		{"BackToOKWhenUp", backup, LiveNotForced, seq(downSite("sf:a", "s1"), upSite("sf:a", "s1")), SFStatusOK, live},
		{"ForcedInactiveFromConfig", backup, LiveForcedInactive, seq(upSite("sf:a", "s1")), SFStatusManual, backup},
		{"ForcedInactiveFromAPI", backup, LiveNotForced, seq(upSite("sf:a", "s1"), force), SFStatusManual, backup},
		{"ManualOverridesCritical", backup, LiveNotForced, seq(downSite("sf:a", "s1"), force), SFStatusManual, backup},
		{"UnforceBackToMonitor", backup, LiveNotForced, seq(downSite("sf:a", "s1"), force, unforce), SFStatusCritical, backup},
		{"SimpleMonitorAlwaysServesLive", "", LiveNotForced, seq(downSite("sf:a", "s1")), SFStatusCritical, live},
		{"SimpleMonitorOK", "", LiveNotForced, seq(downSite("sf:a", "s1"), upSite("sf:a", "s1")), SFStatusOK, live},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(sfSpec([]string{"s1"}, SensitivityHigh, tc.backup, tc.state), nil)
			run(t, e, newClock(), tc.steps)
			v, _ := e.Service("a.example.com.")
			if v.Status != tc.wantStatus {
				t.Errorf("status = %s, want %s", v.Status, tc.wantStatus)
			}
			if got := served(t, e, "a.example.com.", GlobalRegion); !eq(got, []string{tc.wantServed}) {
				t.Errorf("served = %v, want %s", got, tc.wantServed)
			}
		})
	}
}

// docs/behaviour.md section 5: force/unforce report whether they changed anything, only
// apply to sf_pool, and survive a restart.
func TestSFPool_ForceCommand(t *testing.T) {
	spec := sfSpec([]string{"s1"}, SensitivityLow, backup, LiveNotForced)
	spec.Services = append(spec.Services, afSpec("192.0.2.1", "t:p", FailoverIP, "192.0.2.2", true, 0).Services...)
	c := newClock()
	e := New(spec, nil)
	changed, tr, err := e.Force("a.example.com.", c.next())
	if err != nil || !changed || !eq(kinds(tr, false), []string{"svc:global::OK>MANUAL"}) {
		t.Fatalf("Force = %v %q %v", changed, kinds(tr, false), err)
	}
	if changed, _, _ := e.Force("a.example.com.", c.next()); changed {
		t.Fatal("second Force changed something")
	}
	if _, _, err := e.Force("www.example.com.", c.next()); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("Force on active_failover: err = %v, want ErrPrecondition", err)
	}
	if _, _, err := e.Unforce("nope.example.com.", c.next()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Unforce unknown: err = %v, want ErrNotFound", err)
	}
	e = New(spec, e.State())
	if v, _ := e.Service("a.example.com."); v.Status != SFStatusManual || v.LiveRecordState != LiveForcedInactive {
		t.Fatalf("after restart: %s %s, want MANUAL FORCED_INACTIVE", v.Status, v.LiveRecordState)
	}
}
