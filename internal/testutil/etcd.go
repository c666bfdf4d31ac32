package testutil

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Etcd is one etcd server (Debian package etcd-server) on loopback ports,
// with its data in a temporary directory: a one-member cluster of its own
// (StartEtcd) or a member of an EtcdCluster.
type Etcd struct {
	Name     string // member name
	Endpoint string // client URL, http://127.0.0.1:port (https:// with TLS)

	t      testing.TB
	bin    string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{}
	out    process
}

// Output is what etcd logged so far, over every run of the member.
func (e *Etcd) Output() string { return e.out.Output() }

// Kill stops etcd with SIGKILL and waits for it to exit; it does nothing
// when the member is not running.
func (e *Etcd) Kill() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.exited
	e.cmd = nil
}

// Running says whether the member's process is up (started and not
// killed or exited).
func (e *Etcd) Running() bool {
	if e.cmd == nil {
		return false
	}
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// Restart starts a killed member again on the same ports and data
// directory and waits until its client port accepts connections: etcd
// stopped and started by an operator.
func (e *Etcd) Restart() {
	e.t.Helper()
	e.Kill()
	e.run()
	e.waitListening()
}

func (e *Etcd) run() {
	e.t.Helper()
	cmd := exec.Command(e.bin, e.args...)
	cmd.Stdout, cmd.Stderr = &e.out, &e.out
	// etcd ends with the test binary, also when it is killed first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start etcd %s: %v", e.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	e.cmd, e.exited = cmd, exited
}

func (e *Etcd) waitListening() {
	e.t.Helper()
	_, addr, _ := strings.Cut(e.Endpoint, "://")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !e.Running() {
			e.t.Fatalf("etcd %s exited early:\n%s", e.Name, e.Output())
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
	}
	e.t.Fatalf("etcd %s did not listen on %s within 20s:\n%s", e.Name, addr, e.Output())
}

// StartEtcd starts a one-member etcd and waits until its client port
// accepts connections; the test's cleanup kills it.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	c := startCluster(t, 1, "http")
	c.Members[0].waitListening()
	return c.Members[0]
}

// StartEtcdTLS starts a one-member etcd serving clients on https:// with
// the TLS flags in flags (--cert-file, --key-file, --client-cert-auth,
// --trusted-ca-file …) and waits until its client port accepts
// connections; the test's cleanup kills it.
func StartEtcdTLS(t testing.TB, flags ...string) *Etcd {
	t.Helper()
	c := startCluster(t, 1, "https", flags...)
	c.Members[0].waitListening()
	return c.Members[0]
}

// EtcdCluster is a real etcd cluster of several members on loopback
// ports, for tests of a deployment that must survive losing a member.
type EtcdCluster struct {
	Members []*Etcd
	t       testing.TB
}

// StartEtcdCluster starts an n-member etcd cluster and waits until it
// commits a write (its members elected a raft leader); the test's cleanup
// kills every member.
func StartEtcdCluster(t testing.TB, n int) *EtcdCluster {
	t.Helper()
	c := startCluster(t, n, "http")
	Eventually(t, 20*time.Second, "the etcd cluster commits a write", func() (bool, string) {
		var last []string
		for _, e := range c.Members {
			// etcd's JSON gateway: keys and values in base64.
			err := etcdCall(e.Endpoint, "/v3/kv/put", `{"key":"dGVzdHV0aWwtaGVhbHRo","value":"b2s="}`, nil)
			if err == nil {
				return true, ""
			}
			last = append(last, err.Error())
		}
		return false, strings.Join(last, "\n")
	})
	return c
}

// startCluster starts n members whose client URLs have scheme, with
// flags added to every member's command line.
func startCluster(t testing.TB, n int, scheme string, flags ...string) *EtcdCluster {
	t.Helper()
	bin := RequireTool(t, "etcd-server", "etcd")
	c := &EtcdCluster{t: t}
	var initial, peers []string
	for i := range n {
		name := fmt.Sprintf("m%d", i)
		peer := fmt.Sprintf("http://127.0.0.1:%d", FreePort(t, "127.0.0.1"))
		c.Members = append(c.Members, &Etcd{Name: name, Endpoint: fmt.Sprintf("%s://127.0.0.1:%d", scheme, FreePort(t, "127.0.0.1")), t: t, bin: bin})
		peers = append(peers, peer)
		initial = append(initial, name+"="+peer)
	}
	for i, e := range c.Members {
		dir := t.TempDir()
		e.args = []string{"--name", e.Name, "--data-dir", filepath.Join(dir, "data"),
			"--listen-client-urls", e.Endpoint, "--advertise-client-urls", e.Endpoint,
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "failoverd-test",
			// Short raft timings: a lost member or leader is noticed in
			// about a second.
			"--heartbeat-interval", "50", "--election-timeout", "500",
			"--logger", "zap", "--log-level", "warn"}
		e.args = append(e.args, flags...)
		e.run()
		t.Cleanup(func() {
			e.Kill()
			if t.Failed() {
				t.Logf("etcd %s output:\n%s", e.Name, e.Output())
			}
		})
	}
	return c
}

// Endpoints are the members' client URLs, in member order.
func (c *EtcdCluster) Endpoints() []string {
	var eps []string
	for _, e := range c.Members {
		eps = append(eps, e.Endpoint)
	}
	return eps
}

// etcdCall posts body to one of etcd's JSON gateway paths on endpoint and
// decodes the answer into out (nil: ignored). The gateway keeps the
// package free of the etcd client, which only package sites may use.
func etcdCall(endpoint, path, body string, out any) error {
	hc := &http.Client{Timeout: time.Second}
	resp, err := hc.Post(endpoint+path, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s%s: %s %s", endpoint, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Leader returns the index of the member that is the raft leader, as the
// running members report it, waiting up to 10 s for them to agree on one.
func (c *EtcdCluster) Leader() int {
	c.t.Helper()
	leader := -1
	Eventually(c.t, 10*time.Second, "the etcd members agree on a raft leader", func() (bool, string) {
		var seen []string
		leaders := map[string]bool{}
		self := map[string]int{}
		for i, e := range c.Members {
			if !e.Running() {
				continue
			}
			// uint64 ids as JSON strings, as the gateway writes them.
			var st struct {
				Header struct {
					MemberID string `json:"member_id"`
				} `json:"header"`
				Leader string `json:"leader"`
			}
			if err := etcdCall(e.Endpoint, "/v3/maintenance/status", "{}", &st); err != nil {
				seen = append(seen, fmt.Sprintf("%s: %v", e.Name, err))
				return false, strings.Join(seen, "\n")
			}
			seen = append(seen, fmt.Sprintf("%s: member %s, leader %s", e.Name, st.Header.MemberID, st.Leader))
			leaders[st.Leader] = true
			self[st.Header.MemberID] = i
		}
		if len(leaders) != 1 {
			return false, strings.Join(seen, "\n")
		}
		for id := range leaders {
			i, ok := self[id]
			if !ok || id == "" || id == "0" {
				return false, strings.Join(seen, "\n")
			}
			leader = i
		}
		return true, ""
	})
	return leader
}
