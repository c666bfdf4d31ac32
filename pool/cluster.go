package pool

import "strings"

// Cluster serving modes reported in ClusterServiceView.Mode.
const (
	ClusterModeNormal   = "normal"
	ClusterModeFallback = "fallback"
	ClusterModeFailOpen = "fail_open"
)

// srvPriority is the priority of every cluster SRV record.
const srvPriority = 10

// clusterSvc is the runtime form of a ClusterService.
type clusterSvc struct {
	cluster string
	cfg     ClusterService
	reals   []*realServer
	served  []Record
	active  []*realServer // reals in the served set
	mode    FailoverMode
}

// real is the runtime form of a Real, with operator changes applied.
type realServer struct {
	cfg      Real
	key      string
	enabled  bool
	weight   int
	fallback bool
	st       *addrState
}

func (rl *realServer) servable() bool { return rl.enabled && rl.weight > 0 }

// recompute sets the served set (docs/behaviour.md section 6): every enabled,
// non-fallback real with weight > 0 that is up (or unk); when none, the
// enabled fallback; without one, every enabled real with weight > 0.
func (cs *clusterSvc) recompute() {
	var up, all []*realServer
	var fb *realServer
	for _, rl := range cs.reals {
		if !rl.servable() {
			continue
		}
		if rl.fallback {
			fb = rl
			continue
		}
		all = append(all, rl)
		if rl.st.status != StatusDown {
			up = append(up, rl)
		}
	}
	switch {
	case len(up) > 0:
		cs.active, cs.mode = up, ClusterModeNormal
	case fb != nil:
		cs.active, cs.mode = []*realServer{fb}, ClusterModeFallback
	default:
		cs.active, cs.mode = all, ClusterModeFailOpen
	}
	cs.served = cs.served[:0:0]
	for _, rl := range cs.active {
		r := addrRecord(rl.cfg.IP, rl.weight)
		r.Weight = rl.weight
		cs.served = append(cs.served, r)
	}
}

// srvName is _<service>._<protocol>.<fqdn>.
func (cs *clusterSvc) srvName() string {
	proto := cs.cfg.Protocol
	if proto == "" {
		proto = "tcp"
	}
	return "_" + cs.cfg.Name + "._" + strings.ToLower(proto) + "." + cs.cfg.FQDN
}

// targetName is <real name>.<fqdn>.
func (cs *clusterSvc) targetName(rl *realServer) string { return rl.cfg.Name + "." + cs.cfg.FQDN }

func (cs *clusterSvc) srvRecords() []Record {
	out := make([]Record, 0, len(cs.active))
	for _, rl := range cs.active {
		out = append(out, Record{Type: "SRV", Data: cs.targetName(rl), Weight: rl.weight, Port: rl.cfg.Port, Priority: srvPriority})
	}
	return out
}

func (cs *clusterSvc) isActive(rl *realServer) bool {
	for _, a := range cs.active {
		if a == rl {
			return true
		}
	}
	return false
}
