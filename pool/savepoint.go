package pool

import (
	"maps"
	"slices"
	"time"
)

// Savepoint holds a copy of what one operator command can change: the
// operator overrides and the runtime state of one service or one cluster
// service. Rollback puts it back, so a command whose result could not be
// recorded changes nothing. A savepoint is only good until the next input
// of the engine.
type Savepoint struct {
	ov overrides

	svc     *service
	svcCopy service
	regions []regionCopy

	cs      *clusterSvc
	csCopy  clusterSvc
	reals   []realServer
	realSts []addrState
}

type regionCopy struct {
	r     *region
	value region
	addrs []addrState
}

// SaveService returns a savepoint for a command on the service fqdn (an
// unknown fqdn saves only the overrides).
func (e *Engine) SaveService(fqdn string) *Savepoint {
	sp := &Savepoint{ov: e.ov.clone()}
	s := e.byFQDN[fqdn]
	if s == nil {
		return sp
	}
	sp.svc, sp.svcCopy = s, *s
	sp.svcCopy.siteRes = cloneAddrMap(s.siteRes)
	for _, r := range s.regions {
		rc := regionCopy{r: r, value: *r}
		rc.value.ep = slices.Clone(r.ep)
		rc.value.served = slices.Clone(r.served)
		for _, en := range r.entries {
			rc.addrs = append(rc.addrs, en.st.clone())
		}
		sp.regions = append(sp.regions, rc)
	}
	return sp
}

// SaveClusterService returns a savepoint for a command on a real service of
// cluster's service.
func (e *Engine) SaveClusterService(cluster, service string) *Savepoint {
	sp := &Savepoint{ov: e.ov.clone()}
	for _, cs := range e.clusters {
		if cs.cluster != cluster || cs.cfg.Name != service {
			continue
		}
		sp.cs, sp.csCopy = cs, *cs
		sp.csCopy.served = slices.Clone(cs.served)
		sp.csCopy.active = slices.Clone(cs.active)
		for _, rl := range cs.reals {
			sp.reals = append(sp.reals, *rl)
			sp.realSts = append(sp.realSts, rl.st.clone())
		}
		break
	}
	return sp
}

// Rollback restores the state saved in sp.
func (e *Engine) Rollback(sp *Savepoint) {
	e.ov = sp.ov
	if sp.svc != nil {
		*sp.svc = sp.svcCopy
		for _, rc := range sp.regions {
			*rc.r = rc.value
			for i, en := range rc.r.entries {
				*en.st = rc.addrs[i]
			}
		}
	}
	if sp.cs != nil {
		*sp.cs = sp.csCopy
		for i, rl := range sp.cs.reals {
			*rl = sp.reals[i]
			*rl.st = sp.realSts[i]
		}
	}
}

func (ov overrides) clone() overrides {
	return overrides{active: maps.Clone(ov.active), live: maps.Clone(ov.live), reals: maps.Clone(ov.reals)}
}

// clone is a copy of a that shares no slice or map with it.
func (a *addrState) clone() addrState {
	c := *a
	c.history = slices.Clone(a.history)
	if a.perf != nil {
		c.perf = make(map[string][]time.Duration, len(a.perf))
		for site, rtts := range a.perf {
			c.perf[site] = slices.Clone(rtts)
		}
	}
	return c
}

func cloneAddrMap(m map[string]*addrState) map[string]*addrState {
	if m == nil {
		return nil
	}
	out := make(map[string]*addrState, len(m))
	for k, a := range m {
		c := a.clone()
		out[k] = &c
	}
	return out
}
