package pool

import (
	"strconv"
	"strings"
	"testing"
)

// resolvedRound is a round of target, up or down, that resolved to addrs.
type resolvedRound struct {
	target string
	up     bool
	addrs  []string
}

// docs/behaviour.md section 3: a host-name pool entry is served as a CNAME
// when it is the only entry of the served set, and as the addresses it last
// resolved to otherwise; a name that does not resolve is a down round.
func TestHostNameEntry(t *testing.T) {
	const host = "lb-1.cdn.example.net."
	const other = "192.0.2.10"
	hostUp := resolvedRound{"t:" + host, true, []string{"198.51.100.1", "2001:db8::1"}}
	tests := []struct {
		name       string
		entries    []Entry
		rounds     []resolvedRound
		wantStatus Status // of the host-name entry
		want       []string
		wantReason string
	}{
		{"SoleEntryServedAsCNAME", []Entry{ent(host, ServeObey, 1)}, []resolvedRound{hostUp},
			StatusUp, []string{"CNAME " + host}, "served as CNAME (only entry)"},
		{"SoleEntryBeforeFirstRoundServedAsCNAME", []Entry{ent(host, ServeObey, 1)}, nil,
			StatusUnk, []string{"CNAME " + host}, "served as CNAME (only entry)"},
		{"WithOthersServedAsItsAddresses", []Entry{ent(other, ServeObey, 1), ent(host, ServeObey, 3)}, []resolvedRound{hostUp},
			StatusUp, []string{"A 192.0.2.10 1", "A 198.51.100.1 3", "AAAA 2001:db8::1 3"}, "served as its addresses 198.51.100.1, 2001:db8::1"},
		{"WithOthersKeepsLastAddressesWhenRoundHasNone", []Entry{ent(other, ServeObey, 1), ent(host, ServeObey, 1)},
			[]resolvedRound{hostUp, {"t:" + host, true, nil}},
			StatusUp, []string{"A 192.0.2.10 1", "A 198.51.100.1 1", "AAAA 2001:db8::1 1"}, "served as its addresses"},
		{"WithOthersFollowsNewAddresses", []Entry{ent(other, ServeObey, 1), ent(host, ServeObey, 1)},
			[]resolvedRound{hostUp, {"t:" + host, true, []string{"198.51.100.2"}}},
			StatusUp, []string{"A 192.0.2.10 1", "A 198.51.100.2 1"}, "served as its addresses 198.51.100.2"},
		{"WithOthersUnresolvedServesNothingForIt", []Entry{ent(other, ServeObey, 1), ent(host, ServeObey, 1)}, nil,
			StatusUnk, []string{"A 192.0.2.10 1"}, "not resolved yet"},
		{"UnresolvableIsDownAndNotServed", []Entry{ent(other, ServeObey, 1), ent(host, ServeObey, 1)},
			[]resolvedRound{{"t:" + other, true, nil}, {"t:" + host, false, nil}},
			StatusDown, []string{"A 192.0.2.10 1"}, "no such host"},
		{"OthersDownLeavesItSoleAsCNAME", []Entry{ent(other, ServeObey, 1), ent(host, ServeObey, 1)},
			[]resolvedRound{hostUp, {"t:" + other, false, nil}},
			StatusUp, []string{"CNAME " + host}, "served as CNAME (only entry)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(gslbSpec(true, 0, Region{Code: GlobalRegion, Entries: tc.entries}), nil)
			c := newClock()
			for _, r := range tc.rounds {
				msg := ""
				if !r.up {
					msg = "lookup " + host + ": no such host"
				}
				e.Observe(Observation{Target: r.target, Up: r.up, Message: msg, Addresses: r.addrs, Time: c.next()})
			}
			if got := entryView(t, e, "app.example.com.", GlobalRegion, host).Status; got != tc.wantStatus {
				t.Errorf("status %s, want %s", got, tc.wantStatus)
			}
			var got []string
			for _, r := range servedSet(t, e, "app.example.com.", GlobalRegion).Records {
				if r.Type == "CNAME" {
					got = append(got, "CNAME "+r.Data)
				} else {
					got = append(got, r.Type+" "+r.Data+" "+strconv.Itoa(r.Weight))
				}
			}
			if !eq(got, tc.want) {
				t.Errorf("served %q, want %q", got, tc.want)
			}
			ex, err := e.Explain("app.example.com.", GlobalRegion)
			if err != nil {
				t.Fatal(err)
			}
			for _, ee := range ex.Entries {
				if ee.Address == host && !strings.Contains(ee.Reason, tc.wantReason) {
					t.Errorf("reason %q, want it to say %q", ee.Reason, tc.wantReason)
				}
			}
		})
	}
}

// A round that resolves a host-name entry to other addresses changes the
// served set without a status change: the engine names the service so the
// daemon republishes it alone, once.
func TestHostNameEntry_NewAddressesNameTheServiceOnce(t *testing.T) {
	const host = "lb-1.cdn.example.net."
	e := New(gslbSpec(true, 0, Region{Code: GlobalRegion, Entries: []Entry{ent("192.0.2.10", ServeObey, 1), ent(host, ServeObey, 1)}}), nil)
	c := newClock()
	steps := []struct {
		name string
		obs  Observation
		want []string
	}{
		{"FirstAddresses", Observation{Target: "t:" + host, Up: true, Addresses: []string{"198.51.100.1"}}, []string{"app.example.com."}},
		{"SameAddresses", Observation{Target: "t:" + host, Up: true, Addresses: []string{"198.51.100.1"}}, nil},
		{"RoundWithoutAddresses", Observation{Target: "t:" + host, Up: true}, nil},
		{"UnknownRoundKeepsThem", Observation{Target: "t:" + host, Unknown: true, Addresses: []string{"198.51.100.9"}}, nil},
		{"NewAddresses", Observation{Target: "t:" + host, Up: true, Addresses: []string{"198.51.100.2"}}, []string{"app.example.com."}},
		{"OtherEntry", Observation{Target: "t:192.0.2.10", Up: true}, nil},
	}
	for _, st := range steps {
		st.obs.Time = c.next()
		e.Observe(st.obs)
		if got := e.TakeReaddressed(); !eq(got, st.want) {
			t.Errorf("%s: readdressed %q, want %q", st.name, got, st.want)
		}
	}
	if got := e.TakeReaddressed(); got != nil {
		t.Errorf("taken twice: %q", got)
	}
}
