package dnsserver

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// rrs parses zone-text records (absolute names).
func rrs(t testing.TB, lines ...string) []dns.RR {
	t.Helper()
	var out []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("bad test record %q: %v", l, err)
		}
		out = append(out, rr)
	}
	return out
}

// sameRRs compares record sets order-insensitively.
func sameRRs(got, want []dns.RR) bool {
	norm := func(rs []dns.RR) []string {
		out := make([]string, 0, len(rs))
		for _, r := range rs {
			if r.Header().Rrtype == dns.TypeOPT {
				continue
			}
			out = append(out, strings.ToLower(r.String()))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(got), norm(want))
}

func mustLoad(t testing.TB, zc ZoneConfig) *ZoneData {
	t.Helper()
	zd, err := LoadZone(zc)
	if err != nil {
		t.Fatalf("LoadZone(%s): %v", zc.Origin, err)
	}
	return zd
}

func testdata(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func w(addr string, weight uint32) Weighted {
	return Weighted{Addr: netip.MustParseAddr(addr), Weight: weight}
}

// testSnapshot is example.com (file + inline records + services) and
// example.net (inline only, synthesized SOA and NS).
func testSnapshot(t testing.TB) *Snapshot {
	com := mustLoad(t, ZoneConfig{
		Origin:     "example.com.",
		File:       testdata(t, "example.com.zone"),
		DefaultTTL: 3600,
		Hostname:   "ns1.example.net",
		Records: []StaticRecord{
			{Name: "txt.example.com.", Type: "TXT", TTL: 60, RData: []string{"hello world"}},
			{Name: "big.example.com.", Type: "TXT", RData: bigTXT(40)},
		},
	})
	net := mustLoad(t, ZoneConfig{
		Origin:   "example.net.",
		Hostname: "ns1.example.net.",
		NS:       []string{"ns1.example.net.", "ns2.example.net."},
		Records: []StaticRecord{
			{Name: "ns1.example.net.", Type: "A", TTL: 600, RData: []string{"192.0.2.1"}},
		},
	})
	return &Snapshot{Zones: []ZoneSnapshot{
		{Data: com, Serial: 2024010105, Names: map[string]*Dynamic{
			"app.example.com.": {TTL: 30, Regions: map[string]*RegionAnswer{
				"global":  {A: []Weighted{w("192.0.2.10", 1), w("192.0.2.11", 2)}, AAAA: []Weighted{w("2001:db8::10", 1)}},
				"EU West": {ServeCount: 1, A: []Weighted{w("198.51.100.1", 1)}},
			}},
			"v4only.example.com.": {TTL: 30, Regions: map[string]*RegionAnswer{
				"global": {A: []Weighted{w("192.0.2.12", 1)}},
			}},
			"alias.example.com.": {TTL: 20, Regions: map[string]*RegionAnswer{
				"global": {CNAME: "static.example.com."},
			}},
			"outalias.example.com.": {TTL: 20, Regions: map[string]*RegionAnswer{
				"global": {CNAME: "www.example.org"},
			}},
			"both.example.com.": {TTL: 10, Regions: map[string]*RegionAnswer{
				"global": {A: []Weighted{w("192.0.2.201", 1)}},
			}},
			"_https._tcp.web.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{
				"global": {SRV: []SRV{{Priority: 10, Weight: 10, Port: 443, Target: "web1.web.example.com."}}},
			}},
			"web1.web.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{
				"global": {A: []Weighted{w("192.0.2.51", 1)}},
			}},
			"empty.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{
				"global": {},
			}},
		}},
		{Data: net, Names: map[string]*Dynamic{
			"www.example.net.": {TTL: 30, Regions: map[string]*RegionAnswer{
				"global": {CNAME: "app.example.com."},
			}},
		}},
	}}
}

func bigTXT(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat("x", 40) + string(rune('a'+i%26)) + strings.Repeat("y", i)
	}
	return out
}

