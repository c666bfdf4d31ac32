package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// Behaviour section 8 seen from outside: a real rsyslogd and an SMTP
// receiver get what the daemon announces when a failover happens.

const (
	notifyHost = "ns1.example.test"
	mailFrom   = "failoverd@example.test"
	// timeRE is %tim: RFC 3339 in UTC.
	timeRE = `(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)`
)

var contactAddrs = []string{"oncall@example.test", "ops@example.test"} // sorted

// Syslog facility and severity numbers (RFC 5424).
const (
	facLocal3 = "19"
	facLocal4 = "20"
	facLocal5 = "21"
	sevErr    = "3"
	sevInfo   = "6"
)

// wantLine is a syslog message the test waits for.
type wantLine struct {
	app      string // ident
	version  string // "0" RFC 3164, "1" RFC 5424
	facility string
	severity string
	msg      string // regexp of the whole message; group 1 is %tim
	hostname string // syslog HOSTNAME; "" means notifyHost, "*" any
}

// waitLine returns the first message at index from or later that matches
// w, and its regexp groups; it fails when none arrives within.
func waitLine(t *testing.T, r *testutil.Rsyslogd, from int, w wantLine, within time.Duration) (testutil.SyslogLine, []string) {
	t.Helper()
	re := regexp.MustCompile("^" + w.msg + "$")
	var got testutil.SyslogLine
	var groups []string
	testutil.Eventually(t, within, fmt.Sprintf("syslog %s %q", w.app, w.msg), func() (bool, string) {
		lines := r.Lines()
		for _, l := range lines[min(from, len(lines)):] {
			if l.AppName != w.app {
				continue
			}
			if m := re.FindStringSubmatch(l.Msg); m != nil {
				got, groups = l, m
				return true, ""
			}
		}
		return false, dumpLines(lines)
	})
	host := w.hostname
	if host == "" {
		host = notifyHost
	}
	if host == "*" {
		host = got.Hostname
	}
	if got.Version != w.version || got.Facility != w.facility || got.Severity != w.severity || got.Hostname != host {
		t.Errorf("%s %q: got version %s facility %s severity %s hostname %q, want %s %s %s %q",
			w.app, got.Msg, got.Version, got.Facility, got.Severity, got.Hostname, w.version, w.facility, w.severity, host)
	}
	return got, groups
}

