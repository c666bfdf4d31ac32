// Package testutil holds what the tests of several packages repeat: free
// loopback ports, finding a Debian tool (or skipping), polling until a
// condition holds, and runners for the real rsyslogd and Knot the tests
// talk to. Only _test.go files import it.
package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a port on ip that was free for both TCP and UDP a moment
// ago, for a server the test starts next (knotd, rsyslogd, the daemon).
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		u, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// RequireTool finds the first of names on PATH or in /usr/sbin and /sbin.
// When none is there the test is skipped, unless make test promised to
// install the Debian package pkg (FAILOVERD_REQUIRE_TOOLS=1): then it fails.
func RequireTool(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	if p, ok := FindTool(names...); ok {
		return p
	}
	if os.Getenv("FAILOVERD_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not installed (Debian package %s; make test installs it)", names[0], pkg)
	}
	t.Skipf("%s not installed (Debian package %s)", names[0], pkg)
	return ""
}

// FindTool is RequireTool's search without the skip: the path of the first
// of names on PATH or in /usr/sbin and /sbin.
func FindTool(names ...string) (string, bool) {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, true
			}
		}
	}
	return "", false
}

// Eventually polls cond every 50ms until it holds or within has passed;
// cond says whether it holds and what it saw, which the failure shows.
func Eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; last seen:\n%s", what, within, last)
}
