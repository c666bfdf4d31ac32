package dnsserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// FuzzHardeningParsers feeds arbitrary packets to the code that reads raw
// queries and responses for rate limiting and cookies: it must never
// panic, and what it writes must be a well-formed message.
func FuzzHardeningParsers(f *testing.F) {
	s, err := NewServer(Options{Cookies: true, RRL: &RRL{ResponsesPerSecond: 1, Slip: 1}}, zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	s.Publish(testSnapshot(f))
	for _, b := range seedQueries() {
		f.Add(b)
	}
	m := new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	m.SetEdns0(1232, true)
	m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"}}
	if b, err := m.Pack(); err == nil {
		f.Add(b)
	}
	src := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := s.cur.Load()
		st := s.metrics.newReader()
		now := time.Now()
		s.rrl.decide(raw, src, s.rrl.micros(now))
		rawCookie(raw)
		// raw as a response: sent as it is, or replaced by a slip response.
		limited := s.limitUDP(raw, raw, src, now, make([]byte, 0, 2048))
		if len(limited) == 0 || len(raw) > 0 && &limited[0] == &raw[0] {
			limited = nil
		}
		for name, out := range map[string][]byte{
			"slip":      slipResponse(raw, make([]byte, 0, 2048)),
			"badcookie": s.cookies.badCookie(raw, make([]byte, 0, 2048), src, uint32(now.Unix())),
			"fast":      s.fastCookieAnswer(p, raw, make([]byte, 0, 2048), st, src, now),
			"limited":   limited,
		} {
			if out == nil {
				continue
			}
			r := new(dns.Msg)
			if err := r.Unpack(out); err != nil {
				t.Fatalf("%s response does not parse: %v\n%x", name, err, out)
			}
		}
	})
}
