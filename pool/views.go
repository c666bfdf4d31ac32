package pool

import (
	"slices"
	"sort"
	"time"
)

// Answers returns what DNS serves at every name: each service name, and for
// each cluster service its A/AAAA name, its SRV name and the target name of
// every real service. Names are sorted; answers of cluster services that
// share a name are merged.
func (e *Engine) Answers() []Answer {
	var m answerSet
	for _, s := range e.services {
		m.addService(s)
	}
	for _, cs := range e.clusters {
		m.addCluster(cs)
	}
	return m.sorted()
}

// AnswersOf returns the answers of the service or cluster service(s) at
// fqdn (for a cluster service also its SRV and target names), so the
// daemon can patch its DNS snapshot after transitions naming fqdn (or a
// cluster command) instead of rebuilding every name. Nil for an unknown
// fqdn.
func (e *Engine) AnswersOf(fqdn string) []Answer {
	var m answerSet
	if s := e.byFQDN[fqdn]; s != nil {
		m.addService(s)
	}
	for _, cs := range e.clusters {
		if cs.cfg.FQDN == fqdn {
			m.addCluster(cs)
		}
	}
	return m.sorted()
}

// answerSet collects answers by name, merging names that repeat.
type answerSet struct {
	byName map[string]*Answer
	order  []string
}

func (m *answerSet) add(name string, ttl uint32, regions map[string]Served) {
	if m.byName == nil {
		m.byName = map[string]*Answer{}
	}
	if a := m.byName[name]; a != nil {
		for code, sv := range regions {
			cur := a.Regions[code]
			cur.Records = append(cur.Records, sv.Records...)
			a.Regions[code] = cur
		}
		return
	}
	m.byName[name] = &Answer{Name: name, TTL: ttl, Regions: regions}
	m.order = append(m.order, name)
}

func (m *answerSet) addService(s *service) {
	regions := map[string]Served{}
	switch s.cfg.Kind {
	case KindSFPool:
		regions[GlobalRegion] = Served{Records: s.sfRecords()}
	default:
		for _, r := range s.regions {
			regions[r.code] = Served{ServeCount: r.cfg.ServeCount, Records: slices.Clone(r.served)}
		}
		if _, ok := regions[GlobalRegion]; !ok {
			regions[GlobalRegion] = Served{}
		}
	}
	m.add(s.cfg.FQDN, s.cfg.TTL, regions)
}

func (m *answerSet) addCluster(cs *clusterSvc) {
	m.add(cs.cfg.FQDN, cs.cfg.TTL, map[string]Served{GlobalRegion: {Records: slices.Clone(cs.served)}})
	m.add(cs.srvName(), cs.cfg.TTL, map[string]Served{GlobalRegion: {Records: cs.srvRecords()}})
	for _, rl := range cs.reals {
		m.add(cs.targetName(rl), cs.cfg.TTL, map[string]Served{GlobalRegion: {Records: []Record{addrRecord(rl.cfg.IP, 1)}}})
	}
}

func (m *answerSet) sorted() []Answer {
	sort.Strings(m.order)
	out := make([]Answer, 0, len(m.order))
	for _, n := range m.order {
		out = append(out, *m.byName[n])
	}
	return out
}

// ServiceView is what operators see of one service.
type ServiceView struct {
	FQDN        string `json:"fqdn"`
	Kind        Kind   `json:"kind"`
	Active      bool   `json:"active"`
	AutoRecover bool   `json:"auto_recover"`
	// Status: gslb/rttm the worst region status, active_failover its
	// region's, sf_pool OK/CRITICAL/MANUAL.
	Status  Status       `json:"status"`
	Regions []RegionView `json:"regions"`
	// LiveRecordState is the sf_pool live_record_state in force.
	LiveRecordState string `json:"live_record_state,omitempty"`
	// Sites are the sf_pool monitor's latest results per site.
	Sites []EntryView `json:"sites,omitempty"`
}

// RegionView is one region (the single "global" one for active_failover
// and sf_pool).
type RegionView struct {
	Code       string `json:"code"`
	Status     Status `json:"status"`
	Latched    bool   `json:"latched,omitempty"`
	FailOpen   bool   `json:"fail_open,omitempty"`
	ServeCount int    `json:"serve_count"`
	// Served is the served rdata (a CNAME target as the name).
	Served []string `json:"served"`
	// EP is the rttm eligibility pool.
	EP      []string    `json:"ep,omitempty"`
	Entries []EntryView `json:"entries"`
}

// EntryView is one address of a region (or one sf_pool site result).
type EntryView struct {
	Address   string    `json:"address"`
	Label     string    `json:"label,omitempty"`
	Weight    int       `json:"weight"`
	ServeMode ServeMode `json:"serve_mode,omitempty"`
	Status    Status    `json:"status"`
	Removed   bool      `json:"removed"`
	// LastResult is the last round's result (up/down; "" before any),
	// which shows whether a removed address answers again.
	LastResult Status        `json:"last_result,omitempty"`
	RTT        time.Duration `json:"rtt"`
	HasRTT     bool          `json:"has_rtt"`
	Message    string        `json:"message,omitempty"`
	LastProbe  time.Time     `json:"last_probe"`
	Site       string        `json:"site,omitempty"`
	// Median is the rttm performance median (HasMedian false when
	// unmeasured).
	Median    time.Duration `json:"median"`
	HasMedian bool          `json:"has_median"`
	History   []Sample      `json:"history,omitempty"`
}

