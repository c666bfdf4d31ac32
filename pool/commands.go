package pool

import (
	"fmt"
	"time"
)

func (e *Engine) service(fqdn string) (*service, error) {
	s := e.byFQDN[fqdn]
	if s == nil {
		return nil, fmt.Errorf("service %s: %w", fqdn, ErrNotFound)
	}
	return s, nil
}

// change runs fn on s and returns the svc/ep transitions it caused.
func (e *Engine) change(s *service, now time.Time, fn func()) []Transition {
	before := s.snapshot()
	fn()
	s.recompute()
	return s.diff(before, now, "")
}

// Activate starts monitoring a service. Addresses restart from unk (their
// last rounds are stale); removed addresses and latches stay.
func (e *Engine) Activate(fqdn string, now time.Time) (bool, []Transition, error) {
	return e.setActive(fqdn, true, now)
}

// Deactivate stops monitoring a service: active_failover serves its
// primary, gslb and rttm their full pools, sf_pool its live record, with
// status unk (sf_pool OK unless forced); rounds are ignored.
func (e *Engine) Deactivate(fqdn string, now time.Time) (bool, []Transition, error) {
	return e.setActive(fqdn, false, now)
}

func (e *Engine) setActive(fqdn string, active bool, now time.Time) (bool, []Transition, error) {
	s, err := e.service(fqdn)
	if err != nil {
		return false, nil, err
	}
	if s.active == active {
		return false, nil, nil
	}
	tr := e.change(s, now, func() {
		s.active = active
		if active {
			for _, r := range s.regions {
				for _, en := range r.entries {
					if en.st.target != "" && !en.st.removed {
						en.st.status, en.st.upStreak = StatusUnk, 0
					}
				}
			}
			s.siteRes = map[string]*addrState{}
		}
	})
	if active == s.cfg.Active {
		delete(e.ov.active, fqdn)
	} else {
		e.ov.active[fqdn] = BoolOverride{Value: active, Config: s.cfg.Active}
	}
	return true, tr, nil
}

// Recover clears a service's failover latches and brings every removed
// address back (address ""), or brings back one removed address in every
// region holding it. A recovered address is up when its last round was up,
// down when it was down, unk before any round.
func (e *Engine) Recover(fqdn, address string, now time.Time) (bool, []Transition, error) {
	s, err := e.service(fqdn)
	if err != nil {
		return false, nil, err
	}
	found, changed := false, false
	var ipTr []Transition
	tr := e.change(s, now, func() {
		for _, r := range s.regions {
			if address == "" && r.latched {
				r.latched, changed = false, true
			}
			for _, en := range r.entries {
				if address != "" && en.cfg.Address != address {
					continue
				}
				found = true
				old := en.st.status
				if en.st.recover() {
					changed = true
					if old != en.st.status {
						kind := EventIP
						if en.cfg.ServeMode == ServeNo {
							kind = EventNoSrv
						}
						ipTr = append(ipTr, Transition{Kind: kind, Service: fqdn, ServiceKind: s.cfg.Kind, Region: r.code,
							Address: en.cfg.Address, Label: en.cfg.Label, Old: old, New: en.st.status, Time: now,
							Message: "recovered by operator"})
					}
				}
			}
		}
	})
	if address != "" && !found {
		return false, nil, fmt.Errorf("service %s: address %s: %w", fqdn, address, ErrNotFound)
	}
	for i := range ipTr {
		if r := s.byCode[ipTr[i].Region]; r != nil {
			ipTr[i].Served = rdata(r.served)
		}
	}
	return changed, append(ipTr, tr...), nil
}

// Force sets an sf_pool's live record forced inactive (status MANUAL,
// backup served).
func (e *Engine) Force(fqdn string, now time.Time) (bool, []Transition, error) {
	return e.setLive(fqdn, LiveForcedInactive, now)
}

// Unforce sets an sf_pool back to NOT_FORCED.
func (e *Engine) Unforce(fqdn string, now time.Time) (bool, []Transition, error) {
	return e.setLive(fqdn, LiveNotForced, now)
}

func (e *Engine) setLive(fqdn, state string, now time.Time) (bool, []Transition, error) {
	s, err := e.service(fqdn)
	if err != nil {
		return false, nil, err
	}
	if s.cfg.Kind != KindSFPool {
		return false, nil, fmt.Errorf("service %s is %s, not sf_pool: %w", fqdn, s.cfg.Kind, ErrPrecondition)
	}
	if s.live == state {
		return false, nil, nil
	}
	tr := e.change(s, now, func() { s.live = state })
	if cfg := configLive(s.cfg); cfg == state {
		delete(e.ov.live, fqdn)
	} else {
		e.ov.live[fqdn] = StringOverride{Value: state, Config: cfg}
	}
	return true, tr, nil
}

