package dnsserver

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The examples of RFC 9018 appendix A: the cookie a server with their
// secret hands out must be byte for byte theirs, or other servers sharing
// the secret (and the RFC) disagree with ours.
func TestCookieRFC9018Examples(t *testing.T) {
	j, err := newCookieJar(unhex(t, "e5e973e5a6b2a43f48e7dc849e37bfcf"))
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("198.51.100.100")
	// A.1: a client cookie alone gets a server cookie.
	state, reply := j.check(unhex(t, "2464c4abcf10c957"), ip, 1559731985)
	if state != cookieClient || hex.EncodeToString(reply) != "2464c4abcf10c957010000005cf79f111f8130c3eee29480" {
		t.Fatalf("A.1: state %d, reply %x", state, reply)
	}
	// A.2: forty minutes later that cookie is valid and renewed.
	state, reply = j.check(unhex(t, "2464c4abcf10c957010000005cf79f111f8130c3eee29480"), ip, 1559734385)
	if state != cookieValid || hex.EncodeToString(reply) != "2464c4abcf10c957010000005cf7a871d4a564a1442aca77" {
		t.Fatalf("A.2: state %d, reply %x", state, reply)
	}
}

func TestCookieCheck(t *testing.T) {
	j, err := newCookieJar(unhex(t, "000102030405060708090a0b0c0d0e0f"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := newCookieJar(nil)
	if err != nil {
		t.Fatal(err)
	}
	const issued = 1_700_000_000
	ip := netip.MustParseAddr("192.0.2.1")
	cc := unhex(t, "0123456789abcdef")
	server := func(j *cookieJar, ip string, ts uint32) []byte {
		sc := j.serverCookie(cc, netip.MustParseAddr(ip), ts)
		return append(append([]byte(nil), cc...), sc[:]...)
	}
	ours := server(j, "192.0.2.1", issued)
	flipped := append([]byte(nil), ours...)
	flipped[len(flipped)-1] ^= 1
	version2 := append([]byte(nil), ours...)
	version2[cookieClientLen] = 2

	cases := []struct {
		name    string
		cookie  []byte
		now     uint32
		want    cookieState
		renewed bool // the reply's server cookie is made at now, not issued
	}{
		{"ClientCookieAloneGetsAServerCookie", cc, issued, cookieClient, true},
		{"FreshServerCookieIsValidAndKept", ours, issued + 10, cookieValid, false},
		{"HalfHourOldServerCookieIsRenewed", ours, issued + cookieRenew + 1, cookieValid, true},
		{"HourOldServerCookieIsStillValid", ours, issued + cookieMaxAge, cookieValid, true},
		{"ExpiredServerCookieGetsAFreshOne", ours, issued + cookieMaxAge + 1, cookieClient, true},
		{"SlightlyFutureServerCookieIsValid", ours, issued - 100, cookieValid, false},
		{"FarFutureServerCookieGetsAFreshOne", ours, issued - cookieMaxFuture - 1, cookieClient, true},
		{"ServerCookieOfAnotherAddressGetsAFreshOne", server(j, "192.0.2.2", issued), issued, cookieClient, true},
		{"ServerCookieOfAnotherSecretGetsAFreshOne", server(other, "192.0.2.1", issued), issued, cookieClient, true},
		{"AlteredServerCookieGetsAFreshOne", flipped, issued, cookieClient, true},
		{"UnknownVersionGetsAFreshOne", version2, issued, cookieClient, true},
		{"ShortServerCookieGetsAFreshOne", append(append([]byte(nil), cc...), 1, 2, 3, 4, 5, 6, 7, 8), issued, cookieClient, true},
		{"LongestServerCookieGetsAFreshOne", make([]byte, cookieMaxLen), issued, cookieClient, true},
		{"EmptyIsMalformed", nil, issued, cookieMalformed, false},
		{"SevenBytesIsMalformed", cc[:7], issued, cookieMalformed, false},
		{"NineBytesIsMalformed", append(append([]byte(nil), cc...), 1), issued, cookieMalformed, false},
		{"FifteenBytesIsMalformed", make([]byte, 15), issued, cookieMalformed, false},
		{"FortyOneBytesIsMalformed", make([]byte, 41), issued, cookieMalformed, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, reply := j.check(tc.cookie, ip, tc.now)
			if state != tc.want {
				t.Fatalf("state %d, want %d", state, tc.want)
			}
			if state == cookieMalformed {
				if reply != nil {
					t.Fatalf("reply %x to a malformed cookie", reply)
				}
				return
			}
			if !bytes.Equal(reply[:cookieClientLen], tc.cookie[:cookieClientLen]) || len(reply) != cookieClientLen+cookieServerLen {
				t.Fatalf("reply %x does not carry the client cookie %x", reply, tc.cookie[:cookieClientLen])
			}
			ts := uint32(issued)
			if tc.renewed {
				ts = tc.now
			}
			sc := j.serverCookie(tc.cookie[:cookieClientLen], ip, ts)
			if !bytes.Equal(reply[cookieClientLen:], sc[:]) {
				t.Fatalf("server cookie %x, want %x (made at %d)", reply[cookieClientLen:], sc, ts)
			}
			// Whatever we hand out verifies when it comes back.
			if back, _ := j.check(reply, ip, tc.now); back != cookieValid {
				t.Fatalf("our own cookie %x does not verify", reply)
			}
		})
	}
}

func TestCookieSecretMustBe16Bytes(t *testing.T) {
	if _, err := newCookieJar(make([]byte, 15)); err == nil {
		t.Fatal("15-byte secret accepted")
	}
}

func TestBadCookieResponse(t *testing.T) {
	j, err := newCookieJar(nil)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	q := new(dns.Msg)
	q.SetQuestion("www.example.com.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"})
	raw, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := j.badCookie(raw, make([]byte, 0, 512), ip, 1_700_000_000)
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeBadCookie || r.Truncated || !r.Response || r.Id != q.Id || len(r.Answer)+len(r.Ns) != 0 {
		t.Fatalf("BADCOOKIE response %v", r)
	}
	var got string
	for _, o := range r.IsEdns0().Option {
		if c, ok := o.(*dns.EDNS0_COOKIE); ok {
			got = c.Cookie
		}
	}
	state, _ := j.check(unhex(t, got), ip, 1_700_000_000)
	if len(got) != 48 || got[:16] != "0123456789abcdef" || state != cookieValid {
		t.Fatalf("cookie %q in the BADCOOKIE response (state %d)", got, state)
	}
	// No cookie in the query: nothing to answer BADCOOKIE to.
	q.IsEdns0().Option = nil
	raw, _ = q.Pack()
	if j.badCookie(raw, nil, ip, 1_700_000_000) != nil {
		t.Fatal("BADCOOKIE to a query without a cookie")
	}
}

