package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// sourceTarget is an HTTP target that fails the probes of chosen source
// addresses: one target seen differently from each site.
type sourceTarget struct {
	port int
	mu   sync.Mutex
	down map[string]bool // source IP → answer 503
}

func newSourceTarget(t *testing.T, ip string) *sourceTarget {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	st := &sourceTarget{port: l.Addr().(*net.TCPAddr).Port, down: map[string]bool{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		st.mu.Lock()
		down := st.down[host]
		st.mu.Unlock()
		if down {
			http.Error(w, "down for "+host, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "OK")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return st
}

// setDown makes the target fail for exactly these source addresses.
func (st *sourceTarget) setDown(sources ...string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.down = map[string]bool{}
	for _, s := range sources {
		st.down[s] = true
	}
}

func multisiteConfig(site, source, etcd string, port int) string {
	return multisiteConfigOn(site, source, etcd, port, "local")
}

func multisiteConfigOn(site, source, etcd string, port int, onPartition string) string {
	return deploymentConfig(site, source, deployment{Endpoints: []string{etcd}, Port: port, OnPartition: onPartition, Interval: "2s"})
}

// deployment is what the nodes of one multi-site deployment share in
// their configuration.
type deployment struct {
	Endpoints   []string // etcd
	Port        int      // the www service's HTTP monitor port on 127.0.0.20
	Quorum      string   // default "majority"
	OnPartition string   // default "local"
	Interval    string   // www's monitor interval; default "1s"
	Service     string   // more lines in the www service (syslog, notify_events)
	Extra       string   // more top-level blocks (smtp, contact, services)
}

// deploymentConfig is the configuration of the node of site (probing
// from source) in deployment o: the zone example.test and the service
// www.example.test. failing over from 127.0.0.20 to 127.0.0.21.
func deploymentConfig(site, source string, o deployment) string {
	o.Quorum = cmp.Or(o.Quorum, "majority")
	o.OnPartition = cmp.Or(o.OnPartition, "local")
	o.Interval = cmp.Or(o.Interval, "1s")
	ttl := 0
	if o.Interval == "2s" {
		ttl = 1
	}
	eps, _ := json.Marshal(o.Endpoints)
	return fmt.Sprintf(`
server {
  hostname     = "ns-%[1]s.example.test"
  site         = %[1]q
  probe_source = %[2]q
  state_dir    = "{{STATE}}"
  log_level    = "debug"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
etcd {
  endpoints = %[3]s
  lease_ttl = "2s"
  quorum    = %[5]q
  on_partition = %[6]q
}
zone "example.test" {
  ns = ["ns1.example.test."]
}
active_failover "www.example.test." {
  address       = "127.0.0.20"
  failover_data = "127.0.0.21"
  ttl           = %[8]d
%[9]s
  monitor {
    protocol = "HTTP"
    interval = %[7]q
    retries  = 0
    timeout  = "500ms"
    port     = %[4]d
    path     = "/health"
  }
}
%[10]s
`, site, source, eps, o.Port, o.Quorum, o.OnPartition, o.Interval, ttl, o.Service, o.Extra)
}

// siteSources are the probe_source addresses of the sites a, b and c.
var siteSources = map[string]string{"a": "127.0.0.11", "b": "127.0.0.12", "c": "127.0.0.13"}

// startDeployment starts the nodes of sites a, b and c in o, in that
// order, and waits until every node serves the primary with one serial.
func startDeployment(t *testing.T, o deployment) []*daemonProc {
	t.Helper()
	var nodes []*daemonProc
	for _, site := range []string{"a", "b", "c"} {
		nodes = append(nodes, startDaemon(t, deploymentConfig(site, siteSources[site], o)))
	}
	allAnswer(t, nodes, "127.0.0.20", 10*time.Second)
	waitSiteReports(t, o.Endpoints, o.Port, map[string]string{"a": "up", "b": "up", "c": "up"}, 10*time.Second)
	sameSerials(t, nodes, 10*time.Second)
	return nodes
}

func (d *daemonProc) soaSerial() (uint32, error) {
	r, err := query(d.dnsAddr, "udp", "example.test.", dns.TypeSOA, dns.ClassINET)
	if err != nil {
		return 0, err
	}
	if len(r.Answer) != 1 {
		return 0, fmt.Errorf("SOA: %d answers", len(r.Answer))
	}
	return r.Answer[0].(*dns.SOA).Serial, nil
}

// allAnswer waits until every node answers want for www.example.test.
func allAnswer(t *testing.T, nodes []*daemonProc, want string, within time.Duration) {
	t.Helper()
	for _, d := range nodes {
		d.waitAnswer("www.example.test.", dns.TypeA, want, within)
	}
}

// sameSerials waits until every node serves one SOA serial.
func sameSerials(t *testing.T, nodes []*daemonProc, within time.Duration) uint32 {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = got[:0]
		seen := map[uint32]bool{}
		var serial uint32
		for _, d := range nodes {
			s, err := d.soaSerial()
			if err != nil {
				got = append(got, err.Error())
				continue
			}
			got = append(got, fmt.Sprint(s))
			seen[s], serial = true, s
		}
		if len(seen) == 1 && len(got) == len(nodes) {
			return serial
		}
	}
	t.Fatalf("SOA serials differ between nodes: %s", strings.Join(got, " "))
	return 0
}

// waitReports waits until every site has published the status want for
// the target, read from etcd itself.
func waitReports(t *testing.T, endpoint string, sites []string, want string, within time.Duration) {
	t.Helper()
	statuses := map[string]string{}
	for _, s := range sites {
		statuses[s] = want
	}
	waitSiteReports(t, []string{endpoint}, 0, statuses, within)
}

// waitSiteReports waits until each site in want has published the status
// want[site] for the target on port (0: every target), read from etcd
// itself.
func waitSiteReports(t *testing.T, endpoints []string, port int, want map[string]string, within time.Duration) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	testutil.Eventually(t, within, fmt.Sprintf("the sites report %v on port %d", want, port), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := cli.Get(ctx, "/failoverd/obs/", clientv3.WithPrefix())
		cancel()
		if err != nil {
			return false, err.Error()
		}
		var last []string
		ok := true
		seen := map[string]bool{}
		for _, kv := range resp.Kvs {
			// obs/<site>/<escaped probe key "PROTO addr:port hash">
			site, key, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), "/failoverd/obs/"), "/")
			key, _ = url.PathUnescape(key)
			if port != 0 && !strings.Contains(key, fmt.Sprintf(":%d ", port)) {
				continue
			}
			var v struct {
				Status string `json:"status"`
			}
			last = append(last, string(kv.Key)+"="+string(kv.Value))
			if w, listed := want[site]; listed {
				seen[site] = true
				if json.Unmarshal(kv.Value, &v) != nil || v.Status != w {
					ok = false
				}
			}
		}
		return ok && len(seen) == len(want), strings.Join(last, "\n")
	})
}

