package pool

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// Engine holds every service's decision state. It is not safe for
// concurrent use: the daemon's decision loop is its only owner.
type Engine struct {
	spec     Spec
	services []*service
	byFQDN   map[string]*service
	clusters []*clusterSvc
	byTarget map[string][]sub

	addrs map[string]*addrState // AddressKey → state of region entries
	reals map[string]*addrState // RealKey → state of cluster reals
	ov    overrides

	// readdressed are the services whose served set changed with no
	// status change: a host-name entry resolved to other addresses.
	readdressed []string
}

// service is the runtime form of a Service.
type service struct {
	cfg     Service
	sites   []string
	active  bool
	live    string // sf_pool live_record_state in force
	regions []*region
	byCode  map[string]*region

	// sf_pool: latest result per monitoring site, and the status.
	siteRes  map[string]*addrState
	sfStatus Status
}

// region is the runtime form of a Region (or of the single implicit
// region of an active_failover service).
type region struct {
	code     string
	cfg      Region // effective options (autopopulate: the global region's)
	entries  []*entry
	latched  bool
	status   Status
	ep       []*entry
	served   []Record
	failOpen bool
}

type entry struct {
	cfg Entry
	st  *addrState
}

// sub is one consumer of a probe target.
type sub struct {
	svc  *service
	r    *region
	e    *entry
	perf bool // the target is e's performance monitor
	sf   bool // the target is the sf_pool monitor of svc

	cs   *clusterSvc
	real *realServer
}

// AddressKey is the State key of one address in one region of a service.
func AddressKey(fqdn, region, address string) string {
	return fqdn + "|" + region + "|" + address
}

// RegionKey is the State key of one region of a service.
func RegionKey(fqdn, region string) string { return fqdn + "|" + region }

// RealKey is the State key of one real service of a cluster service.
func RealKey(cluster, service, real string) string {
	return cluster + "|" + service + "|" + real
}

// New builds an engine from spec, restoring address statuses, removed
// addresses, latches and operator overrides from state (nil = fresh start).
// A start-up emits no transitions.
func New(spec Spec, state *State) *Engine {
	e := &Engine{}
	e.ov = overridesFrom(state)
	e.build(spec, nil, state)
	return e
}

// Reconfigure replaces the configuration (a reload). Addresses, sites and
// real services whose key and probe target are unchanged keep their status,
// counters and history; regions keep their latch. It returns a svc
// transition for every surviving region whose status changed.
func (e *Engine) Reconfigure(spec Spec, now time.Time) []Transition {
	old := &Engine{services: e.services, byFQDN: e.byFQDN, clusters: e.clusters, addrs: e.addrs, reals: e.reals}
	before := map[string]Status{}
	for _, s := range old.services {
		for code, st := range s.statusMap() {
			before[RegionKey(s.cfg.FQDN, code)] = st
		}
	}
	e.build(spec, old, nil)
	var tr []Transition
	for _, s := range e.services {
		for _, code := range s.statusCodes() {
			was, ok := before[RegionKey(s.cfg.FQDN, code)]
			now0 := s.statusMap()[code]
			if ok && was != now0 {
				tr = append(tr, s.svcTransition(code, was, now0, now, ""))
			}
		}
	}
	return tr
}

