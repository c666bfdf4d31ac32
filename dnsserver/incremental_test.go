package dnsserver

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// A publish reuses what it prepared for names whose Dynamic is unchanged,
// yet every answer reflects the new snapshot: the changed name's records,
// and the new serial in negative answers of unchanged names.
func TestPublishReusesUnchangedNamesAndServesTheNewSnapshot(t *testing.T) {
	zd := mustLoad(t, ZoneConfig{Origin: "example.com.", Hostname: "ns1.example.com."})
	one := func(ip string) *Dynamic {
		return &Dynamic{TTL: 5, Regions: map[string]*RegionAnswer{GlobalRegion: {A: []Weighted{{Addr: netip.MustParseAddr(ip), Weight: 1}}}}}
	}
	same := one("192.0.2.1")
	snap := func(serial uint32, changed *Dynamic) *Snapshot {
		return &Snapshot{Zones: []ZoneSnapshot{{Data: zd, Serial: serial, Names: map[string]*Dynamic{
			"same.example.com.":    same,
			"changed.example.com.": changed,
		}}}}
	}
	s, addr := startServer(t, Options{}, snap(10, one("192.0.2.2")))
	before := s.cur.Load()
	s.Publish(snap(11, one("192.0.2.3")))
	after := s.cur.Load()
	if before.zones["example.com."].dyn["same.example.com."] != after.zones["example.com."].dyn["same.example.com."] {
		t.Error("unchanged name was prepared again")
	}
	if before.zones["example.com."].dyn["changed.example.com."] == after.zones["example.com."].dyn["changed.example.com."] {
		t.Error("changed name kept its old preparation")
	}
	for _, netw := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("changed.example.com.", dns.TypeA)
		checkAnswer(t, exchange(t, netw, addr, m), answerCase{Answer: []string{"changed.example.com. 5 IN A 192.0.2.3"}})
		m.SetQuestion("same.example.com.", dns.TypeA)
		checkAnswer(t, exchange(t, netw, addr, m), answerCase{Answer: []string{"same.example.com. 5 IN A 192.0.2.1"}})
		for _, name := range []string{"same.example.com.", "changed.example.com."} {
			m.SetQuestion(name, dns.TypeAAAA)
			r := exchange(t, netw, addr, m)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
				t.Fatalf("%s %s AAAA: want NODATA with the SOA, got %v", netw, name, r)
			}
			if soa, ok := r.Ns[0].(*dns.SOA); !ok || soa.Serial != 11 {
				t.Fatalf("%s %s AAAA NODATA carries %v, want serial 11", netw, name, r.Ns[0])
			}
		}
	}
}
