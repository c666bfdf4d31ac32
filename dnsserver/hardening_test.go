package dnsserver

import (
	"encoding/hex"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// Tests of the server on the open internet (issue 17): TCP limits, RRL,
// DNS Cookies and hidden identity, against a real server on loopback.

func TestTCPFloodFromOneClientLeavesOthersServed(t *testing.T) {
	const perClient = 4
	_, addr := startServer(t, Options{TCP: TCPLimits{MaxConnsPerClient: perClient}}, testSnapshot(t))
	for i := range perClient {
		if err := tcpQuery(dialFrom(t, "127.0.0.1", addr)); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	if err := tcpQueryFrom(t, "127.0.0.1", addr); err == nil {
		t.Fatalf("connection %d from one client answered", perClient+1)
	}
	// The flooder's cap is its own: another client is served over TCP,
	// and the flooder itself still over UDP.
	if err := tcpQuery(dialFrom(t, "127.0.0.2", addr)); err != nil {
		t.Fatalf("another client over TCP: %v", err)
	}
	m := new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	if r := exchange(t, "udp", addr, m); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("UDP during the flood: %v", r)
	}
}

// udpBurst sends n copies of m (fresh IDs) from one socket bound to src,
// in bursts, and collects the responses until none came for a while.
func udpBurst(t *testing.T, src, addr string, m *dns.Msg, n int) []*dns.Msg {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(4 << 20)
	var got []*dns.Msg
	buf := make([]byte, 4096)
	read := func(wait time.Duration) {
		for {
			c.SetReadDeadline(time.Now().Add(wait))
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			r := new(dns.Msg)
			if err := r.Unpack(buf[:k]); err != nil {
				t.Fatalf("response %d: %v", len(got), err)
			}
			got = append(got, r)
		}
	}
	const burst = 50
	for sent := 0; sent < n; {
		for i := 0; i < burst && sent < n; i++ {
			q := m.Copy()
			q.Id = uint16(sent)
			raw, err := q.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WriteToUDP(raw, raddr); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		read(20 * time.Millisecond)
	}
	read(500 * time.Millisecond)
	return got
}

func countResponses(rs []*dns.Msg) (full, truncated, badCookie int) {
	for _, r := range rs {
		switch {
		case r.Rcode == dns.RcodeBadCookie:
			badCookie++
		case r.Truncated:
			if len(r.Answer)+len(r.Ns) != 0 {
				panic("slip response with records")
			}
			truncated++
		case r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0:
			full++
		}
	}
	return full, truncated, badCookie
}

func TestRRLOverUDP(t *testing.T) {
	const rate, n = 10, 1000
	_, addr := startServer(t, Options{RRL: &RRL{
		ResponsesPerSecond: rate, Slip: 2, IPv4Prefix: 32,
		Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")},
	}}, testSnapshot(t))
	q := new(dns.Msg)
	q.SetQuestion("static.example.com.", dns.TypeA)

	t.Run("OneSourceGetsTheRateAndSlips", func(t *testing.T) {
		start := time.Now()
		rs := udpBurst(t, "127.0.0.1", addr, q, n)
		elapsed := time.Since(start).Seconds()
		full, truncated, _ := countResponses(rs)
		// A second's burst, then the rate for the time the test took.
		if maxFull := rate + int(rate*elapsed) + 1; full < rate || full > maxFull {
			t.Fatalf("%d full answers in %.1f s, want %d..%d", full, elapsed, rate, maxFull)
		}
		limited := n - full
		if truncated < limited*2/5 || truncated > limited/2+1 {
			t.Fatalf("%d truncated of %d limited responses, want about half (slip 2)", truncated, limited)
		}
	})
	t.Run("ExemptSourceIsNeverLimited", func(t *testing.T) {
		rs := udpBurst(t, "127.0.0.3", addr, q, 200)
		if full, truncated, _ := countResponses(rs); full != 200 || truncated != 0 {
			t.Fatalf("exempt client: %d full, %d truncated of 200", full, truncated)
		}
	})
	t.Run("TCPIsNeverLimited", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", addr)
		for i := range 3 * rate {
			if err := tcpQuery(c); err != nil {
				t.Fatalf("TCP query %d from the limited client: %v", i+1, err)
			}
		}
	})
}

// cookieOf returns the COOKIE option data of r (nil: none).
func cookieOf(t *testing.T, r *dns.Msg) []byte {
	t.Helper()
	opt := r.IsEdns0()
	if opt == nil {
		return nil
	}
	for _, o := range opt.Option {
		if c, ok := o.(*dns.EDNS0_COOKIE); ok {
			return unhex(t, c.Cookie)
		}
	}
	return nil
}

func withCookie(qname string, cookie []byte) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	m.SetEdns0(1232, false)
	if cookie != nil {
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: hex.EncodeToString(cookie)})
	}
	return m
}

