package dnsserver

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// The UDP readers count answers in plain per-reader counters (one writer
// each, so an uncontended atomic add) addressed by pre-resolved slots; the
// collectors fold them into the exported metrics at scrape time. The rare
// paths (TCP, the full UDP path) use the CounterVec directly.

type metrics struct {
	queries  *queryCounters
	latency  *latencyCollector
	notifies *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queries: &queryCounters{
			vec: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "failoverd_dns_queries_total",
				Help: "DNS queries answered, by zone, query type and response code.",
			}, []string{"zone", "qtype", "rcode"}),
			idx: map[slotKey]int32{},
		},
		latency: &latencyCollector{desc: prometheus.NewDesc("failoverd_dns_answer_duration_seconds",
			"Time from receiving a DNS query to writing its answer.", nil, nil)},
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

// newReader returns the counters of one UDP reader goroutine. They stay
// registered for the server's life so totals never go back.
func (m *metrics) newReader() *readerStats {
	r := &readerStats{}
	empty := []atomic.Uint64{}
	r.counts.Store(&empty)
	m.queries.mu.Lock()
	m.queries.readers = append(m.queries.readers, r)
	m.queries.mu.Unlock()
	m.latency.mu.Lock()
	m.latency.hists = append(m.latency.hists, &r.latency)
	m.latency.mu.Unlock()
	return r
}

// numQtypeLabels is the number of distinct qtype label values.
const numQtypeLabels = 18

// qtypeIndex maps a query type to its label's index (see qtypeLabelAt);
// uncommon types share the last index, "other".
func qtypeIndex(t uint16) int {
	switch t {
	case dns.TypeA:
		return 0
	case dns.TypeAAAA:
		return 1
	case dns.TypeCNAME:
		return 2
	case dns.TypeMX:
		return 3
	case dns.TypeNS:
		return 4
	case dns.TypeSOA:
		return 5
	case dns.TypeSRV:
		return 6
	case dns.TypeTXT:
		return 7
	case dns.TypePTR:
		return 8
	case dns.TypeCAA:
		return 9
	case dns.TypeANY:
		return 10
	case dns.TypeAXFR:
		return 11
	case dns.TypeIXFR:
		return 12
	case dns.TypeHTTPS:
		return 13
	case dns.TypeSVCB:
		return 14
	case dns.TypeDS:
		return 15
	case dns.TypeDNSKEY:
		return 16
	}
	return numQtypeLabels - 1
}

// qtypeLabelAt is the label of qtype index i.
func qtypeLabelAt(i int) string {
	types := [numQtypeLabels - 1]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeMX, dns.TypeNS, dns.TypeSOA,
		dns.TypeSRV, dns.TypeTXT, dns.TypePTR, dns.TypeCAA, dns.TypeANY, dns.TypeAXFR,
		dns.TypeIXFR, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeDS, dns.TypeDNSKEY}
	if i >= 0 && i < len(types) {
		return dns.TypeToString[types[i]]
	}
	return "other"
}

// qtypeLabel keeps the qtype label bounded: common types by name, the rest "other".
func qtypeLabel(t uint16) string { return qtypeLabelAt(qtypeIndex(t)) }

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
	m.queries.vec.WithLabelValues(zone, qt, rcodeLabel(rcode)).Inc()
	m.latency.shared.observe(time.Since(start), 1)
}

// slotKey is one label set of failoverd_dns_queries_total.
type slotKey struct{ zone, qtype, rcode string }

// queryCounters is failoverd_dns_queries_total: the CounterVec plus the
// per-reader slot counters folded into it at scrape time.
type queryCounters struct {
	vec *prometheus.CounterVec

	mu      sync.Mutex
	idx     map[slotKey]int32 // label set → slot; slots are never reused
	keys    []slotKey
	folded  []uint64 // per slot: the total already added to vec
	readers []*readerStats
}

