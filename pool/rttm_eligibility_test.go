package pool

import (
	"testing"
	"time"
)

const r1, r2, r3, r4 = "192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44"

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func rttmSpec(regions ...Region) Spec {
	return Spec{Sites: []string{"iad"}, Services: []Service{{
		FQDN: "api.example.com.", Kind: KindRTTM, TTL: 5, Active: true, AutoRecover: true, Regions: regions,
	}}}
}

func rttmGlobal(ep, apmc, epmc int, entries ...Entry) Region {
	return Region{Code: GlobalRegion, ServeCount: 1, EP: ep, APMC: apmc, EPMC: epmc,
		FailoverMode: FailoverIP, FailoverData: "198.51.100.7", Entries: entries}
}

func epOf(t *testing.T, e *Engine, code string) []string {
	t.Helper()
	v, _ := e.Service("api.example.com.")
	for _, r := range v.Regions {
		if r.Code == code {
			return r.EP
		}
	}
	t.Fatalf("no region %s", code)
	return nil
}

// docs/behaviour.md section 3 (rttm): the eligibility pool and its thresholds.
func TestRTTMEligibilityPool(t *testing.T) {
	four := []Entry{ent(r1, ServeObey, 1), ent(r2, ServeObey, 1), ent(r3, ServeObey, 1), ent(r4, ServeObey, 1)}
	tests := []struct {
		name       string
		region     Region
		steps      []step
		wantEP     []string // in rank order
		wantStatus Status
		wantServed string
	}{
		{"LowestMediansEnterEP", rttmGlobal(2, 1, 1, four...),
			seq(perf("p:"+r1, ms(40)), perf("p:"+r2, ms(10)), perf("p:"+r3, ms(30)), perf("p:"+r4, ms(20))),
			[]string{r2, r4}, StatusUnk, r2 + "," + r4},
		{"TiesByAddress", rttmGlobal(2, 1, 1, four...),
			seq(perf("p:"+r4, ms(10)), perf("p:"+r3, ms(10)), perf("p:"+r2, ms(10)), perf("p:"+r1, ms(10))),
			[]string{r1, r2}, StatusUnk, r1 + "," + r2},
		{"UnmeasuredRankLast", rttmGlobal(2, 1, 1, four...),
			seq(perf("p:"+r3, ms(50))),
			[]string{r3, r1}, StatusUnk, r1 + "," + r3},
		{"MedianOfLastFiveSuccessfulRounds", rttmGlobal(1, 1, 1, four[:2]...),
			// r1: 100 then five of 5ms → window is the last five: median 5ms.
			// r2: 8ms constantly.
			seq(perf("p:"+r1, ms(100)), rounds(5, perf("p:"+r1, ms(5))), rounds(3, perf("p:"+r2, ms(8)))),
			[]string{r1}, StatusUnk, r1},
		{"FailedPerfRoundsDoNotCount", rttmGlobal(1, 1, 1, four[:2]...),
			seq(perf("p:"+r1, ms(5)), down("p:"+r1), down("p:"+r1), perf("p:"+r2, ms(8))),
			[]string{r1}, StatusUnk, r1},
		{"MedianNotMean", rttmGlobal(1, 1, 1, four[:2]...),
			// r1: 1, 1, 100 → median 1 (mean 34); r2: 10.
			seq(perf("p:"+r1, ms(1)), perf("p:"+r1, ms(1)), perf("p:"+r1, ms(100)), perf("p:"+r2, ms(10))),
			[]string{r1}, StatusUnk, r1},
		{"DownNotInEP", rttmGlobal(2, 1, 1, four...),
			seq(perf("p:"+r1, ms(1)), perf("p:"+r2, ms(2)), perf("p:"+r3, ms(3)), allDown(r1), allUp(r2, r3, r4)),
			[]string{r2, r3}, StatusTrouble, r2 + "," + r3},
		{"AlwaysDownServedNeverInEP", rttmGlobal(1, 1, 1, ent(r1, ServeAlways, 1), ent(r2, ServeObey, 1), ent(r3, ServeObey, 1)),
			seq(perf("p:"+r1, ms(1)), perf("p:"+r2, ms(2)), allDown(r1), allUp(r2, r3)),
			[]string{r2}, StatusTrouble, r1 + "," + r2},
		{"AlwaysUpServedAlongsideEP", rttmGlobal(1, 1, 1, ent(r1, ServeAlways, 1), ent(r2, ServeObey, 1)),
			seq(perf("p:"+r1, ms(9)), perf("p:"+r2, ms(2)), allUp(r1, r2)),
			[]string{r2}, StatusOK, r1 + "," + r2},
		{"APMCFailover", rttmGlobal(1, 3, 1, four[:3]...),
			seq(allUp(r1, r2), allDown(r3)),
			[]string{r1}, StatusFailover, "198.51.100.7"},
		{"APMCMet", rttmGlobal(1, 2, 1, four[:3]...),
			seq(allUp(r1, r2), allDown(r3)),
			[]string{r1}, StatusTrouble, r1},
		{"EPMCFailover", rttmGlobal(1, 1, 2, four[:3]...),
			seq(allUp(r1, r2, r3)),
			[]string{r1}, StatusFailover, "198.51.100.7"},
		{"EPMCFailoverWhenTooFewHealthy", rttmGlobal(0, 1, 2, four[:2]...),
			seq(allUp(r1), allDown(r2)),
			[]string{r1}, StatusFailover, "198.51.100.7"},
		{"EPMCMetWithAll", rttmGlobal(0, 1, 2, four[:2]...),
			seq(allUp(r1, r2)),
			[]string{r1, r2}, StatusOK, r1 + "," + r2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(rttmSpec(tc.region), nil)
			run(t, e, newClock(), tc.steps)
			if got := epOf(t, e, GlobalRegion); !eq(got, tc.wantEP) {
				t.Errorf("EP = %v, want %v", got, tc.wantEP)
			}
			if got := regionStatus(t, e, "api.example.com.", GlobalRegion); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			if got := served(t, e, "api.example.com.", GlobalRegion); !eq(got, list(tc.wantServed)) {
				t.Errorf("served = %v, want %v", got, tc.wantServed)
			}
		})
	}
}

