package dnsserver

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// rrlResp packs a response to (qname, qtype) with rcode, AA and the given
// answer and authority records (zone text).
func rrlResp(t testing.TB, qname string, qtype uint16, rcode int, aa bool, answer, ns []string) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response, m.Authoritative, m.Rcode = true, aa, rcode
	m.Answer = rrs(t, answer...)
	m.Ns = rrs(t, ns...)
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const rrlSOA = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 1209600 60"

// rrlStep is one response sent at a time (ms on the limiter's clock) to src.
type rrlStep struct {
	resp []byte
	src  string
	ms   int64
	n    int // repeated n times (default 1)
}

func TestRRL(t *testing.T) {
	answer := func(name string, qtype uint16) []byte {
		rr := name + " 60 IN A 192.0.2.1"
		if qtype == dns.TypeAAAA {
			rr = name + " 60 IN AAAA 2001:db8::1"
		}
		return rrlResp(t, name, qtype, dns.RcodeSuccess, true, []string{rr}, nil)
	}
	nxdomain := func(name string) []byte {
		return rrlResp(t, name, dns.TypeA, dns.RcodeNameError, true, nil, []string{rrlSOA})
	}
	nodata := func(name string, qtype uint16) []byte {
		return rrlResp(t, name, qtype, dns.RcodeSuccess, true, nil, []string{rrlSOA})
	}
	referral := func(name string) []byte {
		return rrlResp(t, name, dns.TypeA, dns.RcodeSuccess, false, nil, []string{"sub.example.com. 300 IN NS ns.other.net."})
	}
	refused := func(name string) []byte {
		return rrlResp(t, name, dns.TypeA, dns.RcodeRefused, false, nil, nil)
	}
	www := answer("www.example.com.", dns.TypeA)

	cases := []struct {
		name  string
		cfg   RRL
		steps []rrlStep
		want  [3]int // sent, dropped, slipped
	}{
		{"BurstOfOneSecondThenLimited", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 20}}, [3]int{5, 15, 0}},
		{"EverySlipthLimitedResponseIsTruncated", RRL{ResponsesPerSecond: 5, Slip: 2},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 25}}, [3]int{5, 10, 10}},
		{"SlipOneTruncatesEveryLimitedResponse", RRL{ResponsesPerSecond: 5, Slip: 1},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 25}}, [3]int{5, 0, 20}},
		{"TheRateRefillsOverTime", RRL{ResponsesPerSecond: 10},
			[]rrlStep{
				{resp: www, src: "192.0.2.7", n: 30},             // 10 sent
				{resp: www, src: "192.0.2.7", ms: 500, n: 30},    // 5 more
				{resp: www, src: "192.0.2.7", ms: 10_000, n: 30}, // a full second's worth again
			}, [3]int{25, 65, 0}},
		{"SameClientPrefixSharesAnAccount", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: www, src: "192.0.2.200", n: 5}}, [3]int{5, 5, 0}},
		{"OtherClientPrefixHasItsOwnAccount", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: www, src: "192.0.3.7", n: 5}}, [3]int{10, 0, 0}},
		{"IPv4PrefixLengthIsConfigurable", RRL{ResponsesPerSecond: 5, IPv4Prefix: 32},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: www, src: "192.0.2.8", n: 5}}, [3]int{10, 0, 0}},
		{"IPv6ClientsGroupedBySlash56", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "2001:db8:0:1::1", n: 5}, {resp: www, src: "2001:db8:0:ff::2", n: 5}, {resp: www, src: "2001:db8:0:100::1", n: 5}}, [3]int{10, 5, 0}},
		{"IPv4MappedIPv6IsIPv4", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: www, src: "::ffff:192.0.2.9", n: 5}}, [3]int{5, 5, 0}},
		{"ExemptClientsAreNeverLimited", RRL{ResponsesPerSecond: 5, Exempt: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/25")}},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 50}, {resp: www, src: "192.0.2.200", n: 10}}, [3]int{55, 5, 0}},
		{"AnswersPerQname", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: answer("api.example.com.", dns.TypeA), src: "192.0.2.7", n: 5}}, [3]int{10, 0, 0}},
		{"AnswersPerQtype", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: answer("www.example.com.", dns.TypeAAAA), src: "192.0.2.7", n: 5}}, [3]int{10, 0, 0}},
		{"QnameCaseDoesNotMatter", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: answer("WwW.ExAmple.COM.", dns.TypeA), src: "192.0.2.7", n: 5}}, [3]int{5, 5, 0}},
		{"NXDOMAINPerZone", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: nxdomain("a.example.com."), src: "192.0.2.7", n: 3}, {resp: nxdomain("b.example.com."), src: "192.0.2.7", n: 3}, {resp: nxdomain("c.d.example.com."), src: "192.0.2.7", n: 3}}, [3]int{5, 4, 0}},
		{"NXDOMAINIsNotAnAnswer", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: www, src: "192.0.2.7", n: 5}, {resp: nxdomain("www.example.com."), src: "192.0.2.7", n: 5}}, [3]int{10, 0, 0}},
		{"NODATAPerQnameAnyQtype", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: nodata("www.example.com.", dns.TypeMX), src: "192.0.2.7", n: 3}, {resp: nodata("www.example.com.", dns.TypeTXT), src: "192.0.2.7", n: 3}, {resp: nodata("api.example.com.", dns.TypeTXT), src: "192.0.2.7", n: 3}}, [3]int{8, 1, 0}},
		{"ReferralsPerDelegation", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: referral("a.sub.example.com."), src: "192.0.2.7", n: 3}, {resp: referral("b.sub.example.com."), src: "192.0.2.7", n: 3}}, [3]int{5, 1, 0}},
		{"ErrorsPerClientPrefix", RRL{ResponsesPerSecond: 5},
			[]rrlStep{{resp: refused("a.example.org."), src: "192.0.2.7", n: 3}, {resp: refused("b.example.net."), src: "192.0.2.7", n: 3}, {resp: refused("b.example.net."), src: "198.51.100.1", n: 3}}, [3]int{8, 1, 0}},
		{"UnreadableResponsesAreNotLimited", RRL{ResponsesPerSecond: 1},
			[]rrlStep{{resp: []byte{1, 2, 3}, src: "192.0.2.7", n: 5}}, [3]int{5, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := newRateLimiter(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got [3]int
			for _, st := range tc.steps {
				for range max(st.n, 1) {
					got[l.decide(st.resp, netip.MustParseAddr(st.src), st.ms*1000)]++
				}
			}
			if got != tc.want {
				t.Fatalf("sent, dropped, slipped = %v, want %v", got, tc.want)
			}
			if int(l.dropped.Load()) != got[rrlDrop] || int(l.slipped.Load()) != got[rrlSlip] {
				t.Fatalf("counters %d dropped %d slipped, decided %v", l.dropped.Load(), l.slipped.Load(), got)
			}
		})
	}
}