func dumpLines(lines []testutil.SyslogLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// count returns how many messages from index from on come from app and
// match re.
func countLines(lines []testutil.SyslogLine, from int, app, re string) int {
	rx := regexp.MustCompile("^" + re + "$")
	n := 0
	for _, l := range lines[min(from, len(lines)):] {
		if l.AppName == app && rx.MatchString(l.Msg) {
			n++
		}
	}
	return n
}

// checkTime fails unless tim (a %tim value) lies between from and to,
// give or take the second RFC 3339 truncates away.
func checkTime(t *testing.T, tim string, from, to time.Time) {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, tim)
	if err != nil {
		t.Errorf("%%tim %q: %v", tim, err)
		return
	}
	if ts.Before(from.Add(-2*time.Second)) || ts.After(to.Add(2*time.Second)) {
		t.Errorf("%%tim %s outside [%s, %s]", tim, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
}

// wantMail names one e-mail: the service, the region or address, and the
// new status the subject must carry.
type wantMail struct{ service, where, status string }

func (w wantMail) matches(m sinkMail) bool {
	return strings.Contains(m.Subject, strings.TrimSuffix(w.service, ".")) &&
		strings.Contains(m.Subject, w.where) &&
		slices.Contains(strings.Fields(m.Subject), w.status)
}

// waitMails waits until the mails from index from on are exactly want (one
// mail per wanted event, in any order), each from mailFrom to every
// contact address.
func (s *mailSink) waitMails(from int, want []wantMail, within time.Duration) []sinkMail {
	s.t.Helper()
	var got []sinkMail
	testutil.Eventually(s.t, within, fmt.Sprintf("%d mails", len(want)), func() (bool, string) {
		all := s.received()
		got = all[min(from, len(all)):]
		var b strings.Builder
		for _, m := range got {
			fmt.Fprintf(&b, "%q to %v\n", m.Subject, m.To)
		}
		return len(got) >= len(want), b.String()
	})
	for _, w := range want {
		n := 0
		for _, m := range got {
			if w.matches(m) {
				n++
			}
		}
		if n != 1 {
			s.t.Errorf("%d mails for %+v, want 1", n, w)
		}
	}
	if len(got) != len(want) {
		s.t.Errorf("got %d mails, want %d", len(got), len(want))
	}
	for _, m := range got {
		if m.From != mailFrom || !slices.Equal(m.To, contactAddrs) {
			s.t.Errorf("mail %q from %q to %v, want from %q to %v", m.Subject, m.From, m.To, mailFrom, contactAddrs)
		}
	}
	if s.t.Failed() {
		for _, m := range got {
			s.t.Logf("mail %q:\n%s", m.Subject, m.Body)
		}
	}
	return got
}

// A failover and a recovery of an active_failover service (syslog over UDP,
// RFC 3164, facility local3) and a gslb region (syslog over TCP, RFC 5424,
// facility local5) reach a real rsyslogd in the documented default formats
// with the documented severities, the status line's %ser is the zone's SOA
// serial, and every ip and svc event is mailed once to every contact
// address.
func TestNotify_FailoverReachesRsyslogAndSMTP(t *testing.T) {
	rs := testutil.StartRsyslogd(t)
	ms := startMailSink(t)
	port := testutil.FreePort(t, "127.0.0.1")
	afPrimary := newTargetOn(t, "127.0.0.111", port, "ok")
	gEast := newTargetOn(t, "127.0.0.113", port, "ok")
	newTargetOn(t, "127.0.0.114", port, "ok")

	d := startDaemon(t, fmt.Sprintf(`
server {
  hostname  = %[1]q
  state_dir = "{{STATE}}"
}
dns {
  listen     = ["{{DNS}}"]
  region_map = { "US East" = ["127.0.0.0/8"] }
}
api { listen = "{{API}}" }
smtp {
  server   = %[2]q
  from     = %[3]q
  starttls = "never"
}
contact "ops" {
  email = ["ops@example.test", "oncall@example.test"]
}
zone "af.test" {}
zone "gslb.test" {}

active_failover "www.af.test." {
  address          = "127.0.0.111"
  failover_mode    = "ip"
  failover_data    = "127.0.0.112"
  ttl              = 0
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 0
    port     = %[4]d
  }
  syslog {
    server    = "127.0.0.1"
    port      = %[5]d
    transport = "udp"
    protocol  = "rfc3164"
    ident     = "fo-af"
    facility  = "local3"
  }
}

gslb "app.gslb.test." {
  ttl              = 0
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 0
    port     = %[4]d
  }
  syslog {
    server    = "127.0.0.1"
    port      = %[6]d
    transport = "tcp"
    protocol  = "rfc5424"
    ident     = "fo-gslb"
    facility  = "local5"
  }
  region "US East" {
    failover_mode = "global"
    pool "127.0.0.113" {}
  }
  region "global" {
    pool "127.0.0.114" {}
  }
}
`, notifyHost, ms.addr(), mailFrom, port, rs.UDP, rs.TCP))

	const within = 10 * time.Second
	af := func(sev, msg string) wantLine {
		return wantLine{app: "fo-af", version: "0", facility: facLocal3, severity: sev, msg: msg}
	}
	gs := func(sev, msg string) wantLine {
		return wantLine{app: "fo-gslb", version: "1", facility: facLocal5, severity: sev, msg: msg}
	}
	probe := func(status, rest string) string {
		return regexp.QuoteMeta(notifyHost) + ` probe ` + timeRE + `: local ` + status + ` ` + rest
	}
	status := func(region, status, rdata string) string {
		return regexp.QuoteMeta(notifyHost) + ` status ` + timeRE + `: ` + region + ` ` + status + ` (\d+) ` + regexp.QuoteMeta(rdata)
	}
	anyStatus := func(region string) string {
		return regexp.QuoteMeta(notifyHost) + ` status ` + timeRE + `: ` + region + ` .*`
	}
	// An up round has a %rti and may have a %msg ("HTTP 200 "); a down
	// round has no %rti and says why in %msg.
	upProbe := func(addr string) string { return probe("up", `\d+\.\d{3} (\S.* )?`+regexp.QuoteMeta(addr)) }
	downProbe := func(addr string) string { return probe("down", `(\S.* )`+regexp.QuoteMeta(addr)) }

	// The first rounds: every address goes unk → up and every region unk → ok.
	start := time.Now()
	_, m := waitLine(t, rs, 0, af(sevInfo, upProbe("127.0.0.111")), within)
	checkTime(t, m[1], start, time.Now())
	waitLine(t, rs, 0, af(sevInfo, status("global", "ok", "127.0.0.111")), within)
	waitLine(t, rs, 0, gs(sevInfo, upProbe("127.0.0.113")), within)
	waitLine(t, rs, 0, gs(sevInfo, upProbe("127.0.0.114")), within)
	waitLine(t, rs, 0, gs(sevInfo, status("US East", "ok", "127.0.0.113")), within)
	waitLine(t, rs, 0, gs(sevInfo, status("global", "ok", "127.0.0.114")), within)
	ms.waitMails(0, []wantMail{
		{"www.af.test.", "127.0.0.111", "up"},
		{"www.af.test.", "global", "ok"},
		{"app.gslb.test.", "127.0.0.113", "up"},
		{"app.gslb.test.", "127.0.0.114", "up"},
		{"app.gslb.test.", "US East", "ok"},
		{"app.gslb.test.", "global", "ok"},
	}, within)
	afSerial0, gSerial0 := d.serialT(t, "af.test."), d.serialT(t, "gslb.test.")
	lines0, mails0 := len(rs.Lines()), len(ms.received())

	// Failover.
	stopped := time.Now()
	afPrimary.Stop()
	gEast.Stop()
	d.waitAnswer("www.af.test.", dns.TypeA, "127.0.0.112", within)
	d.waitAnswer("app.gslb.test.", dns.TypeA, "127.0.0.114", within)

	l, m := waitLine(t, rs, lines0, af(sevErr, downProbe("127.0.0.111")), within)
	checkTime(t, m[1], stopped, time.Now())
	if !strings.Contains(m[2], "refused") {
		t.Errorf("probe line %q: %%msg should say the connection was refused", l.Msg)
	}
	_, m = waitLine(t, rs, lines0, af(sevErr, status("global", "failover", "127.0.0.112")), within)
	checkTime(t, m[1], stopped, time.Now())
	afSerial1 := parseSerial(t, m[2])
	_, m = waitLine(t, rs, lines0, gs(sevErr, downProbe("127.0.0.113")), within)
	checkTime(t, m[1], stopped, time.Now())
	_, m = waitLine(t, rs, lines0, gs(sevErr, status("US East", "failover", "127.0.0.114")), within)
	checkTime(t, m[1], stopped, time.Now())
	gSerial1 := parseSerial(t, m[2])
	if got := d.serialT(t, "af.test."); afSerial1 != got || afSerial1 <= afSerial0 {
		t.Errorf("af status line %%ser %d, SOA serial now %d (before the failover %d)", afSerial1, got, afSerial0)
	}
	if got := d.serialT(t, "gslb.test."); gSerial1 != got || gSerial1 <= gSerial0 {
		t.Errorf("gslb status line %%ser %d, SOA serial now %d (before the failover %d)", gSerial1, got, gSerial0)
	}
	failoverMails := []wantMail{
		{"www.af.test.", "127.0.0.111", "down"},
		{"www.af.test.", "global", "failover"},
		{"app.gslb.test.", "127.0.0.113", "down"},
		{"app.gslb.test.", "US East", "failover"},
	}
	ms.waitMails(mails0, failoverMails, within)
	lines1 := len(rs.Lines())

	// Recovery.
	restarted := time.Now()
	afPrimary.Start()
	gEast.Start()
	d.waitAnswer("www.af.test.", dns.TypeA, "127.0.0.111", within)
	d.waitAnswer("app.gslb.test.", dns.TypeA, "127.0.0.113", within)
	_, m = waitLine(t, rs, lines1, af(sevInfo, upProbe("127.0.0.111")), within)
	checkTime(t, m[1], restarted, time.Now())
	_, m = waitLine(t, rs, lines1, af(sevInfo, status("global", "ok", "127.0.0.111")), within)
	checkTime(t, m[1], restarted, time.Now())
	afSerial2 := parseSerial(t, m[2])
	waitLine(t, rs, lines1, gs(sevInfo, upProbe("127.0.0.113")), within)
	_, m = waitLine(t, rs, lines1, gs(sevInfo, status("US East", "ok", "127.0.0.113")), within)
	gSerial2 := parseSerial(t, m[2])
	if got := d.serialT(t, "af.test."); afSerial2 != got || afSerial2 <= afSerial1 {
		t.Errorf("af recovery line %%ser %d, SOA serial now %d (in failover %d)", afSerial2, got, afSerial1)
	}
	if got := d.serialT(t, "gslb.test."); gSerial2 != got || gSerial2 <= gSerial1 {
		t.Errorf("gslb recovery line %%ser %d, SOA serial now %d (in failover %d)", gSerial2, got, gSerial1)
	}
	ms.waitMails(mails0, append(failoverMails,
		wantMail{"www.af.test.", "127.0.0.111", "up"},
		wantMail{"www.af.test.", "global", "ok"},
		wantMail{"app.gslb.test.", "127.0.0.113", "up"},
		wantMail{"app.gslb.test.", "US East", "ok"},
	), within)

	// Change delivery: one probe line per status change, nothing per round;
	// the gslb global region never changed after its first round.
	all := rs.Lines()
	for _, c := range []struct {
		app, re string
		want    int
	}{
		{"fo-af", probe(`(up|down)`, `.*127\.0\.0\.111`), 3},
		{"fo-af", anyStatus("global"), 3},
		{"fo-gslb", probe(`(up|down)`, `.*127\.0\.0\.113`), 3},
		{"fo-gslb", probe(`(up|down)`, `.*127\.0\.0\.114`), 1},
		{"fo-gslb", anyStatus("US East"), 3},
		{"fo-gslb", anyStatus("global"), 1},
	} {
		if n := countLines(all, 0, c.app, c.re); n != c.want {
			t.Errorf("%s: %d messages match %q, want %d:\n%s", c.app, n, c.re, c.want, dumpLines(all))
		}
	}
}

func parseSerial(t *testing.T, s string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatalf("%%ser %q: %v", s, err)
	}
	return uint32(n)
}

// delivery = "all" sends a probe message for every completed round, up or
// down; delivery = "change" only on status changes; rounds are never
// mailed.
func TestNotify_DeliveryAllSendsEveryRound(t *testing.T) {
	rs := testutil.StartRsyslogd(t)
	ms := startMailSink(t)
	port := testutil.FreePort(t, "127.0.0.1")
	allT := newTargetOn(t, "127.0.0.121", port, "ok")
	chgT := newTargetOn(t, "127.0.0.122", port, "ok")
	service := func(name, addr, backup, ident, protocol, facility, delivery string) string {
		return fmt.Sprintf(`
active_failover %q {
  address          = %q
  failover_data    = %q
  ttl              = 0
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 0
    port     = %d
  }
  syslog {
    server   = "127.0.0.1"
    port     = %d
    protocol = %q
    ident    = %q
    facility = %q
    delivery = %q
  }
}
`, name, addr, backup, port, rs.UDP, protocol, ident, facility, delivery)
	}
	d := startDaemon(t, fmt.Sprintf(`
server {
  hostname  = %q
  state_dir = "{{STATE}}"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
smtp {
  server   = %q
  from     = %q
  starttls = "never"
}
contact "ops" { email = ["ops@example.test", "oncall@example.test"] }
zone "af.test" {}
`, notifyHost, ms.addr(), mailFrom)+
		service("all.af.test.", "127.0.0.121", "127.0.0.123", "fo-all", "rfc5424", "local4", "all")+
		service("chg.af.test.", "127.0.0.122", "127.0.0.124", "fo-chg", "rfc3164", "local3", "change"))

	const within = 10 * time.Second
	allLine := func(sev, msg string) wantLine {
		return wantLine{app: "fo-all", version: "1", facility: facLocal4, severity: sev, msg: msg}
	}
	chgLine := func(sev, msg string) wantLine {
		return wantLine{app: "fo-chg", version: "0", facility: facLocal3, severity: sev, msg: msg}
	}
	prefix := regexp.QuoteMeta(notifyHost) + ` probe ` + timeRE + `: local `
	allUp := prefix + `up \d+\.\d{3} (\S.* )?127\.0\.0\.121`
	allDown := prefix + `down \S.* 127\.0\.0\.121`
	chgUp := prefix + `up \d+\.\d{3} (\S.* )?127\.0\.0\.122`
	chgDown := prefix + `down \S.* 127\.0\.0\.122`
	statusRE := regexp.QuoteMeta(notifyHost) + ` status .*`

	// Up rounds: once the change service's first round is in, three more
	// rounds of the all service show up as three more up messages.
	waitLine(t, rs, 0, chgLine(sevInfo, chgUp), within)
	from := len(rs.Lines())
	testutil.Eventually(t, within, "three up rounds with delivery all", func() (bool, string) {
		l := rs.Lines()
		return countLines(l, from, "fo-all", allUp) >= 3, dumpLines(l)
	})
	ms.waitMails(0, []wantMail{
		{"all.af.test.", "127.0.0.121", "up"},
		{"all.af.test.", "global", "ok"},
		{"chg.af.test.", "127.0.0.122", "up"},
		{"chg.af.test.", "global", "ok"},
	}, within)
	lines0, mails0 := len(rs.Lines()), len(ms.received())

	// Down rounds: one change message each, then one message per round for
	// the all service only.
	allT.Stop()
	chgT.Stop()
	waitLine(t, rs, lines0, allLine(sevErr, allDown), within)
	waitLine(t, rs, lines0, chgLine(sevErr, chgDown), within)
	testutil.Eventually(t, within, "three down rounds with delivery all", func() (bool, string) {
		l := rs.Lines()
		return countLines(l, lines0, "fo-all", allDown) >= 4, dumpLines(l)
	})
	ms.waitMails(mails0, []wantMail{
		{"all.af.test.", "127.0.0.121", "down"},
		{"all.af.test.", "global", "failover"},
		{"chg.af.test.", "127.0.0.122", "down"},
		{"chg.af.test.", "global", "failover"},
	}, within)
	d.waitAnswer("all.af.test.", dns.TypeA, "127.0.0.123", within)

	all := rs.Lines()
	for _, c := range []struct {
		app, re string
		want    int
	}{
		{"fo-chg", chgUp, 1},
		{"fo-chg", chgDown, 1},
		{"fo-chg", statusRE, 2},
		{"fo-all", statusRE, 2},
	} {
		if n := countLines(all, 0, c.app, c.re); n != c.want {
			t.Errorf("%s: %d messages match %q, want %d:\n%s", c.app, n, c.re, c.want, dumpLines(all))
		}
	}
	// Every all-service probe message is its own round: severity follows
	// the round's status.
	for _, l := range all {
		if l.AppName != "fo-all" || !strings.Contains(l.Msg, " probe ") {
			continue
		}
		want := sevInfo
		if strings.Contains(l.Msg, " down ") {
			want = sevErr
		}
		if l.Severity != want {
			t.Errorf("%s: severity %s, want %s", l, l.Severity, want)
		}
	}
}

// With the syslog receivers (UDP and TCP) and the SMTP server dead —
// nothing listening, or accepting connections and never answering —
// failover and recovery through DNS still happen within
// interval × (retries+1) + 1 s, and the daemon still stops promptly on
// SIGTERM (the harness fails the test after 15 s).
func TestNotify_DeadSinksDoNotDelayFailover(t *testing.T) {
	for _, c := range []struct {
		name string
		// sink returns the port of a syslog receiver and of an SMTP server.
		sink func(t *testing.T) int
		// refused: deliveries fail at once, so the failures are counted.
		refused bool
	}{
		{"nothing listening", func(t *testing.T) int { return testutil.FreePort(t, "127.0.0.1") }, true},
		{"accepting and silent", startSilentSink, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			deadSinksFailover(t, c.sink(t), c.sink(t), c.refused)
		})
	}
}

