package pool

import (
	"testing"
)

// docs/behaviour.md section 2: address status with hysteresis and serve modes.
func TestAddressStatus(t *testing.T) {
	const a, b = "192.0.2.10", "192.0.2.11"
	ta, tb := "t:"+a, "t:"+b
	tests := []struct {
		name       string
		rd         int
		modeA      ServeMode
		steps      []step
		wantStatus Status // status of a
		wantServed string // global served set
		wantRemove bool
	}{
		{"UnkServedAsUp", 0, ServeObey, nil, StatusUnk, a + "," + b, false},
		{"UnkToUpAtFirstUpRound", 0, ServeObey, seq(up(ta)), StatusUp, a + "," + b, false},
		{"UpToDownAtFirstDownRound", 0, ServeObey, seq(up(ta), down(ta)), StatusDown, b, false},
		{"UnkToDownAtFirstDownRound", 0, ServeObey, seq(down(ta)), StatusDown, b, false},
		{"RecoveryDelay0FirstUpRound", 0, ServeObey, seq(down(ta), up(ta)), StatusUp, a + "," + b, false},
		{"RecoveryDelay2NeedsThreeUpRounds_Two", 2, ServeObey, seq(down(ta), up(ta), up(ta)), StatusDown, b, false},
		{"RecoveryDelay2NeedsThreeUpRounds_Three", 2, ServeObey, seq(down(ta), rounds(3, up(ta))), StatusUp, a + "," + b, false},
		{"RecoveryDelayCountsConsecutiveOnly", 2, ServeObey, seq(down(ta), up(ta), up(ta), down(ta), up(ta), up(ta)), StatusDown, b, false},
		{"RecoveryDelayAfterInterruption", 2, ServeObey, seq(down(ta), up(ta), up(ta), down(ta), rounds(3, up(ta))), StatusUp, a + "," + b, false},
		{"AlwaysServedWhenDown", 0, ServeAlways, seq(down(ta)), StatusDown, a + "," + b, false},
		{"ObeyServedWhileUp", 0, ServeObey, seq(up(ta)), StatusUp, a + "," + b, false},
		{"RemoveStaysOutAfterAnsweringAgain", 0, ServeRemove, seq(up(ta), down(ta), rounds(5, up(ta))), StatusDown, b, true},
		{"RemoveServedWhileUp", 0, ServeRemove, seq(up(ta), up(ta)), StatusUp, a + "," + b, false},
		{"RemoveRecoveredByOperator", 0, ServeRemove, seq(down(ta), up(ta), cmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.Recover("app.example.com.", a, now)
		})), StatusUp, a + "," + b, false},
		{"NoNeverServedStillProbed", 0, ServeNo, seq(up(ta)), StatusUp, b, false},
		{"OtherAddressUnaffected", 0, ServeObey, seq(down(tb)), StatusUnk, a, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := gslbSpec(true, tc.rd, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(a, tc.modeA, 1), ent(b, ServeObey, 1)}})
			e := New(spec, nil)
			run(t, e, newClock(), tc.steps)
			ev := entryView(t, e, "app.example.com.", GlobalRegion, a)
			if ev.Status != tc.wantStatus {
				t.Errorf("status = %s, want %s", ev.Status, tc.wantStatus)
			}
			if ev.Removed != tc.wantRemove {
				t.Errorf("removed = %v, want %v", ev.Removed, tc.wantRemove)
			}
			if got := served(t, e, "app.example.com.", GlobalRegion); !eq(got, list(tc.wantServed)) {
				t.Errorf("served = %v, want %v", got, tc.wantServed)
			}
		})
	}
}

