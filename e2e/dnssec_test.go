package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// signedConfig serves a signed zone with one service of each kind, a CNAME
// failover, static records and a wildcard; signatures live 15s, so they are
// refreshed 10s after the start.
const signedConfig = `
server {
  hostname  = "ns1.example.test"
  state_dir = "{{STATE}}"
}
dns {
  listen = ["{{DNS}}"]
  transfer {
    allow  = ["127.0.0.0/8"]
    notify = ["127.0.0.1:%[2]d"]
  }
}
api { listen = "{{API}}" }
zone "example.test" {
  ttl = 5
  record "static" {
    type  = "TXT"
    rdata = ["\"hello\""]
  }
  record "backup" {
    type  = "A"
    rdata = ["127.0.0.99"]
  }
  record "*.wild" {
    type  = "TXT"
    rdata = ["\"wildcard\""]
  }
  dnssec {
    signature_lifetime = "15s"
  }
}

active_failover "af.example.test." {
  address       = "127.0.0.81"
  failover_data = "127.0.0.82"
  ttl           = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %[1]d
  }
}

active_failover "cn.example.test." {
  address       = "127.0.0.83"
  failover_mode = "cname"
  failover_data = "backup.example.test."
  ttl           = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %[1]d
  }
}

gslb "g.example.test." {
  ttl = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %[1]d
  }
  region "global" {
    serve_count = 2
    pool "127.0.0.84" {}
    pool "127.0.0.85" {}
  }
}

rttm "r.example.test." {
  ttl = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %[1]d
  }
  region "global" {
    pool "127.0.0.86" {}
  }
}

sf_pool "sf.example.test." {
  rrtype = "A"
  ttl    = 0
  rdata  = "127.0.0.87"
  monitor {
    method        = "GET"
    url           = "http://127.0.0.87:%[1]d/"
    search_string = "ok"
    interval      = "1s"
    timeout       = "300ms"
    retries       = 0
  }
  backup_record { rdata = "127.0.0.88" }
}

cluster "web" {
  service "http" {
    fqdn = "web.example.test."
    ttl  = 0
    monitor {
      protocol = "TCP"
      interval = "1s"
      timeout  = "300ms"
      retries  = 0
    }
    real_service "web1" {
      ip_address = "127.0.0.89"
      port       = %[1]d
    }
  }
}
`

// secureCase is a query a validating resolver must answer securely.
type secureCase struct {
	name  string
	qname string
	qtype uint16
	rcode int
	want  string // the sorted answer rdata joined by ","; "" for none
}

// checkSecure asks the resolver at addr each case with DO and requires
// the answer, its rcode and AD.
func checkSecure(t *testing.T, who, addr string, cases []secureCase) {
	t.Helper()
	for _, tc := range cases {
		m := new(dns.Msg)
		m.SetQuestion(tc.qname, tc.qtype)
		m.SetEdns0(4096, true)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, addr)
		if err != nil {
			t.Errorf("%s %s: %v", who, tc.name, err)
			continue
		}
		got := rdata(r.Answer)
		if r.Rcode != tc.rcode || !r.AuthenticatedData || got != tc.want {
			t.Errorf("%s %s (%s %s): rcode %s AD %v answer %q; want %s, AD, %q", who, tc.name, tc.qname, dns.TypeToString[tc.qtype],
				dns.RcodeToString[r.Rcode], r.AuthenticatedData, got, dns.RcodeToString[tc.rcode], tc.want)
		}
	}
}

// rdata is the sorted data of the A, CNAME and TXT records of rrs,
// joined by ",".
func rdata(rrs []dns.RR) string {
	var out []string
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.CNAME:
			out = append(out, v.Target)
		case *dns.TXT:
			out = append(out, strings.Join(v.Txt, ""))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// waitSecure waits until the resolver answers c securely.
func waitSecure(t *testing.T, addr string, c secureCase, within time.Duration) {
	t.Helper()
	testutil.Eventually(t, within, "secure "+c.qname, func() (bool, string) {
		m := new(dns.Msg)
		m.SetQuestion(c.qname, c.qtype)
		m.SetEdns0(4096, true)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, addr)
		if err != nil {
			return false, err.Error()
		}
		got := rdata(r.Answer)
		return r.AuthenticatedData && got == c.want, fmt.Sprintf("AD %v answer %s\n%v", r.AuthenticatedData, got, r)
	})
}