func deadSinksFailover(t *testing.T, syslogPort, smtpPort int, refused bool) {
	port := testutil.FreePort(t, "127.0.0.1")
	udpT := newTargetOn(t, "127.0.0.131", port, "ok")
	tcpT := newTargetOn(t, "127.0.0.133", port, "ok")
	service := func(name, addr, backup, transport string) string {
		return fmt.Sprintf(`
active_failover %q {
  address          = %q
  failover_data    = %q
  ttl              = 0
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 1
    port     = %d
  }
  syslog {
    server    = "127.0.0.1"
    port      = %d
    transport = %q
    delivery  = "all"
  }
}
`, name, addr, backup, port, syslogPort, transport)
	}
	d := startDaemon(t, fmt.Sprintf(`
server {
  hostname  = %q
  state_dir = "{{STATE}}"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
smtp {
  server   = "127.0.0.1:%d"
  from     = %q
  starttls = "never"
}
contact "ops" { email = ["ops@example.test", "oncall@example.test"] }
zone "dead.test" {}
`, notifyHost, smtpPort, mailFrom)+
		service("udp.dead.test.", "127.0.0.131", "127.0.0.132", "udp")+
		service("tcp.dead.test.", "127.0.0.133", "127.0.0.134", "tcp"))

	// Both primaries have been seen up (so their failure is a change now).
	testutil.Eventually(t, 10*time.Second, "both services ok", func() (bool, string) {
		var list struct {
			Services []struct{ FQDN, Status string }
		}
		body := httpGet(t, "http://"+d.apiAddr+"/v1/services")
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			return false, body
		}
		ok := 0
		for _, s := range list.Services {
			if s.Status == "ok" {
				ok++
			}
		}
		return ok == 2, body
	})

	// interval × (retries+1) + 1 s, plus the slack the other end-to-end
	// tests allow for the race detector on a loaded machine.
	limit := 1*time.Second*2 + time.Second + 2*time.Second
	udpT.Stop()
	tcpT.Stop()
	took := d.waitAnswer("udp.dead.test.", dns.TypeA, "127.0.0.132", limit)
	d.waitAnswer("tcp.dead.test.", dns.TypeA, "127.0.0.134", limit)
	t.Logf("failover after %v", took)
	udpT.Start()
	tcpT.Start()
	took = d.waitAnswer("udp.dead.test.", dns.TypeA, "127.0.0.131", limit)
	d.waitAnswer("tcp.dead.test.", dns.TypeA, "127.0.0.133", limit)
	t.Logf("recovery after %v", took)

	if !refused {
		// How long SIGTERM takes with a silent SMTP server is
		// TestNotify_SIGTERMWithSilentSMTPServer's business.
		d.kill9()
		return
	}
	// The daemon did try: deliveries to both sink kinds failed.
	testutil.Eventually(t, 10*time.Second, "failed deliveries counted", func() (bool, string) {
		body := httpGet(t, "http://"+d.apiAddr+"/metrics")
		return metricValue(body, `failoverd_notify_failed_total{sink="syslog"}`) > 0 &&
			metricValue(body, `failoverd_notify_failed_total{sink="email"}`) > 0, body
	})
}

