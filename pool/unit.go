package pool

import "maps"

// A unit is everything the engine holds under one FQDN: the service at
// that name and the cluster services whose address name it is. A
// multi-site deployment commits the state unit by unit, so that a decision
// about one service writes one value however many services there are.

// Units returns the FQDN of every unit: every service, then every cluster
// service name not already listed, in configuration order.
func (e *Engine) Units() []string {
	out := make([]string, 0, len(e.services)+len(e.clusters))
	seen := make(map[string]bool, cap(out))
	for _, s := range e.services {
		if !seen[s.cfg.FQDN] {
			seen[s.cfg.FQDN] = true
			out = append(out, s.cfg.FQDN)
		}
	}
	for _, cs := range e.clusters {
		if !seen[cs.cfg.FQDN] {
			seen[cs.cfg.FQDN] = true
			out = append(out, cs.cfg.FQDN)
		}
	}
	return out
}

// StateOf returns the part of State held under fqdn: its service's address
// statuses, removed addresses, latches and overrides, and the real service
// statuses and overrides of the cluster services named fqdn. Merging the
// StateOf of every unit gives State. Nil fields are empty.
func (e *Engine) StateOf(fqdn string) *State {
	st := &State{}
	put := func(m *map[string]AddressState, k string, v AddressState) {
		if *m == nil {
			*m = map[string]AddressState{}
		}
		(*m)[k] = v
	}
	if s := e.byFQDN[fqdn]; s != nil {
		if o, ok := e.ov.active[fqdn]; ok {
			st.Active = map[string]BoolOverride{fqdn: o}
		}
		if o, ok := e.ov.live[fqdn]; ok {
			st.LiveRecordState = map[string]StringOverride{fqdn: o}
		}
		for _, r := range s.regions {
			if r.latched {
				if st.Latches == nil {
					st.Latches = map[string]bool{}
				}
				st.Latches[RegionKey(fqdn, r.code)] = true
			}
			for _, en := range r.entries {
				if a := en.st; a.target != "" && (a.status != StatusUnk || a.removed) {
					put(&st.Addresses, AddressKey(fqdn, r.code, en.cfg.Address), AddressState{Status: a.status, Removed: a.removed})
				}
			}
		}
	}
	for _, cs := range e.clusters {
		if cs.cfg.FQDN != fqdn {
			continue
		}
		for _, rl := range cs.reals {
			if rl.st.target != "" && rl.st.status != StatusUnk {
				if st.RealStatus == nil {
					st.RealStatus = map[string]Status{}
				}
				st.RealStatus[rl.key] = rl.st.status
			}
			if o, ok := e.ov.reals[rl.key]; ok {
				if st.Reals == nil {
					st.Reals = map[string]RealOverride{}
				}
				st.Reals[rl.key] = o
			}
		}
	}
	return st
}

// Restore sets the unit fqdn to st (a StateOf, typically another node's),
// keeping what State does not hold: round history, last results, RTTs and
// counters. What st lacks is reset: an address it does not name is unk and
// not removed, a region it does not latch is unlatched, an override it
// does not hold is dropped. Served sets and statuses are recomputed. It
// emits no transitions.
func (e *Engine) Restore(fqdn string, st *State) {
	if st == nil {
		st = &State{}
	}
	if s := e.byFQDN[fqdn]; s != nil {
		if o, ok := st.Active[fqdn]; ok {
			e.ov.active[fqdn] = o
		} else {
			delete(e.ov.active, fqdn)
		}
		s.active = e.ov.resolveActive(s.cfg)
		if s.cfg.Kind == KindSFPool {
			if o, ok := st.LiveRecordState[fqdn]; ok {
				e.ov.live[fqdn] = o
			} else {
				delete(e.ov.live, fqdn)
			}
			s.live = e.ov.resolveLive(s.cfg)
		}
		for _, r := range s.regions {
			r.latched = !s.cfg.AutoRecover && st.Latches[RegionKey(fqdn, r.code)]
			for _, en := range r.entries {
				a := en.st
				if a.target == "" {
					continue // protocol NONE: always up, never persisted
				}
				as := st.Addresses[AddressKey(fqdn, r.code, en.cfg.Address)]
				a.status, a.removed = StatusUnk, false
				if validAddrStatus(as.Status) && as.Status != "" {
					a.status = as.Status
				}
				if as.Removed && en.cfg.ServeMode == ServeRemove {
					a.removed, a.status = true, StatusDown
				}
			}
		}
		s.recompute()
	}
	for _, cs := range e.clusters {
		if cs.cfg.FQDN != fqdn {
			continue
		}
		for _, rl := range cs.reals {
			if o, ok := st.Reals[rl.key]; ok {
				e.ov.reals[rl.key] = o
			} else {
				delete(e.ov.reals, rl.key)
			}
			rl.enabled, rl.weight, rl.fallback = e.ov.resolveReal(rl.key, rl.cfg)
			if rl.st.target != "" {
				rl.st.status = StatusUnk
				if s := st.RealStatus[rl.key]; validAddrStatus(s) && s != "" {
					rl.st.status = s
				}
			}
		}
		cs.recompute()
	}
}

// Merge adds every entry of o to st (o's win), for assembling State from
// units.
func (st *State) Merge(o *State) {
	if o == nil {
		return
	}
	merge(&st.Addresses, o.Addresses)
	merge(&st.RealStatus, o.RealStatus)
	merge(&st.Latches, o.Latches)
	merge(&st.Active, o.Active)
	merge(&st.LiveRecordState, o.LiveRecordState)
	merge(&st.Reals, o.Reals)
}

func merge[V any](dst *map[string]V, src map[string]V) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = make(map[string]V, len(src))
	}
	maps.Copy(*dst, src)
}
