package probe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
)

func TestCheckPingWorksHere(t *testing.T) {
	if err := CheckPing(); err != nil {
		t.Fatalf("CheckPing: %v", err)
	}
}

func TestPingLoopback(t *testing.T) {
	checkLeaks(t)
	if CheckPing() != nil {
		t.Skip("no ICMP socket available")
	}
	modes := []struct {
		name         string
		unprivileged bool
	}{{"privileged", false}, {"unprivileged", true}}
	for _, m := range modes {
		if m.unprivileged {
			c, err := icmp.ListenPacket("udp4", "0.0.0.0")
			if err != nil {
				t.Logf("unprivileged ping not allowed here (net.ipv4.ping_group_range): %v", err)
				continue
			}
			_ = c.Close()
		} else if ok, _ := pingMode(); !ok {
			t.Log("not privileged: skipping raw ICMP")
			continue
		}
		p := Probers(ProberOptions{PingUnprivileged: m.unprivileged})[PING]
		for _, addr := range []string{"127.0.0.1", "::1", "localhost"} {
			t.Run(m.name+"/"+addr, func(t *testing.T) {
				r := Round(t.Context(), Target{Protocol: PING, Address: addr, Interval: time.Minute, Timeout: 3 * time.Second}, p)
				if !r.Up || r.RTT <= 0 || r.Attempts != 1 {
					t.Errorf("got up=%v rtt=%v attempts=%d msg=%q", r.Up, r.RTT, r.Attempts, r.Message)
				}
			})
		}
	}
}

// TestCheckPingErrorNamesBothFixes runs CheckPing in a copy of this test
// binary as user nobody, where neither raw sockets nor (with the default
// net.ipv4.ping_group_range) ICMP datagram sockets are allowed.
func TestCheckPingErrorNamesBothFixes(t *testing.T) {
	if os.Getenv("FAILOVERD_PROBE_CHECKPING_CHILD") == "1" {
		err := CheckPing()
		if err == nil {
			fmt.Println("SKIP: unprivileged ping is allowed here")
			return
		}
		fmt.Println("ERROR:", err)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child as nobody")
	}
	dir, err := os.MkdirTemp("", "probe-checkping-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "probe.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestCheckPingErrorNamesBothFixes$", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FAILOVERD_PROBE_CHECKPING_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "SKIP:") {
		t.Skip("unprivileged ping is allowed for nobody here")
	}
	t.Logf("child said: %s", s)
	for _, want := range []string{"ERROR:", "root", "CAP_NET_RAW", "net.ipv4.ping_group_range"} {
		if !strings.Contains(s, want) {
			t.Errorf("CheckPing error lacks %q:\n%s", want, s)
		}
	}
}
