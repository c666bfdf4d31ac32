package pool

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// clock is the fake clock of the tests: every round is one second later.
type clock struct{ t time.Time }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)} }

func (c *clock) next() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

// step is one input of a table test: a probe round ("U"/"D" of a target),
// a performance round, or an operator command.
type step struct {
	target string
	up     bool
	rtt    time.Duration
	site   string
	// unknown: the probe failed for a local reason (Observation.Unknown).
	unknown bool
	cmd     func(e *Engine, now time.Time) (bool, []Transition, error)
}

func up(target string) step   { return step{target: target, up: true, rtt: 10 * time.Millisecond} }
func down(target string) step { return step{target: target} }
func upSite(target, site string) step {
	return step{target: target, up: true, rtt: 10 * time.Millisecond, site: site}
}
func unknown(target string) step        { return step{target: target, unknown: true} }
func downSite(target, site string) step { return step{target: target, site: site} }
func perf(target string, rtt time.Duration) step {
	return step{target: target, up: true, rtt: rtt}
}
func cmd(f func(e *Engine, now time.Time) (bool, []Transition, error)) step {
	return step{cmd: f}
}

// rounds repeats s n times.
func rounds(n int, s step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func seq(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch v := p.(type) {
		case step:
			out = append(out, v)
		case []step:
			out = append(out, v...)
		}
	}
	return out
}

// run feeds steps into e and returns every transition.
func run(t *testing.T, e *Engine, c *clock, steps []step) []Transition {
	t.Helper()
	var all []Transition
	for _, s := range steps {
		now := c.next()
		if s.cmd != nil {
			_, tr, err := s.cmd(e, now)
			if err != nil {
				t.Fatalf("command: %v", err)
			}
			all = append(all, tr...)
			continue
		}
		msg := ""
		switch {
		case s.unknown:
			msg = "cannot probe: too many open files"
		case !s.up:
			msg = "connection refused"
		}
		all = append(all, e.Observe(Observation{Target: s.target, Up: s.up, Unknown: s.unknown, RTT: s.rtt, Message: msg, Site: s.site, Time: now})...)
	}
	return all
}

// served returns the sorted rdata served at name for region.
func served(t *testing.T, e *Engine, name, region string) []string {
	t.Helper()
	for _, a := range e.Answers() {
		if a.Name != name {
			continue
		}
		sv, ok := a.Regions[region]
		if !ok {
			t.Fatalf("%s: no region %q", name, region)
		}
		out := rdata(sv.Records)
		sort.Strings(out)
		return out
	}
	t.Fatalf("no answer for %s", name)
	return nil
}

func servedSet(t *testing.T, e *Engine, name, region string) Served {
	t.Helper()
	for _, a := range e.Answers() {
		if a.Name == name {
			return a.Regions[region]
		}
	}
	t.Fatalf("no answer for %s", name)
	return Served{}
}

func regionStatus(t *testing.T, e *Engine, fqdn, code string) Status {
	t.Helper()
	v, ok := e.Service(fqdn)
	if !ok {
		t.Fatalf("no service %s", fqdn)
	}
	for _, r := range v.Regions {
		if r.Code == code {
			return r.Status
		}
	}
	t.Fatalf("%s: no region %s", fqdn, code)
	return ""
}

func entryView(t *testing.T, e *Engine, fqdn, code, addr string) EntryView {
	t.Helper()
	v, _ := e.Service(fqdn)
	for _, r := range v.Regions {
		if r.Code != code {
			continue
		}
		for _, en := range r.Entries {
			if en.Address == addr {
				return en
			}
		}
	}
	t.Fatalf("%s %s: no entry %s", fqdn, code, addr)
	return EntryView{}
}

func list(s string) []string {
	if s == "" {
		return []string{}
	}
	out := strings.Split(s, ",")
	sort.Strings(out)
	return out
}

func eq(a, b []string) bool { return slices.Equal(a, b) }

// kinds summarises transitions as "kind:region:address:old>new".
func kinds(tr []Transition, skipRounds bool) []string {
	var out []string
	for _, t := range tr {
		if skipRounds && (t.Kind == EventRound || t.Kind == EventPerf) {
			continue
		}
		out = append(out, string(t.Kind)+":"+t.Region+":"+t.Address+":"+string(t.Old)+">"+string(t.New))
	}
	return out
}

// gslbSpec is a gslb service app.example.com. with the given regions.
func gslbSpec(autoRecover bool, rd int, regions ...Region) Spec {
	return Spec{Sites: []string{"iad"}, Services: []Service{{
		FQDN: "app.example.com.", Kind: KindGSLB, TTL: 5, Active: true, AutoRecover: autoRecover,
		RecoveryDelay: rd, Regions: regions,
	}}}
}

// ent is an entry probed under target "t:<address>".
func ent(addr string, mode ServeMode, weight int) Entry {
	return Entry{Address: addr, ServeMode: mode, Weight: weight, Target: "t:" + addr, PerfTarget: "p:" + addr}
}

// timeT shortens command closures in tables.
type timeT = time.Time