// build constructs the runtime structures from spec, carrying state over
// from old (a reload) or restoring it from st (a start-up).
func (e *Engine) build(spec Spec, old *Engine, st *State) {
	e.spec = spec
	e.services = nil
	e.byFQDN = map[string]*service{}
	e.clusters = nil
	e.byTarget = map[string][]sub{}
	e.addrs = map[string]*addrState{}
	e.reals = map[string]*addrState{}

	keepActive := map[string]bool{}
	keepReal := map[string]bool{}
	for _, sc := range spec.Services {
		s := &service{cfg: sc, sites: slices.Clone(spec.Sites), byCode: map[string]*region{}}
		s.active = e.ov.resolveActive(sc)
		keepActive[sc.FQDN] = true
		var oldSvc *service
		if old != nil {
			oldSvc = old.byFQDN[sc.FQDN]
		}
		switch sc.Kind {
		case KindSFPool:
			s.live = e.ov.resolveLive(sc)
			s.siteRes = map[string]*addrState{}
			if oldSvc != nil && oldSvc.cfg.Kind == KindSFPool && oldSvc.cfg.Target == sc.Target {
				s.siteRes = oldSvc.siteRes
			}
			if sc.Target != "" {
				e.byTarget[sc.Target] = append(e.byTarget[sc.Target], sub{svc: s, sf: true})
			}
		default:
			for _, rc := range effectiveRegions(sc) {
				r := &region{code: rc.Code, cfg: rc}
				if !sc.AutoRecover {
					switch {
					case oldSvc != nil:
						if or := oldSvc.byCode[rc.Code]; or != nil {
							r.latched = or.latched
						}
					case st != nil:
						r.latched = st.Latches[RegionKey(sc.FQDN, rc.Code)]
					}
				}
				for _, ec := range rc.Entries {
					key := AddressKey(sc.FQDN, rc.Code, ec.Address)
					en := &entry{cfg: ec, st: e.restoreAddr(key, ec, old, st)}
					e.addrs[key] = en.st
					r.entries = append(r.entries, en)
					if ec.Target != "" {
						e.byTarget[ec.Target] = append(e.byTarget[ec.Target], sub{svc: s, r: r, e: en})
					}
					if sc.Kind == KindRTTM && ec.PerfTarget != "" {
						e.byTarget[ec.PerfTarget] = append(e.byTarget[ec.PerfTarget], sub{svc: s, r: r, e: en, perf: true})
					}
				}
				s.regions = append(s.regions, r)
				s.byCode[r.code] = r
			}
		}
		e.services = append(e.services, s)
		e.byFQDN[sc.FQDN] = s
		s.recompute()
	}
	for _, c := range spec.Clusters {
		for _, csc := range c.Services {
			cs := &clusterSvc{cluster: c.Name, cfg: csc}
			for _, rc := range csc.Reals {
				key := RealKey(c.Name, csc.Name, rc.Name)
				keepReal[key] = true
				rl := &realServer{cfg: rc, key: key}
				rl.enabled, rl.weight, rl.fallback = e.ov.resolveReal(key, rc)
				rl.st = e.restoreReal(key, rc, old, st)
				e.reals[key] = rl.st
				cs.reals = append(cs.reals, rl)
				if rc.Target != "" {
					e.byTarget[rc.Target] = append(e.byTarget[rc.Target], sub{cs: cs, real: rl})
				}
			}
			cs.recompute()
			e.clusters = append(e.clusters, cs)
		}
	}
	e.ov.prune(keepActive, keepReal)
}

// effectiveRegions returns the regions of a service as the engine runs
// them: the implicit "global" region of an active_failover service, and
// autopopulated regions replaced by a copy of the global region.
func effectiveRegions(sc Service) []Region {
	if sc.Kind == KindActiveFailover {
		mode := sc.FailoverMode
		if mode == "" {
			mode = FailoverIP
		}
		return []Region{{
			Code: GlobalRegion, MinHealthy: 1, FailoverMode: mode, FailoverData: sc.FailoverData,
			Entries: []Entry{{Address: sc.Address, Weight: 1, ServeMode: ServeObey, Target: sc.Target}},
		}}
	}
	var global *Region
	for i := range sc.Regions {
		if sc.Regions[i].Code == GlobalRegion {
			global = &sc.Regions[i]
		}
	}
	out := make([]Region, 0, len(sc.Regions))
	for _, rc := range sc.Regions {
		if rc.Autopopulate && global != nil && rc.Code != GlobalRegion {
			cp := *global
			cp.Code = rc.Code
			cp.Autopopulate = true
			cp.Entries = slices.Clone(global.Entries)
			rc = cp
		}
		out = append(out, rc)
	}
	return out
}

