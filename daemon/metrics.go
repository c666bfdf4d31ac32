package daemon

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/failoverd/failoverd/pool"
)

// metrics are the decision loop's own Prometheus series; probe, dnsserver,
// notify, store and api export theirs.
type metrics struct {
	reloads       *prometheus.CounterVec
	transitions   *prometheus.CounterVec
	servedRecords *prometheus.GaugeVec
	serviceStatus *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, version string) *metrics {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_config_reloads_total",
			Help: "Configuration reloads by result (success, failure).",
		}, []string{"result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_transitions_total",
			Help: "State changes by event kind (ip, svc, nosrv).",
		}, []string{"kind"}),
		servedRecords: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "failoverd_served_records",
			Help: "Records in the served set of each name's global region.",
		}, []string{"name"}),
		serviceStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "failoverd_status",
			Help: "Current status of each service region or address: 1 for the status in the label.",
		}, []string{"service", "region", "address", "status"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "failoverd_build_info",
		Help: "Build information; always 1.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	// Known label values start at 0, so the families are on /metrics (and
	// rate() works) before the first reload or state change.
	for _, result := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(result)
	}
	for _, kind := range []pool.EventKind{pool.EventIP, pool.EventSvc, pool.EventNoSrv} {
		m.transitions.WithLabelValues(string(kind))
	}
	reg.MustRegister(m.reloads, m.transitions, m.servedRecords, m.serviceStatus, build)
	return m
}

// observeTransition counts a change and keeps the status gauge of the thing
// that changed at exactly one status.
func (m *metrics) observeTransition(t pool.Transition) {
	if !isChange(t.Kind) || t.Kind == pool.EventEP {
		return
	}
	m.transitions.WithLabelValues(string(t.Kind)).Inc()
	if t.Old != "" {
		m.serviceStatus.DeleteLabelValues(t.Service, t.Region, t.Address, string(t.Old))
	}
	m.serviceStatus.WithLabelValues(t.Service, t.Region, t.Address, string(t.New)).Set(1)
}

// observeAnswer records the size of a name's served set after it changed.
func (m *metrics) observeAnswer(a pool.Answer) {
	if g, ok := a.Regions[pool.GlobalRegion]; ok {
		m.servedRecords.WithLabelValues(a.Name).Set(float64(len(g.Records)))
	}
}

// forget drops the series of the services that old has and next does not,
// so /metrics stops reporting what a reload removed.
func (m *metrics) forget(old, next *plan) {
	names := func(p *plan) map[string]bool {
		out := map[string]bool{}
		for _, s := range p.spec.Services {
			out[s.FQDN] = true
		}
		for _, c := range p.spec.Clusters {
			for _, cs := range c.Services {
				out[cs.FQDN] = true
			}
		}
		return out
	}
	now := names(next)
	for name := range names(old) {
		if !now[name] {
			m.serviceStatus.DeletePartialMatch(prometheus.Labels{"service": name})
			m.servedRecords.DeleteLabelValues(name)
		}
	}
	// Regions and pool addresses that a surviving service no longer has.
	places := func(p *plan) map[[3]string]bool {
		out := map[[3]string]bool{}
		for _, s := range p.spec.Services {
			for _, r := range s.Regions {
				out[[3]string{s.FQDN, r.Code, ""}] = true
				for _, e := range r.Entries {
					out[[3]string{s.FQDN, r.Code, e.Address}] = true
				}
			}
		}
		return out
	}
	nowPlaces := places(next)
	for k := range places(old) {
		if now[k[0]] && !nowPlaces[k] {
			m.serviceStatus.DeletePartialMatch(prometheus.Labels{"service": k[0], "region": k[1], "address": k[2]})
		}
	}
}