func leaderOf(nodes []*daemonProc) int {
	for i, d := range nodes {
		if strings.Contains(d.out.String(), "leader: deciding for the deployment") &&
			!strings.Contains(d.out.String(), "no longer the leader") {
			return i
		}
	}
	return -1
}

// Three sites on one etcd: an address one site sees down is not failed
// over (majority quorum), one two sites see down is failed over on every
// node with the same SOA serial, and killing the leader with SIGKILL lets
// another node decide within lease_ttl plus a few rounds. An operator
// command given to a follower is served by every node.
func TestMultiSite_QuorumDecidesAndEveryNodeServesIt(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	target := newSourceTarget(t, "127.0.0.20")
	sources := map[string]string{"a": "127.0.0.11", "b": "127.0.0.12", "c": "127.0.0.13"}
	var nodes []*daemonProc
	for _, site := range []string{"a", "b", "c"} {
		nodes = append(nodes, startDaemon(t, multisiteConfig(site, sources[site], etcd.Endpoint, target.port)))
	}
	allAnswer(t, nodes, "127.0.0.20", 10*time.Second)
	waitReports(t, etcd.Endpoint, []string{"a", "b", "c"}, "up", 10*time.Second)
	sameSerials(t, nodes, 10*time.Second)

	// GET /v1/sites and failoverctl sites: three live sites, one leader,
	// the same on every node; the service detail has every site's view.
	for i, d := range nodes {
		var v api.SitesResponse
		d.getJSON("/v1/sites", &v)
		var names []string
		leaders := 0
		for _, s := range v.Sites {
			names = append(names, s.Site)
			if s.Leader {
				leaders++
			}
		}
		if !v.Connected || v.Leader == "" || v.Revision == 0 || strings.Join(names, ",") != "a,b,c" || leaders != 1 {
			t.Errorf("node %d: GET /v1/sites = %+v, want sites a,b,c connected with one leader", i, v)
		}
		var sd api.ServiceDetail
		d.getJSON("/v1/services/www.example.test.", &sd)
		if len(sd.Regions) == 0 || len(sd.Regions[0].Entries) == 0 || len(sd.Regions[0].Entries[0].Sites) != 3 {
			t.Errorf("node %d: service detail without three site reports: %+v", i, sd.Regions)
		}
	}
	var fromCtl api.SitesResponse
	newOpCtl(t, nodes[0], "").json(&fromCtl, "sites")
	if len(fromCtl.Sites) != 3 {
		t.Errorf("failoverctl sites: %+v", fromCtl)
	}

	// One site of three sees it down: no failover, on any node, over
	// several rounds.
	target.setDown(sources["a"])
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for i, d := range nodes {
			if got, err := d.lookup("udp", "www.example.test.", dns.TypeA); err != nil || got != "127.0.0.20" {
				t.Fatalf("node %d: one site of three down: got %q (%v), want the primary", i, got, err)
			}
		}
	}

	// Two of three: every node fails over and serves one serial, and every
	// node's history has the leader's one failover event.
	target.setDown(sources["a"], sources["b"])
	allAnswer(t, nodes, "127.0.0.21", 15*time.Second)
	sameSerials(t, nodes, 5*time.Second)
	since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	for i, d := range nodes {
		var lr api.LogResponse
		d.getJSON("/v1/services/www.example.test./log?start="+since, &lr)
		failovers := 0
		for _, e := range lr.Events {
			if e.Kind == "svc" && e.NewStatus == "failover" {
				failovers++
			}
		}
		if failovers != 1 {
			t.Errorf("node %d: %d failover events in its log, want 1: %+v", i, failovers, lr.Events)
		}
	}

	var leader int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if leader = leaderOf(nodes); leader >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no node logged that it leads")
		}
	}

	// An operator command on a follower is applied by the leader and
	// served by every node once the call returns: a deactivated service
	// serves its primary even while it is down.
	follower := nodes[(leader+1)%len(nodes)]
	ctl := newOpCtl(t, follower, "")
	j := ctl.mustJob("deactivate", "www.example.test.", "deactivate", "www.example.test")
	for _, d := range []*daemonProc{follower, nodes[leader]} {
		if got, err := d.lookup("udp", "www.example.test.", dns.TypeA); err != nil || got != "127.0.0.20" {
			t.Errorf("%s right after deactivate (job %d) returned: got %q (%v), want the primary", d.config, j.ID, got, err)
		}
	}
	allAnswer(t, nodes, "127.0.0.20", 5*time.Second) // the third node applies the same revision

	ctl.noJob("deactivate", "www.example.test")
	ctl.mustJob("activate", "www.example.test.", "activate", "www.example.test")
	allAnswer(t, nodes, "127.0.0.21", 10*time.Second)

	// The leader dies; another node decides the recovery.
	nodes[leader].kill9()
	rest := append(append([]*daemonProc{}, nodes[:leader]...), nodes[leader+1:]...)
	target.setDown()
	allAnswer(t, rest, "127.0.0.20", 2*time.Second+10*time.Second)
	sameSerials(t, rest, 5*time.Second)
}

