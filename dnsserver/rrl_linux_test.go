package dnsserver

import (
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkAnswerBatchRRL is BenchmarkAnswerBatch with response rate
// limiting on, at a rate no query reaches: the cost RRL adds to traffic
// it does not limit (one account hash and one compare-and-swap per
// answer). It must not allocate either.
func BenchmarkAnswerBatchRRL(b *testing.B) {
	s, err := NewServer(Options{RRL: &RRL{ResponsesPerSecond: 1_000_000}}, nil, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	s.Publish(testSnapshot(b))
	var pkts []batchPacket
	names := []string{"static.example.com.", "v4only.example.com.", "nope.example.net.", "StAtIc.example.com."}
	for i := range batchSize {
		m := new(dns.Msg)
		m.SetQuestion(names[i%len(names)], dns.TypeA)
		raw, _ := m.Pack()
		pkts = append(pkts, batchPacket{raw: raw})
	}
	bt := newUDPBatch(false)
	st := s.metrics.newReader()
	fillBatch(bt, pkts)
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if s.answerBatch(bt, st, start) != batchSize || bt.nsend != batchSize {
			b.Fatal("not all answered")
		}
		start = start.Add(32 * time.Microsecond) // credit for every account
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/query")
}
