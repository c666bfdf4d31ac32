package sites

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// etcdBinary finds the etcd server (Debian package etcd-server) or skips
// the test; under FAILOVERD_REQUIRE_TOOLS=1 a missing etcd is a failure.
func etcdBinary(t *testing.T) string {
	t.Helper()
	return testutil.RequireTool(t, "etcd-server", "etcd")
}

// cluster is a real etcd cluster started by a test.
type cluster struct {
	t       *testing.T
	members []*testutil.Etcd
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	return testutil.FreePort(t, "127.0.0.1")
}

// startEtcd starts an n-member etcd cluster with its data in a temporary
// directory and waits until it answers.
func startEtcd(t *testing.T, n int) *cluster {
	t.Helper()
	return &cluster{t: t, members: testutil.StartEtcdCluster(t, n).Members}
}

func (c *cluster) endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.Endpoint)
	}
	return eps
}

// client is a raw etcd client for the test's own reads and writes.
func (c *cluster) client(endpoints ...string) *clientv3.Client {
	c.t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cli.Close() })
	return cli
}

func (c *cluster) eventually(within time.Duration, what string, cond func() bool) {
	c.t.Helper()
	eventually(c.t, within, what, cond)
}

// eventually polls cond until it holds, failing after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, within, what, func() (bool, string) { return cond(), "" })
}

// shared is one etcd for the tests that only need a store; each test uses
// its own prefix.
var (
	sharedOnce     sync.Once
	sharedEndpoint string
	sharedStop     func()
)

// TestMain stops the shared etcd and fails the run if goroutines started
// by the tests outlive them.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedStop != nil {
		sharedStop()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// sharedCluster returns the package's shared single-member etcd, started
// on first use and stopped by TestMain.
func sharedCluster(t *testing.T) []string {
	t.Helper()
	etcdBinary(t)
	sharedOnce.Do(func() {
		// Not testutil.StartEtcd, whose etcd ends with the test that
		// starts it: TestMain stops this one.
		bin, _ := testutil.FindTool("etcd")
		dir, err := os.MkdirTemp("", "failoverd-sites-etcd-")
		if err != nil {
			t.Fatal(err)
		}
		client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		logf, err := os.Create(filepath.Join(dir, "etcd.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--name", "shared", "--data-dir", filepath.Join(dir, "data"),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "shared="+peer, "--logger", "zap", "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = logf, logf
		dieWithTest(cmd)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
		sharedStop = func() { _ = cmd.Process.Kill(); <-exited; os.RemoveAll(dir) }
		sharedEndpoint = client
	})
	if sharedEndpoint == "" {
		t.Fatal("shared etcd did not start")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{sharedEndpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	eventually(t, 20*time.Second, "shared etcd answers", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := cli.Get(ctx, "/health-check")
		return err == nil
	})
	return []string{sharedEndpoint}
}

var prefixSeq atomic.Int64

// testPrefix is a prefix no other test uses.
func testPrefix(t *testing.T) string {
	return fmt.Sprintf("/t%d-%s/", prefixSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "_"))
}

// recorder keeps what a node's callbacks said.
type recorder struct {
	mu        sync.Mutex
	leader    bool
	committed []Committed
	reports   map[string][]Report
	sites     SitesView
	conn      Connection
	conns     []Connection
	commands  chan Command
}

// node is one failoverd site driven by a test.
type node struct {
	s        *Sites
	rec      *recorder
	logs     *observer.ObservedLogs
	reg      *prometheus.Registry
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

type nodeOpt func(*Options)

// openNode opens a site and runs it until the test ends.
func openNode(t *testing.T, endpoints []string, prefix, site string, opts ...nodeOpt) *node {
	t.Helper()
	n, err := tryOpenNode(t, endpoints, prefix, site, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", site, err)
	}
	n.run(t)
	return n
}

func tryOpenNode(t *testing.T, endpoints []string, prefix, site string, opts ...nodeOpt) (*node, error) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	rec := &recorder{reports: map[string][]Report{}, commands: make(chan Command, 100)}
	o := Options{
		Endpoints: endpoints, Prefix: prefix, LeaseTTL: 3 * time.Second, DialTimeout: time.Second,
		Site: site, Hostname: site + ".example.net", Version: "test", ConfigDigest: "digest-1",
		OnLeader: func(b bool) { rec.mu.Lock(); rec.leader = b; rec.mu.Unlock() },
		OnCommitted: func(c Committed) {
			rec.mu.Lock()
			rec.committed = append(rec.committed, c)
			rec.mu.Unlock()
		},
		OnReports: func(m map[string][]Report) {
			rec.mu.Lock()
			for k, v := range m {
				rec.reports[k] = v
			}
			rec.mu.Unlock()
		},
		OnSites:      func(v SitesView) { rec.mu.Lock(); rec.sites = v; rec.mu.Unlock() },
		OnConnection: func(c Connection) { rec.mu.Lock(); rec.conn = c; rec.conns = append(rec.conns, c); rec.mu.Unlock() },
		OnCommand:    func(c Command) { rec.commands <- c },
	}
	for _, f := range opts {
		f(&o)
	}
	reg := prometheus.NewRegistry()
	s, err := Open(context.Background(), o, zap.New(core), reg)
	if err != nil {
		return nil, err
	}
	n := &node{s: s, rec: rec, logs: logs, reg: reg}
	t.Cleanup(n.stop)
	return n, nil
}

func (n *node) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- n.s.Run(ctx) }()
}