func (e *Engine) real(cluster, service, name string) (*clusterSvc, *realServer, error) {
	clusterFound, serviceFound := false, false
	for _, cs := range e.clusters {
		if cs.cluster != cluster {
			continue
		}
		clusterFound = true
		if cs.cfg.Name != service {
			continue
		}
		serviceFound = true
		for _, rl := range cs.reals {
			if rl.cfg.Name == name {
				return cs, rl, nil
			}
		}
	}
	for _, c := range e.spec.Clusters {
		if c.Name == cluster {
			clusterFound = true
		}
	}
	switch {
	case !clusterFound:
		return nil, nil, fmt.Errorf("cluster %s: %w", cluster, ErrNotFound)
	case !serviceFound:
		return nil, nil, fmt.Errorf("cluster %s: service %s: %w", cluster, service, ErrNotFound)
	default:
		return nil, nil, fmt.Errorf("cluster %s: service %s: real service %s: %w", cluster, service, name, ErrNotFound)
	}
}

// setReal applies fn to a real service, recomputes the served set and
// records the override. fn returns whether it changed anything.
func (e *Engine) setReal(cluster, service, name string, fn func(cs *clusterSvc, rl *realServer) (bool, error)) (bool, []Transition, error) {
	cs, rl, err := e.real(cluster, service, name)
	if err != nil {
		return false, nil, err
	}
	changed, err := fn(cs, rl)
	if err != nil || !changed {
		return false, nil, err
	}
	cs.recompute()
	c := rl.cfg
	if rl.enabled == c.Enabled && rl.weight == c.Weight && rl.fallback == c.Fallback {
		delete(e.ov.reals, rl.key)
	} else {
		e.ov.reals[rl.key] = RealOverride{Enabled: rl.enabled, Weight: rl.weight, Fallback: rl.fallback,
			ConfigEnabled: c.Enabled, ConfigWeight: c.Weight, ConfigFallback: c.Fallback}
	}
	return true, nil, nil
}

// ClusterEnable enables a real service.
func (e *Engine) ClusterEnable(cluster, service, real string, now time.Time) (bool, []Transition, error) {
	return e.setReal(cluster, service, real, func(_ *clusterSvc, rl *realServer) (bool, error) {
		if rl.enabled {
			return false, nil
		}
		rl.enabled = true
		return true, nil
	})
}

// ClusterDisable disables a real service: it is never served.
func (e *Engine) ClusterDisable(cluster, service, real string, now time.Time) (bool, []Transition, error) {
	return e.setReal(cluster, service, real, func(_ *clusterSvc, rl *realServer) (bool, error) {
		if !rl.enabled {
			return false, nil
		}
		rl.enabled = false
		return true, nil
	})
}

// ClusterEnableFallback makes a real service the fallback. ErrPrecondition
// when another real service of the cluster service is the fallback or
// this one is disabled.
func (e *Engine) ClusterEnableFallback(cluster, service, real string, now time.Time) (bool, []Transition, error) {
	return e.setReal(cluster, service, real, func(cs *clusterSvc, rl *realServer) (bool, error) {
		if rl.fallback {
			return false, nil
		}
		for _, o := range cs.reals {
			if o != rl && o.fallback {
				return false, fmt.Errorf("cluster %s: service %s: %s is already the fallback: %w", cluster, service, o.cfg.Name, ErrPrecondition)
			}
		}
		if !rl.enabled {
			return false, fmt.Errorf("cluster %s: service %s: %s is disabled: %w", cluster, service, real, ErrPrecondition)
		}
		rl.fallback = true
		return true, nil
	})
}

// ClusterDisableFallback unsets a real service as the fallback.
func (e *Engine) ClusterDisableFallback(cluster, service, real string, now time.Time) (bool, []Transition, error) {
	return e.setReal(cluster, service, real, func(_ *clusterSvc, rl *realServer) (bool, error) {
		if !rl.fallback {
			return false, nil
		}
		rl.fallback = false
		return true, nil
	})
}

// ClusterSetWeight sets a real service's weight (0: no new traffic, never
// served). ErrPrecondition for a negative weight.
func (e *Engine) ClusterSetWeight(cluster, service, real string, weight int, now time.Time) (bool, []Transition, error) {
	return e.setReal(cluster, service, real, func(_ *clusterSvc, rl *realServer) (bool, error) {
		if weight < 0 {
			return false, fmt.Errorf("cluster %s: service %s: %s: weight %d: %w", cluster, service, real, weight, ErrPrecondition)
		}
		if rl.weight == weight {
			return false, nil
		}
		rl.weight = weight
		return true, nil
	})
}
