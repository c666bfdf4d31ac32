package dnsserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

func xfrSnapshot(t testing.TB, serial uint32, addrs ...string) *Snapshot {
	zd := mustLoad(t, ZoneConfig{
		Origin: "example.com.", Hostname: "ns1.example.com.", DefaultTTL: 300,
		Records: []StaticRecord{
			{Name: "ns1.example.com.", Type: "A", RData: []string{"127.0.0.1"}},
			{Name: "static.example.com.", Type: "A", TTL: 60, RData: []string{"192.0.2.80"}},
			{Name: "app.example.com.", Type: "TXT", RData: []string{"static txt"}},
			{Name: "app.example.com.", Type: "A", RData: []string{"192.0.2.250"}},
		},
	})
	var ws []Weighted
	for _, a := range addrs {
		ws = append(ws, w(a, 1))
	}
	return &Snapshot{Zones: []ZoneSnapshot{{Data: zd, Serial: serial, Names: map[string]*Dynamic{
		"app.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{
			"global":  {ServeCount: 1, A: ws, AAAA: []Weighted{w("2001:db8::1", 1)}},
			"EU West": {A: []Weighted{w("198.51.100.9", 1)}},
		}},
		"cn.example.com.": {TTL: 5, Regions: map[string]*RegionAnswer{"global": {CNAME: "static.example.com."}}},
	}}}}
}

func transferIn(t *testing.T, addr string, qtype uint16, serial uint32) ([]dns.RR, error) {
	t.Helper()
	m := new(dns.Msg)
	if qtype == dns.TypeIXFR {
		m.SetIxfr("example.com.", serial, "ns1.example.com.", "hostmaster.example.com.")
	} else {
		m.SetAxfr("example.com.")
	}
	tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}
	ch, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var out []dns.RR
	for env := range ch {
		if env.Error != nil {
			return out, env.Error
		}
		out = append(out, env.RR...)
	}
	return out, nil
}

func TestZoneTransfer(t *testing.T) {
	_, addr := startServer(t, Options{TransferAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		xfrSnapshot(t, 2024010107, "192.0.2.10", "192.0.2.11", "192.0.2.12"))
	soa := "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024010107 3600 600 1209600 60"
	full := rrs(t, soa,
		"example.com. 300 IN NS ns1.example.com.",
		"ns1.example.com. 300 IN A 127.0.0.1",
		"static.example.com. 60 IN A 192.0.2.80",
		`app.example.com. 300 IN TXT "static txt"`,
		"app.example.com. 5 IN A 192.0.2.10",
		"app.example.com. 5 IN A 192.0.2.11",
		"app.example.com. 5 IN A 192.0.2.12",
		"app.example.com. 5 IN AAAA 2001:db8::1",
		"cn.example.com. 5 IN CNAME static.example.com.",
		soa,
	)
	t.Run("AXFRIsWholeGlobalServedSet", func(t *testing.T) {
		got, err := transferIn(t, addr, dns.TypeAXFR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !sameRRs(got, full) {
			t.Fatalf("AXFR:\n%v\nwant:\n%v", got, full)
		}
		if got[0].Header().Rrtype != dns.TypeSOA || got[len(got)-1].Header().Rrtype != dns.TypeSOA {
			t.Fatal("AXFR does not start and end with the SOA")
		}
	})
	t.Run("IXFRFromOldSerialIsAXFR", func(t *testing.T) {
		got, err := transferIn(t, addr, dns.TypeIXFR, 2024010100)
		if err != nil {
			t.Fatal(err)
		}
		if !sameRRs(got, full) {
			t.Fatalf("IXFR:\n%v\nwant:\n%v", got, full)
		}
	})
	t.Run("IXFRCurrentIsSOAOnly", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetIxfr("example.com.", 2024010107, "ns1.example.com.", "hostmaster.example.com.")
		r := exchange(t, "tcp", addr, m)
		if !sameRRs(r.Answer, rrs(t, soa)) {
			t.Fatalf("IXFR current: %v", r.Answer)
		}
	})
	t.Run("AXFROverUDPSetsTC", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetAxfr("example.com.")
		r := exchange(t, "udp", addr, m)
		if !r.Truncated || len(r.Answer) != 0 {
			t.Fatalf("AXFR over UDP: TC=%v %v", r.Truncated, r.Answer)
		}
	})
	t.Run("AXFROfUnknownZoneIsNOTAUTH", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetAxfr("example.org.")
		r := exchange(t, "tcp", addr, m)
		if r.Rcode != dns.RcodeNotAuth {
			t.Fatalf("rcode %s", dns.RcodeToString[r.Rcode])
		}
	})
}

