package dnsserver

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestExplainRegionRule: the explanation names the rule that chose the
// client's region (region_map, GeoIP, ECS, global) and the region whose
// answer it gets.
func TestExplainRegionRule(t *testing.T) {
	opts := Options{ECS: true, GeoIPDatabase: writeGeoDB(t), RegionMap: map[string][]netip.Prefix{
		"Lab": {netip.MustParsePrefix("81.2.69.128/25"), netip.MustParsePrefix("127.0.0.0/8")},
	}}
	s, _ := startServer(t, opts, regionalSnapshot(t))
	none := netip.Prefix{}
	tests := []struct {
		name     string
		qname    string
		client   string
		ecs      netip.Prefix
		code     string
		answered string
		rule     string
		reason   string
		cands    []string
	}{
		{"RegionMapBySourceAddress", "geo.example.com.", "127.0.0.1", none, "Lab", "Lab", RuleRegionMap, "region_map prefix 127.0.0.0/8", []string{"192.0.2.17"}},
		{"GeoIPBySourceAddress", "geo.example.com.", "81.2.69.5", none, RegionEUWest, RegionEUWest, RuleGeoIP, "GeoIP", []string{"192.0.2.13"}},
		{"ECSSubnetDecides", "geo.example.com.", "127.0.0.1", netip.MustParsePrefix("175.16.199.0/24"), RegionAsia, RegionAsia, RuleECS, "ECS subnet 175.16.199.0/24", []string{"192.0.2.16"}},
		{"ECSSourceZeroLeavesSourceAddress", "geo.example.com.", "127.0.0.1", netip.MustParsePrefix("0.0.0.0/0"), "Lab", "Lab", RuleRegionMap, "source address", []string{"192.0.2.17"}},
		{"NothingMatchesIsGlobal", "geo.example.com.", "8.8.8.8", none, GlobalRegion, GlobalRegion, RuleGlobal, "matches no region_map prefix and no GeoIP record", []string{"192.0.2.1"}},
		{"NameWithoutTheRegionAnswersGlobal", "flat.example.com.", "81.2.69.5", none, RegionEUWest, GlobalRegion, RuleGeoIP, "every client alike", []string{"192.0.2.2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := s.Explain(tc.qname, dns.TypeA, netip.MustParseAddr(tc.client), tc.ecs)
			if !ex.Service || ex.Zone != "example.com." {
				t.Fatalf("service %v zone %q", ex.Service, ex.Zone)
			}
			r := ex.Region
			if r.Code != tc.code || r.Answered != tc.answered || r.Rule != tc.rule || !strings.Contains(r.Reason, tc.reason) ||
				(r.Rule == RuleECS) != (r.Matched != r.Rule) {
				t.Fatalf("region %+v, want code %s answered %s rule %s reason ~%q", r, tc.code, tc.answered, tc.rule, tc.reason)
			}
			if !slices.Equal(ex.Candidates, tc.cands) {
				t.Fatalf("candidates %v, want %v", ex.Candidates, tc.cands)
			}
		})
	}
	if ex := s.Explain("nowhere.example.org.", dns.TypeA, netip.MustParseAddr("127.0.0.1"), none); ex.Zone != "" || ex.Service {
		t.Fatalf("a name outside our zones: %+v", ex)
	}
}

// TestExplainCandidatesAreWhatDNSServes is the property: over random
// regional snapshots and random clients (ECS subnets), the candidates
// Explain gives are exactly the addresses a real server on loopback
// answers. serve_count is 0 or at least the set's size, so one answer
// carries the whole set; with a smaller serve_count every answer is a
// subset of the candidates of the right size.
func TestExplainCandidatesAreWhatDNSServes(t *testing.T) {
	codes := []string{GlobalRegion, "eu", "us", "asia"}
	opts := Options{ECS: true, RegionMap: map[string][]netip.Prefix{
		"eu":   {netip.MustParsePrefix("10.1.0.0/16")},
		"us":   {netip.MustParsePrefix("10.2.0.0/16")},
		"asia": {netip.MustParsePrefix("10.3.0.0/16")},
	}}
	s, addr := startServer(t, opts, nil)
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 17))
		s.Publish(randomSnapshot(t, r, codes))
		for range 25 {
			client := netip.AddrFrom4([4]byte{10, byte(1 + r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
			ecs := netip.PrefixFrom(client, 24+r.IntN(9)).Masked()
			name := fmt.Sprintf("n%d.example.com.", r.IntN(6))
			qtype := []uint16{dns.TypeA, dns.TypeAAAA}[r.IntN(2)]
			ex := s.Explain(name, qtype, netip.MustParseAddr("127.0.0.1"), ecs)
			q := ecsQuery(name, ecs.String())
			q.Question[0].Qtype = qtype
			want := slices.Clone(ex.Candidates)
			slices.Sort(want)
			// Bounded: a few answers per query show the picks stay inside the
			// candidates; with serve_count 0 or >= the set, each is the set.
			for range 4 {
				resp := exchange(t, "udp", addr, q)
				var got []string
				for _, rr := range resp.Answer {
					switch v := rr.(type) {
					case *dns.A:
						got = append(got, v.A.String())
					case *dns.AAAA:
						got = append(got, v.AAAA.String())
					case *dns.CNAME:
						got = append(got, v.Target)
					}
				}
				slices.Sort(got)
				whole := ex.ServeCount == 0 || ex.ServeCount >= len(want)
				switch {
				case whole && !slices.Equal(got, want):
					t.Fatalf("seed %d: %s %s for %s: DNS %v, explain %v", seed, name, dns.TypeToString[qtype], ecs, got, want)
				case !whole && (len(got) != ex.ServeCount || !subset(got, want)):
					t.Fatalf("seed %d: %s for %s: DNS %v is not %d of explain %v", seed, name, ecs, got, ex.ServeCount, want)
				}
			}
		}
	}
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func randomSnapshot(t *testing.T, r *rand.Rand, codes []string) *Snapshot {
	zd := mustLoad(t, ZoneConfig{Origin: "example.com.", Hostname: "ns1.example.com."})
	names := map[string]*Dynamic{}
	n := 0
	for i := range 6 {
		regions := map[string]*RegionAnswer{}
		for j, code := range codes {
			if j > 0 && r.IntN(2) == 0 {
				continue // not every name has every region
			}
			ra := &RegionAnswer{}
			k := r.IntN(5)
			for range k {
				n++
				ra.A = append(ra.A, Weighted{Addr: netip.AddrFrom4([4]byte{192, 0, byte(2 + n/250), byte(n % 250)}), Weight: uint32(1 + r.IntN(15))})
				if r.IntN(3) == 0 {
					ra.AAAA = append(ra.AAAA, w(fmt.Sprintf("2001:db8::%x", n), uint32(1+r.IntN(15))))
				}
			}
			switch r.IntN(3) {
			case 0:
				ra.ServeCount = 0
			case 1:
				ra.ServeCount = k + r.IntN(2)
			default:
				ra.ServeCount = 1
			}
			if k > 0 && r.IntN(8) == 0 {
				ra = &RegionAnswer{CNAME: fmt.Sprintf("backup%d.example.net.", i)}
			}
			regions[code] = ra
		}
		names[fmt.Sprintf("n%d.example.com.", i)] = &Dynamic{TTL: 5, Regions: regions}
	}
	return &Snapshot{Zones: []ZoneSnapshot{{Data: zd, Names: names}}}
}
