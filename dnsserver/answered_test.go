package dnsserver

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// Every time a counted record goes into an answer its counter moves, on the
// UDP fast path and on the full path (TCP) alike; records without a counter
// and additional-section copies are not counted.
func TestAnsweredCountersCountEveryAnswer(t *testing.T) {
	var web1, web2 atomic.Uint64
	zd := mustLoad(t, ZoneConfig{Origin: "example.com.", Hostname: "ns1.example.com."})
	snap := &Snapshot{Zones: []ZoneSnapshot{{Data: zd, Serial: 7, Names: map[string]*Dynamic{
		"web.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{GlobalRegion: {
			ServeCount: 1,
			A: []Weighted{
				{Addr: netip.MustParseAddr("192.0.2.51"), Weight: 1, Answered: &web1},
				{Addr: netip.MustParseAddr("192.0.2.52"), Weight: 1, Answered: &web2},
			},
		}}},
		"plain.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{GlobalRegion: {
			A: []Weighted{{Addr: netip.MustParseAddr("192.0.2.60"), Weight: 1}},
		}}},
	}}}}
	_, addr := startServer(t, Options{}, snap)
	const n = 50
	for _, netw := range []string{"udp", "tcp"} {
		for range n {
			m := new(dns.Msg)
			m.SetQuestion("web.example.com.", dns.TypeA)
			if r := exchange(t, netw, addr, m); len(r.Answer) != 1 {
				t.Fatalf("%s: %v", netw, r)
			}
			m.SetQuestion("plain.example.com.", dns.TypeA)
			exchange(t, netw, addr, m)
		}
	}
	if got := web1.Load() + web2.Load(); got != 2*n {
		t.Fatalf("counted %d answers (%d + %d), want %d", got, web1.Load(), web2.Load(), 2*n)
	}
	if web1.Load() == 0 || web2.Load() == 0 {
		t.Fatalf("weighted picks never chose one record: %d / %d", web1.Load(), web2.Load())
	}
}