func TestZoneTransferRefused(t *testing.T) {
	cases := []struct {
		name  string
		allow []netip.Prefix
	}{
		{"NoTransferBlock", nil},
		{"ClientNotInAllow", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startServer(t, Options{TransferAllow: tc.allow}, xfrSnapshot(t, 5, "192.0.2.10"))
			for _, qt := range []uint16{dns.TypeAXFR, dns.TypeIXFR} {
				m := new(dns.Msg)
				m.SetQuestion("example.com.", qt)
				if qt == dns.TypeIXFR {
					m.SetIxfr("example.com.", 1, "a.", "b.")
				}
				r := exchange(t, "tcp", addr, m)
				if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
					t.Fatalf("%s: rcode %s, %d records", dns.TypeToString[qt], dns.RcodeToString[r.Rcode], len(r.Answer))
				}
			}
		})
	}
}

// notifySink is a real DNS server on loopback that records the NOTIFYs it gets.
type notifySink struct {
	mu   sync.Mutex
	got  []string
	kick chan struct{}
}

func (n *notifySink) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if r.Opcode == dns.OpcodeNotify && len(r.Question) == 1 {
		serial := uint32(0)
		for _, rr := range r.Answer {
			if soa, ok := rr.(*dns.SOA); ok {
				serial = soa.Serial
			}
		}
		n.mu.Lock()
		n.got = append(n.got, fmt.Sprintf("%s %d", r.Question[0].Name, serial))
		n.mu.Unlock()
		select {
		case n.kick <- struct{}{}:
		default:
		}
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	w.WriteMsg(m)
}

func (n *notifySink) wait(t *testing.T, want int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		n.mu.Lock()
		got := append([]string(nil), n.got...)
		n.mu.Unlock()
		if len(got) >= want {
			return got
		}
		select {
		case <-n.kick:
		case <-deadline:
			t.Fatalf("got NOTIFYs %v, want %d", got, want)
		}
	}
}

func TestNotifyOnSerialChange(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &notifySink{kick: make(chan struct{}, 1)}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: sink, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	<-started

	s, _ := startServer(t, Options{Notify: []string{pc.LocalAddr().String()}}, xfrSnapshot(t, 10, "192.0.2.10"))
	if got := sink.wait(t, 1); got[0] != "example.com. 10" {
		t.Fatalf("first NOTIFY %v", got)
	}
	s.Publish(xfrSnapshot(t, 10, "192.0.2.10")) // same serial: no NOTIFY
	s.Publish(xfrSnapshot(t, 11, "192.0.2.11"))
	got := sink.wait(t, 2)
	if got[1] != "example.com. 11" {
		t.Fatalf("NOTIFYs %v, want a second for serial 11", got)
	}
	time.Sleep(200 * time.Millisecond) // a NOTIFY for the unchanged serial would have arrived by now
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) != 2 {
		t.Fatalf("NOTIFYs %v, want exactly 2", sink.got)
	}
}

