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

// cluster.md "Quorum" for the settings other than majority: with "any"
// one site of three seeing the primary down fails it over on every node;
// with "all" two of three do not, three do.
func TestMultiSite_QuorumAnyAndAll(t *testing.T) {
	const primary, backup = "127.0.0.20", "127.0.0.21"
	www := func(answer string) map[string]string { return map[string]string{"www.example.test.": answer} }
	for _, c := range []struct {
		name, quorum string
		steps        []quorumStep
	}{
		{"any: one site of three fails over", "any", []quorumStep{
			{down: []string{"b"}, want: www(backup)},
			{down: nil, want: www(primary)},
		}},
		{"all: two sites of three do not, three do", "all", []quorumStep{
			{down: []string{"a", "b"}, want: www(primary)},
			{down: []string{"a", "b", "c"}, want: www(backup)},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			etcd := testutil.StartEtcd(t)
			target := newSourceTarget(t, "127.0.0.20")
			o := deployment{Endpoints: []string{etcd.Endpoint}, Port: target.port, Quorum: c.quorum}
			nodes := startDeployment(t, o)
			runQuorumSteps(t, nodes, o.Endpoints, []*sourceTarget{target}, c.steps)
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

// cluster.md "Quorum": an sf_pool uses its region_failure_sensitivity,
// not etcd.quorum (here "any"): LOW fails over only when every live site
// sees the live record down, HIGH when at least two do.
func TestMultiSite_SFPoolSensitivityLowAndHigh(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	www := newSourceTarget(t, "127.0.0.20")
	low := newSourceTarget(t, "127.0.0.30")
	high := newSourceTarget(t, "127.0.0.32")
	o := deployment{Endpoints: []string{etcd.Endpoint}, Port: www.port, Quorum: "any",
		Extra: sfPoolConfig("low.example.test.", "LOW", "127.0.0.30", "127.0.0.31", low.port) +
			sfPoolConfig("high.example.test.", "HIGH", "127.0.0.32", "127.0.0.33", high.port)}
	nodes := startDeployment(t, o)
	want := func(lowAnswer, highAnswer string) map[string]string {
		return map[string]string{"low.example.test.": lowAnswer, "high.example.test.": highAnswer}
	}
	runQuorumSteps(t, nodes, o.Endpoints, []*sourceTarget{low, high}, []quorumStep{
		{down: nil, want: want("127.0.0.30", "127.0.0.32")},
		{down: []string{"a"}, want: want("127.0.0.30", "127.0.0.32")},
		{down: []string{"a", "c"}, want: want("127.0.0.30", "127.0.0.33")},
		{down: []string{"a", "b", "c"}, want: want("127.0.0.31", "127.0.0.33")},
		{down: []string{"b"}, want: want("127.0.0.30", "127.0.0.32")},
	})
}