// docs/behaviour.md section 3 (rttm): the median is taken over the rounds of every site.
func TestRTTMMedianOverEverySite(t *testing.T) {
	spec := rttmSpec(rttmGlobal(1, 1, 1, ent(r1, ServeObey, 1), ent(r2, ServeObey, 1)))
	spec.Sites = []string{"iad", "ams", "sin"}
	e := New(spec, nil)
	p := func(target, site string, d time.Duration) step {
		return step{target: target, up: true, rtt: d, site: site}
	}
	// r1: iad 1ms, ams 50ms, sin 60ms → median 50ms. r2: 20ms at every site.
	tr := run(t, e, newClock(), seq(
		p("p:"+r1, "iad", ms(1)), p("p:"+r1, "ams", ms(50)), p("p:"+r1, "sin", ms(60)),
		p("p:"+r2, "iad", ms(20)), p("p:"+r2, "ams", ms(20)), p("p:"+r2, "sin", ms(20)),
	))
	if got := epOf(t, e, GlobalRegion); !eq(got, []string{r2}) {
		t.Fatalf("EP = %v, want [%s]", got, r2)
	}
	var last Transition
	for _, x := range tr {
		if x.Kind == EventPerf && x.Address == r1 {
			last = x
		}
	}
	if !last.HasMedian || last.Median != ms(50) || len(last.RTTs) != 3 || !last.HasRTT || last.RTT != ms(60) || last.Site != "sin" {
		t.Fatalf("last perf transition of r1 = %+v", last)
	}
}

// docs/behaviour.md section 3 (rttm): ep transitions when the eligibility pool changes, perf
// transitions after every performance round.
func TestRTTMEPTransitions(t *testing.T) {
	e := New(rttmSpec(rttmGlobal(1, 1, 1, ent(r1, ServeObey, 1), ent(r2, ServeObey, 1))), nil)
	tr := run(t, e, newClock(), seq(perf("p:"+r2, ms(5)), perf("p:"+r2, ms(5)), perf("p:"+r1, ms(9))))
	want := []string{"perf:global:192.0.2.42:unk>unk", "ep:global::unk>unk", "perf:global:192.0.2.42:unk>unk", "perf:global:192.0.2.41:unk>unk"}
	if got := kinds(tr, false); !eq(got, want) {
		t.Fatalf("transitions = %q, want %q", got, want)
	}
	ep := tr[1]
	if !eq(ep.Served, []string{r2}) || !ep.HasMedian || ep.Median != ms(5) {
		t.Fatalf("ep transition = %+v", ep)
	}
}

// docs/behaviour.md section 3 (rttm): autopopulate copies the global region's pool and
// options, ignoring the region's own.
func TestRTTMAutopopulate(t *testing.T) {
	global := rttmGlobal(1, 1, 1, ent(r1, ServeObey, 1), ent(r2, ServeObey, 1))
	global.ServeCount = 2
	east := Region{Code: "US East", Autopopulate: true, ServeCount: 7, EP: 5, APMC: 9, EPMC: 9,
		FailoverMode: FailoverCNAME, FailoverData: "ignored.example.net.", Entries: []Entry{ent(r4, ServeObey, 1)}}
	e := New(rttmSpec(east, global), nil)
	tr := run(t, e, newClock(), seq(perf("p:"+r2, ms(1)), perf("p:"+r1, ms(3)), allUp(r1, r2)))
	if got := epOf(t, e, "US East"); !eq(got, []string{r2}) {
		t.Fatalf("US East EP = %v, want the global pool's fastest [%s]", got, r2)
	}
	if got := regionStatus(t, e, "api.example.com.", "US East"); got != StatusOK {
		t.Fatalf("US East status = %s, want ok (apmc/epmc 9 ignored)", got)
	}
	sv := servedSet(t, e, "api.example.com.", "US East")
	if sv.ServeCount != 2 || !eq(rdata(sv.Records), []string{r2}) {
		t.Fatalf("US East served = %+v, want serve_count 2 and [%s]", sv, r2)
	}
	ips := 0
	for _, x := range tr {
		if x.Kind == EventIP && x.Address == r1 {
			ips++
		}
	}
	if ips != 2 {
		t.Fatalf("r1 gave %d ip transitions, want one per region (2)", ips)
	}
}
