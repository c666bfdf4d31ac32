package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Etcd is a one-member etcd server (Debian package etcd-server) on
// loopback ports, with its data in a temporary directory.
type Etcd struct {
	Endpoint string // http://127.0.0.1:port

	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	out    bytes.Buffer
}

func (e *Etcd) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.Write(p)
}

// Output is what etcd logged so far.
func (e *Etcd) Output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.String()
}

// Kill stops etcd with SIGKILL and waits for it to exit.
func (e *Etcd) Kill() {
	_ = e.cmd.Process.Kill()
	<-e.exited
}

// StartEtcd starts etcd and waits until its client port accepts
// connections; the test's cleanup kills it.
func StartEtcd(t *testing.T) *Etcd {
	t.Helper()
	bin := RequireTool(t, "etcd-server", "etcd")
	client := fmt.Sprintf("http://127.0.0.1:%d", FreePort(t, "127.0.0.1"))
	peer := fmt.Sprintf("http://127.0.0.1:%d", FreePort(t, "127.0.0.1"))
	dir := t.TempDir()
	e := &Etcd{Endpoint: client, exited: make(chan struct{})}
	e.cmd = exec.Command(bin, "--name", "e2e", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "e2e="+peer, "--initial-cluster-state", "new",
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--logger", "zap", "--log-level", "warn")
	e.cmd.Stdout, e.cmd.Stderr = e, e
	// etcd ends with the test binary, also when it is killed first.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = e.cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(func() {
		_ = e.cmd.Process.Kill()
		<-e.exited
		if t.Failed() {
			t.Logf("etcd output:\n%s", e.Output())
		}
	})
	addr := client[len("http://"):]
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-e.exited:
			t.Fatalf("etcd exited early:\n%s", e.Output())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return e
		}
	}
	t.Fatalf("etcd did not listen on %s within 20s:\n%s", addr, e.Output())
	return nil
}