func addrView(a *addrState) EntryView {
	v := EntryView{Status: a.status, Removed: a.removed, History: slices.Clone(a.history)}
	if a.haveLast {
		v.LastResult = StatusDown
		if a.last.Up {
			v.LastResult = StatusUp
			v.RTT, v.HasRTT = a.last.RTT, true
		}
		v.Message, v.LastProbe, v.Site = a.last.Message, a.last.Time, a.last.Site
	}
	v.Median, v.HasMedian = a.median()
	return v
}

// Services returns every service's view in configuration order.
func (e *Engine) Services() []ServiceView {
	out := make([]ServiceView, 0, len(e.services))
	for _, s := range e.services {
		out = append(out, s.view())
	}
	return out
}

// Service returns one service's view.
func (e *Engine) Service(fqdn string) (ServiceView, bool) {
	s := e.byFQDN[fqdn]
	if s == nil {
		return ServiceView{}, false
	}
	return s.view(), true
}

func (s *service) view() ServiceView {
	v := ServiceView{FQDN: s.cfg.FQDN, Kind: s.cfg.Kind, Active: s.active, AutoRecover: s.cfg.AutoRecover, Status: s.serviceStatus()}
	if s.cfg.Kind == KindSFPool {
		v.LiveRecordState = s.live
		rv := RegionView{Code: GlobalRegion, Status: s.sfStatus, Served: rdata(s.sfRecords())}
		for _, c := range s.siteCodes() {
			// One entry per monitoring site: the live record as that site
			// sees it (served while the pool is OK, like an obey entry).
			ev := EntryView{Status: StatusUnk}
			if a := s.siteRes[c]; a != nil {
				ev = addrView(a)
			}
			ev.Address, ev.Label, ev.Weight, ev.ServeMode, ev.Site = s.cfg.LiveRData, "live record ("+c+")", 1, ServeObey, c
			v.Sites = append(v.Sites, ev)
		}
		rv.Entries = v.Sites
		v.Regions = []RegionView{rv}
		return v
	}
	for _, r := range s.regions {
		rv := RegionView{Code: r.code, Status: r.status, Latched: r.latched, FailOpen: r.failOpen,
			ServeCount: r.cfg.ServeCount, Served: rdata(r.served)}
		for _, en := range r.ep {
			rv.EP = append(rv.EP, en.cfg.Address)
		}
		for _, en := range r.entries {
			ev := addrView(en.st)
			ev.Address, ev.Label, ev.Weight, ev.ServeMode = en.cfg.Address, en.cfg.Label, en.cfg.Weight, en.cfg.ServeMode
			rv.Entries = append(rv.Entries, ev)
		}
		v.Regions = append(v.Regions, rv)
	}
	return v
}

// ClusterView is one cluster with its services.
type ClusterView struct {
	Name     string               `json:"name"`
	Services []ClusterServiceView `json:"services"`
}

// ClusterServiceView is one cluster service: its names, what it serves and
// its real services.
type ClusterServiceView struct {
	Name     string `json:"name"`
	FQDN     string `json:"fqdn"`
	Protocol string `json:"protocol"`
	SRVName  string `json:"srv_name"`
	// Mode is normal, fallback or fail_open.
	Mode   FailoverMode `json:"mode"`
	Served []string     `json:"served"`
	Reals  []RealView   `json:"real_services"`
}

// RealView is one real service's info and statistics.
type RealView struct {
	Name     string `json:"name"`
	IP       string `json:"ip_address"`
	Port     int    `json:"port"`
	Weight   int    `json:"weight"`
	Enabled  bool   `json:"enabled"`
	Fallback bool   `json:"fallback"`
	Status   Status `json:"status"`
	// Active reports whether it is in the served set now.
	Active             bool          `json:"active"`
	RTT                time.Duration `json:"rtt"`
	HasRTT             bool          `json:"has_rtt"`
	Message            string        `json:"message,omitempty"`
	ProbesTotal        uint64        `json:"probes_total"`
	ProbeFailuresTotal uint64        `json:"probe_failures_total"`
	LastUpdate         time.Time     `json:"last_update"`
}

// Clusters returns every cluster's view in configuration order.
func (e *Engine) Clusters() []ClusterView {
	var out []ClusterView
	idx := map[string]int{}
	for _, cs := range e.clusters {
		i, ok := idx[cs.cluster]
		if !ok {
			i = len(out)
			idx[cs.cluster] = i
			out = append(out, ClusterView{Name: cs.cluster})
		}
		out[i].Services = append(out[i].Services, cs.view())
	}
	for _, c := range e.spec.Clusters {
		if _, ok := idx[c.Name]; !ok {
			idx[c.Name] = len(out)
			out = append(out, ClusterView{Name: c.Name})
		}
	}
	return out
}

func (cs *clusterSvc) view() ClusterServiceView {
	proto := cs.cfg.Protocol
	if proto == "" {
		proto = "tcp"
	}
	v := ClusterServiceView{Name: cs.cfg.Name, FQDN: cs.cfg.FQDN, Protocol: proto, SRVName: cs.srvName(),
		Mode: cs.mode, Served: rdata(cs.served)}
	for _, rl := range cs.reals {
		a := rl.st
		rv := RealView{Name: rl.cfg.Name, IP: rl.cfg.IP, Port: rl.cfg.Port, Weight: rl.weight, Enabled: rl.enabled,
			Fallback: rl.fallback, Status: a.status, Active: cs.isActive(rl),
			ProbesTotal: a.probes, ProbeFailuresTotal: a.failures}
		if a.haveLast {
			rv.LastUpdate, rv.Message = a.last.Time, a.last.Message
			if a.last.Up {
				rv.RTT, rv.HasRTT = a.last.RTT, true
			}
		}
		v.Reals = append(v.Reals, rv)
	}
	return v
}
