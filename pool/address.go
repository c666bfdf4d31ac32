package pool

import (
	"slices"
	"sort"
	"time"
)

// perfWindow is how many successful performance rounds per site feed the
// rttm median (docs/behaviour.md section 3).
const perfWindow = 5

// historyLen bounds the per-address round history kept for the status page.
const historyLen = 30

// Sample is one probe round kept in an address's history.
type Sample struct {
	Time    time.Time     `json:"time"`
	Up      bool          `json:"up"`
	RTT     time.Duration `json:"rtt"`
	Site    string        `json:"site,omitempty"`
	Message string        `json:"message,omitempty"`
}

// addrState is the status and history of one address in one place (a
// region entry, an active_failover primary or a cluster real service).
type addrState struct {
	target     string
	perfTarget string
	status     Status
	upStreak   int
	removed    bool

	haveLast bool
	last     Sample
	probes   uint64
	failures uint64
	history  []Sample

	perf map[string][]time.Duration // site → last successful perf RTTs

	// resolved are the addresses a host-name entry last resolved to.
	resolved []string
}

func newAddrState(target, perfTarget string) *addrState {
	a := &addrState{target: target, perfTarget: perfTarget, status: StatusUnk}
	if target == "" {
		a.status = StatusUp // protocol NONE: every address is up
	}
	return a
}

// round applies one monitor round with recovery_delay hysteresis
// (docs/behaviour.md section 2) and reports the status before it.
func (a *addrState) round(o Observation, recoveryDelay int, removable bool) (old Status) {
	old = a.status
	if o.Unknown {
		return old // no observation: nothing to count or keep
	}
	if len(o.Addresses) > 0 {
		a.resolved = slices.Clone(o.Addresses)
	}
	s := Sample{Time: o.Time, Up: o.Up, RTT: o.RTT, Site: o.Site, Message: o.Message}
	a.haveLast, a.last = true, s
	a.probes++
	a.history = append(a.history, s)
	if len(a.history) > historyLen {
		a.history = slices.Delete(a.history, 0, len(a.history)-historyLen)
	}
	if o.Up {
		a.upStreak++
	} else {
		a.failures++
		a.upStreak = 0
	}
	switch {
	case a.removed:
		a.status = StatusDown // stays out until an operator recovers it
	case !o.Up:
		a.status = StatusDown
		if removable {
			a.removed = true
		}
	case a.status == StatusUnk:
		a.status = StatusUp
	case a.status == StatusDown && a.upStreak >= recoveryDelay+1:
		a.status = StatusUp
	}
	return old
}

// recover brings a removed address back: up when its last round was up,
// down when it was down, unk when it has had no round since start-up.
func (a *addrState) recover() bool {
	if !a.removed {
		return false
	}
	a.removed = false
	switch {
	case a.target == "":
		a.status = StatusUp
	case !a.haveLast:
		a.status = StatusUnk
	case a.last.Up:
		a.status = StatusUp
	default:
		a.status = StatusDown
	}
	return true
}

// perfRound records one performance round.
func (a *addrState) perfRound(o Observation) {
	if !o.Up || o.Unknown {
		return
	}
	if a.perf == nil {
		a.perf = map[string][]time.Duration{}
	}
	w := append(a.perf[o.Site], o.RTT)
	if len(w) > perfWindow {
		w = slices.Delete(w, 0, len(w)-perfWindow)
	}
	a.perf[o.Site] = w
}

// window returns the performance samples over every site (sites in name
// order, oldest first).
func (a *addrState) window() []time.Duration {
	sites := make([]string, 0, len(a.perf))
	for s := range a.perf {
		sites = append(sites, s)
	}
	sort.Strings(sites)
	var out []time.Duration
	for _, s := range sites {
		out = append(out, a.perf[s]...)
	}
	return out
}

// median returns the median of the performance window.
func (a *addrState) median() (time.Duration, bool) {
	return median(a.window())
}

// median of d (the mean of the two middle values for an even count).
func median(d []time.Duration) (time.Duration, bool) {
	if len(d) == 0 {
		return 0, false
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}
