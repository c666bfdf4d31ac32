package store

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's Prometheus collectors. They exist (and are
// updated) even when no Registerer is given, so the code has no nil checks.
type metrics struct {
	commitSeconds prometheus.Histogram
	commitErrors  prometheus.Counter
	prunedTotal   prometheus.Counter
	healthy       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "failoverd_store_commit_seconds",
			Help:    "Time to write and fsync one batch of state to the state directory.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_store_commit_errors_total",
			Help: "Batches of state that could not be written to the state directory.",
		}),
		prunedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_store_pruned_records_total",
			Help: "Events and served snapshots dropped because they are older than the history retention.",
		}),
		healthy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "failoverd_store_healthy",
			Help: "1 when the last write to the state directory succeeded, 0 when it failed (state changes are then not persisted).",
		}),
	}
	m.healthy.Set(1) // Open has just written the schema
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.commitSeconds, m.commitErrors, m.prunedTotal, m.healthy} {
		if err := reg.Register(c); err != nil {
			return metrics{}, fmt.Errorf("store metrics: %w", err)
		}
	}
	return m, nil
}