// slot returns the slot of a label set, allocating it on first use.
func (q *queryCounters) slot(zone, qtype, rcode string) int32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := slotKey{zone, qtype, rcode}
	if i, ok := q.idx[k]; ok {
		return i
	}
	i := int32(len(q.keys))
	q.idx[k] = i
	q.keys = append(q.keys, k)
	q.folded = append(q.folded, 0)
	return i
}

// Describe implements prometheus.Collector.
func (q *queryCounters) Describe(ch chan<- *prometheus.Desc) { q.vec.Describe(ch) }

// Collect implements prometheus.Collector: it adds what the readers
// counted since the last scrape, then collects the CounterVec.
func (q *queryCounters) Collect(ch chan<- prometheus.Metric) {
	q.fold()
	q.vec.Collect(ch)
}

func (q *queryCounters) fold() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, k := range q.keys {
		var total uint64
		for _, r := range q.readers {
			cs := *r.counts.Load()
			if i < len(cs) {
				total += cs[i].Load()
			}
		}
		if d := total - q.folded[i]; d > 0 {
			q.vec.WithLabelValues(k.zone, k.qtype, k.rcode).Add(float64(d))
			q.folded[i] = total
		}
	}
}

// readerStats are the counters of one UDP reader goroutine: only that
// goroutine writes them.
type readerStats struct {
	counts  atomic.Pointer[[]atomic.Uint64] // by slot; grown by the writer
	latency latHist
}

// inc counts one answer in slot.
func (r *readerStats) inc(slot int32) {
	cs := *r.counts.Load()
	if int(slot) >= len(cs) {
		cs = r.grow(int(slot))
	}
	cs[slot].Add(1)
}

// grow replaces the counters with a larger copy (the single writer does
// it, so no increment is lost; a scrape sees the old or the new slice,
// both monotonic).
func (r *readerStats) grow(slot int) []atomic.Uint64 {
	old := *r.counts.Load()
	cs := make([]atomic.Uint64, max(slot+1, 2*len(old), 16))
	for i := range old {
		cs[i].Store(old[i].Load())
	}
	r.counts.Store(&cs)
	return cs
}

// latencyBounds are the histogram's upper bounds in nanoseconds.
func latencyBounds() [11]time.Duration {
	return [11]time.Duration{1e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 1e6, 1e7, 1e8, 1e9}
}

// latHist is a histogram of answer times with atomic counters.
type latHist struct {
	buckets [12]atomic.Uint64 // by upper bound; the last is +Inf
	sumNs   atomic.Uint64
}

// observe records n answers that each took d.
func (h *latHist) observe(d time.Duration, n uint64) {
	d = max(d, 0)
	bounds := latencyBounds()
	i := 0
	for i < len(bounds) && d > bounds[i] {
		i++
	}
	h.buckets[i].Add(n)
	h.sumNs.Add(uint64(d) * n)
}

// latencyCollector is failoverd_dns_answer_duration_seconds: the sum of
// the readers' histograms and the shared one of the other paths.
type latencyCollector struct {
	desc   *prometheus.Desc
	shared latHist
	mu     sync.Mutex
	hists  []*latHist
}

// Describe implements prometheus.Collector.
func (l *latencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

// Collect implements prometheus.Collector.
func (l *latencyCollector) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	hists := append([]*latHist{&l.shared}, l.hists...)
	l.mu.Unlock()
	var counts [12]uint64
	var sumNs uint64
	for _, h := range hists {
		for i := range counts {
			counts[i] += h.buckets[i].Load()
		}
		sumNs += h.sumNs.Load()
	}
	bounds := latencyBounds()
	cum := make(map[float64]uint64, len(bounds))
	var total uint64
	for i, b := range bounds {
		total += counts[i]
		cum[b.Seconds()] = total
	}
	total += counts[len(bounds)]
	ch <- prometheus.MustNewConstHistogram(l.desc, total, float64(sumNs)/1e9, cum)
}
