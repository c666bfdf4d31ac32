package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// UnboundOptions configure StartUnbound.
type UnboundOptions struct {
	// TrustAnchors are DNSKEY or DS records in zone-file syntax.
	TrustAnchors []string
	// Stubs maps a zone ("example.com") to the host:port Unbound asks for it.
	Stubs map[string]string
}

// Unbound is a running validating Unbound resolver on a loopback port.
type Unbound struct {
	Addr string // 127.0.0.1:port, UDP and TCP

	process
}

// StartUnbound runs a real unbound (Debian package unbound) as a validating
// resolver on a free loopback port: it validates with opts.TrustAnchors,
// asks the stub zones' servers, and caches nothing, so every answer is
// fetched and validated afresh. It waits until unbound listens; Cleanup
// kills it and, when the test failed, logs its output.
func StartUnbound(t testing.TB, opts UnboundOptions) *Unbound {
	t.Helper()
	bin := RequireTool(t, "unbound", "unbound")
	dir := t.TempDir()
	port := FreePort(t, "127.0.0.1")
	u := &Unbound{Addr: net.JoinHostPort("127.0.0.1", fmt.Sprint(port))}
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
    interface: 127.0.0.1
    port: %d
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: %q
    pidfile: %q
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "validator iterator"
    qname-minimisation: no
    aggressive-nsec: no
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    val-permissive-mode: no
    harden-dnssec-stripped: yes
`, port, dir, filepath.Join(dir, "unbound.pid"))
	for _, a := range opts.TrustAnchors {
		fmt.Fprintf(&conf, "    trust-anchor: %q\n", a)
	}
	for zone := range opts.Stubs {
		// Unbound answers special-use names (test., invalid., ...) itself.
		labels := strings.Split(strings.TrimSuffix(zone, "."), ".")
		fmt.Fprintf(&conf, "    local-zone: %q nodefault\n", labels[len(labels)-1]+".")
	}
	for zone, addr := range opts.Stubs {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "stub-zone:\n    name: %q\n    stub-addr: %s@%s\n", zone, host, p)
	}
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	u.start(t, "unbound", conf.String(), exec.Command(bin, "-d", "-c", confPath))
	// Unbound opens its TCP listener once it serves.
	Eventually(t, 20*time.Second, "unbound listens", func() (bool, string) {
		c, err := net.DialTimeout("tcp", u.Addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	return u
}
