package store

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCommit measures one decision-loop batch: an address goes down,
// its region fails over, the served set and the zone serial change, and the
// engine state is rewritten. The fsync dominates.
func BenchmarkCommit(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	state := bytes.Repeat([]byte(`{"service":"app.example.com.","latched":true},`), 100) // ~4.5 KiB
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		svc := fmt.Sprintf("app%d.example.com.", i%50)
		err := s.Commit(Batch{
			EngineState: state,
			Serials:     map[string]uint32{"example.com.": 2026112300 + uint32(i)},
			Events: []Event{
				{Time: now, Service: svc, Kind: "ip", Region: "US East", Address: "192.0.2.10", OldStatus: "up", NewStatus: "down", Message: "connection refused"},
				{Time: now, Service: svc, Kind: "svc", Region: "US East", OldStatus: "ok", NewStatus: "failover"},
				{Time: now, Service: svc, Kind: "svc", Region: "global", OldStatus: "ok", NewStatus: "trouble"},
			},
			Served: map[string]ServedSnapshot{svc: {Time: now, Regions: map[string][]string{
				"US East": {"backup.example.net."},
				"global":  {"192.0.2.11", "192.0.2.12"},
			}}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitServedAtStart is the commit of every service's served set
// that start and a reload make in one transaction: 20,000 services.
func BenchmarkCommitServedAtStart(b *testing.B) {
	const services = 20000
	served := make(map[string]ServedSnapshot, services)
	for i := range services {
		served[fmt.Sprintf("s%d.example.com.", i)] = ServedSnapshot{Time: t0, Regions: map[string][]string{"global": {"192.0.2.1"}}}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Commit(Batch{Served: served}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = s.Close()
		b.StartTimer()
	}
}
