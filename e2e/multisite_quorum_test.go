package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// quorumStep is one moment of a quorum test: the sites that see the
// targets down, and then what every node answers for each name.
type quorumStep struct {
	down []string          // sites whose probes fail
	want map[string]string // name → the answer on every node
}

// runQuorumSteps drives targets through steps on a running deployment.
// A step's answers must hold for more than two rounds after etcd has
// every site's report on every target, so that an answer that must not
// change is seen not to change from reports the leader has read.
func runQuorumSteps(t *testing.T, nodes []*daemonProc, endpoints []string, targets []*sourceTarget, steps []quorumStep) {
	t.Helper()
	for i, st := range steps {
		var sources []string
		reports := map[string]string{}
		for _, site := range []string{"a", "b", "c"} {
			reports[site] = "up"
			if slices.Contains(st.down, site) {
				sources = append(sources, siteSources[site])
				reports[site] = "down"
			}
		}
		for _, tg := range targets {
			tg.setDown(sources...)
		}
		for _, tg := range targets {
			waitSiteReports(t, endpoints, tg.port, reports, 10*time.Second)
		}
		for name, want := range st.want {
			for _, d := range nodes {
				d.waitAnswer(name, dns.TypeA, want, 15*time.Second)
			}
		}
		for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			for name, want := range st.want {
				for j, d := range nodes {
					if got, err := d.lookup("udp", name, dns.TypeA); err != nil || got != want {
						t.Fatalf("step %d (down for %v): node %d answers %q (%v) for %s, want %s", i, st.down, j, got, err, name, want)
					}
				}
			}
		}
		sameSerials(t, nodes, 5*time.Second)
	}
}

// etcd.quorum (docs/configuration.md) for the settings other than
// majority (which TestMultiSite_QuorumDecidesAndEveryNodeServesIt covers):
// with "any" one site of three seeing the primary down fails it over on
// every node, while an sf_pool uses its region_failure_sensitivity instead
// (LOW: every live site must see the live record down; HIGH: at least
// two); with "all" two sites of three do not fail over, three do.
func TestMultiSite_QuorumSettings(t *testing.T) {
	const primary, backup = "127.0.0.20", "127.0.0.21"
	want := func(www, low, high string) map[string]string {
		m := map[string]string{"www.example.test.": www}
		if low != "" {
			m["low.example.test."], m["high.example.test."] = low, high
		}
		return m
	}
	const lowLive, lowBackup, highLive, highBackup = "127.0.0.30", "127.0.0.31", "127.0.0.32", "127.0.0.33"
	for _, c := range []struct {
		name, quorum string
		sfPools      bool
		steps        []quorumStep
	}{
		{"any: one site of three fails over; sf_pool LOW needs every site, HIGH two", "any", true, []quorumStep{
			{down: nil, want: want(primary, lowLive, highLive)},
			{down: []string{"a"}, want: want(backup, lowLive, highLive)},
			{down: []string{"a", "c"}, want: want(backup, lowLive, highBackup)},
			{down: []string{"a", "b", "c"}, want: want(backup, lowBackup, highBackup)},
			{down: []string{"b"}, want: want(backup, lowLive, highLive)},
			{down: nil, want: want(primary, lowLive, highLive)},
		}},
		{"all: two sites of three do not fail over, three do", "all", false, []quorumStep{
			{down: []string{"a", "b"}, want: want(primary, "", "")},
			{down: []string{"a", "b", "c"}, want: want(backup, "", "")},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			etcd := testutil.StartEtcd(t)
			www := newSourceTarget(t, "127.0.0.20")
			targets := []*sourceTarget{www}
			o := deployment{Endpoints: []string{etcd.Endpoint}, Port: www.port, Quorum: c.quorum}
			if c.sfPools {
				low, high := newSourceTarget(t, lowLive), newSourceTarget(t, highLive)
				targets = append(targets, low, high)
				o.Extra = sfPoolConfig("low.example.test.", "LOW", lowLive, lowBackup, low.port) +
					sfPoolConfig("high.example.test.", "HIGH", highLive, highBackup, high.port)
			}
			nodes := startDeployment(t, o)
			runQuorumSteps(t, nodes, o.Endpoints, targets, c.steps)
		})
	}
}

// sfPoolConfig is an sf_pool at name serving live (probed on port) or
// backup, with the given region_failure_sensitivity.
func sfPoolConfig(name, sensitivity, live, backup string, port int) string {
	return fmt.Sprintf(`
sf_pool %q {
  rrtype                     = "A"
  ttl                        = 0
  rdata                      = %q
  region_failure_sensitivity = %q
  monitor {
    method   = "GET"
    url      = "http://%s:%d/health"
    interval = "1s"
    timeout  = "500ms"
    retries  = 0
  }
  backup_record { rdata = %q }
}
`, name, live, sensitivity, live, port, backup)
}