func TestCookiesOverUDP(t *testing.T) {
	_, addr := startServer(t, Options{Cookies: true}, testSnapshot(t))
	cc := unhex(t, "0123456789abcdef")
	first := exchange(t, "udp", addr, withCookie("static.example.com.", cc))
	server := cookieOf(t, first)
	if first.Rcode != dns.RcodeSuccess || len(first.Answer) == 0 || len(server) != 24 || string(server[:8]) != string(cc) || server[8] != 1 {
		t.Fatalf("client cookie alone: rcode %s, cookie %x", dns.RcodeToString[first.Rcode], server)
	}
	bad := append([]byte(nil), server...)
	bad[23] ^= 0xFF
	cases := []struct {
		name       string
		cookie     []byte
		rcode      int
		wantCookie []byte // nil: any fresh one for cc; "none": no option
		noCookie   bool
	}{
		{"ValidServerCookieIsAcceptedAndKept", server, dns.RcodeSuccess, server, false},
		{"BadServerCookieIsAnsweredWithAFreshOne", bad, dns.RcodeSuccess, nil, false},
		{"MalformedCookieIsFORMERR", cc[:5], dns.RcodeFormatError, nil, true},
		{"NoCookieIsAnsweredAsBefore", nil, dns.RcodeSuccess, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := exchange(t, "udp", addr, withCookie("static.example.com.", tc.cookie))
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			got := cookieOf(t, r)
			switch {
			case tc.noCookie && got != nil:
				t.Fatalf("cookie %x in the answer", got)
			case tc.noCookie:
			case tc.wantCookie != nil && string(got) != string(tc.wantCookie):
				t.Fatalf("cookie %x, want %x", got, tc.wantCookie)
			case len(got) != 24 || string(got[:8]) != string(cc) || string(got) == string(bad):
				t.Fatalf("cookie %x, want a fresh server cookie for %x", got, cc)
			}
			if r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0 {
				t.Fatal("no answer")
			}
		})
	}
	t.Run("CookiesOffIgnoresTheOption", func(t *testing.T) {
		_, off := startServer(t, Options{}, testSnapshot(t))
		r := exchange(t, "udp", off, withCookie("static.example.com.", cc))
		if r.Rcode != dns.RcodeSuccess || cookieOf(t, r) != nil {
			t.Fatalf("cookies off: rcode %s, cookie %x", dns.RcodeToString[r.Rcode], cookieOf(t, r))
		}
	})
}

// TestCookiesWithDig: dig sends a client cookie and reports the server
// cookie it gets back as good.
func TestCookiesWithDig(t *testing.T) {
	dig := testutil.RequireTool(t, "bind9-dnsutils", "dig")
	_, addr := startServer(t, Options{Cookies: true}, testSnapshot(t))
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(dig, "+cookie", "+tries=1", "+time=2", "-p", port, "@"+host, "static.example.com", "A").CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "COOKIE: ") || !strings.Contains(string(out), "(good)") || !strings.Contains(string(out), "192.0.2.") {
		t.Fatalf("dig +cookie:\n%s", out)
	}
}

func TestRRLSparesValidCookies(t *testing.T) {
	const rate = 5
	_, addr := startServer(t, Options{Cookies: true, RRL: &RRL{ResponsesPerSecond: rate, Slip: 1, IPv4Prefix: 32}}, testSnapshot(t))
	cc := unhex(t, "0123456789abcdef")
	// Learn a server cookie over TCP (never limited, same source address).
	var server []byte
	{
		c := dialFrom(t, "127.0.0.1", addr)
		dc := &dns.Conn{Conn: c}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := dc.WriteMsg(withCookie("static.example.com.", cc)); err != nil {
			t.Fatal(err)
		}
		r, err := dc.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		server = cookieOf(t, r)
	}
	t.Run("ValidServerCookieIsNeverLimited", func(t *testing.T) {
		rs := udpBurst(t, "127.0.0.1", addr, withCookie("static.example.com.", server), 100)
		if full, truncated, badc := countResponses(rs); full != 100 {
			t.Fatalf("%d full, %d truncated, %d BADCOOKIE of 100 with a valid cookie", full, truncated, badc)
		}
	})
	t.Run("ClientCookieAloneSlipsAsBADCOOKIE", func(t *testing.T) {
		rs := udpBurst(t, "127.0.0.2", addr, withCookie("static.example.com.", cc), 100)
		full, truncated, badc := countResponses(rs)
		if full < rate || full > 50 || truncated != 0 || full+badc != 100 {
			t.Fatalf("%d full, %d truncated, %d BADCOOKIE of 100 with a client cookie", full, truncated, badc)
		}
		for _, r := range rs {
			if r.Rcode == dns.RcodeBadCookie {
				if got := cookieOf(t, r); len(got) != 24 || string(got[:8]) != string(cc) {
					t.Fatalf("BADCOOKIE with cookie %x", got)
				}
				break
			}
		}
	})
}

func TestHideIdentity(t *testing.T) {
	for _, hide := range []bool{false, true} {
		_, addr := startServer(t, Options{Hostname: "ns1.test", Version: "failoverd 1.2", HideIdentity: hide}, testSnapshot(t))
		for _, name := range []string{"version.bind.", "version.server.", "id.server.", "hostname.bind."} {
			m := new(dns.Msg)
			m.SetQuestion(name, dns.TypeTXT)
			m.Question[0].Qclass = dns.ClassCHAOS
			for _, netw := range []string{"udp", "tcp"} {
				r := exchange(t, netw, addr, m)
				refused := r.Rcode == dns.RcodeRefused && len(r.Answer) == 0
				if refused != hide {
					t.Errorf("hide_identity %v: %s over %s: rcode %s, %v", hide, name, netw, dns.RcodeToString[r.Rcode], r.Answer)
				}
			}
		}
	}
}