// SIGTERM stops the daemon within the notification drain deadline (5 s,
// plus slack) even while a mail delivery hangs on an SMTP server that
// accepted the connection and never greets (architecture: "drain in-flight
// queries and notifications within a deadline").
func TestNotify_SIGTERMWithSilentSMTPServer(t *testing.T) {
	smtpPort := startSilentSink(t)
	port := testutil.FreePort(t, "127.0.0.1")
	newTargetOn(t, "127.0.0.171", port, "ok")
	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
smtp {
  server   = "127.0.0.1:%d"
  from     = %q
  starttls = "never"
}
contact "ops" { email = ["ops@example.test"] }
zone "silent.test" {}
active_failover "www.silent.test." {
  address          = "127.0.0.171"
  failover_data    = "127.0.0.172"
  ttl              = 0
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 0
    port     = %d
  }
}
`, smtpPort, mailFrom, port))
	// The first round's events are mailed: the mail worker is now stuck
	// waiting for the greeting.
	testutil.Eventually(t, 10*time.Second, "first round", func() (bool, string) {
		body := httpGet(t, "http://"+d.apiAddr+"/v1/services")
		return strings.Contains(body, `"status":"ok"`), body
	})
	time.Sleep(500 * time.Millisecond) // let the worker connect
	stopAt := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.kill9()
		t.Fatal("failoverd did not stop within 30 s of SIGTERM")
	}
	if took := time.Since(stopAt); took > 10*time.Second {
		t.Errorf("SIGTERM took %v with a silent SMTP server; want the 5 s drain deadline (plus slack)", took)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// metricValue returns the value of the sample series (name with labels,
// as exposed) in a Prometheus text exposition, or -1.
func metricValue(body, series string) float64 {
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// A reload (SIGHUP) applies changed notification settings: a service's
// syslog block at once; server.hostname (%hos and the syslog HOSTNAME) and
// an smtp block added after start should follow, but do not yet (see the
// skip below).
func TestNotify_ReloadAppliesNotificationSettings(t *testing.T) {
	rs := testutil.StartRsyslogd(t)
	ms := startMailSink(t)
	port := testutil.FreePort(t, "127.0.0.1")
	primary := newTargetOn(t, "127.0.0.141", port, "ok")
	conf := func(hostname, smtp, ident, protocol string) string {
		return fmt.Sprintf(`
