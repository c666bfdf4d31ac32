package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// attackZone is a zone with an active_failover name and a large RRset (40 A
// records, about 640 bytes of answer: more than a 512-byte UDP answer holds).
func attackZone(port int) string {
	var big []string
	for i := 1; i <= 40; i++ {
		big = append(big, fmt.Sprintf("%q", fmt.Sprintf("192.0.2.%d", i)))
	}
	return fmt.Sprintf(`
zone "example.test" {
  record "big" {
    type  = "A"
    rdata = [%s]
  }
  record "static" {
    type  = "TXT"
    rdata = ["\"hello\""]
  }
}
active_failover "www.example.test." {
  address       = "127.0.17.1"
  failover_data = "127.0.17.2"
  ttl           = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "400ms"
    retries  = 0
    port     = %d
  }
}
`, strings.Join(big, ", "), port)
}

// digFull runs the real dig against addr with args and returns its full
// output (not +short: the OPT pseudo-section and the status matter here).
func digFull(t *testing.T, addr string, args ...string) string {
	t.Helper()
	path := testutil.RequireTool(t, "bind9-dnsutils", "dig")
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := append([]string{"@" + host, "-p", port, "+time=2", "+tries=1"}, args...)
	out, err := exec.CommandContext(ctx, path, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", full, err, out)
	}
	return string(out)
}

// Issue 17, missing feature "response rate limiting": a burst of 500 UDP
// queries from one source gets about a second's worth of answers, every
// second limited response slips out truncated and empty; TCP from the same
// source and every query of an exempt source are answered in full.
func TestAttack_RRLLimitsOneUDPSourceButNotTCPOrExempt(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	d := startDaemon(t, `
server { state_dir = "{{STATE}}" }
dns {
  listen = ["{{DNS}}"]
  rrl {
    responses_per_second = 10
    exempt               = ["127.0.17.99/32"]
  }
}
api { listen = "{{API}}" }
`+attackZone(tg.Port()))
	// The start-up check's CH TXT queries count for another name and type,
	// so the burst below starts with a full second's worth.

	burst := func(src string, n int) (answered, slipped int, took time.Duration) {
		t.Helper()
		raddr, _ := net.ResolveUDPAddr("udp", d.dnsAddr)
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, raddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := make(chan *dns.Msg, n)
		go func() {
			defer close(got)
			buf := make([]byte, 4096)
			for {
				// Two seconds of silence after the last answer end the burst.
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				k, err := c.Read(buf)
				if err != nil {
					return
				}
				r := new(dns.Msg)
				if r.Unpack(buf[:k]) == nil {
					got <- r
				}
			}
		}()
		start := time.Now()
		for i := range n {
			m := new(dns.Msg)
			m.SetQuestion("static.example.test.", dns.TypeTXT)
			m.Id = uint16(i + 1)
			p, _ := m.Pack()
			if _, err := c.Write(p); err != nil {
				t.Fatal(err)
			}
			// About 1,000 a second: a daemon slowed down by a busy machine
			// still finds every query in its socket buffer.
			time.Sleep(time.Millisecond)
		}
		took = time.Since(start)
		for r := range got {
			switch {
			case r.Truncated && len(r.Answer) == 0 && len(r.Ns) == 0:
				slipped++
			case !r.Truncated && len(r.Answer) == 1:
				answered++
			default:
				t.Errorf("neither an answer nor a slip: %v", r)
			}
		}
		return answered, slipped, took
	}

	answered, slipped, took := burst("127.0.0.1", 500)
	t.Logf("500 UDP queries in %v: %d answered, %d slipped", took, answered, slipped)
	// A second's worth at once plus what refills while the burst lasts.
	maxAnswers := 10 + int(took.Seconds()*10) + 5
	if answered < 5 || answered > maxAnswers {
		t.Errorf("%d answers to a burst of 500 at 10/s, want 5..%d", answered, maxAnswers)
	}
	// Default slip 2: about half the limited responses go out truncated.
	if limited := 500 - answered; slipped < limited/4 || slipped > limited/2+5 {
		t.Errorf("%d slips for %d limited responses, want about half", slipped, limited)
	}

	// The counters agree with what the client saw: a dropped response is
	// one that did not come back (on a busy machine a few datagrams may be
	// lost on the way, hence the slack).
	metrics := httpGet(t, "http://"+d.apiAddr+"/metrics")
	if got := metricValue(metrics, "failoverd_dns_rrl_slipped_total"); got < float64(slipped) || got > float64(slipped)+10 {
		t.Errorf("failoverd_dns_rrl_slipped_total %v, the client saw %d slips", got, slipped)
	}
	if got, lost := metricValue(metrics, "failoverd_dns_rrl_dropped_total"), float64(500-answered-slipped); got > lost || got < lost-25 {
		t.Errorf("failoverd_dns_rrl_dropped_total %v, want about %v (neither answered nor slipped)", got, lost)
	}

	// TCP is never limited, even right after the burst.
	for i := range 30 {
		if got, err := d.lookup("tcp", "static.example.test.", dns.TypeTXT); err != nil || got == "" {
			t.Fatalf("TCP query %d from the limited source: %q, %v", i, got, err)
		}
	}

	exAnswered, exSlipped, _ := burst("127.0.17.99", 100)
	if exAnswered != 100 || exSlipped != 0 {
		t.Errorf("exempt source: %d answered, %d slipped of 100, want all answered", exAnswered, exSlipped)
	}
}