// TestCookieFastPathAgreesWithFullPath: a query with a COOKIE option that
// the pre-packed table can answer is answered there, exactly as the full
// path answers it, cookie included; the rest is left to the full path.
func TestCookieFastPathAgreesWithFullPath(t *testing.T) {
	s, err := NewServer(Options{Cookies: true, CookieSecret: unhex(t, "000102030405060708090a0b0c0d0e0f")}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.Publish(testSnapshot(t))
	p := s.cur.Load()
	st := s.metrics.newReader()
	src := netip.MustParseAddrPort("192.0.2.99:5300")
	now := time.Now()
	cc := unhex(t, "0123456789abcdef")
	sc := s.cookies.serverCookie(cc, src.Addr(), uint32(now.Unix())-10)
	valid := append(append([]byte(nil), cc...), sc[:]...)
	query := func(qname string, qtype uint16, size uint16, do bool, opts ...dns.EDNS0) []byte {
		m := new(dns.Msg)
		m.SetQuestion(qname, qtype)
		m.SetEdns0(size, do)
		m.IsEdns0().Option = opts
		raw, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	cookie := func(b []byte) dns.EDNS0 {
		return &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: hex.EncodeToString(b)}
	}
	nsid := &dns.EDNS0_NSID{Code: dns.EDNS0NSID}
	cases := []struct {
		name string
		q    []byte
		fast bool
	}{
		{"ClientCookieStatic", query("static.example.com.", dns.TypeA, 1232, false, cookie(cc)), true},
		{"ValidServerCookieService", query("v4only.example.com.", dns.TypeA, 1232, true, cookie(valid)), true},
		{"BadServerCookieNXDOMAIN", query("nope.example.net.", dns.TypeA, 4096, false, cookie(append(append([]byte(nil), cc...), make([]byte, 16)...))), true},
		{"CookieAmongOtherOptions", query("static.example.com.", dns.TypeA, 1232, false, nsid, cookie(cc)), true},
		{"MalformedCookieIsLeftToTheFullPath", query("static.example.com.", dns.TypeA, 1232, false, cookie(cc[:5])), false},
		{"TwoCookiesAreLeftToTheFullPath", query("static.example.com.", dns.TypeA, 1232, false, cookie(cc), cookie(cc)), false},
		{"SmallLimitIsLeftToTheFullPath", query("static.example.com.", dns.TypeA, 512, false, cookie(cc)), false},
		{"NoCookieIsNotItsBusiness", query("static.example.com.", dns.TypeA, 1232, false), false},
		{"TooBigWithTheCookieIsLeftToTheFullPath", query("big.example.com.", dns.TypeTXT, 1232, false, cookie(cc)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fast := s.fastCookieAnswer(p, tc.q, make([]byte, 0, 2048), st, src.Addr(), now)
			if (fast != nil) != tc.fast {
				t.Fatalf("fast answer %v, want %v", fast != nil, tc.fast)
			}
			if fast == nil {
				return
			}
			slow := s.slowAnswer(tc.q, src, make([]byte, 0, 2048), now)
			var fm, sm dns.Msg
			if err := fm.Unpack(fast); err != nil {
				t.Fatalf("fast answer: %v", err)
			}
			if err := sm.Unpack(slow); err != nil {
				t.Fatal(err)
			}
			fc, scookie := cookieOf(t, &fm), cookieOf(t, &sm)
			if len(fc) != 24 || string(fc[:8]) != string(cc) {
				t.Fatalf("fast answer's cookie %x", fc)
			}
			// Both paths stamp the time; within the same second they agree.
			if string(fc[12:16]) == string(scookie[12:16]) && string(fc) != string(scookie) {
				t.Fatalf("cookies differ: fast %x, full %x", fc, scookie)
			}
			if state, _ := s.cookies.check(fc, src.Addr(), uint32(now.Unix())); state != cookieValid {
				t.Fatalf("fast answer's cookie %x does not verify", fc)
			}
			fm.Extra, sm.Extra = withoutOPT(fm.Extra), withoutOPT(sm.Extra)
			if fm.MsgHdr != sm.MsgHdr || !sameRRs(fm.Answer, sm.Answer) || !sameRRs(fm.Ns, sm.Ns) || !sameRRs(fm.Extra, sm.Extra) {
				t.Fatalf("fast:\n%v\nfull:\n%v", &fm, &sm)
			}
			if fo, so := fm.IsEdns0(), sm.IsEdns0(); (fo == nil) != (so == nil) {
				t.Fatalf("OPT: fast %v, full %v", fo, so)
			}
		})
	}
}

func withoutOPT(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

func BenchmarkFastCookieAnswer(b *testing.B) {
	s, err := NewServer(Options{Cookies: true}, nil, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	s.Publish(testSnapshot(b))
	p := s.cur.Load()
	m := new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"}}
	raw, _ := m.Pack()
	out := make([]byte, 0, 2048)
	st := s.metrics.newReader()
	src := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if s.fastCookieAnswer(p, raw, out[:0], st, src, now) == nil {
			b.Fatal("not fast")
		}
	}
}
