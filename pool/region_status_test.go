package pool

import (
	"testing"
)

const (
	e1, e2 = "192.0.2.10", "192.0.2.11" // US East
	w1, w2 = "192.0.2.20", "192.0.2.21" // US West
	g1, g2 = "192.0.2.30", "192.0.2.31" // global
)

// threeRegions: US East and US West fail over as given, global to "global".
func threeRegions(eastMode FailoverMode, eastData string, westMode FailoverMode, westData string, minHealthy int) []Region {
	return []Region{
		{Code: "US East", ServeCount: 2, MinHealthy: minHealthy, FailoverMode: eastMode, FailoverData: eastData,
			Entries: []Entry{ent(e1, ServeObey, 5), ent(e2, ServeObey, 10)}},
		{Code: "US West", ServeCount: 3, MinHealthy: minHealthy, FailoverMode: westMode, FailoverData: westData,
			Entries: []Entry{ent(w1, ServeObey, 1), ent(w2, ServeObey, 1)}},
		{Code: GlobalRegion, ServeCount: 1, MinHealthy: 1, FailoverMode: FailoverGlobal,
			Entries: []Entry{ent(g1, ServeObey, 1), ent(g2, ServeObey, 1)}},
	}
}

func allDown(addrs ...string) []step {
	var out []step
	for _, a := range addrs {
		out = append(out, down("t:"+a))
	}
	return out
}

func allUp(addrs ...string) []step {
	var out []step
	for _, a := range addrs {
		out = append(out, up("t:"+a))
	}
	return out
}

// docs/behaviour.md section 3: region status and served sets, failover chains by mode.
func TestRegionStatusAndFailover(t *testing.T) {
	tests := []struct {
		name       string
		regions    []Region
		steps      []step
		region     string
		wantStatus Status
		wantServed string
		wantType   string // type of the first served record, when set
	}{
		{"UnkWhileEveryCandidateUnk", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), nil,
			"US East", StatusUnk, e1 + "," + e2, "A"},
		{"OkWhenAllUp", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), allUp(e1, e2),
			"US East", StatusOK, e1 + "," + e2, ""},
		{"TroubleWhenSomeDownAboveMinHealthy", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), seq(allUp(e1), allDown(e2)),
			"US East", StatusTrouble, e1, ""},
		{"TroubleWithUnkAndDown", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), allDown(e2),
			"US East", StatusTrouble, e1, ""},
		{"FailoverBelowMinHealthy", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 2), seq(allUp(e1), allDown(e2)),
			"US East", StatusFailover, g1 + "," + g2, ""},
		{"FailoverModeIP", threeRegions(FailoverIP, "198.51.100.1", FailoverGlobal, "", 1), allDown(e1, e2),
			"US East", StatusFailover, "198.51.100.1", "A"},
		{"FailoverModeIPv6", threeRegions(FailoverIP, "2001:db8::1", FailoverGlobal, "", 1), allDown(e1, e2),
			"US East", StatusFailover, "2001:db8::1", "AAAA"},
		{"FailoverModeCNAME", threeRegions(FailoverCNAME, "backup.example.net.", FailoverGlobal, "", 1), allDown(e1, e2),
			"US East", StatusFailover, "backup.example.net.", "CNAME"},
		{"FailoverModeRegion", threeRegions(FailoverRegion, "US West", FailoverGlobal, "", 1), allDown(e1, e2),
			"US East", StatusFailover, w1 + "," + w2, ""},
		{"FailoverModeRegionFollowsChain", threeRegions(FailoverRegion, "US West", FailoverGlobal, "", 1), allDown(e1, e2, w1, w2),
			"US East", StatusFailover, g1 + "," + g2, ""},
		{"FailoverModeGlobal", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), allDown(e1, e2),
			"US East", StatusFailover, g1 + "," + g2, ""},
		{"FailoverGlobalServesOnlyHealthyOfGlobal", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), allDown(e1, e2, g2),
			"US East", StatusFailover, g1, ""},
		{"FailOpenWhenEveryRegionFailed", threeRegions(FailoverRegion, "US West", FailoverGlobal, "", 1), allDown(e1, e2, w1, w2, g1, g2),
			"US East", StatusFailover, e1 + "," + e2, ""},
		{"FailOpenOnRegionLoop", threeRegions(FailoverRegion, "US West", FailoverRegion, "US East", 1), allDown(e1, e2, w1, w2),
			"US East", StatusFailover, e1 + "," + e2, ""},
		{"FailOpenOnRegionLoopOtherSide", threeRegions(FailoverRegion, "US West", FailoverRegion, "US East", 1), allDown(e1, e2, w1, w2),
			"US West", StatusFailover, w1 + "," + w2, ""},
		{"FailOpenGlobalFailedNoFallback", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), allDown(g1, g2),
			GlobalRegion, StatusFailover, g1 + "," + g2, ""},
		{"FailOpenUnknownRegion", threeRegions(FailoverRegion, "Mars", FailoverGlobal, "", 1), allDown(e1, e2),
			"US East", StatusFailover, e1 + "," + e2, ""},
		{"FailOpenEmptyIP", threeRegions(FailoverIP, "", FailoverGlobal, "", 1), allDown(e1, e2),
			"US East", StatusFailover, e1 + "," + e2, ""},
		{"AutoRecoverLeavesFailoverWhenConditionClears", threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1), seq(allDown(e1, e2), allUp(e1)),
			"US East", StatusTrouble, e1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(gslbSpec(true, 0, tc.regions...), nil)
			run(t, e, newClock(), tc.steps)
			if got := regionStatus(t, e, "app.example.com.", tc.region); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			if got := served(t, e, "app.example.com.", tc.region); !eq(got, list(tc.wantServed)) {
				t.Errorf("served = %v, want %v", got, tc.wantServed)
			}
			if tc.wantType != "" {
				if got := servedSet(t, e, "app.example.com.", tc.region).Records[0].Type; got != tc.wantType {
					t.Errorf("type = %s, want %s", got, tc.wantType)
				}
			}
		})
	}
}

