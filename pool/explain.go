package pool

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Explanation is why one region of a service serves what it serves, taken
// from the decision itself (the functions that compute the served set
// record their reasons when asked), so it can never disagree with DNS.
type Explanation struct {
	FQDN string `json:"fqdn"`
	Kind Kind   `json:"kind"`
	// Region is the region explained; Status its status.
	Region  string `json:"region"`
	Status  Status `json:"status"`
	Active  bool   `json:"active"`
	Latched bool   `json:"latched,omitempty"`
	// ServeCount is the region's serve_count (0 = all), which applies to
	// whatever set the region ends up serving.
	ServeCount int                `json:"serve_count"`
	Entries    []EntryExplanation `json:"entries"`
	// Failover is the failover chain followed, empty when the region
	// serves its own set.
	Failover []FailoverHop `json:"failover"`
	// Candidates are the records served to the region's clients, before
	// the weighted pick of serve_count of them.
	Candidates []Record `json:"candidates"`
	FailOpen   bool     `json:"fail_open,omitempty"`
	// Steps are the decision as sentences, in order.
	Steps []string `json:"steps"`
}

// EntryExplanation is one address of the explained region (an sf_pool
// site result, or a cluster real service) and why it is or is not served.
type EntryExplanation struct {
	Address   string    `json:"address"`
	Label     string    `json:"label,omitempty"`
	Status    Status    `json:"status"`
	ServeMode ServeMode `json:"serve_mode,omitempty"`
	Weight    int       `json:"weight"`
	Removed   bool      `json:"removed"`
	// Rank is the rttm eligibility-pool rank (1 = fastest); 0 when not in
	// the pool or not rttm.
	Rank     int    `json:"ep_rank,omitempty"`
	InAnswer bool   `json:"in_answer"`
	Reason   string `json:"reason"`
}

// FailoverHop is one step of a failover chain: From failed over by Mode
// (ip, cname, region, global) to To (a region code, an IP or a CNAME
// target).
type FailoverHop struct {
	From string       `json:"from"`
	Mode FailoverMode `json:"mode"`
	To   string       `json:"to"`
}

// trace collects an explanation while the decision is made. Its methods
// accept a nil receiver, which records nothing: the normal path passes nil.
type trace struct {
	steps []string
	hops  []FailoverHop
}

func (x *trace) step(s string) {
	if x != nil {
		x.steps = append(x.steps, s)
	}
}

func (x *trace) hop(from string, mode FailoverMode, to string) {
	if x != nil {
		x.hops = append(x.hops, FailoverHop{From: from, Mode: mode, To: to})
	}
}

func (s *service) ownWords() string {
	if s.cfg.Kind == KindRTTM {
		return "its eligibility pool and every serve_mode always entry"
	}
	return "every candidate that is not down, and every serve_mode always entry"
}

func epWords(ep []*entry, n int) string {
	a := make([]string, len(ep))
	for i, en := range ep {
		a[i] = en.cfg.Address
	}
	list := "empty"
	if len(a) > 0 {
		list = strings.Join(a, ", ")
	}
	if n > 0 {
		return fmt.Sprintf("the %d fastest: %s", n, list)
	}
	return "every healthy candidate: " + list
}

