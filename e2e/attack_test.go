package e2e

// The attack suite of issue 17: the built failoverd attacked from loopback,
// one TestAttack_ test per item of the issue, each with bounded loops and
// waits (run it with `go test -race -count=1 -run Attack ./e2e/`). The items
// covered elsewhere:
//
//   - item 2, SOA serials never reused across kill -9 during churn:
//     TestSerial_MonotonicAndNeverReusedAcrossKill9DuringChurn
//     (serial_kill_test.go);
//   - item 3, an API call whose store write fails changes nothing: a failing
//     store cannot be brought about from outside the process, so it is
//     daemon.TestCommand_RejectedByTheStoreChangesNothing;
//   - item 8, SIGHUP during start-up: TestReload_SIGHUPDuringStartupIsQueued
//     (startup_hup_test.go).
//
// docs/hardening.md describes what each test holds the daemon to.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// cpuTicks reads a process's user plus system CPU time in clock ticks from
// /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name may hold spaces: the fields after it follow ") ".
	s := string(b)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	// utime and stime are fields 14 and 15 of the whole line, 12 and 13
	// after the name (which is field 2; state is field 3).
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return ut + st
}

// tcpFlood holds up to n TCP connections from one source address to addr,
// opening them again when the server closes them.
type tcpFlood struct {
	src   string
	addr  string
	mu    sync.Mutex
	conns []net.Conn
	dials int
}

// refill opens connections until n are held (at most n dials per call).
func (f *tcpFlood) refill(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := net.Dialer{Timeout: 500 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(f.src)}}
	for range n {
		if len(f.conns) >= n {
			return
		}
		c, err := d.Dial("tcp", f.addr)
		f.dials++
		if err != nil {
			continue
		}
		f.conns = append(f.conns, c)
	}
}

// poke writes two zero bytes (an empty DNS message) on every held
// connection and drops the ones the server has closed.
func (f *tcpFlood) poke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := f.conns[:0]
	for _, c := range f.conns {
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Write([]byte{0, 0}); err != nil {
			c.Close()
			continue
		}
		kept = append(kept, c)
	}
	f.conns = kept
}