func (e *Engine) restoreAddr(key string, ec Entry, old *Engine, st *State) *addrState {
	removable := ec.ServeMode == ServeRemove
	if old != nil {
		if a := old.addrs[key]; a != nil && a.target == ec.Target {
			if a.perfTarget != ec.PerfTarget {
				a.perfTarget, a.perf = ec.PerfTarget, nil
			}
			if !removable {
				a.recover()
			}
			return a
		}
		return newAddrState(ec.Target, ec.PerfTarget)
	}
	a := newAddrState(ec.Target, ec.PerfTarget)
	if st != nil && ec.Target != "" {
		if as, ok := st.Addresses[key]; ok {
			if validAddrStatus(as.Status) {
				a.status = as.Status
			}
			if as.Removed && removable {
				a.removed, a.status = true, StatusDown
			}
		}
	}
	return a
}

func (e *Engine) restoreReal(key string, rc Real, old *Engine, st *State) *addrState {
	if old != nil {
		if a := old.reals[key]; a != nil && a.target == rc.Target {
			return a
		}
		return newAddrState(rc.Target, "")
	}
	a := newAddrState(rc.Target, "")
	if st != nil && rc.Target != "" && validAddrStatus(st.RealStatus[key]) {
		a.status = st.RealStatus[key]
	}
	return a
}

func validAddrStatus(s Status) bool {
	return s == StatusUnk || s == StatusUp || s == StatusDown
}

// Observe applies one completed probe round and returns its transitions:
// per consuming region entry / sf_pool site / cluster real one ip, nosrv or
// round (perf for a performance target), then svc and ep changes. Rounds
// for an inactive service are ignored. An Unknown round changes nothing:
// its transitions are round events that carry its message.
func (e *Engine) Observe(o Observation) []Transition {
	if o.Site == "" && len(e.spec.Sites) > 0 {
		o.Site = e.spec.Sites[0]
	}
	subs := e.byTarget[o.Target]
	if len(subs) == 0 {
		return nil
	}
	var (
		touched []*service
		before  = map[*service]snap{}
		pending []pendingTr
		csTouch []*clusterSvc
		csSeen  = map[*clusterSvc]bool{}
	)
	if len(o.Addresses) > 0 && !o.Unknown {
		e.noteReaddressed(subs, o.Addresses)
	}
	for _, sb := range subs {
		if sb.real != nil {
			old := sb.real.st.round(o, 0, false)
			pending = append(pending, pendingTr{cs: sb.cs, real: sb.real, old: old})
			if !csSeen[sb.cs] {
				csSeen[sb.cs] = true
				csTouch = append(csTouch, sb.cs)
			}
			continue
		}
		s := sb.svc
		if !s.active {
			continue
		}
		if _, ok := before[s]; !ok {
			before[s] = s.snapshot()
			touched = append(touched, s)
		}
		switch {
		case sb.sf:
			a := s.siteRes[o.Site]
			if a == nil && o.Unknown {
				continue // a site that could not probe is not a site that spoke
			}
			if a == nil {
				a = newAddrState(s.cfg.Target, "")
				s.siteRes[o.Site] = a
			}
			old := a.round(o, 0, false)
			pending = append(pending, pendingTr{svc: s, site: a, old: old})
		case sb.perf:
			sb.e.st.perfRound(o)
			pending = append(pending, pendingTr{svc: s, r: sb.r, e: sb.e, perf: true})
		default:
			old := sb.e.st.round(o, s.cfg.RecoveryDelay, sb.e.cfg.ServeMode == ServeRemove)
			pending = append(pending, pendingTr{svc: s, r: sb.r, e: sb.e, old: old})
		}
	}
	for _, s := range touched {
		s.recompute()
	}
	for _, cs := range csTouch {
		cs.recompute()
	}
	tr := make([]Transition, 0, len(pending)+len(touched))
	for _, p := range pending {
		tr = append(tr, p.transition(o))
	}
	for _, s := range touched {
		tr = append(tr, s.diff(before[s], o.Time, o.Site)...)
	}
	return tr
}

// noteReaddressed records the services of host-name entries that addrs
// resolves differently from their last round, before the round keeps them.
func (e *Engine) noteReaddressed(subs []sub, addrs []string) {
	for _, sb := range subs {
		if sb.e == nil || sb.svc == nil || !sb.svc.active || sb.perf || slices.Equal(sb.e.st.resolved, addrs) {
			continue
		}
		if !slices.Contains(e.readdressed, sb.svc.cfg.FQDN) {
			e.readdressed = append(e.readdressed, sb.svc.cfg.FQDN)
		}
	}
}

