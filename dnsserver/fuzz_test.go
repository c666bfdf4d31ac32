package dnsserver

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func fuzzServer(f *testing.F) *Server {
	s, err := NewServer(Options{
		ECS: true, Hostname: "ns1.example.net.", Version: "fuzz",
		RegionMap:     map[string][]netip.Prefix{"EU West": {netip.MustParsePrefix("198.51.100.0/24")}},
		TransferAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}, zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	// example.com is signed, so DO queries exercise signing and denial.
	snap := testSnapshot(f)
	key, err := GenerateKey("example.com.", "ECDSAP256SHA256")
	if err != nil {
		f.Fatal(err)
	}
	snap.Zones[0].Signer = NewSigner(key, 336*time.Hour, time.Hour, time.Now())
	s.Publish(snap)
	return s
}

func seedQueries() [][]byte {
	var out [][]byte
	add := func(m *dns.Msg) {
		b, err := m.Pack()
		if err == nil {
			out = append(out, b)
		}
	}
	for _, q := range []struct {
		name string
		t    uint16
	}{
		{"app.example.com.", dns.TypeA}, {"alias.example.com.", dns.TypeA}, {"x.wild.example.com.", dns.TypeTXT},
		{"www.child.example.com.", dns.TypeA}, {"example.com.", dns.TypeANY}, {"example.com.", dns.TypeAXFR},
		{"nope.example.com.", dns.TypeAAAA}, {"www.example.net.", dns.TypeA}, {"big.example.com.", dns.TypeTXT},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		add(m)
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(198, 51, 100, 0)})
		add(m)
		do := new(dns.Msg)
		do.SetQuestion(q.name, q.t)
		do.SetEdns0(1232, true)
		add(do)
	}
	for _, name := range []string{"\\000.example.com.", "*.example.com.", "a.b.c.nope.example.com.", "\\255\\255.wild.example.com.", "sub.example.com."} {
		do := new(dns.Msg)
		do.SetQuestion(name, dns.TypeA)
		do.SetEdns0(4096, true)
		add(do)
	}
	m := new(dns.Msg)
	m.SetQuestion("version.bind.", dns.TypeTXT)
	m.Question[0].Qclass = dns.ClassCHAOS
	add(m)
	return append(out, []byte{0, 1, 0, 0}, nil)
}

// FuzzHandleQuery feeds arbitrary packets to the query handler: it must
// never panic, and every response it builds must pack and, over UDP, fit
// the client's buffer.
func FuzzHandleQuery(f *testing.F) {
	s := fuzzServer(f)
	for _, b := range seedQueries() {
		f.Add(b, false)
	}
	udp := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
	tcp := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
	f.Fuzz(func(t *testing.T, raw []byte, overTCP bool) {
		req := new(dns.Msg)
		if err := req.Unpack(raw); err != nil {
			return // the miekg server answers FORMERR or drops these itself
		}
		var remote net.Addr = udp
		if overTCP {
			remote = tcp
		}
		m, _, xfr := s.handle(remote, req)
		if xfr != nil {
			if rrs := zoneRecords(xfr); xfr.signer != nil {
				signedZoneRecords(xfr, rrs)
			}
			return
		}
		out, err := m.Pack()
		if err != nil {
			t.Fatalf("response does not pack: %v\n%v", err, m)
		}
		if !overTCP {
			limit := dns.MinMsgSize
			if opt := req.IsEdns0(); opt != nil && opt.Version() == 0 {
				limit = max(limit, min(int(opt.UDPSize()), maxUDPSize))
			}
			if len(out) > limit {
				t.Fatalf("UDP response %d bytes > %d", len(out), limit)
			}
		}
	})
}

// FuzzLoadZone feeds arbitrary master files and inline rdata to LoadZone:
// it must return data or an error, never panic, and a loaded zone answers.
func FuzzLoadZone(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "example.com.zone"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed), "192.0.2.1", "A")
	f.Add("$TTL 5\n@ SOA a. b. 1 2 3 4 5\n*.x CNAME y\n", "10 mail", "MX")
	f.Add("$ORIGIN sub.example.com.\nx TXT \"a\" \"b\"\n", `"quoted"`, "TXT")
	f.Add("$INCLUDE /etc/passwd\n", "x", "CNAME")
	f.Fuzz(func(t *testing.T, zone, rdata, typ string) {
		path := filepath.Join(t.TempDir(), "fuzz.zone")
		if err := os.WriteFile(path, []byte(zone), 0o644); err != nil {
			t.Fatal(err)
		}
		zd, err := LoadZone(ZoneConfig{
			Origin: "example.com.", File: path, Hostname: "ns1.example.com.",
			Records: []StaticRecord{{Name: "inline.example.com.", Type: typ, RData: []string{rdata}}},
		})
		if err != nil {
			return
		}
		p := prepare(&Snapshot{Zones: []ZoneSnapshot{{Data: zd}}})
		z := p.zones["example.com."]
		for _, rr := range zd.Records() {
			m := new(dns.Msg)
			m.SetQuestion(rr.Header().Name, rr.Header().Rrtype)
			c := client{srcBits: -1}
			answerQuery(p, z, m, rr.Header().Name, rr.Header().Rrtype, &c)
			if _, err := m.Pack(); err != nil {
				t.Fatalf("answer for %s does not pack: %v", rr, err)
			}
		}
		zoneRecords(z)
	})
}

// TestGarbagePacketsNeverKillTheServer sends malformed packets to a real
// server and checks it keeps answering.
func TestGarbagePacketsNeverKillTheServer(t *testing.T) {
	_, addr := startServer(t, Options{ECS: true}, testSnapshot(t))
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	valid, _ := (&dns.Msg{Question: []dns.Question{{Name: "static.example.com.", Qtype: dns.TypeA, Qclass: dns.ClassINET}}}).Pack()
	garbage := [][]byte{
		{}, {0}, {0xff, 0xff}, make([]byte, 12), valid[:15],
		append(append([]byte{}, valid[:2]...), 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0), // QR set
		append(append([]byte{}, valid...), 0xde, 0xad),
		{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1}, // compression loop
	}
	// ECS with a bad family and a scope set in a query: FORMERR.
	bad := new(dns.Msg)
	bad.SetQuestion("static.example.com.", dns.TypeA)
	bad.SetEdns0(1232, false)
	bad.IsEdns0().Option = append(bad.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, SourceScope: 8, Address: net.IPv4(198, 51, 100, 0)})
	if b, err := bad.Pack(); err == nil {
		garbage = append(garbage, b)
	}
	for _, g := range garbage {
		if _, err := conn.Write(g); err != nil {
			t.Fatal(err)
		}
	}
	r := exchange(t, "udp", addr, bad)
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("ECS with scope in query: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
	m := new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	c := &dns.Client{Timeout: 5 * time.Second}
	if r, _, err := c.Exchange(m, addr); err != nil || len(r.Answer) != 1 {
		t.Fatalf("server stopped answering after garbage: %v %v", err, r)
	}
}
