package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// answerWatch asks every node for www.example.test. and the zone's SOA
// without pause while a test breaks etcd, and counts the queries that got
// no answer, one outside the allowed answers, or a serial below one the
// node served before: answers never stop (docs/operations.md "Running
// several sites"), and a serial a secondary can follow.
type answerWatch struct {
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	queries int
	failed  []string
}

func watchAnswers(t *testing.T, nodes []*daemonProc, allowed ...string) *answerWatch {
	t.Helper()
	w := &answerWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		serials := make([]uint32, len(nodes))
		for {
			for i, d := range nodes {
				select {
				case <-w.stop:
					return
				default:
				}
				m := new(dns.Msg)
				m.SetQuestion("www.example.test.", dns.TypeA)
				// Generous for a loaded machine: the point is that
				// an answer comes, not how fast.
				r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, d.dnsAddr)
				var bad string
				switch {
				case err != nil:
					bad = err.Error()
				case r.Rcode != dns.RcodeSuccess:
					bad = dns.RcodeToString[r.Rcode]
				case !slices.Contains(allowed, strings.Join(answers(r), ",")):
					bad = fmt.Sprintf("answer %v", answers(r))
				default:
					s, err := d.soaSerial()
					switch {
					case err != nil:
						bad = "SOA: " + err.Error()
					case s < serials[i]:
						bad = fmt.Sprintf("SOA serial %d after %d", s, serials[i])
					default:
						serials[i] = s
					}
				}
				w.mu.Lock()
				w.queries++
				if bad != "" {
					w.failed = append(w.failed, fmt.Sprintf("%s %s: %s", time.Now().Format("15:04:05.000"), d.dnsAddr, bad))
				}
				w.mu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { w.finish() })
	return w
}

// finish stops the queries and returns how many were asked and the
// failures.
func (w *answerWatch) finish() (int, []string) {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queries, w.failed
}

// check stops the queries and fails the test unless every one was
// answered as allowed; at least atLeast queries prove the watch ran.
func (w *answerWatch) check(t *testing.T, what string, atLeast int) {
	t.Helper()
	n, failed := w.finish()
	if n < atLeast {
		t.Errorf("%s: only %d queries asked, want at least %d", what, n, atLeast)
	}
	t.Logf("%s: %d queries, %d failed", what, n, len(failed))
	if len(failed) > 0 {
		t.Errorf("%s: %d of %d queries failed:\n%s", what, len(failed), n, strings.Join(failed[:min(len(failed), 20)], "\n"))
	}
}

// waitConnected waits until every node's GET /v1/sites and metric
// failoverd_etcd_connected say connected (want true) or disconnected
// (false), and checks /healthz stays 200 either way.
func waitConnected(t *testing.T, nodes []*daemonProc, want bool, within time.Duration) {
	t.Helper()
	metric := 0.0
	if want {
		metric = 1
	}
	for _, d := range nodes {
		testutil.Eventually(t, within, fmt.Sprintf("%s: GET /v1/sites connected=%v", d.apiAddr, want), func() (bool, string) {
			var v api.SitesResponse
			d.getJSON("/v1/sites", &v)
			m := metricValue(httpGet(t, "http://"+d.apiAddr+"/metrics"), "failoverd_etcd_connected")
			return v.Connected == want && m == metric, fmt.Sprintf("%+v, failoverd_etcd_connected %v", v, m)
		})
		resp, err := http.Get("http://" + d.apiAddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: /healthz %s with etcd connected=%v, want 200", d.apiAddr, resp.Status, want)
		}
	}
}

// failoverEvents counts the svc failover events since since in each
// node's history of www.example.test.
func failoverEvents(t *testing.T, nodes []*daemonProc, since time.Time) []int {
	t.Helper()
	start := url.QueryEscape(since.Add(-time.Second).UTC().Format(time.RFC3339))
	var out []int
	for _, d := range nodes {
		var lr api.LogResponse
		d.getJSON("/v1/services/www.example.test./log?start="+start, &lr)
		n := 0
		for _, e := range lr.Events {
			if e.Kind == "svc" && e.NewStatus == "failover" && !e.Time.Before(since) {
				n++
			}
		}
		out = append(out, n)
	}
	return out
}