// Explain returns why clients of region code of the service fqdn get the
// records they get. A code the service does not define is answered by
// its global region, as DNS does. fqdn may also be a cluster service's
// name or SRV name (one region, global). It changes nothing. ErrNotFound
// for an unknown name.
func (e *Engine) Explain(fqdn, code string) (Explanation, error) {
	s, err := e.service(fqdn)
	if err != nil {
		if ex, ok := e.explainCluster(fqdn); ok {
			return ex, nil
		}
		return Explanation{}, err
	}
	x := &trace{}
	ex := Explanation{FQDN: s.cfg.FQDN, Kind: s.cfg.Kind, Active: s.active, Entries: []EntryExplanation{}, Failover: []FailoverHop{}}
	monitored := "monitored"
	if !s.active {
		monitored = "not monitored (deactivated)"
	}
	article := "a"
	if s.cfg.Kind == KindActiveFailover {
		article = "an"
	}
	x.step(fmt.Sprintf("%s is %s %s service, %s.", s.cfg.FQDN, article, s.cfg.Kind, monitored))
	if s.cfg.Kind == KindSFPool {
		s.explainSF(&ex, x)
		ex.Steps = x.steps
		return ex, nil
	}
	r := s.byCode[code]
	if r == nil {
		x.step(fmt.Sprintf("It has no region %q: its global region answers.", code))
		r = s.byCode[GlobalRegion]
	}
	if r == nil {
		return Explanation{}, fmt.Errorf("service %s: region %s: %w", fqdn, code, ErrNotFound)
	}
	ex.Region, ex.Status, ex.Latched, ex.ServeCount = r.code, r.status, r.latched, r.cfg.ServeCount
	// The same two functions that computed r's status and served set, this
	// time recording why; neither changes the engine.
	s.decide(r, x)
	recs, failOpen := s.resolve(r, x)
	ex.Candidates, ex.FailOpen, ex.Failover = recs, failOpen, append(ex.Failover, x.hops...)
	served := map[string]bool{}
	hostAddrs := map[string][]string{}
	for _, rec := range recs {
		served[rec.Data] = true
		if rec.Entry != "" {
			served[rec.Entry] = true
			hostAddrs[rec.Entry] = append(hostAddrs[rec.Entry], rec.Data)
		}
	}
	for _, en := range r.entries {
		ee := EntryExplanation{Address: en.cfg.Address, Label: en.cfg.Label, Status: en.st.status,
			ServeMode: en.cfg.ServeMode, Weight: en.cfg.Weight, Removed: en.st.removed,
			InAnswer: served[en.cfg.Address]}
		if i := slices.Index(r.ep, en); i >= 0 {
			ee.Rank = i + 1
		}
		ee.Reason = s.entryReason(r, en, ee, len(x.hops) > 0, failOpen) + hostNameWords(en, ee.InAnswer, hostAddrs[en.cfg.Address])
		ex.Entries = append(ex.Entries, ee)
	}
	switch {
	case len(recs) == 0:
		x.step("Nothing is served: the answer is empty.")
	case ex.ServeCount > 0 && ex.ServeCount < len(recs):
		x.step(fmt.Sprintf("Each answer carries %d of the %d candidates (%s), picked at random by weight.", ex.ServeCount, len(recs), strings.Join(rdata(recs), ", ")))
	default:
		x.step(fmt.Sprintf("Each answer carries every candidate (%s), in random order by weight.", strings.Join(rdata(recs), ", ")))
	}
	ex.Steps = x.steps
	return ex, nil
}

// entryReason says in words why en is or is not in the answer.
func (s *service) entryReason(r *region, en *entry, ee EntryExplanation, failedOver, failOpen bool) string {
	var b strings.Builder
	switch {
	case en.cfg.ServeMode == ServeNo:
		b.WriteString("serve_mode no: monitored, never served")
	case !s.active:
		b.WriteString("the service is not monitored: served")
	case en.st.removed:
		b.WriteString("removed until recovered (serve_mode remove); " + downWords(en.st))
	case en.st.status == StatusDown && en.cfg.ServeMode == ServeAlways:
		b.WriteString(downWords(en.st) + "; serve_mode always: served anyway")
	case en.st.status == StatusDown:
		b.WriteString(downWords(en.st))
	case en.st.status == StatusUnk:
		b.WriteString("unk: no probe result yet, counted as healthy")
	default:
		b.WriteString("up")
		if en.st.target == "" {
			b.WriteString(" (no monitor: always up)")
		}
	}
	if s.active && s.cfg.Kind == KindRTTM && en.cfg.ServeMode != ServeNo && !en.st.removed && en.st.status != StatusDown {
		med := "no performance measurement yet"
		if m, ok := en.st.median(); ok {
			med = "median " + m.Round(time.Microsecond).String()
		}
		switch {
		case ee.Rank > 0:
			fmt.Fprintf(&b, "; eligibility pool rank %d (%s)", ee.Rank, med)
		case r.cfg.EP > 0:
			// The decisive reason first: it is up, but not fast enough.
			up := b.String()
			b.Reset()
			fmt.Fprintf(&b, "not among the %d fastest (%s); %s", r.cfg.EP, med, up)
			if en.cfg.ServeMode == ServeAlways {
				b.WriteString(", but serve_mode always: served anyway")
			}
		}
	}
	switch {
	case !s.active || en.cfg.ServeMode == ServeNo:
	case failOpen && ee.InAnswer:
		b.WriteString("; served because the region fails open")
	case failedOver && ee.InAnswer:
		b.WriteString("; served by the region failed over to")
	case failedOver:
		b.WriteString("; the region is in failover, so its own entries are not served")
	}
	return b.String()
}

// hostNameWords says how a host-name entry is served: as a CNAME when it is
// the only entry of the served set, otherwise as its resolved addresses.
func hostNameWords(en *entry, inAnswer bool, addrs []string) string {
	switch {
	case !isHostName(en.cfg.Address):
		return ""
	case inAnswer && len(addrs) == 0:
		return "; served as CNAME (only entry)"
	case inAnswer:
		return "; served as its addresses " + strings.Join(addrs, ", ")
	case len(en.st.resolved) == 0:
		return "; host name not resolved yet: no addresses to serve beside other entries"
	}
	return ""
}