func (f *tcpFlood) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// Issue 17, item 1 "a TCP connection flood fails healthy services over":
// with 256 descriptors, 600 connections held against the DNS port from one
// address and poked with empty messages do not make the probes fail (no
// backup answer, no ip or svc event), the API answers, TCP DNS from another
// address is answered and the daemon does not spin (accept retried at once
// on EMFILE used to burn a core). Then 720 more from 24 addresses fill the
// total cap, and the probes, UDP and the API still work.
func TestAttack_TCPFloodDoesNotFailHealthyServicesOver(t *testing.T) {
	t.Parallel()
	prlimit := testutil.RequireTool(t, "util-linux", "prlimit")
	tg := newTarget(t, "127.0.17.61", "ok")
	d := startDaemonWrapped(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}
active_failover "www.example.test." {
  address       = "127.0.17.61"
  failover_data = "127.0.17.62"
  ttl           = 0
  notify_events = ["ip", "svc"]
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "500ms"
    retries  = 0
    port     = %d
    expected = "ok"
  }
}
`, tg.Port()), prlimit, "--nofile=256:256")
	d.waitAnswer("www.example.test.", dns.TypeA, "127.0.17.61", 5*time.Second)
	// Wait for a first up round, so that the window below would see a change.
	testutil.Eventually(t, 10*time.Second, "the primary is up", func() (bool, string) {
		var sd struct {
			Status string `json:"status"`
		}
		d.getJSON("/v1/services/www.example.test.", &sd)
		return sd.Status == "ok", sd.Status
	})
	start := time.Now().UTC().Add(-time.Second)

	const held = 600
	flood := &tcpFlood{src: "127.0.0.1", addr: d.dnsAddr}
	t.Cleanup(flood.close)
	flood.refill(held)

	other := &dns.Client{Net: "tcp", Timeout: 2 * time.Second,
		Dialer: &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}}
	pid := d.cmd.Process.Pid
	ticks0, wall0 := cpuTicks(t, pid), time.Now()
	// round checks what must hold whatever the flood: UDP answers the
	// primary, the API answers and (when otherTCP) TCP from 127.0.0.2 is
	// answered.
	round := func(i int, otherTCP bool) {
		t.Helper()
		if got, err := d.lookup("udp", "www.example.test.", dns.TypeA); err != nil || got != "127.0.17.61" {
			t.Fatalf("round %d: UDP answer %q, %v; want the primary", i, got, err)
		}
		if otherTCP {
			m := new(dns.Msg)
			m.SetQuestion("www.example.test.", dns.TypeA)
			r, _, err := other.Exchange(m, d.dnsAddr)
			if err != nil || r.Rcode != dns.RcodeSuccess || strings.Join(answers(r), ",") != "127.0.17.61" {
				t.Fatalf("round %d: TCP query from 127.0.0.2: %v, %v", i, r, err)
			}
		}
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + d.apiAddr + "/healthz")
		if err != nil {
			t.Fatalf("round %d: API: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("round %d: /healthz %s", i, resp.Status)
		}
	}
	const rounds = 10 // probe intervals
	for i := range rounds {
		flood.poke()
		flood.refill(held)
		round(i, true)
		time.Sleep(time.Second)
	}
	if got := metricValue(httpGet(t, "http://"+d.apiAddr+"/metrics"), "failoverd_dns_tcp_rejected_total"); got < held-32 {
		t.Errorf("failoverd_dns_tcp_rejected_total %v: the flood did not reach the per-client cap", got)
	}

	// Then from 24 addresses at once, 720 connections: the total cap (half
	// the 256 descriptors) is full, and still the probes, UDP and the API
	// find descriptors. TCP from yet another address may be refused now.
	var floods []*tcpFlood
	for i := 1; i <= 24; i++ {
		f := &tcpFlood{src: fmt.Sprintf("127.0.18.%d", i), addr: d.dnsAddr}
		t.Cleanup(f.close)
		floods = append(floods, f)
	}
	for i := range 5 {
		for _, f := range floods {
			f.poke()
			f.refill(30)
		}
		flood.poke()
		round(rounds+i, false)
		time.Sleep(time.Second)
	}
	ticks1, wall1 := cpuTicks(t, pid), time.Now()
	// Clock ticks are 1/100 s on Linux (USER_HZ).
	cpu := float64(ticks1-ticks0) / 100 / wall1.Sub(wall0).Seconds()
	flood.mu.Lock()
	dials, heldNow := flood.dials, len(flood.conns)
	flood.mu.Unlock()
	t.Logf("%d dials, %d held at the end; daemon CPU %.0f%% of a core over %v", dials, heldNow, cpu*100, wall1.Sub(wall0).Round(time.Second))
	if cpu > 0.5 {
		t.Errorf("the daemon used %.0f%% of a core during the flood, want well under 50%%", cpu*100)
	}

	var log struct {
		Events []struct {
			Kind      string `json:"kind"`
			NewStatus string `json:"new_status"`
			Message   string `json:"message"`
		} `json:"events"`
	}
	d.getJSON("/v1/services/www.example.test./log?start="+url.QueryEscape(start.Format(time.RFC3339)), &log)
	for _, e := range log.Events {
		if e.NewStatus != "up" && e.NewStatus != "ok" { // the first round's unk→up may fall in the window
			t.Errorf("event during the flood: %+v", e)
		}
	}
}

// hostileSMTP is an SMTP "server" that greets every connection with banner
// and hangs up.
func hostileSMTP(t *testing.T, addr, banner string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, banner)
			c.Close()
		}
	}()
}

// Issue 17, item 7 "probe text injected into syslog and e-mail": an SMTP
// target whose 554 greeting carries CR, LF, C0 and C1 controls, invalid
// UTF-8 and 60 KB of text reaches a real rsyslogd as exactly one line per
// event, escaped, with %msg at most 512 bytes, and the e-mail about it has
// no injected header.
func TestAttack_ProbeTextCannotInjectSyslogLinesOrMailHeaders(t *testing.T) {
	t.Parallel()
	rs := testutil.StartRsyslogd(t)
	ms := startMailSink(t)
	port := testutil.FreePort(t, "127.0.17.71")
	controls := "\x01\x1b\x7f\xc2\x85\xff\t" // 7 bytes, escaped 24
	banner := "554 evil\rX-Injected: yes\r" + strings.Repeat(controls, 30) + strings.Repeat("A", 60_000) +
		"\r\nX-Injected-Line: yes\r\nSubject: injected\r\n\r\n"
	hostileSMTP(t, fmt.Sprintf("127.0.17.71:%d", port), banner)
	startDaemon(t, fmt.Sprintf(`