// docs/behaviour.md section 2: a removed address still shows whether it answers again.
func TestRemovedAddressStillProbed(t *testing.T) {
	const a = "192.0.2.10"
	e := New(gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(a, ServeRemove, 1), ent("192.0.2.11", ServeObey, 1)}}), nil)
	run(t, e, newClock(), seq(down("t:"+a), up("t:"+a)))
	ev := entryView(t, e, "app.example.com.", GlobalRegion, a)
	if !ev.Removed || ev.Status != StatusDown || ev.LastResult != StatusUp || !ev.HasRTT {
		t.Fatalf("view = %+v, want removed, down, last round up with rtt", ev)
	}
}

// docs/behaviour.md section 2: no-mode changes are nosrv events; every completed round that
// changes nothing is a round event; ip events for other modes.
func TestAddressEventKinds(t *testing.T) {
	const a, b = "192.0.2.10", "192.0.2.11"
	e := New(gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(a, ServeNo, 1), ent(b, ServeObey, 1)}}), nil)
	tr := run(t, e, newClock(), seq(up("t:"+a), up("t:"+a), down("t:"+b)))
	got := kinds(tr, false)
	want := []string{
		"nosrv:global:192.0.2.10:unk>up",
		"round:global:192.0.2.10:up>up",
		"ip:global:192.0.2.11:unk>down",
		"svc:global::unk>failover",
	}
	if !eq(got, want) {
		t.Fatalf("transitions = %q, want %q", got, want)
	}
}

// docs/behaviour.md section 2: an address that sits in several regions gives one ip
// transition per region, each with its region and served set.
func TestOneTransitionPerRegion(t *testing.T) {
	const a, b = "192.0.2.10", "192.0.2.11"
	e := New(gslbSpec(true, 0,
		Region{Code: "US East", MinHealthy: 1, Entries: []Entry{ent(a, ServeObey, 1), ent(b, ServeObey, 1)}},
		Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(a, ServeObey, 1)}},
	), nil)

	tr := run(t, e, newClock(), seq(up("t:"+a)))
	got := kinds(tr, false)
	want := []string{"ip:US East:192.0.2.10:unk>up", "ip:global:192.0.2.10:unk>up", "svc:US East::unk>ok", "svc:global::unk>ok"}
	if !eq(got, want) {
		t.Fatalf("transitions = %q, want %q", got, want)
	}
	for _, x := range tr {
		if x.Kind == EventIP && (x.Site != "iad" || !x.HasRTT || len(x.Served) == 0 || x.Time.IsZero()) {
			t.Errorf("ip transition lacks data: %+v", x)
		}
	}
}

// docs/behaviour.md section 2: at start-up every address takes its last status from the
// state; a removed address stays removed across a restart.
func TestAddressStatusAndRemovedSurviveRestart(t *testing.T) {
	const a, b = "192.0.2.10", "192.0.2.11"
	spec := gslbSpec(true, 1, Region{Code: GlobalRegion, MinHealthy: 1, Entries: []Entry{ent(a, ServeRemove, 1), ent(b, ServeObey, 1)}})
	e := New(spec, nil)
	c := newClock()
	run(t, e, c, seq(down("t:"+a), down("t:"+b)))
	e2 := New(spec, e.State())
	if ev := entryView(t, e2, "app.example.com.", GlobalRegion, a); !ev.Removed || ev.Status != StatusDown {
		t.Fatalf("a after restart = %+v, want removed down", ev)
	}
	if ev := entryView(t, e2, "app.example.com.", GlobalRegion, b); ev.Status != StatusDown {
		t.Fatalf("b after restart = %s, want down", ev.Status)
	}
	// b needs recovery_delay+1 = 2 up rounds; a stays removed.
	run(t, e2, c, seq(up("t:"+a), up("t:"+b)))
	if got := entryView(t, e2, "app.example.com.", GlobalRegion, b).Status; got != StatusDown {
		t.Fatalf("b after one up round = %s, want down", got)
	}
	run(t, e2, c, seq(up("t:"+a), up("t:"+b)))
	if got := served(t, e2, "app.example.com.", GlobalRegion); !eq(got, []string{b}) {
		t.Fatalf("served = %v, want only %s", got, b)
	}
}
