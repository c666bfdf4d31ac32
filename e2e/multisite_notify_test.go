package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
)

// docs/operations.md "Running several sites" (a change is notified) seen
// at one receiver every node sends to: a real rsyslogd over TCP and one
// SMTP receiver. Only the leader sends, so each change arrives exactly
// once, from the leader's hostname, and %sit names the sites whose
// reports decided it.
func TestMultiSite_OneSyslogMessageAndMailPerChangeAtASharedReceiver(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	rs := testutil.StartRsyslogd(t)
	ms := startMailSink(t)
	target := newSourceTarget(t, "127.0.0.20")
	o := deployment{
		Endpoints: []string{etcd.Endpoint},
		Port:      target.port,
		Service: fmt.Sprintf(`  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  syslog {
    server    = "127.0.0.1"
    port      = %d
    transport = "tcp"
    ident     = "fo-ms"
  }`, rs.TCP),
		Extra: fmt.Sprintf(`
smtp {
  server   = %q
  from     = %q
  starttls = "never"
}
contact "ops" { email = ["ops@example.test", "oncall@example.test"] }
`, ms.addr(), mailFrom),
	}
	nodes := startDeployment(t, o)

	// Every message of the service is one of these; group 1 is the
	// sending node's %hos, 2 %sit (probe lines) or the region (status).
	probeRE := regexp.MustCompile(`^(ns-[abc]\.example\.test) probe ` + timeRE + `: (\S+) (up|down) .*127\.0\.0\.20$`)
	statusRE := regexp.MustCompile(`^(ns-[abc]\.example\.test) status ` + timeRE + `: (global) (ok|failover) \d+ (127\.0\.0\.2[01])$`)
	changes := func(from int) []notified {
		var out []notified
		lines := rs.Lines()
		for _, l := range lines[min(from, len(lines)):] {
			if m := probeRE.FindStringSubmatch(l.Msg); m != nil && l.AppName == "fo-ms" {
				out = append(out, notified{"probe", m[1], m[3], m[4]})
			} else if m := statusRE.FindStringSubmatch(l.Msg); m != nil && l.AppName == "fo-ms" {
				out = append(out, notified{"status", m[1], "", m[4]})
			} else {
				t.Errorf("unexpected syslog message %s", l)
			}
		}
		return out
	}

	// The first rounds: 127.0.0.20 unk → up and the service ok, once.
	testutil.Eventually(t, 10*time.Second, "the first rounds are announced", func() (bool, string) {
		c := changes(0)
		return len(c) >= 2, fmt.Sprint(c)
	})
	leader := waitLeader(t, nodes)
	leaderHost := fmt.Sprintf("ns-%s.example.test", []string{"a", "b", "c"}[leader])

	// expect waits for the changes from line index from on to be want
	// (in any order), then for two more rounds in which nothing else may
	// arrive, and checks that mails are the same events, once each.
	expect := func(what string, from, mailsFrom int, want []notified, mails []wantMail) int {
		t.Helper()
		key := func(cs []notified) string {
			var s []string
			for _, c := range cs {
				s = append(s, fmt.Sprint(c))
			}
			return strings.Join(slices.Sorted(slices.Values(s)), "\n")
		}
		testutil.Eventually(t, 15*time.Second, what+": one message per change", func() (bool, string) {
			got := changes(from)
			return len(got) >= len(want), key(got)
		})
		time.Sleep(2500 * time.Millisecond) // two rounds and a half: room for a duplicate
		got := changes(from)
		if key(got) != key(want) {
			t.Errorf("%s: syslog got\n%s\nwant exactly\n%s\nall messages:\n%s", what, key(got), key(want), dumpLines(rs.Lines()))
		}
		ms.waitMails(mailsFrom, mails, 5*time.Second)
		return len(rs.Lines())
	}
	l0 := expect("start", 0, 0, []notified{
		{"probe", leaderHost, changesSite(t, changes(0)), "up"},
		{"status", leaderHost, "", "ok"},
	}, []wantMail{{"www.example.test.", "127.0.0.20", "up"}, {"www.example.test.", "global", "ok"}})
	m0 := len(ms.received())

	// Failover: a and b see it down, c does not; the sites that decided
	// are a and b.
	target.setDown(siteSources["a"], siteSources["b"])
	allAnswer(t, nodes, "127.0.0.21", 15*time.Second)
	sameSerials(t, nodes, 5*time.Second)
	l1 := expect("failover", l0, m0, []notified{
		{"probe", leaderHost, "a,b", "down"},
		{"status", leaderHost, "", "failover"},
	}, []wantMail{{"www.example.test.", "127.0.0.20", "down"}, {"www.example.test.", "global", "failover"}})
	m1 := len(ms.received())

	// Recovery seen by b and c while a still sees it down: b and c
	// decided it.
	target.setDown(siteSources["a"])
	allAnswer(t, nodes, "127.0.0.20", 15*time.Second)
	sameSerials(t, nodes, 5*time.Second)
	l2 := expect("recovery", l1, m1, []notified{
		{"probe", leaderHost, "b,c", "up"},
		{"status", leaderHost, "", "ok"},
	}, []wantMail{{"www.example.test.", "127.0.0.20", "up"}, {"www.example.test.", "global", "ok"}})
	if l := waitLeader(t, nodes); l != leader {
		t.Fatalf("the leader moved from node %d to %d during the test", leader, l)
	}
	m2 := len(ms.received())

	// The leader dies with every event delivered: the next leader sends
	// none of them again, and the next change once, decided by the two
	// live sites.
	nodes[leader].kill9()
	var rest []*daemonProc
	var live []string
	for i, site := range []string{"a", "b", "c"} {
		if i != leader {
			rest, live = append(rest, nodes[i]), append(live, site)
		}
	}
	target.setDown(siteSources["a"], siteSources["b"], siteSources["c"])
	allAnswer(t, rest, "127.0.0.21", 2*time.Second+15*time.Second)
	sameSerials(t, rest, 5*time.Second)
	next := waitLeader(t, rest)
	nextHost := fmt.Sprintf("ns-%s.example.test", live[next])
	expect("failover after the leader died", l2, m2, []notified{
		{"probe", nextHost, strings.Join(live, ","), "down"},
		{"status", nextHost, "", "failover"},
	}, []wantMail{{"www.example.test.", "127.0.0.20", "down"}, {"www.example.test.", "global", "failover"}})
}

// notified is one syslog message of the service: a probe line (an
// address's change, with the %sit that decided it) or a status line.
type notified struct{ kind, host, sites, status string }

// changesSite is the %sit of the first probe line in cs: the start is
// decided by whichever sites had reported by the leader's first round.
func changesSite(t *testing.T, cs []notified) string {
	t.Helper()
	for _, c := range cs {
		if c.kind == "probe" {
			if !regexp.MustCompile(`^[abc](,[abc])*$`).MatchString(c.sites) {
				t.Errorf("%%sit %q: want a comma-separated list of the sites a, b, c", c.sites)
			}
			return c.sites
		}
	}
	return ""
}

// waitLeader waits until exactly one node logs that it leads and returns
// it.
func waitLeader(t *testing.T, nodes []*daemonProc) int {
	t.Helper()
	leader := -1
	testutil.Eventually(t, 10*time.Second, "a node leads", func() (bool, string) {
		leader = leaderOf(nodes)
		return leader >= 0, ""
	})
	return leader
}