func TestDNSSEC_ValidatorsAcceptEveryAnswerBeforeAndAfterFailover(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	var targets []*target
	for _, ip := range []string{"127.0.0.81", "127.0.0.83", "127.0.0.84", "127.0.0.85", "127.0.0.86", "127.0.0.87", "127.0.0.89"} {
		targets = append(targets, newTargetOn(t, ip, port, "ok"))
	}
	knotPort := testutil.FreePort(t, "127.0.0.1")
	started := time.Now()
	d := startDaemon(t, fmt.Sprintf(signedConfig, port, knotPort))
	d.waitAnswer("af.example.test.", dns.TypeA, "127.0.0.81", 10*time.Second)

	// The key: from the API and failoverctl, and logged once with its DS.
	var info struct {
		Zone      string   `json:"zone"`
		Algorithm string   `json:"algorithm"`
		KeyTag    uint16   `json:"key_tag"`
		DNSKEY    string   `json:"dnskey"`
		DS        []string `json:"ds"`
	}
	d.getJSON("/v1/zones/example.test./dnssec", &info)
	if info.Algorithm != "ECDSAP256SHA256" || len(info.DS) != 1 || !strings.HasPrefix(info.DS[0], "example.test. 3600 IN DS "+fmt.Sprint(info.KeyTag)+" 13 2 ") {
		t.Fatalf("GET /v1/zones/example.test./dnssec: %+v", info)
	}
	ctl := exec.Command(filepath.Join(binDir, "failoverctl"), "-addr", d.apiAddr, "dnssec", "ds", "example.test")
	if out, err := ctl.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != info.DS[0] {
		t.Errorf("failoverctl dnssec ds: %v %q, want %q", err, out, info.DS[0])
	}
	var zones struct {
		Zones []struct {
			Zone   string `json:"zone"`
			Signed bool   `json:"signed"`
		} `json:"zones"`
	}
	d.getJSON("/v1/zones", &zones)
	if len(zones.Zones) != 1 || zones.Zones[0].Zone != "example.test." || !zones.Zones[0].Signed {
		t.Errorf("GET /v1/zones: %+v, want example.test. signed", zones)
	}
	if log := d.out.String(); !strings.Contains(log, "DNSSEC key created") || !strings.Contains(log, fmt.Sprint(info.KeyTag)) {
		t.Errorf("no log line with the new key's DS:\n%s", log)
	}
	if strings.Contains(d.out.String(), "PrivateKey") {
		t.Error("the daemon logged its private key")
	}

	knot := testutil.StartKnot(t, testutil.KnotOptions{Port: knotPort,
		Zones: []testutil.KnotZone{{Domain: "example.test", Primary: d.dnsAddr}}})
	direct := testutil.StartUnbound(t, testutil.UnboundOptions{TrustAnchors: []string{info.DNSKEY}, Stubs: map[string]string{"example.test": d.dnsAddr}})
	viaKnot := testutil.StartUnbound(t, testutil.UnboundOptions{TrustAnchors: []string{info.DNSKEY}, Stubs: map[string]string{"example.test": knot.Addr}})

	before := []secureCase{
		{"active_failover", "af.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.81"},
		{"active_failover_cname_mode", "cn.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.83"},
		{"gslb", "g.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.84,127.0.0.85"},
		{"rttm", "r.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.86"},
		{"sf_pool", "sf.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.87"},
		{"cluster", "web.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.89"},
		{"static", "static.example.test.", dns.TypeTXT, dns.RcodeSuccess, "hello"},
		{"wildcard", "x.wild.example.test.", dns.TypeTXT, dns.RcodeSuccess, "wildcard"},
		{"wildcard_NODATA", "x.wild.example.test.", dns.TypeA, dns.RcodeSuccess, ""},
		{"empty_non_terminal", "wild.example.test.", dns.TypeA, dns.RcodeSuccess, ""},
		{"NXDOMAIN", "nope.example.test.", dns.TypeA, dns.RcodeNameError, ""},
		{"NODATA", "af.example.test.", dns.TypeAAAA, dns.RcodeSuccess, ""},
	}
	waitSecure(t, viaKnot.Addr, before[0], 30*time.Second)
	checkSecure(t, "unbound→failoverd", direct.Addr, before)
	checkSecure(t, "unbound→knot", viaKnot.Addr, before)

	// delv with the same anchor, straight at failoverd.
	anchor := filepath.Join(t.TempDir(), "anchor.conf")
	f := strings.Fields(info.DNSKEY)
	os.WriteFile(anchor, []byte(fmt.Sprintf("trust-anchors { example.test. static-key %s %s %s %q; };\n", f[4], f[5], f[6], strings.Join(f[7:], ""))), 0o644)
	host, dport, _ := net.SplitHostPort(d.dnsAddr)
	delvPath := testutil.RequireTool(t, "bind9-dnsutils", "delv")
	for _, q := range [][2]string{{"g.example.test", "A"}, {"nope.example.test", "A"}, {"cn.example.test", "A"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, _ := exec.CommandContext(ctx, delvPath, "@"+host, "-p", dport, "-a", anchor, "+root=example.test", "+tcp", q[0], q[1]).CombinedOutput()
		cancel()
		if !strings.Contains(string(out), "fully validated") {
			t.Errorf("delv %s %s:\n%s", q[0], q[1], out)
		}
	}

	// The transfer passes the zone verifiers.
	verifyTransfer(t, d.dnsAddr, "example.test.")

	// Fail everything over.
	for _, tg := range targets {
		tg.Stop()
	}
	d.waitAnswer("af.example.test.", dns.TypeA, "127.0.0.82", 10*time.Second)
	d.waitAnswer("cn.example.test.", dns.TypeA, "127.0.0.99,backup.example.test.", 10*time.Second)
	d.waitAnswer("sf.example.test.", dns.TypeA, "127.0.0.88", 10*time.Second)
	after := []secureCase{
		{"active_failover_after_failover", "af.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.82"},
		{"cname_failover", "cn.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.99,backup.example.test."},
		{"sf_pool_backup", "sf.example.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.88"},
		{"NXDOMAIN", "nope.example.test.", dns.TypeA, dns.RcodeNameError, ""},
	}
	checkSecure(t, "unbound→failoverd after failover", direct.Addr, after)
	waitSecure(t, viaKnot.Addr, after[0], 30*time.Second)
	checkSecure(t, "unbound→knot after failover", viaKnot.Addr, after)

	// Signatures made for 15s are refreshed at 10s, with a new serial.
	serial := d.serial("example.test.")
	testutil.Eventually(t, 30*time.Second, "signatures refreshed", func() (bool, string) {
		return strings.Contains(d.out.String(), "DNSSEC signatures refreshed"), ""
	})
	testutil.Eventually(t, 10*time.Second, "serial moved", func() (bool, string) {
		s := d.serial("example.test.")
		return s != serial, fmt.Sprint(s)
	})
	// Once the first signatures have expired, answers still validate.
	time.Sleep(time.Until(started.Add(16 * time.Second)))
	checkSecure(t, "unbound→failoverd after refresh", direct.Addr, after)
	waitSecure(t, viaKnot.Addr, after[0], 30*time.Second)
	checkSecure(t, "unbound→knot after refresh", viaKnot.Addr, after)
}

// verifyTransfer transfers zone and runs ldns-verify-zone and
// dnssec-verify -z on it.
func verifyTransfer(t *testing.T, addr, zone string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(zone)
	ch, err := new(dns.Transfer).In(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := 0
	for env := range ch {
		if env.Error != nil {
			t.Fatal(env.Error)
		}
		for _, rr := range env.RR {
			n++
			if n > 1 && rr.Header().Rrtype == dns.TypeSOA {
				continue // the closing SOA
			}
			b.WriteString(rr.String() + "\n")
		}
	}
	path := filepath.Join(t.TempDir(), "zone")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]string{
		{testutil.RequireTool(t, "ldnsutils", "ldns-verify-zone"), path},
		{testutil.RequireTool(t, "bind9-utils", "dnssec-verify"), "-z", "-o", zone, path},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, v[0], v[1:]...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(v, " "), err, out)
		}
	}
}
