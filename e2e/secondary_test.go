package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
)

// Section 7 with a real secondary: Knot transfers the zone from failoverd
// (AXFR), and after a failover failoverd's NOTIFY makes Knot pull the new
// serial, so dig against the secondary shows the backup.
func TestSecondary_KnotFollowsFailoverThroughNotify(t *testing.T) {
	primary := newTarget(t, "127.0.0.71", "ok")
	knotPort := testutil.FreePort(t, "127.0.0.1")
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
	knot := testutil.StartKnot(t, testutil.KnotOptions{Port: knotPort,
		Zones: []testutil.KnotZone{{Domain: "example.test", Primary: d.dnsAddr}}})
	secondary := &daemonProc{t: t, dnsAddr: knot.Addr}

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
