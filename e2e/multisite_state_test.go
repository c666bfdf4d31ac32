package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// sharedDetail is what GET /v1/services/{fqdn} must show alike on every
// node of a deployment: everything but the per-node round times, RTTs and
// messages (docs/operations.md, "Running several sites"). It also says
// what a node lacks: a round history, a last probe, every site's view.
func sharedDetail(sd api.ServiceDetail, sites int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s active=%v", sd.FQDN, sd.Status, sd.Active)
	for _, r := range sd.Regions {
		fmt.Fprintf(&b, " | %s %s served=%v", r.Code, r.Status, r.Served)
		for _, e := range r.Entries {
			fmt.Fprintf(&b, " [%s %s removed=%v", e.Address, e.Status, e.Removed)
			if len(e.History) == 0 {
				b.WriteString(" NO-HISTORY")
			}
			if e.LastProbe == nil {
				b.WriteString(" NO-LAST-PROBE")
			}
			if len(e.Sites) != sites {
				fmt.Fprintf(&b, " %d-SITES", len(e.Sites))
			}
			b.WriteString("]")
		}
	}
	return b.String()
}

// logKinds is a node's log report of fqdn as kind:old>new, in order.
func logKinds(d *daemonProc, fqdn string) string {
	since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	var lr api.LogResponse
	d.getJSON("/v1/services/"+fqdn+"/log?start="+since, &lr)
	var out []string
	for _, e := range lr.Events {
		out = append(out, e.Kind+":"+e.OldStatus+">"+e.NewStatus)
	}
	return strings.Join(out, " ")
}

// Followers show what the leader shows and keep it: the service detail
// (statuses, served sets, every site's view, a round history) and the log
// are the leader's on every node; a follower restarted while etcd is down
// serves the committed answer with the committed SOA serial, the one every
// other node serves, within 5 s.
func TestMultiSite_FollowersShowAndKeepTheCommittedState(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	target := newSourceTarget(t, "127.0.0.20")
	sources := map[string]string{"a": "127.0.0.11", "b": "127.0.0.12", "c": "127.0.0.13"}
	var nodes []*daemonProc
	for _, site := range []string{"a", "b", "c"} {
		nodes = append(nodes, startDaemon(t, multisiteConfig(site, sources[site], etcd.Endpoint, target.port)))
	}
	allAnswer(t, nodes, "127.0.0.20", 10*time.Second)
	waitReports(t, etcd.Endpoint, []string{"a", "b", "c"}, "up", 10*time.Second)
	before := sameSerials(t, nodes, 10*time.Second)

	// Two sites of three see the primary down: a committed failover.
	target.setDown(sources["a"], sources["b"])
	allAnswer(t, nodes, "127.0.0.21", 15*time.Second)
	committed := sameSerials(t, nodes, 5*time.Second)
	if committed == before {
		t.Fatalf("the failover did not move the serial (%d)", committed)
	}
	leader := -1
	for deadline := time.Now().Add(5 * time.Second); leader < 0; time.Sleep(100 * time.Millisecond) {
		if leader = leaderOf(nodes); leader < 0 && time.Now().After(deadline) {
			t.Fatal("no node logged that it leads")
		}
	}

	// The detail and the log: the leader's on every node.
	var want, got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		want, got = want[:0], got[:0]
		for _, d := range nodes {
			var sd api.ServiceDetail
			d.getJSON("/v1/services/www.example.test.", &sd)
			got = append(got, sharedDetail(sd, 3)+" log: "+logKinds(d, "www.example.test."))
		}
		same := !strings.Contains(got[leader], "NO-") && !strings.Contains(got[leader], "-SITES")
		for _, g := range got {
			same = same && g == got[leader]
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service detail differs between nodes (leader is node %d):\n%s", leader, strings.Join(got, "\n"))
		}
	}

	// Every site sees it down now, so no node that decides alone while
	// etcd is away has anything new to decide.
	target.setDown(sources["a"], sources["b"], sources["c"])
	waitReports(t, etcd.Endpoint, []string{"a", "b", "c"}, "down", 10*time.Second)
	etcd.Kill()

	follower := nodes[(leader+1)%len(nodes)]
	follower.stop()
	start := time.Now()
	follower.start()
	follower.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.21", 5*time.Second-time.Since(start))
	if serial, err := follower.soaSerial(); err != nil || serial != committed {
		t.Fatalf("restarted follower serves serial %d (%v), want the committed %d", serial, err, committed)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the restarted follower answered after %s, want within 5s", took)
	}
	if got := sameSerials(t, nodes, 2*time.Second); got != committed {
		t.Errorf("nodes serve serial %d after the restart, want the committed %d", got, committed)
	}
}