// tsigSecret is a 32-byte base64 secret for hmac-sha256.
var tsigSecret = base64.StdEncoding.EncodeToString([]byte("issue-17-attack-suite-tsig-key!!"))

// Issue 17, missing feature "TSIG": with transfer.tsig a signed AXFR (dig
// -y) gets the zone; an unsigned one gets NOTAUTH and a wrong key BADKEY or
// BADSIG, never a record; a Knot secondary with the key transfers the zone
// and follows a failover through the signed NOTIFY.
func TestAttack_TSIGGuardsTransfersAndKnotFollowsSignedNotify(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	knotPort := testutil.FreePort(t, "127.0.0.1")
	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns {
  listen = ["{{DNS}}"]
  transfer {
    allow  = ["127.0.0.0/8"]
    notify = ["127.0.0.1:%d"]
    tsig   = "xfr"
  }
}
api { listen = "{{API}}" }
tsig_key "xfr" {
  algorithm = "hmac-sha256"
  secret    = %q
}
`, knotPort, tsigSecret)+attackZone(tg.Port()))

	out := digFull(t, d.dnsAddr, "-y", "hmac-sha256:xfr:"+tsigSecret, "example.test", "AXFR")
	if !strings.Contains(out, "big.example.test.") || !strings.Contains(out, "www.example.test.") || strings.Contains(out, "Transfer failed") {
		t.Fatalf("signed AXFR did not get the zone:\n%s", out)
	}
	out = digFull(t, d.dnsAddr, "example.test", "AXFR")
	if strings.Contains(out, "big.example.test.") || !strings.Contains(out, "Transfer failed") {
		t.Fatalf("unsigned AXFR was not refused:\n%s", out)
	}

	wrong := base64.StdEncoding.EncodeToString([]byte("not-the-secret-of-the-xfr-key!!!"))
	out = digFull(t, d.dnsAddr, "-y", "hmac-sha256:xfr:"+wrong, "example.test", "AXFR")
	if strings.Contains(out, "big.example.test.") || strings.Contains(out, "www.example.test.") {
		t.Fatalf("AXFR with a wrong secret got records:\n%s", out)
	}

	// The exact answers, through a DNS library.
	xfr := func(keyName, secret string) (*dns.Msg, error) {
		m := new(dns.Msg)
		m.SetAxfr("example.test.")
		conn, err := dns.DialTimeout("tcp", d.dnsAddr, 2*time.Second)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		if keyName != "" {
			m.SetTsig(keyName, dns.HmacSHA256, 300, time.Now().Unix())
			conn.TsigSecret = map[string]string{keyName: secret}
		}
		if err := conn.WriteMsg(m); err != nil {
			return nil, err
		}
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		return conn.ReadMsg()
	}
	for _, tc := range []struct {
		name, key, secret string
		rcode             int
		tsigError         uint16 // 0: the answer is not signed
	}{
		{"unsigned is NOTAUTH", "", "", dns.RcodeNotAuth, 0},
		{"unknown key is NOTAUTH BADKEY", "other.", wrong, dns.RcodeNotAuth, dns.RcodeBadKey},
		{"wrong secret is NOTAUTH BADSIG", "xfr.", wrong, dns.RcodeNotAuth, dns.RcodeBadSig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := xfr(tc.key, tc.secret)
			if r == nil {
				t.Fatalf("no answer: %v", err)
			}
			if r.Rcode != tc.rcode || len(r.Answer) != 0 {
				t.Fatalf("rcode %s with %d records, want %s and none", dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tc.rcode])
			}
			if tc.tsigError != 0 {
				if ts := r.IsTsig(); ts == nil || ts.Error != tc.tsigError {
					t.Fatalf("TSIG record %v, want error %s", ts, dns.RcodeToString[int(tc.tsigError)])
				}
			}
		})
	}

	knot := testutil.StartKnot(t, testutil.KnotOptions{
		Port:  knotPort,
		Keys:  []testutil.KnotKey{{Name: "xfr", Algorithm: "hmac-sha256", Secret: tsigSecret}},
		Zones: []testutil.KnotZone{{Domain: "example.test", Primary: d.dnsAddr, TSIG: "xfr"}},
	})
	secondary := &daemonProc{t: t, dnsAddr: knot.Addr}
	secondary.waitAnswer("www.example.test.", dns.TypeA, "127.0.17.1", 30*time.Second)
	tg.Stop()
	d.waitAnswer("www.example.test.", dns.TypeA, "127.0.17.2", 5*time.Second)
	secondary.waitAnswer("www.example.test.", dns.TypeA, "127.0.17.2", 15*time.Second)
}

// Issue 17, missing feature "truncation": a UDP answer that does not fit
// the client's 512 bytes goes out with TC=1 and no records at all, so the
// client retries over TCP instead of using a partial RRset.
func TestAttack_TruncatedUDPAnswerCarriesNoRecords(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	d := startDaemon(t, `
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
`+attackZone(tg.Port()))
	for _, tc := range []struct {
		name string
		edns bool
	}{{"without EDNS", false}, {"EDNS bufsize 512", true}} {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion("big.example.test.", dns.TypeA)
			if tc.edns {
				m.SetEdns0(512, false)
			}
			r, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second, UDPSize: 512}).Exchange(m, d.dnsAddr)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Truncated || len(r.Answer) != 0 || len(r.Ns) != 0 {
				t.Fatalf("TC=%v with %d answers, %d authority records; want TC=1 and none", r.Truncated, len(r.Answer), len(r.Ns))
			}
		})
	}
	if got, err := d.lookup("tcp", "big.example.test.", dns.TypeA); err != nil || strings.Count(got, ",") != 39 {
		t.Fatalf("over TCP: %q, %v; want 40 addresses", got, err)
	}
}

var digCookie = regexp.MustCompile(`; COOKIE: ([0-9a-f]+)(.*)`)

// Issue 17, missing feature "DNS Cookies": dig +cookie gets a server
// cookie; a query with it is answered and the cookie is good; a bad server
// cookie gets a normal answer and a fresh cookie.
func TestAttack_DNSCookiesAreAnsweredAndRenewed(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	d := startDaemon(t, `
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
`+attackZone(tg.Port()))
	const client = "0123456789abcdef"
	cookieOf := func(out string) (string, string) {
		t.Helper()
		m := digCookie.FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, `"hello"`) {
			t.Fatalf("no answer with a cookie:\n%s", out)
		}
		return m[1], m[2]
	}
	full, _ := cookieOf(digFull(t, d.dnsAddr, "+cookie="+client, "static.example.test", "TXT"))
	if !strings.HasPrefix(full, client) || len(full) < len(client)+16 {
		t.Fatalf("cookie %q: want the client cookie followed by a server cookie", full)
	}
	again, verdict := cookieOf(digFull(t, d.dnsAddr, "+cookie="+full, "static.example.test", "TXT"))
	if !strings.HasPrefix(again, client) || !strings.Contains(verdict, "good") {
		t.Fatalf("second query with the server cookie: cookie %q %q, want a good one", again, verdict)
	}
	bad := client + strings.Repeat("00", 16)
	fresh, _ := cookieOf(digFull(t, d.dnsAddr, "+cookie="+bad, "static.example.test", "TXT"))
	if fresh == bad || !strings.HasPrefix(fresh, client) || len(fresh) < len(client)+16 {
		t.Fatalf("bad server cookie: got cookie %q back, want a fresh one", fresh)
	}
}

// Issue 17, missing feature "hide_identity": with it, the CH TXT identity
// names are REFUSED; without it they are answered.
func TestAttack_HideIdentityRefusesCHAOSNames(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	for _, tc := range []struct {
		name  string
		hide  bool
		rcode int
	}{{"hidden is REFUSED", true, dns.RcodeRefused}, {"default answers", false, dns.RcodeSuccess}} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, fmt.Sprintf(`
server {
  hostname  = "ns1.example.test"
  state_dir = "{{STATE}}"
}
dns {
  listen        = ["{{DNS}}"]
  hide_identity = %v
}
api { listen = "{{API}}" }
`, tc.hide)+attackZone(tg.Port()))
			for _, name := range []string{"version.bind.", "id.server.", "version.server.", "hostname.bind."} {
				r, err := query(d.dnsAddr, "udp", name, dns.TypeTXT, dns.ClassCHAOS)
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != tc.rcode || (tc.hide && len(r.Answer) != 0) || (!tc.hide && len(r.Answer) != 1) {
					t.Fatalf("CH TXT %s: %s with %d answers", name, dns.RcodeToString[r.Rcode], len(r.Answer))
				}
			}
		})
	}
}