server {
  hostname  = %q
  state_dir = "{{STATE}}"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
%s
contact "ops" { email = ["ops@example.test", "oncall@example.test"] }
zone "af.test" {}
active_failover "re.af.test." {
  address          = "127.0.0.141"
  failover_data    = "127.0.0.142"
  ttl              = 0
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 0
    port     = %d
  }
  syslog {
    server   = "127.0.0.1"
    port     = %d
    protocol = %q
    ident    = %q
  }
}
`, hostname, smtp, port, rs.UDP, protocol, ident)
	}
	const oldHost = "ns0.example.test"
	d := startDaemon(t, conf(oldHost, "", "fo-v1", "rfc3164"))
	const within = 10 * time.Second
	waitLine(t, rs, 0, wantLine{app: "fo-v1", version: "0", facility: "3", severity: sevInfo, hostname: oldHost,
		msg: regexp.QuoteMeta(oldHost) + ` status ` + timeRE + `: global ok \d+ 127\.0\.0\.141`}, within)

	// Rewrite the file the daemon runs on, placeholders filled in as the
	// harness did, and reload.
	smtp := fmt.Sprintf("smtp {\n  server   = %q\n  from     = %q\n  starttls = \"never\"\n}", ms.addr(), mailFrom)
	next := strings.NewReplacer("{{DNS}}", d.dnsAddr, "{{API}}", d.apiAddr, "{{STATE}}", filepath.Join(d.dir, "state")).
		Replace(conf(notifyHost, smtp, "fo-v2", "rfc5424"))
	if err := os.WriteFile(d.config, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, within, "reload", func() (bool, string) {
		body := httpGet(t, "http://"+d.apiAddr+"/metrics")
		return metricValue(body, `failoverd_config_reloads_total{result="success"}`) >= 1, d.out.String()
	})

	lines0, mails0 := len(rs.Lines()), len(ms.received())
	primary.Stop()
	d.waitAnswer("re.af.test.", dns.TypeA, "127.0.0.142", within)
	// The new syslog block (ident, framing) and the new %hos apply.
	l, _ := waitLine(t, rs, lines0, wantLine{app: "fo-v2", version: "1", facility: "3", severity: sevErr, hostname: "*",
		msg: regexp.QuoteMeta(notifyHost) + ` status ` + timeRE + `: global failover \d+ 127\.0\.0\.142`}, within)

	if l.Hostname != notifyHost {
		t.Errorf("syslog HOSTNAME after reload %q, want %q", l.Hostname, notifyHost)
	}
	ms.waitMails(mails0, []wantMail{
		{"re.af.test.", "127.0.0.141", "down"},
		{"re.af.test.", "global", "failover"},
	}, within)
}

// Every %var through the daemon's wiring: custom probe and status formats
// with all of them (and an unknown %zz, copied unchanged) on a gslb region
// whose address fails (trouble: severity warning) and that an operator then
// deactivates (unk: warning); an rttm service with delivery all renders
// %med and %rts after performance rounds.
func TestNotify_EveryVarThroughTheDaemon(t *testing.T) {
	rs := testutil.StartRsyslogd(t)
	port := testutil.FreePort(t, "127.0.0.1")
	a := newTargetOn(t, "127.0.0.151", port, "ok")
	newTargetOn(t, "127.0.0.152", port, "ok")
	newTargetOn(t, "127.0.0.153", port, "ok")
	newTargetOn(t, "127.0.0.154", port, "ok")
	const vars = "%hos;%tim;%reg;%sta;%ser;%rda;%sit;%rti;%msg;%adr;%med;%rts;%zz"
	d := startDaemon(t, fmt.Sprintf(`
