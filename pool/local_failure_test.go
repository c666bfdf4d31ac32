package pool

import (
	"testing"
)

// docs/behaviour.md section 2: a probe that failed for a local reason (no descriptors,
// buffers or memory; a source address that is not local) is no
// observation. The address keeps its status, its hysteresis counters and
// its history, so a local failure never fails a service over.
func TestLocalProbeFailureIsNoObservation(t *testing.T) {
	const a, b = "192.0.2.10", "192.0.2.11"
	ta := "t:" + a
	tests := []struct {
		name        string
		rd          int
		mode        ServeMode
		steps       []step
		wantStatus  Status
		wantServed  string
		wantHistory int // rounds kept in a's history
		wantLast    Status
	}{
		{"UnkStaysUnk", 0, ServeObey, seq(rounds(3, unknown(ta))), StatusUnk, a + "," + b, 0, ""},
		{"UpStaysUp", 0, ServeObey, seq(up(ta), rounds(3, unknown(ta))), StatusUp, a + "," + b, 1, StatusUp},
		{"DownStaysDown", 0, ServeObey, seq(down(ta), unknown(ta)), StatusDown, b, 1, StatusDown},
		{"DoesNotAdvanceTheRecoveryStreak", 1, ServeObey, seq(down(ta), up(ta), unknown(ta)), StatusDown, b, 2, StatusUp},
		{"DoesNotResetTheRecoveryStreak", 1, ServeObey, seq(down(ta), up(ta), unknown(ta), up(ta)), StatusUp, a + "," + b, 3, StatusUp},
		{"NeverRemovesARemoveModeAddress", 0, ServeRemove, seq(up(ta), unknown(ta)), StatusUp, a + "," + b, 1, StatusUp},
		{"NeverFailsAnAlwaysAddressOver", 0, ServeAlways, seq(unknown(ta)), StatusUnk, a + "," + b, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := gslbSpec(true, tc.rd, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(a, tc.mode, 1), ent(b, ServeObey, 1)}})
			e := New(spec, nil)
			run(t, e, newClock(), tc.steps)
			ev := entryView(t, e, "app.example.com.", GlobalRegion, a)
			if ev.Status != tc.wantStatus || ev.Removed {
				t.Errorf("status = %s removed = %v, want %s, not removed", ev.Status, ev.Removed, tc.wantStatus)
			}
			if len(ev.History) != tc.wantHistory || ev.LastResult != tc.wantLast {
				t.Errorf("history %d rounds, last %q; want %d, %q", len(ev.History), ev.LastResult, tc.wantHistory, tc.wantLast)
			}
			if got := served(t, e, "app.example.com.", GlobalRegion); !eq(got, list(tc.wantServed)) {
				t.Errorf("served = %v, want %v", got, tc.wantServed)
			}
		})
	}
}

// docs/behaviour.md section 2: the transitions of a local failure are round events that
// carry its message and change nothing.
func TestLocalProbeFailureOnlyCarriesItsMessage(t *testing.T) {
	const a = "192.0.2.10"
	e := New(gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(a, ServeObey, 1)}}), nil)
	c := newClock()
	run(t, e, c, seq(up("t:"+a)))
	tr := run(t, e, c, seq(unknown("t:"+a)))
	if got := kinds(tr, false); !eq(got, []string{"round:global:192.0.2.10:up>up"}) {
		t.Fatalf("transitions = %q", got)
	}
	if tr[0].Message != "cannot probe: too many open files" || tr[0].HasRTT {
		t.Errorf("message %q, has rtt %v", tr[0].Message, tr[0].HasRTT)
	}
}

// docs/behaviour.md section 5: a site whose probe failed locally keeps its latest result,
// and a site that never spoke does not count as a site that did.
func TestSFPool_LocalProbeFailureKeepsTheSitesResult(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  Status
	}{
		{"DownSiteStaysDown", seq(downSite("sf:a", "s1"), downSite("sf:a", "s2"), step{target: "sf:a", site: "s2", unknown: true}), SFStatusCritical},
		{"UpSiteStaysUp", seq(downSite("sf:a", "s1"), upSite("sf:a", "s2"), step{target: "sf:a", site: "s2", unknown: true}), SFStatusOK},
		{"UnknownOnlySiteIsNotCounted", seq(downSite("sf:a", "s1"), downSite("sf:a", "s2"), step{target: "sf:a", site: "s9", unknown: true}), SFStatusCritical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(sfSpec(sites(2), SensitivityLow, backup, LiveNotForced), nil)
			run(t, e, newClock(), tc.steps)
			if v, _ := e.Service("a.example.com."); v.Status != tc.want {
				t.Fatalf("status = %s, want %s", v.Status, tc.want)
			}
		})
	}
}