// Without an etcd block GET /v1/sites shows this node as the one site,
// connected and leading.
func TestSites_SingleNodeIsOneConnectedLeadingSite(t *testing.T) {
	d := startDaemon(t, `
server {
  site      = "ams"
  hostname  = "ns1.example.test"
  state_dir = "{{STATE}}"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}
`)
	var v api.SitesResponse
	d.getJSON("/v1/sites", &v)
	if v.Leader != "ams" || !v.Connected || len(v.Sites) != 1 || v.Sites[0].Site != "ams" || !v.Sites[0].Leader ||
		v.Sites[0].Hostname != "ns1.example.test" || v.Sites[0].LastSeen.IsZero() {
		t.Fatalf("GET /v1/sites = %+v, want the one site ams, connected and leading", v)
	}
}

// Losing etcd: a node with on_partition = "local" decides alone after
// lease_ttl, one with "freeze" keeps the last committed answers; both keep
// /healthz at 200 and say they are disconnected; a restart without etcd
// serves the committed state kept in the state directory.
func TestMultiSite_PartitionLocalDecidesAloneFreezeKeepsCommitted(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	target := newSourceTarget(t, "127.0.0.20")
	local := startDaemon(t, multisiteConfigOn("a", "127.0.0.11", etcd.Endpoint, target.port, "local"))
	frozen := startDaemon(t, multisiteConfigOn("b", "127.0.0.12", etcd.Endpoint, target.port, "freeze"))
	nodes := []*daemonProc{local, frozen}
	allAnswer(t, nodes, "127.0.0.20", 10*time.Second)
	waitReports(t, etcd.Endpoint, []string{"a", "b"}, "up", 10*time.Second)

	// Both sites see it down: committed failover on both nodes.
	target.setDown("127.0.0.11", "127.0.0.12")
	allAnswer(t, nodes, "127.0.0.21", 15*time.Second)

	etcd.Kill()
	target.setDown()
	// lease_ttl (2s), then a round (2s) decided alone, with slack.
	local.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.20", 15*time.Second)
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if got, err := frozen.lookup("udp", "www.example.test.", dns.TypeA); err != nil || got != "127.0.0.21" {
			t.Fatalf("frozen node decided without etcd: got %q (%v), want the committed backup", got, err)
		}
	}
	for _, d := range nodes {
		resp, err := http.Get("http://" + d.apiAddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: /healthz %s without etcd, want 200", d.config, resp.Status)
		}
		var v api.SitesResponse
		d.getJSON("/v1/sites", &v)
		if v.Connected {
			t.Errorf("%s: GET /v1/sites says connected without etcd", d.config)
		}
	}

	// A restart without etcd serves the committed state it kept.
	frozen.stop()
	start := time.Now()
	frozen.start()
	frozen.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.21", 5*time.Second-time.Since(start))
}