// stop ends Run and leaves the deployment cleanly (the lease is revoked).
func (n *node) stop() {
	n.stopOnce.Do(func() {
		if n.cancel != nil {
			n.cancel()
			<-n.done
		}
		n.s.Close()
	})
}

// crash ends the node as kill -9 would: nothing is revoked, the lease
// expires on its own.
func (n *node) crash() {
	n.stopOnce.Do(func() {
		if ss := n.s.currentSession(); ss != nil {
			ss.sess.Orphan() // stop keeping the lease alive without revoking it
		}
		n.s.cancelBase()
		if cli := n.s.currentClient(); cli != nil {
			cli.Close()
		}
		if n.cancel != nil {
			n.cancel()
			<-n.done
		}
		n.s.bg.Wait()
	})
}

func (n *node) isLeader() bool {
	n.rec.mu.Lock()
	defer n.rec.mu.Unlock()
	return n.rec.leader
}

func (n *node) metric(c prometheus.Collector) float64 { return promtest.ToFloat64(c) }

// leaderOf waits for exactly one leader among nodes and returns it.
func leaderOf(t *testing.T, within time.Duration, nodes ...*node) *node {
	t.Helper()
	var leader *node
	eventually(t, within, "exactly one leader", func() bool {
		leader = nil
		count := 0
		for _, n := range nodes {
			if n.isLeader() && n.s.IsLeader() {
				leader = n
				count++
			}
		}
		return count == 1
	})
	return leader
}

// proxy is a loopback TCP forwarder the test can cut, as a network
// partition between a node and etcd would.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: strings.TrimPrefix(target, "http://"), conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		l.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) endpoint() string { return "http://" + p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// setCut refuses new connections and closes open ones (true), or lets
// them through again (false).
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// errorLogged says whether an error-level entry containing substr was
// logged.
func (n *node) errorLogged(substr string) bool {
	for _, e := range n.logs.All() {
		if e.Level < zap.ErrorLevel {
			continue
		}
		if strings.Contains(e.Message, substr) {
			return true
		}
		for _, f := range e.Context {
			if strings.Contains(f.String, substr) {
				return true
			}
			if err, ok := f.Interface.(error); ok && strings.Contains(err.Error(), substr) {
				return true
			}
		}
	}
	return false
}

var errTimeout = errors.New("timeout")

// recvCommand waits for the next command the leader's daemon is handed.
func recvCommand(n *node, within time.Duration) (Command, error) {
	select {
	case c := <-n.rec.commands:
		return c, nil
	case <-time.After(within):
		return Command{}, errTimeout
	}
}