func bigTXTRecords(t testing.TB) []string {
	var out []string
	for _, s := range bigTXT(40) {
		out = append(out, `big.example.com. 3600 IN TXT "`+s+`"`)
	}
	return out
}

// startServer runs a Server on 127.0.0.1:0 for the test's lifetime and
// returns it with its address.
func startServer(t testing.TB, opts Options, snap *Snapshot) (*Server, string) {
	t.Helper()
	opts.Listen = []string{"127.0.0.1:0"}
	s, err := NewServer(opts, zaptest.NewLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if snap != nil {
		s.Publish(snap)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	return s, s.Addrs()[0].String()
}

func exchange(t testing.TB, netw, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: netw, Timeout: 5 * time.Second, UDPSize: 65535}
	var (
		r   *dns.Msg
		err error
	)
	for attempt := 0; attempt < 3; attempt++ {
		r, _, err = c.Exchange(m, addr)
		if err == nil {
			return r
		}
	}
	t.Fatalf("%s exchange %s %s: %v", netw, m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], err)
	return nil
}

type answerCase struct {
	Name   string
	Qname  string
	Qtype  uint16
	Rcode  int
	NoAA   bool
	Answer []string
	Ns     []string
	Extra  []string
}

func TestAnswers(t *testing.T) {
	_, addr := startServer(t, Options{Hostname: "ns1.example.net.", Version: "failoverd test"}, testSnapshot(t))
	soa := "example.com. 60 IN SOA ns1.example.com. hostmaster.example.com. 2024010105 3600 600 86400 60"
	netSOA := "example.net. 60 IN SOA ns1.example.net. hostmaster.example.net. 1 3600 600 1209600 60"
	cases := []answerCase{
		{Name: "StaticRecordWithOwnTTL", Qname: "static.example.com.", Qtype: dns.TypeA,
			Answer: []string{"static.example.com. 120 IN A 192.0.2.80"}},
		{Name: "MixedCaseQname", Qname: "StAtIc.Example.COM.", Qtype: dns.TypeA,
			Answer: []string{"static.example.com. 120 IN A 192.0.2.80"}},
		{Name: "NXDOMAINCarriesSOA", Qname: "nope.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
			Ns: []string{soa}},
		{Name: "NODATACarriesSOA", Qname: "static.example.com.", Qtype: dns.TypeMX,
			Ns: []string{soa}},
		{Name: "EmptyNonTerminalIsNODATA", Qname: "sub.example.com.", Qtype: dns.TypeA,
			Ns: []string{soa}},
		{Name: "EmptyNonTerminalOfServiceIsNODATA", Qname: "_tcp.web.example.com.", Qtype: dns.TypeA,
			Ns: []string{soa}},
		{Name: "OutsideEveryZoneIsREFUSED", Qname: "www.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, NoAA: true},
		{Name: "ApexSOAHasServedSerial", Qname: "example.com.", Qtype: dns.TypeSOA,
			Answer: []string{"example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024010105 3600 600 86400 60"}},
		{Name: "ApexNSWithGlue", Qname: "example.com.", Qtype: dns.TypeNS,
			Answer: []string{"example.com. 300 IN NS ns1.example.com."},
			Extra:  []string{"ns1.example.com. 300 IN A 192.0.2.53"}},
		{Name: "MXWithAdditional", Qname: "example.com.", Qtype: dns.TypeMX,
			Answer: []string{"example.com. 300 IN MX 10 mail.example.com."},
			Extra:  []string{"mail.example.com. 300 IN A 192.0.2.25"}},
		{Name: "InlineTXTQuoted", Qname: "txt.example.com.", Qtype: dns.TypeTXT,
			Answer: []string{`txt.example.com. 60 IN TXT "hello world"`}},
		{Name: "IncludeRelativeToFileWithOwnOrigin", Qname: "host.inc.example.com.", Qtype: dns.TypeA,
			Answer: []string{"host.inc.example.com. 300 IN A 192.0.2.30"}},
		{Name: "OriginRestoredAfterInclude", Qname: "after.example.com.", Qtype: dns.TypeA,
			Answer: []string{"after.example.com. 300 IN A 192.0.2.31"}},
		{Name: "WildcardSynthesizesOwner", Qname: "foo.wild.example.com.", Qtype: dns.TypeA,
			Answer: []string{"foo.wild.example.com. 300 IN A 192.0.2.99"}},
		{Name: "WildcardDeeper", Qname: "a.b.wild.example.com.", Qtype: dns.TypeTXT,
			Answer: []string{`a.b.wild.example.com. 300 IN TXT "wildcard"`}},
		{Name: "WildcardNODATA", Qname: "foo.wild.example.com.", Qtype: dns.TypeMX, Ns: []string{soa}},
		{Name: "WildcardParentIsEmptyNonTerminal", Qname: "wild.example.com.", Qtype: dns.TypeA, Ns: []string{soa}},
		{Name: "DelegationIsReferral", Qname: "www.child.example.com.", Qtype: dns.TypeA, NoAA: true,
			Ns:    []string{"child.example.com. 300 IN NS ns.child.example.com."},
			Extra: []string{"ns.child.example.com. 300 IN A 192.0.2.77"}},
		{Name: "ServiceAnswerUsesServiceTTL", Qname: "app.example.com.", Qtype: dns.TypeA,
			Answer: []string{"app.example.com. 30 IN A 192.0.2.10", "app.example.com. 30 IN A 192.0.2.11"}},
		{Name: "AAAAGetsOnlyAAAA", Qname: "app.example.com.", Qtype: dns.TypeAAAA,
			Answer: []string{"app.example.com. 30 IN AAAA 2001:db8::10"}},
		{Name: "FamilyWithNothingIsNODATA", Qname: "v4only.example.com.", Qtype: dns.TypeAAAA, Ns: []string{soa}},
		{Name: "ServiceWithNothingIsNODATA", Qname: "empty.example.com.", Qtype: dns.TypeA, Ns: []string{soa}},
		{Name: "ServiceOtherTypeIsNODATA", Qname: "app.example.com.", Qtype: dns.TypeTXT, Ns: []string{soa}},
		{Name: "DynamicWinsForA", Qname: "both.example.com.", Qtype: dns.TypeA,
			Answer: []string{"both.example.com. 10 IN A 192.0.2.201"}},
		{Name: "StaticWinsForOtherTypes", Qname: "both.example.com.", Qtype: dns.TypeTXT,
			Answer: []string{`both.example.com. 300 IN TXT "static text"`}},
		{Name: "DynamicCNAMECarriesInZoneTarget", Qname: "alias.example.com.", Qtype: dns.TypeA,
			Answer: []string{"alias.example.com. 20 IN CNAME static.example.com.", "static.example.com. 120 IN A 192.0.2.80"}},
		{Name: "DynamicCNAMEForEveryQtype", Qname: "alias.example.com.", Qtype: dns.TypeMX,
			Answer: []string{"alias.example.com. 20 IN CNAME static.example.com."}, Ns: []string{soa}},
		{Name: "CNAMEQueryGetsOnlyCNAME", Qname: "alias.example.com.", Qtype: dns.TypeCNAME,
			Answer: []string{"alias.example.com. 20 IN CNAME static.example.com."}},
		{Name: "CNAMEOutOfZoneNotChased", Qname: "outalias.example.com.", Qtype: dns.TypeA,
			Answer: []string{"outalias.example.com. 20 IN CNAME www.example.org."}},
		{Name: "StaticCNAMEToService", Qname: "www-alias.example.com.", Qtype: dns.TypeAAAA,
			Answer: []string{"www-alias.example.com. 300 IN CNAME app.example.com.", "app.example.com. 30 IN AAAA 2001:db8::10"}},
		{Name: "CNAMEAcrossZones", Qname: "www.example.net.", Qtype: dns.TypeAAAA,
			Answer: []string{"www.example.net. 30 IN CNAME app.example.com.", "app.example.com. 30 IN AAAA 2001:db8::10"}},
		{Name: "SRVWithTargetAddresses", Qname: "_https._tcp.web.example.com.", Qtype: dns.TypeSRV,
			Answer: []string{"_https._tcp.web.example.com. 5 IN SRV 10 10 443 web1.web.example.com."},
			Extra:  []string{"web1.web.example.com. 5 IN A 192.0.2.51"}},
		{Name: "AnyIsMinimal", Qname: "both.example.com.", Qtype: dns.TypeANY,
			Answer: []string{"both.example.com. 10 IN A 192.0.2.201"}},
		{Name: "AnyStaticIsOneRRset", Qname: "example.com.", Qtype: dns.TypeANY,
			Answer: []string{"example.com. 300 IN NS ns1.example.com."},
			Extra:  []string{"ns1.example.com. 300 IN A 192.0.2.53"}},
		{Name: "SecondZoneSynthesizedSOA", Qname: "example.net.", Qtype: dns.TypeSOA,
			Answer: []string{"example.net. 3600 IN SOA ns1.example.net. hostmaster.example.net. 1 3600 600 1209600 60"}},
		{Name: "SecondZoneNS", Qname: "example.net.", Qtype: dns.TypeNS,
			Answer: []string{"example.net. 3600 IN NS ns1.example.net.", "example.net. 3600 IN NS ns2.example.net."},
			Extra:  []string{"ns1.example.net. 600 IN A 192.0.2.1"}},
		{Name: "SecondZoneNXDOMAIN", Qname: "nope.example.net.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{netSOA}},
	}
	for _, netw := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(netw+"/"+tc.Name, func(t *testing.T) {
				m := new(dns.Msg)
				m.SetQuestion(tc.Qname, tc.Qtype)
				m.SetEdns0(4096, false)
				r := exchange(t, netw, addr, m)
				checkAnswer(t, r, tc)
			})
		}
	}
}