// downWords is "down since TIME: MESSAGE" from the address's history.
func downWords(a *addrState) string {
	if a.status != StatusDown {
		return string(a.status)
	}
	h := a.history
	end := len(h) - 1
	for end >= 0 && h[end].Up {
		end-- // up rounds that have not yet met recovery_delay
	}
	if end < 0 {
		return "down (from the saved state; no failed round since start-up)"
	}
	start := end
	for start > 0 && !h[start-1].Up {
		start--
	}
	w := "down since " + h[start].Time.UTC().Format(time.RFC3339)
	if h[end].Message != "" {
		w += ": " + h[end].Message
	}
	if ups := len(h) - 1 - end; ups > 0 && a.removed {
		w += fmt.Sprintf(" (answering again for %d rounds; only recover brings it back)", ups)
	} else if ups > 0 {
		w += fmt.Sprintf(" (up again for %d rounds, waiting out recovery_delay)", ups)
	}
	return w
}

// explainSF explains an sf_pool: its monitor's site results and status.
func (s *service) explainSF(ex *Explanation, x *trace) {
	ex.Region, ex.Status = GlobalRegion, s.sfStatus
	recs := s.sfRecords()
	ex.Candidates = recs
	switch {
	case s.sfStatus == SFStatusManual:
		x.step("The live record is forced inactive (MANUAL).")
	case s.sfStatus == SFStatusCritical:
		x.step(fmt.Sprintf("The monitor fails (region_failure_sensitivity %s): CRITICAL.", s.cfg.Sensitivity))
	default:
		x.step("The monitor does not fail: OK.")
	}
	for _, c := range s.siteCodes() {
		ee := EntryExplanation{Address: s.cfg.LiveRData, Label: "live record (" + c + ")", Status: StatusUnk, ServeMode: ServeObey, Weight: 1}
		if a := s.siteRes[c]; a != nil {
			ee.Status = a.status
			ee.Reason = "site " + c + ": " + downWords(a)
		} else {
			ee.Reason = "site " + c + ": no result yet"
		}
		ee.InAnswer = len(recs) > 0 && recs[0].Data == s.cfg.LiveRData
		ex.Entries = append(ex.Entries, ee)
	}
	if len(recs) > 0 {
		x.step("Served: " + recs[0].Data + ".")
	}
}

// explainCluster explains the cluster service(s) answered at fqdn (their
// A/AAAA name or their SRV name; docs/behaviour.md section 6).
func (e *Engine) explainCluster(fqdn string) (Explanation, bool) {
	ex := Explanation{FQDN: fqdn, Kind: KindCluster, Region: GlobalRegion, Active: true,
		Entries: []EntryExplanation{}, Failover: []FailoverHop{}}
	found := false
	for _, cs := range e.clusters {
		srv := cs.srvName() == fqdn
		if cs.cfg.FQDN != fqdn && !srv {
			continue
		}
		found = true
		ex.Status = Status(cs.mode)
		switch cs.mode {
		case ClusterModeNormal:
			ex.Steps = append(ex.Steps, fmt.Sprintf("Cluster %s service %s serves every enabled real service with a weight above 0 that is not down and not the fallback.", cs.cluster, cs.cfg.Name))
		case ClusterModeFallback:
			ex.Steps = append(ex.Steps, fmt.Sprintf("Cluster %s service %s: no other real service is up, so the fallback is served.", cs.cluster, cs.cfg.Name))
		default:
			ex.Steps = append(ex.Steps, fmt.Sprintf("Cluster %s service %s: nothing is up and there is no fallback, so it fails open: every enabled real service with a weight is served.", cs.cluster, cs.cfg.Name))
		}
		if srv {
			ex.Candidates = append(ex.Candidates, cs.srvRecords()...)
		} else {
			ex.Candidates = append(ex.Candidates, cs.served...)
		}
		for _, rl := range cs.reals {
			ee := EntryExplanation{Address: rl.cfg.IP, Label: rl.cfg.Name, Status: rl.st.status, Weight: rl.weight, InAnswer: cs.isActive(rl)}
			var why string
			switch {
			case !rl.enabled:
				why = "disabled: never served"
			case rl.weight == 0:
				why = "weight 0: no new traffic, never served"
			case rl.st.status == StatusDown:
				why = downWords(rl.st)
			case rl.fallback && ee.InAnswer:
				why = "the fallback, served because no other real service is up"
			case rl.fallback:
				why = "the fallback, served only when no other real service is up"
			case rl.st.status == StatusUnk:
				why = "unk: no probe result yet, counted as up"
			default:
				why = string(rl.st.status)
			}
			if ee.InAnswer && cs.mode == ClusterModeFailOpen {
				why += "; served because the service fails open"
			}
			ee.Reason = why
			ex.Entries = append(ex.Entries, ee)
		}
	}
	if !found {
		return Explanation{}, false
	}
	ex.Steps = append(ex.Steps, fmt.Sprintf("Each answer carries every candidate (%s), in random order by weight.", strings.Join(rdata(ex.Candidates), ", ")))
	return ex, true
}
