package pool

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// WhatIfChange is one region of a service (or a cluster service) whose
// status or served set would change.
type WhatIfChange struct {
	FQDN       string   `json:"fqdn"`
	Region     string   `json:"region"`
	StatusNow  Status   `json:"status_now"`
	StatusThen Status   `json:"status_then"`
	ServedNow  []string `json:"served_now"`
	ServedThen []string `json:"served_then"`
}

// WhatIf returns what would change if the addresses in up passed their
// next rounds (as many as recovery_delay asks) and then those in down
// failed theirs, seen from every site, at now. It is computed on a
// copy of the engine by the engine's own Observe: e is not changed, and no
// transition leaves the copy. Only regions whose status or served set
// change are listed, in configuration order (services, then cluster
// services). ErrNotFound when an address is monitored nowhere.
func (e *Engine) WhatIf(down, up []string, now time.Time) ([]WhatIfChange, error) {
	c := e.Clone()
	sites := slices.Clone(e.spec.Sites)
	if len(sites) == 0 {
		sites = []string{""}
	}
	rounds := 1
	for _, s := range e.spec.Services {
		rounds = max(rounds, s.RecoveryDelay+1)
	}
	apply := func(addrs []string, isUp bool, n int) error {
		for _, a := range addrs {
			targets := c.targetsOf(a)
			if len(targets) == 0 {
				return fmt.Errorf("address %s: not monitored by any service: %w", a, ErrNotFound)
			}
			msg := "what-if: down"
			if isUp {
				msg = "what-if: up"
			}
			for range n {
				for _, site := range sites {
					for _, t := range targets {
						c.Observe(Observation{Target: t, Up: isUp, Message: msg, Site: site, Time: now})
					}
				}
			}
		}
		return nil
	}
	// Up first: a set of addresses swapped at once must not pass through
	// a moment where both sets are down (which could latch a failover).
	if err := apply(up, true, rounds); err != nil {
		return nil, err
	}
	if err := apply(down, false, 1); err != nil {
		return nil, err
	}
	before, after := e.outcomes(), c.outcomes()
	var out []WhatIfChange
	for i, b := range before {
		a := after[i]
		if b.status != a.status || !slices.Equal(b.served, a.served) {
			out = append(out, WhatIfChange{FQDN: b.fqdn, Region: b.region, StatusNow: b.status, StatusThen: a.status,
				ServedNow: b.served, ServedThen: a.served})
		}
	}
	return out, nil
}

// outcome is what one region of a service or one cluster service serves.
type outcome struct {
	fqdn, region string
	status       Status
	served       []string
}

// outcomes lists every region's status and sorted served rdata, in a fixed
// order (the same for an engine and its clone).
func (e *Engine) outcomes() []outcome {
	var out []outcome
	sorted := func(recs []Record) []string {
		d := rdata(recs)
		sort.Strings(d)
		return d
	}
	for _, s := range e.services {
		if s.cfg.Kind == KindSFPool {
			out = append(out, outcome{s.cfg.FQDN, GlobalRegion, s.sfStatus, sorted(s.sfRecords())})
			continue
		}
		for _, r := range s.regions {
			out = append(out, outcome{s.cfg.FQDN, r.code, r.status, sorted(r.served)})
		}
	}
	for _, cs := range e.clusters {
		out = append(out, outcome{cs.cfg.FQDN, GlobalRegion, Status(cs.mode), sorted(cs.served)})
	}
	return out
}

// targetsOf returns, sorted, the monitor targets (not performance
// targets) that probe addr: pool entries, active_failover primaries,
// sf_pool live records and cluster real services.
func (e *Engine) targetsOf(addr string) []string {
	want := canonicalAddr(addr)
	var out []string
	for t, subs := range e.byTarget {
		for _, sb := range subs {
			var a string
			switch {
			case sb.real != nil:
				a = sb.real.cfg.IP
			case sb.sf:
				a = sb.svc.cfg.LiveRData
			case sb.perf:
				continue
			case sb.e != nil:
				a = sb.e.cfg.Address
			}
			if canonicalAddr(a) == want {
				out = append(out, t)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// canonicalAddr spells an IP one way (so 2001:DB8::1 matches 2001:db8::1);
// anything else (a CNAME target) is compared as written.
func canonicalAddr(a string) string {
	if ip, err := netip.ParseAddr(a); err == nil {
		return ip.Unmap().String()
	}
	return a
}

// Clone returns a deep copy of the engine: statuses, hysteresis counters,
// histories, performance windows, latches and operator overrides. Nothing
// is shared, so inputs to the copy never reach e.
func (e *Engine) Clone() *Engine {
	old := &Engine{byFQDN: map[string]*service{}, addrs: map[string]*addrState{}, reals: map[string]*addrState{}}
	for k, a := range e.addrs {
		old.addrs[k] = a.deepCopy()
	}
	for k, a := range e.reals {
		old.reals[k] = a.deepCopy()
	}
	for fqdn, s := range e.byFQDN {
		os := &service{cfg: s.cfg, byCode: map[string]*region{}, siteRes: map[string]*addrState{}}
		for code, a := range s.siteRes {
			os.siteRes[code] = a.deepCopy()
		}
		for code, r := range s.byCode {
			os.byCode[code] = &region{code: code, latched: r.latched}
		}
		old.byFQDN[fqdn] = os
	}
	c := &Engine{ov: overridesFrom(&State{Active: e.ov.active, LiveRecordState: e.ov.live, Reals: e.ov.reals})}
	// build carries every state over from a previous engine, exactly as a
	// reload with an unchanged configuration does; here the previous
	// engine is made of copies.
	c.build(e.spec, old, nil)
	return c
}

// deepCopy is a copy of a that shares no slice or map with it.
func (a *addrState) deepCopy() *addrState {
	c := *a
	c.history = slices.Clone(a.history)
	if a.perf != nil {
		c.perf = make(map[string][]time.Duration, len(a.perf))
		for site, rtts := range a.perf {
			c.perf[site] = slices.Clone(rtts)
		}
	}
	return &c
}