func checkAnswer(t *testing.T, r *dns.Msg, tc answerCase) {
	t.Helper()
	if r.Rcode != tc.Rcode {
		t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.Rcode])
	}
	if r.Authoritative == tc.NoAA {
		t.Errorf("AA = %v, want %v", r.Authoritative, !tc.NoAA)
	}
	if r.Truncated {
		t.Errorf("TC set")
	}
	if want := rrs(t, tc.Answer...); !sameRRs(r.Answer, want) {
		t.Errorf("answer:\n%v\nwant:\n%v", r.Answer, want)
	}
	if want := rrs(t, tc.Ns...); !sameRRs(r.Ns, want) {
		t.Errorf("authority:\n%v\nwant:\n%v", r.Ns, want)
	}
	if want := rrs(t, tc.Extra...); !sameRRs(r.Extra, want) {
		t.Errorf("additional:\n%v\nwant:\n%v", r.Extra, want)
	}
}

func TestChaosIdentity(t *testing.T) {
	_, addr := startServer(t, Options{Hostname: "ns1.example.net", Version: "failoverd 1.2.3"}, testSnapshot(t))
	cases := []struct {
		name, qname, want string
		rcode             int
	}{
		{"IdServerIsHostname", "id.server.", "ns1.example.net", dns.RcodeSuccess},
		{"HostnameBindIsHostname", "hostname.bind.", "ns1.example.net", dns.RcodeSuccess},
		{"VersionBindIsVersion", "version.bind.", "failoverd 1.2.3", dns.RcodeSuccess},
		{"OtherChaosNameRefused", "authors.bind.", "", dns.RcodeRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, dns.TypeTXT)
			m.Question[0].Qclass = dns.ClassCHAOS
			r := exchange(t, "udp", addr, m)
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s", dns.RcodeToString[r.Rcode])
			}
			if tc.want == "" {
				return
			}
			if len(r.Answer) != 1 {
				t.Fatalf("answer %v", r.Answer)
			}
			txt, ok := r.Answer[0].(*dns.TXT)
			if !ok || len(txt.Txt) != 1 || txt.Txt[0] != tc.want || txt.Hdr.Class != dns.ClassCHAOS {
				t.Fatalf("answer %v, want TXT %q", r.Answer[0], tc.want)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	_, addr := startServer(t, Options{}, testSnapshot(t))
	full := rrs(t, bigTXTRecords(t)...)
	cases := []struct {
		name    string
		netw    string
		edns    uint16 // 0: no OPT
		wantTC  bool
		maxSize int
	}{
		{"UDPWithoutEDNSIs512Bytes", "udp", 0, true, 512},
		{"UDPRespectsSmallEDNSBuffer", "udp", 800, true, 800},
		{"UDPCapsAt1232", "udp", 4096, true, 1232},
		{"TCPAnswersInFull", "tcp", 0, false, 65535},
		{"TCPWithEDNSAnswersInFull", "tcp", 512, false, 65535},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion("big.example.com.", dns.TypeTXT)
			if tc.edns != 0 {
				m.SetEdns0(tc.edns, false)
			}
			r := exchange(t, tc.netw, addr, m)
			if r.Truncated != tc.wantTC {
				t.Fatalf("TC = %v, want %v (%d answers)", r.Truncated, tc.wantTC, len(r.Answer))
			}
			r.Compress = true
			if n := r.Len(); n > tc.maxSize {
				t.Fatalf("response %d bytes > %d", n, tc.maxSize)
			}
			if !tc.wantTC && !sameRRs(r.Answer, full) {
				t.Fatalf("answer has %d of %d records", len(r.Answer), len(full))
			}
			if tc.edns != 0 && r.IsEdns0() == nil {
				t.Fatalf("no OPT in answer to an EDNS query")
			}
		})
	}
}

