package dnsserver

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// TestFastPathAgreesWithFullPath: for every query the pre-packed UDP path
// answers, the answer equals the full path's (header flags, rcode, the
// echoed question and every section) and, but for weighted picks, is the
// same bytes.
func TestFastPathAgreesWithFullPath(t *testing.T) {
	fastAgreesWithFull(t, testSnapshot(t), nil)
}

// The signed fast entries (DO queries on a signed zone) answer as the full
// path does, signatures included.
func TestSignedFastPathAgreesWithFullPath(t *testing.T) {
	snap, s := signedSnapshot(t, "ECDSAP256SHA256", 336*time.Hour)
	// One record of two per answer: each picked record carries its own
	// signature.
	snap.Zones[0].Names["pair.example.com."] = &Dynamic{TTL: 30, Regions: map[string]*RegionAnswer{
		"global": {ServeCount: 1, A: []Weighted{w("192.0.2.61", 1), w("192.0.2.62", 3)}},
	}}
	if do := fastAgreesWithFull(t, snap, s.Key().DNSKEY); do < 10 {
		t.Errorf("only %d DO queries took the fast path", do)
	}
	srv, err := NewServer(Options{}, zaptest.NewLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv.Publish(snap)
	for _, qn := range []string{"pair.example.com.", "v4only.example.com.", "static.example.com.", "ns1.example.net."} {
		req := new(dns.Msg)
		req.SetQuestion(qn, dns.TypeA)
		req.SetEdns0(1232, true)
		raw, _ := req.Pack()
		if srv.fastAnswer(srv.cur.Load(), raw, nil, srv.metrics.newReader()) == nil {
			t.Errorf("DO query for %s A did not take the fast path", qn)
		}
	}
}

// fastAgreesWithFull checks every fast answer of snap against the full
// path's; with key (a signed zone), the signatures of picked answers are
// verified with it.
func fastAgreesWithFull(t *testing.T, snap *Snapshot, key *dns.DNSKEY) (fastDO int) {
	s, err := NewServer(Options{ECS: true}, zaptest.NewLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.Publish(snap)
	p := s.cur.Load()
	remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	qnames := []string{
		"static.example.com.", "StAtIc.EXAMPLE.com.", "example.com.", "mail.example.com.", "nope.example.com.",
		"deep.nope.example.com.", "sub.example.com.", "deep.sub.example.com.", "txt.example.com.", "app.example.com.",
		"v4only.example.com.", "empty.example.com.", "both.example.com.", "alias.example.com.", "www-alias.example.com.",
		"foo.wild.example.com.", "www.child.example.com.", "_https._tcp.web.example.com.", "web1.web.example.com.",
		"example.net.", "ns1.example.net.", "nope.example.net.", "www.example.net.", "big.example.com.",
		"pair.example.com.",
	}
	qtypes := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeNS, dns.TypeSOA, dns.TypeTXT, dns.TypeCNAME, dns.TypeSRV, dns.TypeCAA, dns.TypeDNSKEY, dns.TypeCDS}
	fast := 0
	for _, qn := range qnames {
		for _, qt := range qtypes {
			for _, edns := range []bool{false, true} {
				req := new(dns.Msg)
				req.SetQuestion(qn, qt)
				req.Id = 4711
				if edns {
					req.SetEdns0(1232, true)
				}
				raw, err := req.Pack()
				if err != nil {
					t.Fatal(err)
				}
				out := s.fastAnswer(p, raw, nil, s.metrics.newReader())
				if out == nil {
					continue
				}
				fast++
				if edns {
					fastDO++
				}
				got := new(dns.Msg)
				if err := got.Unpack(out); err != nil {
					t.Fatalf("%s %s: fast answer does not parse: %v", qn, dns.TypeToString[qt], err)
				}
				want, _, _ := s.handle(remote, req)
				if got.Id != 4711 || got.MsgHdr != want.MsgHdr || got.Question[0] != req.Question[0] {
					t.Errorf("%s %s edns=%v: header/question\n%+v %v\nwant\n%+v %v", qn, dns.TypeToString[qt], edns, got.MsgHdr, got.Question, want.MsgHdr, want.Question)
				}
				if dynamicPick(qn, qt) {
					if key != nil && edns {
						checkSigned(t, key, got.Answer)
						if qn == "pair.example.com." && len(got.Answer) != 2 {
							t.Errorf("pair: %d answer records, want the picked A and its RRSIG", len(got.Answer))
						}
					}
					continue // random picks; checked by count below
				}
				if !sameRRs(got.Answer, want.Answer) || !sameRRs(got.Ns, want.Ns) || !sameRRs(got.Extra, want.Extra) {
					t.Errorf("%s %s edns=%v:\nfast %v\nfull %v", qn, dns.TypeToString[qt], edns, got, want)
				}
				if full := s.slowAnswer(raw, remote.AddrPort(), nil, time.Now()); !bytes.Equal(out, full) {
					t.Errorf("%s %s edns=%v: not the full path's bytes\nfast %x\nfull %x", qn, dns.TypeToString[qt], edns, out, full)
				}
				if edns && (got.IsEdns0() == nil || !got.IsEdns0().Do() || got.IsEdns0().UDPSize() != maxUDPSize) {
					t.Errorf("%s %s: OPT %v", qn, dns.TypeToString[qt], got.IsEdns0())
				}
			}
		}
	}
	if fast < 100 {
		t.Fatalf("only %d queries took the fast path", fast)
	}
	return fastDO
}

func dynamicPick(qn string, qt uint16) bool {
	return (qn == "app.example.com." || qn == "pair.example.com.") && qt == dns.TypeA
}

func TestFastPathDeclines(t *testing.T) {
	s, err := NewServer(Options{ECS: true}, zaptest.NewLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.Publish(testSnapshot(t))
	p := s.cur.Load()
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	q := func(name string, qt uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		return m
	}
	ecs := q("static.example.com.", dns.TypeA)
	ecs.SetEdns0(1232, false)
	ecs.IsEdns0().Option = append(ecs.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(192, 0, 2, 0)})
	badVers := q("static.example.com.", dns.TypeA)
	badVers.SetEdns0(1232, false)
	badVers.IsEdns0().SetVersion(1)
	chaos := q("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	cases := []struct {
		name string
		raw  []byte
	}{
		{"ECSNeedsFullPath", pack(ecs)},
		{"EDNSVersion1", pack(badVers)},
		{"Chaos", pack(chaos)},
		{"ANY", pack(q("static.example.com.", dns.TypeANY))},
		{"AXFR", pack(q("example.com.", dns.TypeAXFR))},
		{"CNAMEChase", pack(q("alias.example.com.", dns.TypeA))},
		{"Wildcard", pack(q("x.wild.example.com.", dns.TypeA))},
		{"TooBigFor512", pack(q("big.example.com.", dns.TypeTXT))},
		{"OutsideZones", pack(q("example.org.", dns.TypeA))},
		{"TrailingGarbage", append(pack(q("static.example.com.", dns.TypeA)), 1, 2, 3)},
		{"Truncated", pack(q("static.example.com.", dns.TypeA))[:20]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if out := s.fastAnswer(p, tc.raw, nil, s.metrics.newReader()); out != nil {
				t.Fatalf("fast path answered")
			}
		})
	}
}

