package dnsserver

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/miekg/dns"
)

// regionalSnapshot serves geo.example.com. with a different address per region.
func regionalSnapshot(t testing.TB) *Snapshot {
	zd := mustLoad(t, ZoneConfig{Origin: "example.com.", Hostname: "ns1.example.com."})
	regions := map[string]*RegionAnswer{"global": {A: []Weighted{w("192.0.2.1", 1)}}}
	for i, code := range []string{RegionUSWest, RegionUSCentral, RegionUSEast, RegionEUWest, RegionEUCentral, RegionEUEast, RegionAsia, "Lab"} {
		regions[code] = &RegionAnswer{A: []Weighted{w(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}).String(), 1)}}
	}
	return &Snapshot{Zones: []ZoneSnapshot{{Data: zd, Names: map[string]*Dynamic{
		"geo.example.com.":  {TTL: 5, Regions: regions},
		"flat.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{"global": {A: []Weighted{w("192.0.2.2", 1)}}}},
	}}}}
}

var regionAddr = map[string]string{
	RegionUSWest: "192.0.2.10", RegionUSCentral: "192.0.2.11", RegionUSEast: "192.0.2.12",
	RegionEUWest: "192.0.2.13", RegionEUCentral: "192.0.2.14", RegionEUEast: "192.0.2.15",
	RegionAsia: "192.0.2.16", "Lab": "192.0.2.17", GlobalRegion: "192.0.2.1",
}

func ecsQuery(qname string, subnet string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	m.SetEdns0(1232, false)
	if subnet != "" {
		p := netip.MustParsePrefix(subnet)
		fam := uint16(1)
		if p.Addr().Is6() {
			fam = 2
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{
			Code: dns.EDNS0SUBNET, Family: fam, SourceNetmask: uint8(p.Bits()),
			Address: net.IP(p.Addr().AsSlice()),
		})
	}
	return m
}

func ecsScope(t *testing.T, r *dns.Msg) (uint8, bool) {
	t.Helper()
	opt := r.IsEdns0()
	if opt == nil {
		return 0, false
	}
	for _, o := range opt.Option {
		if s, ok := o.(*dns.EDNS0_SUBNET); ok {
			return s.SourceScope, true
		}
	}
	return 0, false
}

type regionCase struct {
	name   string
	qname  string
	subnet string
	region string
	scope  uint8
}

func runRegionCases(t *testing.T, addr string, cases []regionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := exchange(t, "udp", addr, ecsQuery(tc.qname, tc.subnet))
			want := regionAddr[tc.region]
			if tc.qname == "flat.example.com." {
				want = "192.0.2.2"
			}
			if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != want {
				t.Fatalf("answer %v, want %s (%s)", r.Answer, want, tc.region)
			}
			scope, ok := ecsScope(t, r)
			if tc.subnet != "" && !ok {
				t.Fatalf("ECS option not echoed")
			}
			if scope != tc.scope {
				t.Fatalf("ECS scope %d, want %d", scope, tc.scope)
			}
		})
	}
}