// TakeReaddressed returns the services whose served set changed since the
// last call without a transition saying so (a host-name entry's addresses
// changed), and forgets them.
func (e *Engine) TakeReaddressed() []string {
	r := e.readdressed
	e.readdressed = nil
	return r
}

// pendingTr is a per-address transition waiting for the recomputed served
// sets.
type pendingTr struct {
	svc  *service
	r    *region
	e    *entry
	perf bool
	site *addrState
	old  Status

	cs   *clusterSvc
	real *realServer
}

func (p pendingTr) transition(o Observation) Transition {
	t := Transition{Time: o.Time, Site: o.Site, Message: o.Message, Region: GlobalRegion}
	if o.Up {
		t.RTT, t.HasRTT = o.RTT, true
	}
	switch {
	case p.real != nil:
		t.Service, t.ServiceKind = p.cs.cfg.FQDN, KindCluster
		t.Address, t.Label = p.real.cfg.IP, p.real.cfg.Name
		t.Old, t.New = p.old, p.real.st.status
		t.Kind = changedKind(t.Old, t.New, EventIP)
		t.Served = rdata(p.cs.served)
	case p.site != nil:
		s := p.svc
		t.Service, t.ServiceKind = s.cfg.FQDN, s.cfg.Kind
		t.Address = s.cfg.LiveRData
		t.Old, t.New = p.old, p.site.status
		t.Kind = changedKind(t.Old, t.New, EventIP)
		t.Served = rdata(s.sfRecords())
	default:
		s := p.svc
		t.Service, t.ServiceKind = s.cfg.FQDN, s.cfg.Kind
		t.Region, t.Address, t.Label = p.r.code, p.e.cfg.Address, p.e.cfg.Label
		t.Served = rdata(p.r.served)
		if s.cfg.Kind == KindRTTM {
			t.RTTs = p.e.st.window()
			t.Median, t.HasMedian = median(t.RTTs)
		}
		if p.perf {
			t.Kind = EventPerf
			t.Old, t.New = p.r.status, p.r.status
			break
		}
		t.Old, t.New = p.old, p.e.st.status
		kind := EventIP
		if p.e.cfg.ServeMode == ServeNo {
			kind = EventNoSrv
		}
		t.Kind = changedKind(t.Old, t.New, kind)
	}
	return t
}

func changedKind(old, new Status, kind EventKind) EventKind {
	if old == new {
		return EventRound
	}
	return kind
}

// snap is a service's statuses and eligibility pools before a change.
type snap struct {
	status map[string]Status
	ep     map[string]string
}

func (s *service) snapshot() snap {
	sn := snap{status: s.statusMap(), ep: map[string]string{}}
	for _, r := range s.regions {
		sn.ep[r.code] = epKey(r.ep)
	}
	return sn
}

// diff returns svc transitions for changed statuses and ep transitions for
// changed rttm eligibility pools since sn.
func (s *service) diff(sn snap, at time.Time, site string) []Transition {
	var tr []Transition
	now := s.statusMap()
	for _, code := range s.statusCodes() {
		if sn.status[code] != now[code] {
			tr = append(tr, s.svcTransition(code, sn.status[code], now[code], at, site))
		}
	}
	if s.cfg.Kind == KindRTTM {
		for _, r := range s.regions {
			if sn.ep[r.code] != epKey(r.ep) {
				t := Transition{Kind: EventEP, Service: s.cfg.FQDN, ServiceKind: s.cfg.Kind, Region: r.code,
					Old: r.status, New: r.status, Time: at, Site: site, Served: rdata(r.served)}
				for _, en := range r.ep {
					if m, ok := en.st.median(); ok {
						t.RTTs = append(t.RTTs, m)
					}
				}
				t.Median, t.HasMedian = median(t.RTTs)
				tr = append(tr, t)
			}
		}
	}
	return tr
}

