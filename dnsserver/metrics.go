package dnsserver

import (
	"fmt"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	queries  *prometheus.CounterVec
	latency  prometheus.Histogram
	notifies *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_dns_queries_total",
			Help: "DNS queries answered, by zone, query type and response code.",
		}, []string{"zone", "qtype", "rcode"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "failoverd_dns_answer_duration_seconds",
			Help:    "Time from receiving a DNS query to writing its answer.",
			Buckets: []float64{1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 0.1, 1},
		}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_dns_notify_total",
			Help: "NOTIFY messages sent to secondaries, by result (ok, error).",
		}, []string{"result"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.queries, m.latency, m.notifies} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("dns metrics: %w", err)
			}
		}
	}
	return m, nil
}

// qtypeLabel keeps the qtype label bounded: common types by name, the rest "other".
func qtypeLabel(t uint16) string {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeMX, dns.TypeNS, dns.TypeSOA,
		dns.TypeSRV, dns.TypeTXT, dns.TypePTR, dns.TypeCAA, dns.TypeANY, dns.TypeAXFR,
		dns.TypeIXFR, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeDS, dns.TypeDNSKEY:
		return dns.TypeToString[t]
	}
	return "other"
}

func rcodeLabel(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "other"
}

func (m *metrics) observe(zone string, req *dns.Msg, rcode int, start time.Time) {
	if zone == "" {
		zone = "none"
	}
	qt := "other"
	if len(req.Question) == 1 {
		qt = qtypeLabel(req.Question[0].Qtype)
	}
	m.queries.WithLabelValues(zone, qt, rcodeLabel(rcode)).Inc()
	m.latency.Observe(time.Since(start).Seconds())
}
