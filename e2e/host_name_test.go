package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/internal/testutil"
)

// Host-name pool entries through the real binary (docs/behaviour.md
// section 3): localhost. (from /etc/hosts, no network) is probed at
// 127.0.0.1; alone it is answered as a CNAME, beside another entry as its
// address, and when its target stops it is down and no longer served.
const hostNameConfig = `
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}
gslb "solo.example.test." {
  ttl = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %[1]d
  }
  region "global" {
    pool "localhost." {}
  }
}
gslb "mixed.example.test." {
  ttl = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %[1]d
  }
  region "global" {
    serve_count = 2
    pool "localhost." {}
    pool "127.0.0.83" {}
  }
}
`

func TestHostNamePool_CNAMEAloneAddressesBesideOthers(t *testing.T) {
	if ips, err := net.LookupHost("localhost"); err != nil || len(ips) == 0 {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	port := testutil.FreePort(t, "127.0.0.1")
	local := newTargetOn(t, "127.0.0.1", port, "ok")
	newTargetOn(t, "127.0.0.83", port, "ok")
	d := startDaemon(t, fmt.Sprintf(hostNameConfig, port))
	c := newOpCtl(t, d, "")
	waitAllUp(t, c, "mixed.example.test.")

	d.waitAnswer("solo.example.test.", dns.TypeA, "localhost.", 10*time.Second)
	d.waitAnswer("mixed.example.test.", dns.TypeA, "127.0.0.1,127.0.0.83", 10*time.Second)

	reason := func(fqdn string) string {
		var x api.Explanation
		c.json(&x, "why", fqdn, "-client", "192.0.2.1")
		for _, e := range x.Entries {
			if e.Address == "localhost." {
				return e.Reason
			}
		}
		t.Fatalf("why %s: no entry localhost. in %+v", fqdn, x.Entries)
		return ""
	}
	if r := reason("solo.example.test."); !strings.Contains(r, "served as CNAME (only entry)") {
		t.Errorf("why solo: localhost. %q", r)
	}
	if r := reason("mixed.example.test."); !strings.Contains(r, "served as its addresses 127.0.0.1") {
		t.Errorf("why mixed: localhost. %q", r)
	}

	// Its address stops answering: down, and only the other entry is served.
	local.Stop()
	d.waitAnswer("mixed.example.test.", dns.TypeA, "127.0.0.83", 10*time.Second)
	if sd := c.service("mixed.example.test."); sd.Status != "trouble" {
		t.Errorf("mixed is %s after localhost. went down, want trouble", sd.Status)
	}
}