func TestMalformedQueries(t *testing.T) {
	_, addr := startServer(t, Options{}, testSnapshot(t))
	m := new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	r := exchange(t, "udp", addr, m)
	if r.Rcode != dns.RcodeBadVers {
		t.Errorf("EDNS version 1: rcode %s, want BADVERS", dns.RcodeToString[r.Rcode])
	}
	m = new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	m.Opcode = dns.OpcodeUpdate
	r = exchange(t, "udp", addr, m)
	if r.Rcode != dns.RcodeNotImplemented && r.Rcode != dns.RcodeRefused {
		t.Errorf("UPDATE: rcode %s", dns.RcodeToString[r.Rcode])
	}
	m = new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	m.Question = append(m.Question, m.Question[0])
	r = exchange(t, "udp", addr, m)
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
}

func TestPublishSwapsAnswers(t *testing.T) {
	s, addr := startServer(t, Options{}, testSnapshot(t))
	snap := testSnapshot(t)
	snap.Zones[0].Names["v4only.example.com."].Regions["global"].A = []Weighted{w("192.0.2.99", 1)}
	s.Publish(snap)
	m := new(dns.Msg)
	m.SetQuestion("v4only.example.com.", dns.TypeA)
	r := exchange(t, "udp", addr, m)
	if !sameRRs(r.Answer, rrs(t, "v4only.example.com. 30 IN A 192.0.2.99")) {
		t.Fatalf("after Publish: %v", r.Answer)
	}
}

func TestRefusedBeforeFirstPublish(t *testing.T) {
	_, addr := startServer(t, Options{}, nil)
	m := new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	if r := exchange(t, "udp", addr, m); r.Rcode != dns.RcodeRefused {
		t.Fatalf("rcode %s", dns.RcodeToString[r.Rcode])
	}
}
