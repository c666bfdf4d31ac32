package sites

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the package's Prometheus collectors. They exist (and are
// updated) even when no Registerer is given, so the code has no nil checks.
type metrics struct {
	connected       prometheus.Gauge
	leader          prometheus.Gauge
	sitesLive       prometheus.Gauge
	commitSeconds   prometheus.Histogram
	published       prometheus.Counter
	unreadable      prometheus.Counter
	resyncs         prometheus.Counter
	leaseLosses     prometheus.Counter
	commitConflicts prometheus.Counter

	reg prometheus.Registerer // nil when not exported
}

func (m metrics) all() []prometheus.Collector {
	return []prometheus.Collector{m.connected, m.leader, m.sitesLive, m.commitSeconds, m.published,
		m.unreadable, m.resyncs, m.leaseLosses, m.commitConflicts}
}

// unregister takes the collectors back, so that a closed Sites can be
// replaced by a new one on the same registry.
func (m metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.all() {
		m.reg.Unregister(c)
	}
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "failoverd_etcd_connected",
			Help: "1 while this node reaches etcd (its lease keep-alives are answered), else 0.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "failoverd_leader",
			Help: "1 while this node is the deployment's leader, else 0.",
		}),
		sitesLive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "failoverd_sites_live",
			Help: "Sites of the deployment whose lease is alive, as this node last saw them.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "failoverd_etcd_commit_seconds",
			Help:    "Time for the leader to commit one decision batch to etcd.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_observations_published_total",
			Help: "Observations this site wrote to etcd (only changes are written).",
		}),
		unreadable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_etcd_unreadable_values_total",
			Help: "Values under the prefix that this version cannot read and skipped.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_etcd_watch_resyncs_total",
			Help: "Times the watch on the prefix was lost (compaction, etcd restart) and the state re-read.",
		}),
		leaseLosses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_etcd_lease_losses_total",
			Help: "Times this site's lease expired or could not be kept alive.",
		}),
		commitConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_etcd_commit_refused_total",
			Help: "Commits refused because this node was no longer the leader.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.all() {
		if err := reg.Register(c); err != nil {
			for _, done := range m.all()[:i] {
				reg.Unregister(done)
			}
			return metrics{}, fmt.Errorf("sites metrics: %w", err)
		}
	}
	m.reg = reg
	return m, nil
}