// BenchmarkFastAnswer is one pre-packed UDP answer (query parse, lookup,
// weighted pick, response assembly) without the socket.
func BenchmarkFastAnswer(b *testing.B) {
	s, err := NewServer(Options{}, nil, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	s.Publish(testSnapshot(b))
	p := s.cur.Load()
	for _, qn := range []string{"static.example.com.", "v4only.example.com.", "nope.example.net."} {
		b.Run(qn, func(b *testing.B) {
			req := new(dns.Msg)
			req.SetQuestion(qn, dns.TypeA)
			raw, _ := req.Pack()
			out := make([]byte, 0, 4096)
			st := s.metrics.newReader()
			b.ReportAllocs()
			for b.Loop() {
				if s.fastAnswer(p, raw, out[:0], st) == nil {
					b.Fatal("not fast")
				}
			}
		})
	}
}

func TestQueryMetricsBoundedLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := NewServer(Options{Listen: []string{"127.0.0.1:0"}}, zaptest.NewLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	s.Publish(testSnapshot(t))
	p := s.cur.Load()
	for _, q := range []struct {
		name string
		qt   uint16
	}{{"static.example.com.", dns.TypeA}, {"nope.example.net.", dns.TypeA}, {"static.example.com.", dns.TypeNAPTR}, {"example.org.", dns.TypeA}} {
		req := new(dns.Msg)
		req.SetQuestion(q.name, q.qt)
		raw, _ := req.Pack()
		if s.fastAnswer(p, raw, nil, s.metrics.newReader()) == nil {
			s.slowAnswer(raw, netip.MustParseAddrPort("127.0.0.1:53"), nil, time.Now())
		}
	}
	for _, c := range []struct{ zone, qtype, rcode string }{
		{"example.com.", "A", "NOERROR"}, {"example.net.", "A", "NXDOMAIN"},
		{"example.com.", "other", "NOERROR"}, {"none", "A", "REFUSED"},
	} {
		if v := counterValue(t, reg, "failoverd_dns_queries_total", c.zone, c.qtype, c.rcode); v != 1 {
			t.Errorf("queries{%s,%s,%s} = %v, want 1", c.zone, c.qtype, c.rcode, v)
		}
	}
}

// counterValue reads one failoverd_dns_queries_total series from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, zone, qtype, rcode string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"zone": zone, "qtype": qtype, "rcode": rcode}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