func TestRRLConfigRejectsNonsense(t *testing.T) {
	for _, c := range []RRL{{}, {ResponsesPerSecond: -1}, {ResponsesPerSecond: 5, Slip: -1}, {ResponsesPerSecond: 5, IPv4Prefix: 33}, {ResponsesPerSecond: 5, IPv6Prefix: 129}} {
		if _, err := newRateLimiter(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestRRLSlipResponseIsTruncatedAndEmpty(t *testing.T) {
	for _, edns := range []bool{false, true} {
		q := new(dns.Msg)
		q.SetQuestion("WWW.example.com.", dns.TypeA)
		q.RecursionDesired, q.CheckingDisabled = true, true
		if edns {
			q.SetEdns0(1232, true)
		}
		qb, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		out := slipResponse(qb, make([]byte, 0, 512))
		r := new(dns.Msg)
		if err := r.Unpack(out); err != nil {
			t.Fatalf("edns %v: %v", edns, err)
		}
		if !r.Response || !r.Truncated || r.Authoritative || r.Id != q.Id || !r.RecursionDesired || !r.CheckingDisabled || r.Rcode != dns.RcodeSuccess {
			t.Fatalf("edns %v: header %+v", edns, r.MsgHdr)
		}
		if len(r.Question) != 1 || r.Question[0] != q.Question[0] || len(r.Answer)+len(r.Ns) != 0 {
			t.Fatalf("edns %v: %v", edns, r)
		}
		if opt := r.IsEdns0(); (opt != nil) != edns || len(r.Extra) != map[bool]int{false: 0, true: 1}[edns] || (edns && !opt.Do()) {
			t.Fatalf("edns %v: additional %v", edns, r.Extra)
		}
	}
	if slipResponse([]byte{0, 1, 2}, nil) != nil {
		t.Fatal("slip response to a header fragment")
	}
}

func BenchmarkRRLDecide(b *testing.B) {
	l, err := newRateLimiter(RRL{ResponsesPerSecond: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	resp := rrlResp(b, "www.example.com.", dns.TypeA, dns.RcodeSuccess, true, []string{"www.example.com. 60 IN A 192.0.2.1"}, nil)
	src := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for i := range b.N {
		l.decide(resp, src, int64(i))
	}
}
