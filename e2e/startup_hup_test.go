package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/internal/testutil"
)

// A SIGHUP that arrives while the daemon is still loading a large
// configuration neither kills it nor is lost: the daemon starts, and then
// reloads — here it picks up a static record changed after the start
// began.
func TestReload_SIGHUPDuringStartupIsQueued(t *testing.T) {
	dir := t.TempDir()
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1"))
	apiAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1"))
	config := func(static string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "server { state_dir = %q }\ndns { listen = [%q] }\napi { listen = %q }\n", filepath.Join(dir, "state"), dnsAddr, apiAddr)
		fmt.Fprintf(&b, "zone \"example.test\" {\n  record \"static\" {\n    type  = \"A\"\n    rdata = [%q]\n  }\n}\n", static)
		// Enough services that loading takes a while: the signal lands
		// during start-up.
		for i := range 5000 {
			fmt.Fprintf(&b, "gslb \"s%d.example.test.\" {\n  ttl = 5\n  monitor {\n    protocol = \"NONE\"\n    interval = \"10s\"\n  }\n  region \"global\" {\n    pool \"10.%d.%d.1\" {}\n  }\n}\n", i, i/250, i%250)
		}
		return b.String()
	}
	path := filepath.Join(dir, "failoverd.hcl")
	if err := os.WriteFile(path, []byte(config("192.0.2.1")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(filepath.Join(binDir, "failoverd"), "run", "-config", path)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("failoverd did not stop within 15s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("failoverd output:\n%s", out.String())
		}
	})

	// The configuration changes right away, and the signal follows while
	// the first version is still being loaded. The new file is renamed into
	// place, so the daemon reads the old or the new one, never an empty
	// file that WriteFile has just truncated.
	if err := os.WriteFile(path+".new", []byte(config("192.0.2.2")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatalf("failoverd died of a SIGHUP during start-up: %v", cmd.ProcessState)
	case <-time.After(100 * time.Millisecond):
	}
	if strings.Contains(out.String(), "failoverd ready") {
		t.Fatal("the daemon was ready before the signal: the test proves nothing (make the configuration larger)")
	}
	testutil.Eventually(t, 60*time.Second, "the reload queued during start-up is applied", func() (bool, string) {
		select {
		case <-done:
			t.Fatalf("failoverd exited: %v", cmd.ProcessState)
		default:
		}
		r, err := query(dnsAddr, "udp", "static.example.test.", dns.TypeA, dns.ClassINET)
		if err != nil || len(r.Answer) != 1 {
			return false, fmt.Sprint(r, err)
		}
		got := r.Answer[0].(*dns.A).A.String()
		return got == "192.0.2.2" && strings.Contains(out.String(), "configuration reloaded"), got
	})
}
