package sites

import (
	"slices"
	"testing"
	"time"
)

// reports builds one report per "site:status" pair.
func reports(pairs ...string) []Report {
	var out []Report
	for _, p := range pairs {
		site, st, _ := cut(p)
		out = append(out, Report{Site: site, Status: Status(st), Message: site + " says " + st})
	}
	return out
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestDecide_QuorumRules(t *testing.T) {
	majority := Quorum{Mode: QuorumMajority}
	anyQ := Quorum{Mode: QuorumAny}
	all := Quorum{Mode: QuorumAll}
	two := Quorum{Mode: QuorumCount, N: 2}
	three := Quorum{Mode: QuorumCount, N: 3}
	tests := []struct {
		name      string
		q         Quorum
		reports   []Report
		want      Status
		wantSites []string
	}{
		{"no live site has reported: unknown", majority, nil, StatusUnknown, nil},
		{"sites still at unk do not count: unknown", majority, reports("ams:unk", "fra:unk"), StatusUnknown, nil},
		{"majority: more than half down is down", majority, reports("ams:down", "fra:down", "lon:up"), StatusDown, []string{"ams", "fra"}},
		{"majority: exactly half down is up", majority, reports("ams:down", "fra:up"), StatusUp, []string{"fra"}},
		{"majority: one site alone decides", majority, reports("ams:down"), StatusDown, []string{"ams"}},
		{"majority: a site at unk is not in the base", majority, reports("ams:down", "fra:unk"), StatusDown, []string{"ams"}},
		{"majority: two of four is up", majority, reports("a:down", "b:down", "c:up", "d:up"), StatusUp, []string{"c", "d"}},
		{"majority: three of four is down", majority, reports("a:down", "b:down", "c:down", "d:up"), StatusDown, []string{"a", "b", "c"}},
		{"zero quorum is majority", Quorum{}, reports("ams:down", "fra:up"), StatusUp, []string{"fra"}},
		{"any: one site down is down", anyQ, reports("ams:up", "fra:down", "lon:up"), StatusDown, []string{"fra"}},
		{"any: none down is up", anyQ, reports("ams:up", "fra:up"), StatusUp, []string{"ams", "fra"}},
		{"all: every reporting site down is down", all, reports("ams:down", "fra:down"), StatusDown, []string{"ams", "fra"}},
		{"all: one site up keeps it up", all, reports("ams:down", "fra:down", "lon:up"), StatusUp, []string{"lon"}},
		{"N: at least N down is down", two, reports("a:down", "b:down", "c:up"), StatusDown, []string{"a", "b"}},
		{"N: fewer than N down is up", two, reports("a:down", "b:up", "c:up"), StatusUp, []string{"b", "c"}},
		{"N: fewer than N reporting, every one down is down", three, reports("a:down", "b:down"), StatusDown, []string{"a", "b"}},
		{"N: fewer than N reporting, one up keeps it up", three, reports("a:down", "b:up"), StatusUp, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.q, tt.reports)
			if d.Status != tt.want || !slices.Equal(d.Sites, tt.wantSites) {
				t.Fatalf("Decide(%s) = %s by %v, want %s by %v", tt.q, d.Status, d.Sites, tt.want, tt.wantSites)
			}
			if len(d.Sites) > 0 && d.Message != d.Sites[0]+" says "+string(tt.want) {
				t.Errorf("message %q, want the first deciding site's", d.Message)
			}
		})
	}
}

func TestSensitivityQuorum_SfPoolRules(t *testing.T) {
	tests := []struct {
		name        string
		sensitivity string
		reports     []Report
		want        Status
	}{
		{"LOW: every live site down fails the monitor", "LOW", reports("a:down", "b:down", "c:down"), StatusDown},
		{"LOW: one site up keeps it OK", "LOW", reports("a:down", "b:down", "c:up"), StatusUp},
		{"HIGH: two sites down fail the monitor", "HIGH", reports("a:down", "b:down", "c:up"), StatusDown},
		{"HIGH: one site down of three is OK", "HIGH", reports("a:down", "b:up", "c:up"), StatusUp},
		{"HIGH: a single site down fails the monitor", "HIGH", reports("a:down"), StatusDown},
		{"HIGH: one of two down is OK", "HIGH", reports("a:down", "b:up"), StatusUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := SensitivityQuorum(tt.sensitivity)
			if err != nil {
				t.Fatal(err)
			}
			if got := Decide(q, tt.reports).Status; got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := SensitivityQuorum("MEDIUM"); err == nil {
		t.Error("MEDIUM accepted")
	}
}

func TestParseQuorum_ConfigValues(t *testing.T) {
	tests := []struct {
		in      string
		want    Quorum
		wantErr bool
	}{
		{"majority", Quorum{Mode: QuorumMajority}, false},
		{"any", Quorum{Mode: QuorumAny}, false},
		{"all", Quorum{Mode: QuorumAll}, false},
		{"2", Quorum{Mode: QuorumCount, N: 2}, false},
		{"0", Quorum{}, true},
		{"-1", Quorum{}, true},
		{"most", Quorum{}, true},
		{"", Quorum{}, true},
	}
	for _, tt := range tests {
		got, err := ParseQuorum(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseQuorum(%q) = %+v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestMedianRTT_OverSites(t *testing.T) {
	ms := time.Millisecond
	rs := func(d ...time.Duration) []Report {
		var out []Report
		for _, x := range d {
			out = append(out, Report{RTT: x})
		}
		return out
	}
	tests := []struct {
		name   string
		in     []Report
		want   time.Duration
		wantOK bool
	}{
		{"no site has one", rs(0, 0), 0, false},
		{"odd count: the middle one", rs(30*ms, 10*ms, 20*ms), 20 * ms, true},
		{"even count: mean of the middle two", rs(40*ms, 10*ms, 20*ms, 30*ms), 25 * ms, true},
		{"sites without an RTT are left out", rs(0, 10*ms, 30*ms), 20 * ms, true},
	}
	for _, tt := range tests {
		got, ok := MedianRTT(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRTTMoved_Threshold(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		last, now time.Duration
		want      bool
	}{
		{10 * ms, 11 * ms, false},
		{10 * ms, 13 * ms, true},
		{10 * ms, 7 * ms, true},
		{0, 5 * ms, true},
		{5 * ms, 0, true},
		{0, 0, false},
	}
	for _, tt := range tests {
		if got := rttMoved(tt.last, tt.now, 0.2); got != tt.want {
			t.Errorf("rttMoved(%v, %v) = %v", tt.last, tt.now, got)
		}
	}
}