server {
  hostname  = %[1]q
  site      = "iad"
  state_dir = "{{STATE}}"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "vars.test" {}

gslb "g.vars.test." {
  ttl = 0
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 0
    port     = %[2]d
  }
  syslog {
    server     = "127.0.0.1"
    port       = %[3]d
    transport  = "tcp"
    ident      = "fo-vars"
    facility   = "local0"
    probe_fmt  = "P;%[4]s"
    status_fmt = "S;%[4]s"
  }
  region "global" {
    serve_count = 2
    pool "127.0.0.151" {}
    pool "127.0.0.152" {}
  }
}

rttm "r.vars.test." {
  ttl = 0
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    retries  = 0
    port     = %[2]d
  }
  performance_monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "800ms"
    port     = %[2]d
  }
  syslog {
    server   = "127.0.0.1"
    port     = %[5]d
    ident    = "fo-rttm"
    delivery = "all"
  }
  region "global" {
    pool "127.0.0.153" {}
    pool "127.0.0.154" {}
  }
}
`, notifyHost, port, rs.TCP, vars, rs.UDP))

	const within = 10 * time.Second
	host := regexp.QuoteMeta(notifyHost)
	line := func(sev, msg string) wantLine {
		return wantLine{app: "fo-vars", version: "0", facility: "16", severity: sev, msg: msg}
	}
	waitLine(t, rs, 0, line(sevInfo, `S;`+host+`;`+timeRE+`;global;ok;\d+;127\.0\.0\.151,127\.0\.0\.152;iad;;;;;;%zz`), within)
	waitLine(t, rs, 0, line(sevInfo, `P;`+host+`;`+timeRE+`;global;up;\d+;127\.0\.0\.151,127\.0\.0\.152;iad;\d+\.\d{3} ;(\S.* )?;127\.0\.0\.151;;;%zz`), within)
	waitLine(t, rs, 0, line(sevInfo, `P;`+host+`;`+timeRE+`;global;up;\d+;127\.0\.0\.151,127\.0\.0\.152;iad;\d+\.\d{3} ;(\S.* )?;127\.0\.0\.152;;;%zz`), within)
	lines0 := len(rs.Lines())

	// An address fails: the probe message shows the served set after the
	// change and the current serial; the region is in trouble.
	stopped := time.Now()
	a.Stop()
	d.waitAnswer("g.vars.test.", dns.TypeA, "127.0.0.152", within)
	_, m := waitLine(t, rs, lines0, line(sevErr, `P;`+host+`;`+timeRE+`;global;down;(\d+);127\.0\.0\.152;iad;;(\S.* );127\.0\.0\.151;;;%zz`), within)
	checkTime(t, m[1], stopped, time.Now())
	probeSerial := parseSerial(t, m[2])
	_, m = waitLine(t, rs, lines0, line("4", `S;`+host+`;`+timeRE+`;global;trouble;(\d+);127\.0\.0\.152;iad;;;;;;%zz`), within)
	statusSerial := parseSerial(t, m[2])
	if soa := d.serialT(t, "vars.test."); probeSerial != soa || statusSerial != soa {
		t.Errorf("%%ser: probe message %d, status message %d, SOA %d", probeSerial, statusSerial, soa)
	}

	// An operator deactivates the service: every address is served again and
	// the region's status is unk (warning).
	lines1 := len(rs.Lines())
	resp, err := http.Post("http://"+d.apiAddr+"/v1/services/g.vars.test./deactivate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deactivate: %s %s", resp.Status, body)
	}
	_, m = waitLine(t, rs, lines1, line("4", `S;`+host+`;`+timeRE+`;global;unk;(\d+);(127\.0\.0\.151,127\.0\.0\.152|127\.0\.0\.152,127\.0\.0\.151);[^;]*;;;;;;%zz`), within)
	if soa := d.serialT(t, "vars.test."); parseSerial(t, m[2]) != soa {
		t.Errorf("%%ser after deactivate %s, SOA %d", m[2], soa)
	}

	// rttm, delivery all: performance rounds render %med and %rts in the
	// default rttm format "%hos rttm %tim: %reg %sta %med %rts".
	waitLine(t, rs, 0, wantLine{app: "fo-rttm", version: "0", facility: "3", severity: sevInfo,
		msg: host + ` rttm ` + timeRE + `: global ok \d+\.\d{3} \d+\.\d{3}(,\d+\.\d{3})*`}, within)
}

// sf_pool (section 5): every status change of the pool (CRITICAL when the
// monitor fails, OK when it answers again, MANUAL when an operator forces
// the live record inactive) is mailed to the contact; the per-site monitor
// results are not.
func TestNotify_SFPoolMailsEveryStatusChange(t *testing.T) {
	ms := startMailSink(t)
	port := testutil.FreePort(t, "127.0.0.1")
	live := newTargetOn(t, "127.0.0.161", port, "testing")
	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
smtp {
  server   = %q
  from     = %q
  starttls = "never"
}
contact "ops" { email = ["ops@example.test", "oncall@example.test"] }
zone "sf.test" {}
sf_pool "p.sf.test." {
  rrtype           = "A"
  ttl              = 0
  rdata            = "127.0.0.161"
  contact_nickname = "ops"
  monitor {
    method        = "GET"
    url           = "http://127.0.0.161:%d/health"
    search_string = "testing"
    interval      = "1s"
    timeout       = "400ms"
    retries       = 0
  }
  backup_record { rdata = "127.0.0.162" }
}
`, ms.addr(), mailFrom, port))

	const within = 10 * time.Second
	// The first round: the live record is OK (served before and after).
	testutil.Eventually(t, within, "first round", func() (bool, string) {
		body := httpGet(t, "http://"+d.apiAddr+"/v1/services/p.sf.test.")
		var sd struct {
			Regions []struct {
				Entries []struct{ Status string }
			}
		}
		if err := json.Unmarshal([]byte(body), &sd); err != nil || len(sd.Regions) != 1 || len(sd.Regions[0].Entries) != 1 {
			return false, body
		}
		return sd.Regions[0].Entries[0].Status == "up", body
	})
	mails0 := len(ms.received())
	for _, m := range ms.received() {
		if !slices.Contains(strings.Fields(m.Subject), "OK") {
			t.Errorf("before any failure: mail %q", m.Subject)
		}
	}

	live.Stop()
	d.waitAnswer("p.sf.test.", dns.TypeA, "127.0.0.162", within)
	ms.waitMails(mails0, []wantMail{{"p.sf.test.", "global", "CRITICAL"}}, within)
	live.Start()
	d.waitAnswer("p.sf.test.", dns.TypeA, "127.0.0.161", within)
	ms.waitMails(mails0, []wantMail{{"p.sf.test.", "global", "CRITICAL"}, {"p.sf.test.", "global", "OK"}}, within)

	resp, err := http.Post("http://"+d.apiAddr+"/v1/services/p.sf.test./force", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("force: %s %s", resp.Status, body)
	}
	d.waitAnswer("p.sf.test.", dns.TypeA, "127.0.0.162", within)
	ms.waitMails(mails0, []wantMail{
		{"p.sf.test.", "global", "CRITICAL"},
		{"p.sf.test.", "global", "OK"},
		{"p.sf.test.", "global", "MANUAL"},
	}, within)
}