// TestKnotSecondaryInterop: a real Knot secondary transfers the zone, and
// after a change the NOTIFY makes it serve the new answer.
func TestKnotSecondaryInterop(t *testing.T) {
	testutil.RequireTool(t, "knot", "knotd")
	// Knot's port is needed first: it is the NOTIFY target.
	knotPort := testutil.FreePort(t, "127.0.0.1")
	s, addr := startServer(t, Options{
		TransferAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Notify:        []string{fmt.Sprintf("127.0.0.1:%d", knotPort)},
	}, xfrSnapshot(t, 2024010100, "192.0.2.10", "192.0.2.11"))
	testutil.StartKnot(t, testutil.KnotOptions{Port: knotPort, Zones: []testutil.KnotZone{{Domain: "example.com", Primary: addr}}})
	knotAddr := fmt.Sprintf("127.0.0.1:%d", knotPort)

	// waitFor polls the secondary (bounded) until app.example.com A is want.
	waitFor := func(want ...string) {
		t.Helper()
		wantRRs := make([]string, len(want))
		for i, a := range want {
			wantRRs[i] = "app.example.com. 5 IN A " + a
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := &dns.Client{Timeout: time.Second}
		var last string
		for ctx.Err() == nil {
			m := new(dns.Msg)
			m.SetQuestion("app.example.com.", dns.TypeA)
			r, _, err := c.ExchangeContext(ctx, m, knotAddr)
			if err == nil && r.Rcode == dns.RcodeSuccess && sameRRs(r.Answer, rrs(t, wantRRs...)) {
				return
			}
			if err != nil {
				last = err.Error()
			} else {
				last = fmt.Sprint(dns.RcodeToString[r.Rcode], r.Answer)
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		t.Fatalf("secondary never answered %v; last: %s", want, last)
	}
	waitFor("192.0.2.10", "192.0.2.11")

	s.Publish(xfrSnapshot(t, 2024010101, "192.0.2.42"))
	waitFor("192.0.2.42")

	// dig against the secondary shows the new answer too.
	if dig, err := exec.LookPath("dig"); err == nil {
		out, err := exec.Command(dig, "+short", "+tries=1", "+time=2", "-p", fmt.Sprint(knotPort), "@127.0.0.1", "app.example.com", "A").CombinedOutput()
		if err != nil {
			t.Fatalf("dig: %v\n%s", err, out)
		}
		if strings.TrimSpace(string(out)) != "192.0.2.42" {
			t.Fatalf("dig @secondary: %q", out)
		}
		out, err = exec.Command(dig, "+short", "+tries=1", "+time=2", "-p", fmt.Sprint(knotPort), "@127.0.0.1", "example.com", "SOA").CombinedOutput()
		if err != nil || !strings.Contains(string(out), " 2024010101 ") {
			t.Fatalf("dig SOA @secondary: %v %q", err, out)
		}
	} else if os.Getenv("FAILOVERD_REQUIRE_TOOLS") == "1" {
		t.Fatal("dig not found (Debian package dnsutils)")
	}
}

// TestZoneTransferOfALargeZoneSpansMessages: a zone of over 2,000
// records (more than one 64 KiB message uncompressed) arrives whole,
// SOA first and last, in several messages.
func TestZoneTransferOfALargeZoneSpansMessages(t *testing.T) {
	snap := knotDiffSnapshot(t)
	_, addr := startServer(t, Options{TransferAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, snap)
	m := new(dns.Msg)
	m.SetAxfr("example.com.")
	tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var got []dns.RR
	msgs := 0
	for env := range ch {
		if env.Error != nil {
			t.Fatal(env.Error)
		}
		msgs++
		got = append(got, env.RR...)
	}
	want := snap.Zones[0].Data.Records()
	if len(got) != len(want)+1 || got[0].Header().Rrtype != dns.TypeSOA || got[len(got)-1].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("got %d records (first %v, last %v), want %d with SOA first and last", len(got), got[0], got[len(got)-1], len(want)+1)
	}
	if !sameRRs(got[:len(got)-1], want) {
		t.Fatal("transferred records differ from the zone's")
	}
	if msgs < 3 {
		t.Fatalf("%d messages: the zone was not split", msgs)
	}
}