// Two running nodes with one server.site: the second refuses to start and
// names the node that holds the site.
func TestMultiSite_DuplicateSiteRefusedWithTheHolder(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	target := newSourceTarget(t, "127.0.0.20")
	startDaemon(t, multisiteConfig("a", "127.0.0.11", etcd.Endpoint, target.port))

	dir := t.TempDir()
	cfg := strings.NewReplacer("{{DNS}}", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1")),
		"{{API}}", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1")), "{{STATE}}", filepath.Join(dir, "state"),
		`hostname     = "ns-a.example.test"`, `hostname     = "ns-second.example.test"`).
		Replace(multisiteConfig("a", "127.0.0.12", etcd.Endpoint, target.port))
	path := filepath.Join(dir, "failoverd.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "failoverd"), "run", "-config", path)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the second node with site a kept running:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "ns-a.example.test") {
		t.Fatalf("second node with site a: %v, want a refusal naming ns-a.example.test:\n%s", err, out)
	}
}

// docs/operations.md "Running several sites" (DNSSEC): the key the first node generates is
// stored in etcd and every node signs with it, so each node serves the
// same DNSKEY and answers that validate against the one DS.
func TestMultiSite_SignedZoneOneKeyOnEveryNode(t *testing.T) {
	etcd := testutil.StartEtcd(t)
	target := newSourceTarget(t, "127.0.0.20")
	signed := func(site, source string) string {
		return strings.Replace(multisiteConfig(site, source, etcd.Endpoint, target.port),
			"  ns = [\"ns1.example.test.\"]\n", "  ns = [\"ns1.example.test.\"]\n  dnssec {}\n", 1)
	}
	var nodes []*daemonProc
	for i, site := range []string{"a", "b"} {
		nodes = append(nodes, startDaemon(t, signed(site, fmt.Sprintf("127.0.0.1%d", i+1))))
	}
	var keys []string
	for _, d := range nodes {
		m := new(dns.Msg)
		m.SetQuestion("example.test.", dns.TypeDNSKEY)
		m.SetEdns0(1232, true)
		r, err := dns.Exchange(m, d.dnsAddr)
		if err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, rr := range r.Answer {
			if k, ok := rr.(*dns.DNSKEY); ok {
				tags = append(tags, fmt.Sprint(k.KeyTag()), k.PublicKey)
			}
		}
		if len(tags) != 2 {
			t.Fatalf("%s: DNSKEY answer %v, want one key", d.dnsAddr, r.Answer)
		}
		keys = append(keys, strings.Join(tags, " "))
	}
	if keys[0] != keys[1] {
		t.Fatalf("the nodes sign with different keys:\n a: %s\n b: %s", keys[0], keys[1])
	}
}