// docs/behaviour.md section 3: the client's own region's serve_count applies to whatever set
// it ends up serving; weights come with the records.
func TestClientServeCountAppliesToFailoverSet(t *testing.T) {
	e := New(gslbSpec(true, 0, threeRegions(FailoverRegion, "US West", FailoverGlobal, "", 1)...), nil)
	run(t, e, newClock(), allDown(e1, e2))
	east := servedSet(t, e, "app.example.com.", "US East")
	west := servedSet(t, e, "app.example.com.", "US West")
	if east.ServeCount != 2 || west.ServeCount != 3 {
		t.Fatalf("serve counts east=%d west=%d, want 2 and 3", east.ServeCount, west.ServeCount)
	}
	if !eq(rdata(east.Records), rdata(west.Records)) {
		t.Fatalf("east serves %v, want west's %v", rdata(east.Records), rdata(west.Records))
	}
	ex := New(gslbSpec(true, 0, threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1)...), nil)
	for _, r := range servedSet(t, ex, "app.example.com.", "US East").Records {
		if (r.Data == e1 && r.Weight != 5) || (r.Data == e2 && r.Weight != 10) {
			t.Fatalf("record %+v has the wrong weight", r)
		}
	}
}

// docs/behaviour.md section 3: auto_recover = false latches failover until an operator
// recovers; the latch survives restarts.
func TestAutoRecoverFalseLatch(t *testing.T) {
	spec := gslbSpec(false, 0, threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1)...)
	c := newClock()
	e := New(spec, nil)
	run(t, e, c, seq(allDown(e1, e2), allUp(e1, e2)))
	if got := regionStatus(t, e, "app.example.com.", "US East"); got != StatusFailover {
		t.Fatalf("status after recovery of addresses = %s, want failover (latched)", got)
	}
	if got := served(t, e, "app.example.com.", "US East"); !eq(got, list(g1+","+g2)) {
		t.Fatalf("served = %v, want the failover answer", got)
	}
	e = New(spec, e.State())
	run(t, e, c, allUp(e1, e2))
	if got := regionStatus(t, e, "app.example.com.", "US East"); got != StatusFailover {
		t.Fatalf("status after restart = %s, want failover (latch persisted)", got)
	}
	changed, tr, err := e.Recover("app.example.com.", "", c.next())
	if err != nil || !changed {
		t.Fatalf("Recover = %v, %v", changed, err)
	}
	if got := kinds(tr, true); !eq(got, []string{"svc:US East::failover>ok"}) {
		t.Fatalf("recover transitions = %q", got)
	}
	if changed, _, _ := e.Recover("app.example.com.", "", c.next()); changed {
		t.Fatalf("second Recover reported a change")
	}
}

