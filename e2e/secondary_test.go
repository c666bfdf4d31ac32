package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Section 7 with a real secondary: Knot transfers the zone from failoverd
// (AXFR), and after a failover failoverd's NOTIFY makes Knot pull the new
// serial, so dig against the secondary shows the backup.
func TestSecondary_KnotFollowsFailoverThroughNotify(t *testing.T) {
	knotd := requireTool(t, "knot", "knotd")
	primary := newTarget(t, "127.0.0.71", "ok")
	knotPort := freePort(t, "127.0.0.1")
	d := startDaemon(t, fmt.Sprintf(`
server {
  hostname  = "ns1.example.test"
  state_dir = "{{STATE}}"
}
dns {
  listen = ["{{DNS}}"]
  transfer {
    allow  = ["127.0.0.0/8"]
    notify = ["127.0.0.1:%d"]
  }
}
api { listen = "{{API}}" }
zone "example.test" {
  record "static" {
    type  = "TXT"
    rdata = ["\"hello\""]
  }
}
active_failover "www.example.test." {
  address       = "127.0.0.71"
  failover_data = "127.0.0.72"
  ttl           = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %d
  }
}
`, knotPort, primary.Port()))
	_, ourPort, _ := net.SplitHostPort(d.dnsAddr)

	dir := t.TempDir()
	for _, sub := range []string{"run", "db"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`server:
    listen: 127.0.0.1@%[1]d
    rundir: %[2]s/run
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: %[2]s/db
control:
    listen: %[2]s/run/knot.sock
log:
  - target: stderr
    any: info
remote:
  - id: failoverd
    address: 127.0.0.1@%[3]s
acl:
  - id: notify_from_failoverd
    address: 127.0.0.0/8
    action: notify
zone:
  - domain: example.test
    master: failoverd
    acl: notify_from_failoverd
    file: %[2]s/example.test.zone
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
`, knotPort, dir, ourPort)
	confPath := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var knotOut bytes.Buffer
	cmd := exec.Command(knotd, "-c", confPath)
	cmd.Stdout, cmd.Stderr = &knotOut, &knotOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("knotd output:\n%s", knotOut.String())
		}
	})
	secondary := &daemonProc{t: t, dnsAddr: fmt.Sprintf("127.0.0.1:%d", knotPort)}

	secondary.waitAnswer("www.example.test.", 1, "127.0.0.71", 30*time.Second)
	primary.Stop()
	d.waitAnswer("www.example.test.", 1, "127.0.0.72", 5*time.Second)
	took := secondary.waitAnswer("www.example.test.", 1, "127.0.0.72", 15*time.Second)
	t.Logf("secondary followed the failover %v after failoverd", took)

	if got := secondary.dig("www.example.test", "A"); got != "127.0.0.72" {
		t.Fatalf("dig @secondary: %q", got)
	}
	if got, want := secondary.dig("example.test", "SOA"), fmt.Sprint(d.serial("example.test.")); !strings.Contains(got, " "+want+" ") {
		t.Fatalf("secondary SOA %q, failoverd serial %s", got, want)
	}
	if got := secondary.dig("static.example.test", "TXT"); got != `"hello"` {
		t.Fatalf("static TXT at the secondary: %q", got)
	}
}