func (s *service) svcTransition(code string, old, new Status, at time.Time, site string) Transition {
	t := Transition{Kind: EventSvc, Service: s.cfg.FQDN, ServiceKind: s.cfg.Kind, Region: code,
		Old: old, New: new, Time: at, Site: site}
	if s.cfg.Kind == KindSFPool {
		t.Served = rdata(s.sfRecords())
	} else if r := s.byCode[code]; r != nil {
		t.Served = rdata(r.served)
	}
	return t
}

// statusCodes lists the region codes that carry a status, in spec order.
func (s *service) statusCodes() []string {
	if s.cfg.Kind == KindSFPool {
		return []string{GlobalRegion}
	}
	out := make([]string, len(s.regions))
	for i, r := range s.regions {
		out[i] = r.code
	}
	return out
}

func (s *service) statusMap() map[string]Status {
	if s.cfg.Kind == KindSFPool {
		return map[string]Status{GlobalRegion: s.sfStatus}
	}
	m := make(map[string]Status, len(s.regions))
	for _, r := range s.regions {
		m[r.code] = r.status
	}
	return m
}

func epKey(ep []*entry) string {
	a := make([]string, len(ep))
	for i, en := range ep {
		a[i] = en.cfg.Address
	}
	return strings.Join(a, ",")
}

// recompute re-evaluates every region's status (with latches) and served
// set, or the sf_pool status.
func (s *service) recompute() {
	if s.cfg.Kind == KindSFPool {
		s.sfStatus = s.evalSF()
		return
	}
	for _, r := range s.regions {
		s.evalRegion(r)
	}
	for _, r := range s.regions {
		r.served, r.failOpen = s.resolve(r, nil)
	}
}

// candidates are the entries that may be served: serve_mode always, obey or
// remove, and not removed.
func (r *region) candidates() []*entry {
	var out []*entry
	for _, en := range r.entries {
		if en.cfg.ServeMode != ServeNo && !en.st.removed {
			out = append(out, en)
		}
	}
	return out
}

// evalRegion sets r.status, r.ep and the latch (docs/behaviour.md section 3).
func (s *service) evalRegion(r *region) {
	var latch bool
	r.status, r.ep, latch = s.decide(r, nil)
	if latch {
		r.latched = true
	}
}

// decide computes a region's status and rttm eligibility pool from its
// entries, and whether that status latches it in failover. It changes
// nothing; x, when not nil, records the decision in words (Explain), so
// the explanation is this very code and not a second copy of the rules.
func (s *service) decide(r *region, x *trace) (status Status, ep []*entry, latch bool) {
	if !s.active {
		x.step("The service is not monitored: its status is unk and every entry that is not serve_mode no is served.")
		return StatusUnk, nil, false
	}
	cands := r.candidates()
	var healthy []*entry
	allUnk, anyDown := len(cands) > 0, false
	for _, en := range cands {
		switch en.st.status {
		case StatusUp:
			healthy = append(healthy, en)
			allUnk = false
		case StatusUnk:
			healthy = append(healthy, en)
		default:
			anyDown = true
			allUnk = false
		}
	}
	var failover bool
	if s.cfg.Kind == KindRTTM {
		ep = pickEP(healthy, r.cfg.EP)
		failover = len(healthy) < r.cfg.APMC || len(ep) < r.cfg.EPMC
		x.step(fmt.Sprintf("Region %s has %d healthy of %d candidates (apmc %d); its eligibility pool is %s (%d, epmc %d).",
			r.code, len(healthy), len(cands), r.cfg.APMC, epWords(ep, r.cfg.EP), len(ep), r.cfg.EPMC))
	} else {
		failover = len(healthy) < r.cfg.MinHealthy
		x.step(fmt.Sprintf("Region %s has %d healthy of %d candidates (min_healthy %d).",
			r.code, len(healthy), len(cands), r.cfg.MinHealthy))
	}
	switch {
	case r.latched:
		x.step(fmt.Sprintf("Region %s is latched in failover until an operator recovers it.", r.code))
		return StatusFailover, ep, false
	case allUnk:
		x.step(fmt.Sprintf("Region %s is unk: no candidate has a probe result yet.", r.code))
		return StatusUnk, ep, false
	case failover:
		if s.cfg.Kind == KindRTTM {
			x.step(fmt.Sprintf("Too few healthy candidates or too small an eligibility pool: region %s is in failover.", r.code))
		} else {
			x.step(fmt.Sprintf("Fewer than min_healthy healthy candidates: region %s is in failover.", r.code))
		}
		if !s.cfg.AutoRecover {
			x.step("auto_recover is false: the failover latches until an operator recovers the service.")
		}
		return StatusFailover, ep, !s.cfg.AutoRecover
	case anyDown:
		x.step(fmt.Sprintf("Some candidates are down: region %s is in trouble and serves its healthy ones.", r.code))
		return StatusTrouble, ep, false
	default:
		x.step(fmt.Sprintf("Region %s is ok.", r.code))
		return StatusOK, ep, false
	}
}