// docs/behaviour.md section 3: service status is the worst region status.
func TestServiceStatusIsWorstRegion(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  Status
	}{
		{"AllUnk", nil, StatusUnk},
		{"OkAndUnk", allUp(e1, e2), StatusUnk},
		{"AllOk", allUp(e1, e2, w1, w2, g1, g2), StatusOK},
		{"TroubleOverUnk", allDown(e1), StatusTrouble},
		{"FailoverOverTrouble", seq(allDown(e1), allDown(w1, w2)), StatusFailover},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(gslbSpec(true, 0, threeRegions(FailoverGlobal, "", FailoverGlobal, "", 1)...), nil)
			run(t, e, newClock(), tc.steps)
			v, _ := e.Service("app.example.com.")
			if v.Status != tc.want {
				t.Fatalf("service status = %s, want %s", v.Status, tc.want)
			}
		})
	}
}

// docs/behaviour.md section 3: candidates exclude serve_mode no and removed entries; always
// entries are served while down; healthy counts unk.
func TestRegionCandidates(t *testing.T) {
	tests := []struct {
		name       string
		entries    []Entry
		steps      []step
		wantStatus Status
		wantServed string
	}{
		{"NoEntryNeverCandidate", []Entry{ent(g1, ServeNo, 1), ent(g2, ServeObey, 1)}, allDown(g2), StatusFailover, g2},
		{"AlwaysDownServedWithHealthy", []Entry{ent(g1, ServeAlways, 1), ent(g2, ServeObey, 1)}, seq(allDown(g1), allUp(g2)), StatusTrouble, g1 + "," + g2},
		{"RemovedNotCandidate", []Entry{ent(g1, ServeRemove, 1), ent(g2, ServeObey, 1)}, seq(allDown(g1), allUp(g1, g2)), StatusOK, g2},
		{"UnkCountsHealthy", []Entry{ent(g1, ServeObey, 1), ent(g2, ServeObey, 1)}, allUp(g1), StatusOK, g1 + "," + g2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(gslbSpec(true, 0, Region{Code: GlobalRegion, MinHealthy: 1, FailoverMode: FailoverIP, FailoverData: "198.51.100.9", Entries: tc.entries}), nil)
			run(t, e, newClock(), tc.steps)
			if got := regionStatus(t, e, "app.example.com.", GlobalRegion); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			want := tc.wantServed
			if tc.wantStatus == StatusFailover {
				want = "198.51.100.9"
			}
			if got := served(t, e, "app.example.com.", GlobalRegion); !eq(got, list(want)) {
				t.Errorf("served = %v, want %v", got, want)
			}
		})
	}
}

// docs/behaviour.md section 3: svc transitions carry the served rdata after the change.
func TestSvcTransitionCarriesServed(t *testing.T) {
	e := New(gslbSpec(true, 0, threeRegions(FailoverCNAME, "backup.example.net.", FailoverGlobal, "", 1)...), nil)
	tr := run(t, e, newClock(), allDown(e1, e2))
	var svc *Transition
	for i := range tr {
		if tr[i].Kind == EventSvc {
			svc = &tr[i]
		}
	}
	if svc == nil || svc.Region != "US East" || svc.Old != StatusTrouble || svc.New != StatusFailover || !eq(svc.Served, []string{"backup.example.net."}) {
		t.Fatalf("svc transition = %+v", svc)
	}
}