func TestRegionSelection(t *testing.T) {
	opts := Options{ECS: true, RegionMap: map[string][]netip.Prefix{
		RegionUSEast:    {netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/48")},
		RegionEUWest:    {netip.MustParsePrefix("203.0.113.0/24")},
		RegionEUCentral: {netip.MustParsePrefix("203.0.113.128/25")},
		"Lab":           {netip.MustParsePrefix("127.0.0.0/8")},
	}}
	_, addr := startServer(t, opts, regionalSnapshot(t))
	runRegionCases(t, addr, []regionCase{
		{"ECSInRegionMap", "geo.example.com.", "198.51.100.7/32", RegionUSEast, 24},
		{"ECSv6InRegionMap", "geo.example.com.", "2001:db8:1:2::/56", RegionUSEast, 48},
		{"ScopeExcludesNestedPrefix", "geo.example.com.", "203.0.113.5/32", RegionEUWest, 25},
		{"LongestPrefixWins", "geo.example.com.", "203.0.113.200/32", RegionEUCentral, 25},
		{"UnmappedIsGlobalWithNarrowScope", "geo.example.com.", "192.0.2.0/24", GlobalRegion, uint8(commonBits(netip.MustParseAddr("192.0.2.0"), netip.MustParseAddr("198.51.100.0")) + 1)},
		{"NoECSUsesSourceAddress", "geo.example.com.", "", "Lab", 0},
		{"ECSSourceZeroUsesSourceAddress", "geo.example.com.", "0.0.0.0/0", "Lab", 0},
		{"NonRegionalNameHasScopeZero", "flat.example.com.", "198.51.100.7/32", GlobalRegion, 0},
	})
}

func TestECSDisabledUsesSourceAddress(t *testing.T) {
	opts := Options{ECS: false, RegionMap: map[string][]netip.Prefix{
		RegionUSEast: {netip.MustParsePrefix("198.51.100.0/24")},
	}}
	_, addr := startServer(t, opts, regionalSnapshot(t))
	r := exchange(t, "udp", addr, ecsQuery("geo.example.com.", "198.51.100.7/32"))
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != regionAddr[GlobalRegion] {
		t.Fatalf("answer %v, want global", r.Answer)
	}
	if _, ok := ecsScope(t, r); ok {
		t.Fatalf("ECS echoed while disabled")
	}
}

// writeGeoDB builds a small City-style MaxMind DB.
func writeGeoDB(t testing.TB) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(continent, country string, lon *float64) mmdbtype.Map {
		m := mmdbtype.Map{
			"continent": mmdbtype.Map{"code": mmdbtype.String(continent)},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String(country)},
		}
		if lon != nil {
			m["location"] = mmdbtype.Map{"longitude": mmdbtype.Float64(*lon)}
		}
		return m
	}
	west, east := -122.3, -74.0
	for _, e := range []struct {
		net string
		rec mmdbtype.Map
	}{
		{"81.2.69.0/24", rec("EU", "GB", nil)},
		{"89.160.20.0/24", rec("EU", "SE", nil)},
		{"91.198.0.0/16", rec("EU", "UA", nil)},
		{"175.16.199.0/24", rec("AS", "CN", nil)},
		{"216.160.83.0/24", rec("NA", "US", &west)},
		{"216.160.84.0/24", rec("NA", "US", &east)},
		{"67.43.156.0/24", rec("NA", "US", nil)},
		{"2a02:cf40::/29", rec("EU", "DE", nil)},
		{"41.0.0.0/11", rec("AF", "ZA", nil)},
	} {
		_, n, err := net.ParseCIDR(e.net)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, e.rec); err != nil {
			t.Fatalf("insert %s: %v", e.net, err)
		}
	}
	path := filepath.Join(t.TempDir(), "test-city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGeoIPRegions(t *testing.T) {
	opts := Options{ECS: true, GeoIPDatabase: writeGeoDB(t), RegionMap: map[string][]netip.Prefix{
		"Lab": {netip.MustParsePrefix("81.2.69.128/25")},
	}}
	_, addr := startServer(t, opts, regionalSnapshot(t))
	runRegionCases(t, addr, []regionCase{
		{"UKIsEUWest", "geo.example.com.", "81.2.69.5/32", RegionEUWest, 25},
		{"RegionMapBeatsGeoIP", "geo.example.com.", "81.2.69.200/32", "Lab", 25},
		{"SwedenIsEUCentral", "geo.example.com.", "89.160.20.1/32", RegionEUCentral, 24},
		{"UkraineIsEUEast", "geo.example.com.", "91.198.3.0/24", RegionEUEast, 16},
		{"ChinaIsAsia", "geo.example.com.", "175.16.199.9/32", RegionAsia, 24},
		{"WestLongitudeIsUSWest", "geo.example.com.", "216.160.83.1/32", RegionUSWest, 24},
		{"EastLongitudeIsUSEast", "geo.example.com.", "216.160.84.1/32", RegionUSEast, 24},
		{"USWithoutLocationIsUSCentral", "geo.example.com.", "67.43.156.1/32", RegionUSCentral, 24},
		{"AfricaIsEUCentral", "geo.example.com.", "41.1.0.0/16", RegionEUCentral, 11},
		{"IPv6Germany", "geo.example.com.", "2a02:cf40:1::/48", RegionEUCentral, 29},
	})
	// Not in the database: global.
	r := exchange(t, "udp", addr, ecsQuery("geo.example.com.", "8.8.8.0/24"))
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != regionAddr[GlobalRegion] {
		t.Fatalf("unknown address: %v, want global", r.Answer)
	}
}

func TestGeoRegionMapping(t *testing.T) {
	lon := func(f float64) *float64 { return &f }
	cases := []struct {
		name               string
		continent, country string
		lon                *float64
		want               string
	}{
		{"CaliforniaLongitude", "NA", "US", lon(-118), RegionUSWest},
		{"TexasLongitude", "NA", "US", lon(-97), RegionUSCentral},
		{"NewYorkLongitude", "NA", "US", lon(-74), RegionUSEast},
		{"CanadaNoLocation", "NA", "CA", nil, RegionUSEast},
		{"MexicoNoLocation", "NA", "MX", nil, RegionUSCentral},
		{"Brazil", "SA", "BR", nil, RegionUSEast},
		{"France", "EU", "FR", nil, RegionEUWest},
		{"Germany", "EU", "DE", nil, RegionEUCentral},
		{"Poland", "EU", "PL", nil, RegionEUCentral},
		{"Romania", "EU", "RO", nil, RegionEUEast},
		{"Japan", "AS", "JP", nil, RegionAsia},
		{"Australia", "OC", "AU", nil, RegionAsia},
		{"Nigeria", "AF", "NG", nil, RegionEUCentral},
		{"Antarctica", "AN", "AQ", nil, GlobalRegion},
		{"Unknown", "", "", nil, GlobalRegion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := GeoRegion(tc.continent, tc.country, tc.lon); got != tc.want {
				t.Fatalf("GeoRegion(%s, %s) = %q, want %q", tc.continent, tc.country, got, tc.want)
			}
		})
	}
}