// A deployment on a three-member etcd cluster whose raft leader is
// killed with SIGKILL: the two members left keep quorum, every node keeps
// answering throughout, stays connected, and a failover decided after
// the loss is served by every node with one serial and recorded once.
func TestMultiSite_EtcdClusterLosesItsRaftLeaderWithoutInterruption(t *testing.T) {
	cluster := testutil.StartEtcdCluster(t, 3)
	target := newSourceTarget(t, "127.0.0.20")
	// The raft leader's endpoint first: the member the nodes' clients
	// talk to first is the one that dies.
	lost := cluster.Leader()
	eps := cluster.Endpoints()
	eps[0], eps[lost] = eps[lost], eps[0]
	o := deployment{Endpoints: eps, Port: target.port}
	nodes := startDeployment(t, o)
	waitConnected(t, nodes, true, 10*time.Second)

	watch := watchAnswers(t, nodes, "127.0.0.20", "127.0.0.21")
	if l := cluster.Leader(); l != lost {
		t.Logf("the raft leader moved from member %d to %d before the kill", lost, l)
		lost = l
	}
	cluster.Members[lost].Kill()
	if next := cluster.Leader(); next == lost {
		t.Fatalf("etcd member %d still leads after it was killed", lost)
	}
	// Longer than lease_ttl (2s): a node that lost its lease or its
	// connection would have said so by now.
	time.Sleep(3 * time.Second)
	waitConnected(t, nodes, true, 10*time.Second)

	since := time.Now()
	target.setDown(siteSources["a"], siteSources["b"])
	allAnswer(t, nodes, "127.0.0.21", 15*time.Second)
	sameSerials(t, nodes, 5*time.Second)
	watch.check(t, "while an etcd member was lost", 100)
	if got := failoverEvents(t, nodes, since); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("failover events per node after the member loss: %v, want one on every node", got)
	}
	for i, d := range nodes {
		if strings.Count(d.out.String(), "cut off from etcd") > 0 {
			t.Errorf("node %d was cut off from etcd while two of three members ran", i)
		}
	}

	// A follower restarted with etcd serves the
	// committed state within 5 s, and the nodes agree on a serial again,
	// not below the one they served.
	before := sameSerials(t, nodes, time.Second)
	follower := nodes[(waitLeader(t, nodes)+1)%len(nodes)]
	follower.stop()
	start := time.Now()
	follower.start()
	follower.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.21", 5*time.Second-time.Since(start))
	s := sameSerials(t, nodes, 10*time.Second)
	if s < before {
		t.Errorf("after a follower's restart the nodes serve SOA serial %d, below the %d before", s, before)
	}
	t.Logf("SOA serial %d before a follower's restart, %d after", before, s)
}

// etcd stopped and started again under a running deployment: every node
// answers throughout and says it is disconnected; a node deciding alone
// meanwhile (on_partition = "local") may differ, but once etcd is back all
// nodes serve the committed answers with one serial again, and the next
// change is decided once and served everywhere.
func TestMultiSite_EtcdStoppedAndRestartedNodesAgreeAgain(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	target := newSourceTarget(t, "127.0.0.20")
	o := deployment{Endpoints: []string{etcd.Endpoint}, Port: target.port}
	nodes := startDeployment(t, o)
	serial0 := sameSerials(t, nodes, time.Second)
	watch := watchAnswers(t, nodes, "127.0.0.20", "127.0.0.21")

	etcd.Kill()
	waitConnected(t, nodes, false, 10*time.Second)
	// Alone, site a sees the primary down and fails over on its own node;
	// the others see it up.
	target.setDown(siteSources["a"])
	nodes[0].waitAnswer("www.example.test.", dns.TypeA, "127.0.0.21", 15*time.Second)
	for _, d := range nodes[1:] {
		if got, err := d.lookup("udp", "www.example.test.", dns.TypeA); err != nil || got != "127.0.0.20" {
			t.Errorf("%s alone, with its site seeing the primary up: %q (%v)", d.dnsAddr, got, err)
		}
	}

	aloneSerial, err := nodes[0].soaSerial()
	if err != nil || aloneSerial <= serial0 {
		t.Errorf("site a's node failed over alone with SOA serial %d (%v), before %d", aloneSerial, err, serial0)
	}

	etcd.Restart()
	waitConnected(t, nodes, true, 15*time.Second)
	// One site of three sees it down: the deployment's answer is the
	// primary, on every node, with one serial: above the one site a's node
	// served alone, so that its serial never goes back (a secondary of
	// that node would otherwise keep the alone answers).
	allAnswer(t, nodes, "127.0.0.20", 15*time.Second)
	if s := sameSerials(t, nodes, 10*time.Second); s <= aloneSerial {
		t.Errorf("after etcd returned every node serves SOA serial %d, not above the %d site a's node served alone", s, aloneSerial)
	}

	since := time.Now()
	target.setDown(siteSources["a"], siteSources["b"])
	allAnswer(t, nodes, "127.0.0.21", 15*time.Second)
	sameSerials(t, nodes, 5*time.Second)
	watch.check(t, "while etcd was stopped and started", 100)
	if got := failoverEvents(t, nodes, since); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("failover events per node after etcd returned: %v, want one on every node", got)
	}
}