server {
  hostname  = "ns1.example.test"
  state_dir = "{{STATE}}"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
smtp {
  server   = %q
  from     = "failoverd@example.test"
  starttls = "never"
}
contact "ops" {
  email = ["ops@example.test"]
}
zone "example.test" {}
active_failover "mx.example.test." {
  address          = "127.0.17.71"
  failover_data    = "127.0.17.72"
  ttl              = 0
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol = "SMTP"
    interval = "1s"
    timeout  = "500ms"
    retries  = 0
    port     = %d
  }
  syslog {
    server     = "127.0.0.1"
    port       = %d
    transport  = "tcp"
    protocol   = "rfc5424"
    ident      = "fo-attack"
    delivery   = "all"
    probe_fmt  = "%%msg"
    status_fmt = "status %%reg %%sta"
  }
}
`, ms.addr(), port, rs.TCP))

	// A few rounds: every one is a probe line.
	var lines []testutil.SyslogLine
	testutil.Eventually(t, 20*time.Second, "three probe lines reach rsyslogd", func() (bool, string) {
		lines = rs.Lines()
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l.Msg, "SMTP 554") {
				n++
			}
		}
		return n >= 3, dumpLines(lines)
	})
	probes := 0
	for _, l := range lines {
		// An injected line break would start a line of its own, without
		// the ident, or with the injected text first.
		if l.AppName != "fo-attack" || strings.Contains(l.Msg, "X-Injected-Line") || strings.Contains(l.Msg, "Subject: injected") {
			t.Errorf("a line that is not one of failoverd's: %s", l)
			continue
		}
		if strings.HasPrefix(l.Msg, "status ") {
			continue
		}
		probes++
		msg := l.Msg // %msg is followed by a space, as in Dyn's formats
		if len(msg) > 512 {
			t.Errorf("%%msg is %d bytes, want at most 512: %q", len(msg), msg)
		}
		if !strings.HasPrefix(msg, `SMTP 554 evil\rX-Injected: yes\r\x01\x1b\x7f\u0085\xff\t`) || !strings.HasSuffix(strings.TrimSuffix(msg, " "), "…") {
			t.Errorf("%%msg not escaped and cut as documented (%d bytes, ends %q): %q", len(msg), msg[max(0, len(msg)-40):], msg)
		}
		if !utf8.ValidString(msg) {
			t.Errorf("%%msg is not UTF-8: %q", msg)
		}
		for _, r := range msg {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Errorf("raw control character %U in %%msg %q", r, msg)
				break
			}
		}
		// rsyslogd escapes control characters it receives as #ooo.
		if strings.Contains(msg, "#0") || strings.Contains(msg, "#1") {
			t.Errorf("rsyslogd received raw control characters: %q", msg)
		}
	}
	if probes < 3 {
		t.Errorf("%d probe lines, want at least 3:\n%s", probes, dumpLines(lines))
	}

	var mails []sinkMail
	testutil.Eventually(t, 20*time.Second, "the e-mail about the address going down", func() (bool, string) {
		mails = ms.received()
		for _, m := range mails {
			if strings.Contains(m.Body, "X-Injected") {
				return true, ""
			}
		}
		return false, fmt.Sprint(len(mails), " mails")
	})
	for _, m := range mails {
		for k := range m.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-injected") {
				t.Errorf("injected header %s in mail %q", k, m.Subject)
			}
		}
		if len(m.Header["Subject"]) != 1 || strings.Contains(m.Subject, "injected") {
			t.Errorf("mail subjects %q", m.Header["Subject"])
		}
		if strings.ContainsAny(m.Body, "\x01\x1b\x7f\r") || strings.Contains(m.Body, "\u0085") {
			t.Errorf("raw control characters in the mail body: %q", m.Body)
		}
	}
}
