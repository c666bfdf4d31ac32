package probe

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// metrics are the scheduler's Prometheus series, labelled by protocol only.
//
// There are no per-target series, on purpose. A target is its protocol,
// address, port and every probe option (path, host, expected, ...); labels
// that name it exactly would be a dozen free-text labels, and labels that
// do not (protocol, address, port) make two targets that differ only in
// path or host overwrite each other. Either way each target costs a
// handful of series (a histogram alone is 15): at 10,000 targets that is
// hundreds of thousands of series churning on every reload, for data the
// control API already serves per address (status, last message, RTT and
// round history). Aggregates answer the operational questions: is probing
// keeping up (lateness, skipped, in flight), how many rounds fail, how
// many targets are down now, and are probes failing on this host.
type metrics struct {
	rounds   *prometheus.CounterVec
	failures *prometheus.CounterVec
	local    *prometheus.CounterVec
	skipped  prometheus.Counter
	duration *prometheus.HistogramVec
	lateness prometheus.Histogram
	inFlight prometheus.Gauge
	targets  prometheus.Gauge
	down     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, log *zap.Logger) *metrics {
	m := &metrics{
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_probe_rounds_total",
			Help: "Probe rounds completed, by protocol.",
		}, []string{"protocol"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_probe_round_failures_total",
			Help: "Probe rounds that ended down, by protocol.",
		}, []string{"protocol"}),
		local: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_probe_round_local_failures_total",
			Help: "Probe rounds that could not run for a reason on this host (no descriptors, buffers or memory; a source address that is not local), by protocol. They count as unknown, not down.",
		}, []string{"protocol"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failoverd_probe_rounds_skipped_total",
			Help: "Scheduled rounds skipped because the target's previous round overran its interval.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "failoverd_probe_round_duration_seconds",
			Help:    "Duration of probe rounds, retries included, by protocol.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"protocol"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "failoverd_probe_schedule_lateness_seconds",
			Help:    "How long after its scheduled time each probe round started.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "failoverd_probe_rounds_in_flight",
			Help: "Probe rounds running now.",
		}),
		targets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "failoverd_probe_targets",
			Help: "Distinct targets scheduled.",
		}),
		down: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "failoverd_probe_targets_down",
			Help: "Targets whose last round was down, by protocol (a round that failed locally keeps the previous one).",
		}, []string{"protocol"}),
	}
	if reg == nil {
		return m
	}
	// Every family is on /metrics at 0 from the start, so rate() and
	// alerts on failures work before the first one.
	for _, p := range []Protocol{HTTP, HTTPS, PING, SMTP, TCP} {
		for _, v := range []*prometheus.CounterVec{m.rounds, m.failures, m.local} {
			v.WithLabelValues(string(p))
		}
		m.down.WithLabelValues(string(p))
	}
	register(reg, log, &m.rounds)
	register(reg, log, &m.failures)
	register(reg, log, &m.local)
	register(reg, log, &m.skipped)
	register(reg, log, &m.duration)
	register(reg, log, &m.lateness)
	register(reg, log, &m.inFlight)
	register(reg, log, &m.targets)
	register(reg, log, &m.down)
	return m
}

// register registers *c, or adopts the collector already registered under
// its name, so a second scheduler on one registry shares the series.
func register[C prometheus.Collector](reg prometheus.Registerer, log *zap.Logger, c *C) {
	err := reg.Register(*c)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
	case errors.As(err, &are):
		if existing, ok := are.ExistingCollector.(C); ok {
			*c = existing
		}
	default:
		log.Warn("probe metric not registered", zap.Error(err))
	}
}