// pickEP returns the n (0 = all) healthy entries with the lowest median
// performance time; ties by address, unmeasured entries last.
func pickEP(healthy []*entry, n int) []*entry {
	type ranked struct {
		en  *entry
		med time.Duration
		ok  bool
	}
	rs := make([]ranked, len(healthy))
	for i, en := range healthy {
		m, ok := en.st.median()
		rs[i] = ranked{en, m, ok}
	}
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.ok != b.ok {
			return a.ok
		}
		if a.ok && a.med != b.med {
			return a.med < b.med
		}
		return a.en.cfg.Address < b.en.cfg.Address
	})
	if n > 0 && len(rs) > n {
		rs = rs[:n]
	}
	out := make([]*entry, len(rs))
	for i, x := range rs {
		out[i] = x.en
	}
	return out
}

// own is the served set of a region that is not in failover: healthy
// candidates (rttm: the EP) plus always candidates.
func (s *service) own(r *region) []Record {
	cands := r.candidates()
	var pick []*entry
	if s.cfg.Kind == KindRTTM {
		pick = slices.Clone(r.ep)
		for _, en := range cands {
			if en.cfg.ServeMode == ServeAlways && !slices.Contains(pick, en) {
				pick = append(pick, en)
			}
		}
		// Serve in configuration order, independent of the ranking.
		order := map[*entry]int{}
		for i, en := range r.entries {
			order[en] = i
		}
		sort.Slice(pick, func(i, j int) bool { return order[pick[i]] < order[pick[j]] })
	} else {
		for _, en := range cands {
			if en.cfg.ServeMode == ServeAlways || en.st.status != StatusDown {
				pick = append(pick, en)
			}
		}
	}
	return entryRecords(pick)
}

// resolve returns the served set of region r: its own set, or the end of
// its failover chain, or (fail-open) every candidate when that is empty.
// x, when not nil, records the chain followed.
func (s *service) resolve(r *region, x *trace) ([]Record, bool) {
	if !s.active {
		var all []*entry
		for _, en := range r.entries {
			if en.cfg.ServeMode != ServeNo {
				all = append(all, en)
			}
		}
		return entryRecords(all), false
	}
	var recs []Record
	if r.status == StatusFailover {
		recs = s.chain(r, map[string]bool{r.code: true}, x)
	} else {
		recs = s.own(r)
		x.step(fmt.Sprintf("Region %s serves its own set: %s.", r.code, s.ownWords()))
	}
	if len(recs) > 0 {
		return recs, false
	}
	x.step(fmt.Sprintf("Nothing is left to serve: region %s fails open and serves every candidate.", r.code))
	return entryRecords(r.candidates()), true
}

