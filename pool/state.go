package pool

import "maps"

// State is everything the engine needs to survive a restart. It is plain
// data, JSON-able; the daemon persists it through the store after every
// change it reports.
type State struct {
	// Addresses maps AddressKey(fqdn, region, address) to the last status
	// of a region entry (or active_failover primary) and whether it is
	// removed (serve_mode remove, awaiting an operator's recover).
	Addresses map[string]AddressState `json:"addresses,omitempty"`
	// RealStatus maps RealKey(cluster, service, real) to the last status
	// of a cluster real service.
	RealStatus map[string]Status `json:"real_status,omitempty"`
	// Latches holds RegionKey(fqdn, region) of every region latched in
	// failover (auto_recover = false) until an operator recovers it.
	Latches map[string]bool `json:"latches,omitempty"`
	// Active holds operator activate/deactivate overrides by fqdn.
	Active map[string]BoolOverride `json:"active,omitempty"`
	// LiveRecordState holds sf_pool force/unforce overrides by fqdn.
	LiveRecordState map[string]StringOverride `json:"live_record_state,omitempty"`
	// Reals holds cluster enable/disable/fallback/weight overrides by
	// RealKey.
	Reals map[string]RealOverride `json:"reals,omitempty"`
}

// AddressState is the persisted status of one address.
type AddressState struct {
	Status  Status `json:"status"`
	Removed bool   `json:"removed,omitempty"`
}

// BoolOverride is an operator's value for a boolean setting, and the
// configured value it overrode: when the configuration changes that
// setting, the configuration wins and the override is dropped.
type BoolOverride struct {
	Value  bool `json:"value"`
	Config bool `json:"config"`
}

// StringOverride is BoolOverride for a string setting.
type StringOverride struct {
	Value  string `json:"value"`
	Config string `json:"config"`
}

// RealOverride is an operator's enabled/weight/fallback of a cluster real
// service, and the configured values it overrode (dropped when any of
// them changes in the configuration).
type RealOverride struct {
	Enabled        bool `json:"enabled"`
	Weight         int  `json:"weight"`
	Fallback       bool `json:"fallback"`
	ConfigEnabled  bool `json:"config_enabled"`
	ConfigWeight   int  `json:"config_weight"`
	ConfigFallback bool `json:"config_fallback"`
}

// overrides are the operator changes in force.
type overrides struct {
	active map[string]BoolOverride
	live   map[string]StringOverride
	reals  map[string]RealOverride
}

func overridesFrom(st *State) overrides {
	ov := overrides{active: map[string]BoolOverride{}, live: map[string]StringOverride{}, reals: map[string]RealOverride{}}
	if st != nil {
		maps.Copy(ov.active, st.Active)
		maps.Copy(ov.live, st.LiveRecordState)
		maps.Copy(ov.reals, st.Reals)
	}
	return ov
}

func (ov overrides) resolveActive(sc Service) bool {
	if o, ok := ov.active[sc.FQDN]; ok {
		if o.Config == sc.Active && o.Value != sc.Active {
			return o.Value
		}
		delete(ov.active, sc.FQDN)
	}
	return sc.Active
}

func configLive(sc Service) string {
	if sc.LiveRecordState == LiveForcedInactive {
		return LiveForcedInactive
	}
	return LiveNotForced
}

func (ov overrides) resolveLive(sc Service) string {
	cfg := configLive(sc)
	if o, ok := ov.live[sc.FQDN]; ok {
		if o.Config == cfg && o.Value != cfg {
			return o.Value
		}
		delete(ov.live, sc.FQDN)
	}
	return cfg
}

func (ov overrides) resolveReal(key string, rc Real) (enabled bool, weight int, fallback bool) {
	if o, ok := ov.reals[key]; ok {
		if o.ConfigEnabled == rc.Enabled && o.ConfigWeight == rc.Weight && o.ConfigFallback == rc.Fallback {
			return o.Enabled, o.Weight, o.Fallback
		}
		delete(ov.reals, key)
	}
	return rc.Enabled, rc.Weight, rc.Fallback
}

// prune drops overrides of services and reals no longer configured.
func (ov overrides) prune(services, reals map[string]bool) {
	for k := range ov.active {
		if !services[k] {
			delete(ov.active, k)
		}
	}
	for k := range ov.live {
		if !services[k] {
			delete(ov.live, k)
		}
	}
	for k := range ov.reals {
		if !reals[k] {
			delete(ov.reals, k)
		}
	}
}

// State returns everything to persist: last address statuses, removed
// addresses, latches and operator overrides. The result shares nothing
// with the engine.
func (e *Engine) State() *State {
	st := &State{
		Addresses:       map[string]AddressState{},
		RealStatus:      map[string]Status{},
		Latches:         map[string]bool{},
		Active:          maps.Clone(e.ov.active),
		LiveRecordState: maps.Clone(e.ov.live),
		Reals:           maps.Clone(e.ov.reals),
	}
	for k, a := range e.addrs {
		if a.target != "" && (a.status != StatusUnk || a.removed) {
			st.Addresses[k] = AddressState{Status: a.status, Removed: a.removed}
		}
	}
	for k, a := range e.reals {
		if a.target != "" && a.status != StatusUnk {
			st.RealStatus[k] = a.status
		}
	}
	for _, s := range e.services {
		for _, r := range s.regions {
			if r.latched {
				st.Latches[RegionKey(s.cfg.FQDN, r.code)] = true
			}
		}
	}
	if len(st.Addresses) == 0 {
		st.Addresses = nil
	}
	if len(st.RealStatus) == 0 {
		st.RealStatus = nil
	}
	if len(st.Latches) == 0 {
		st.Latches = nil
	}
	if len(st.Active) == 0 {
		st.Active = nil
	}
	if len(st.LiveRecordState) == 0 {
		st.LiveRecordState = nil
	}
	if len(st.Reals) == 0 {
		st.Reals = nil
	}
	return st
}