// chain follows r's failover_mode; it returns nil when the chain ends with
// nothing to serve (an unknown or already visited region included).
func (s *service) chain(r *region, visited map[string]bool, x *trace) []Record {
	switch r.cfg.FailoverMode {
	case FailoverIP:
		x.hop(r.code, FailoverIP, r.cfg.FailoverData)
		if r.cfg.FailoverData == "" {
			x.step(fmt.Sprintf("Region %s fails over to an IP, but failover_data is empty.", r.code))
			return nil
		}
		x.step(fmt.Sprintf("Region %s fails over to the IP %s (failover_mode ip).", r.code, r.cfg.FailoverData))
		return []Record{addrRecord(r.cfg.FailoverData, 1)}
	case FailoverCNAME:
		x.hop(r.code, FailoverCNAME, r.cfg.FailoverData)
		if r.cfg.FailoverData == "" {
			x.step(fmt.Sprintf("Region %s fails over to a CNAME, but failover_data is empty.", r.code))
			return nil
		}
		x.step(fmt.Sprintf("Region %s fails over to the CNAME %s (failover_mode cname).", r.code, r.cfg.FailoverData))
		return []Record{{Type: "CNAME", Data: r.cfg.FailoverData, Weight: 1}}
	}
	next, mode := GlobalRegion, FailoverGlobal
	if r.cfg.FailoverMode == FailoverRegion {
		next, mode = r.cfg.FailoverData, FailoverRegion
	}
	x.hop(r.code, mode, next)
	t := s.byCode[next]
	if t == nil {
		x.step(fmt.Sprintf("Region %s fails over to region %s, which is not defined: the chain ends there.", r.code, next))
		return nil
	}
	if visited[next] {
		x.step(fmt.Sprintf("Region %s fails over to region %s, which the chain has already visited: it ends there.", r.code, next))
		return nil
	}
	visited[next] = true
	if t.status != StatusFailover {
		x.step(fmt.Sprintf("Region %s fails over to region %s (failover_mode %s), which is %s and serves its own set: %s.", r.code, next, mode, t.status, s.ownWords()))
		return s.own(t)
	}
	x.step(fmt.Sprintf("Region %s fails over to region %s (failover_mode %s), which is in failover too.", r.code, next, mode))
	return s.chain(t, visited, x)
}

// entryRecords is the served set of entries es. A host-name entry that is
// the only one is served as a CNAME to it; among others it is served as the
// addresses it last resolved to, each carrying the entry's weight and name
// (DNS shares the weight among them), and an address already in the set is
// not repeated.
func entryRecords(es []*entry) []Record {
	if len(es) == 1 && isHostName(es[0].cfg.Address) {
		return []Record{addrRecord(es[0].cfg.Address, es[0].cfg.Weight)}
	}
	out := make([]Record, 0, len(es))
	seen := make(map[string]bool, len(es))
	for _, en := range es {
		if !isHostName(en.cfg.Address) {
			if !seen[en.cfg.Address] {
				seen[en.cfg.Address] = true
				out = append(out, addrRecord(en.cfg.Address, en.cfg.Weight))
			}
			continue
		}
		for _, ip := range en.st.resolved {
			if !seen[ip] {
				seen[ip] = true
				rec := addrRecord(ip, en.cfg.Weight)
				rec.Entry = en.cfg.Address
				out = append(out, rec)
			}
		}
	}
	return out
}

// isHostName reports whether a pool address is a host name, not an IP.
func isHostName(addr string) bool {
	_, err := netip.ParseAddr(addr)
	return err != nil
}

// addrRecord makes an A or AAAA record for an IP and a CNAME otherwise.
func addrRecord(addr string, weight int) Record {
	if weight < 1 {
		weight = 1
	}
	return Record{Type: addrType(addr), Data: addr, Weight: weight}
}

func addrType(addr string) string {
	ip, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return "CNAME"
	case ip.Unmap().Is4():
		return "A"
	default:
		return "AAAA"
	}
}

func rdata(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Data
	}
	return out
}

// serviceStatus is the worst region status (failover > trouble > unk > ok),
// or the sf_pool status.
func (s *service) serviceStatus() Status {
	if s.cfg.Kind == KindSFPool {
		return s.sfStatus
	}
	rank := map[Status]int{StatusOK: 0, StatusUnk: 1, StatusTrouble: 2, StatusFailover: 3}
	worst := StatusOK
	if len(s.regions) == 0 {
		worst = StatusUnk
	}
	for _, r := range s.regions {
		if rank[r.status] > rank[worst] {
			worst = r.status
		}
	}
	return worst
}
