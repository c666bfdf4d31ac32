package e2e

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// lookupECS asks for name with an EDNS Client Subnet option for subnet.
func (d *daemonProc) lookupECS(name string, qtype uint16, subnet string) (string, *dns.Msg) {
	d.t.Helper()
	_, n, err := net.ParseCIDR(subnet)
	if err != nil {
		d.t.Fatal(err)
	}
	ones, _ := n.Mask.Size()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(1232)
	family := uint16(1)
	if n.IP.To4() == nil {
		family = 2
	}
	o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(ones), Address: n.IP})
	m.Extra = append(m.Extra, o)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, d.dnsAddr)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.CNAME:
			out = append(out, v.Target)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ","), r
}

// Section 3 and 7 through the daemon: the client's region comes from its
// EDNS Client Subnet via region_map; a region below min_healthy fails over
// to the region its failover_data names, with its own serve_count.
func TestRegions_ECSRegionMapAndRegionFailover(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	eu := newTargetOn(t, "127.0.0.81", port, "ok")
	newTargetOn(t, "127.0.0.82", port, "ok")
	newTargetOn(t, "127.0.0.91", port, "ok")
	newTargetOn(t, "127.0.0.92", port, "ok")
	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns {
  listen = ["{{DNS}}"]
  region_map = {
    "EU West" = ["203.0.113.0/24"]
    "US East" = ["198.51.100.0/24"]
  }
}
api { listen = "{{API}}" }
zone "example.test" {}
gslb "geo.example.test." {
  ttl = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %d
  }
  region "EU West" {
    serve_count   = 1
    min_healthy   = 1
    failover_mode = "region"
    failover_data = "US East"
    pool "127.0.0.81" { weight = 1 }
  }
  region "US East" {
    serve_count = 2
    pool "127.0.0.91" { weight = 1 }
    pool "127.0.0.92" { weight = 1 }
  }
  region "global" {
    serve_count = 1
    pool "127.0.0.82" { weight = 1 }
  }
}
`, port))
	time.Sleep(1500 * time.Millisecond) // first rounds
	if got, r := d.lookupECS("geo.example.test.", dns.TypeA, "203.0.113.0/24"); got != "127.0.0.81" {
		t.Fatalf("EU West client: %q", got)
	} else if opt := r.IsEdns0(); opt == nil || len(opt.Option) == 0 {
		t.Fatalf("answer carries no ECS option: %v", r)
	} else if ecs, ok := opt.Option[0].(*dns.EDNS0_SUBNET); !ok || ecs.SourceScope == 0 {
		t.Fatalf("ECS scope not set: %v", opt.Option[0])
	}
	if got, _ := d.lookupECS("geo.example.test.", dns.TypeA, "198.51.100.0/24"); got != "127.0.0.91,127.0.0.92" {
		t.Fatalf("US East client: %q", got)
	}
	// Loopback clients without ECS are in no mapped region: global.
	if got, err := d.lookup("udp", "geo.example.test.", dns.TypeA); err != nil || got != "127.0.0.82" {
		t.Fatalf("global client: %q %v", got, err)
	}

	eu.Stop()
	deadline := time.Now().Add(5 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		// EU West fails over to US East, served with EU West's serve_count 1.
		if got, _ = d.lookupECS("geo.example.test.", dns.TypeA, "203.0.113.0/24"); got == "127.0.0.91" || got == "127.0.0.92" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got != "127.0.0.91" && got != "127.0.0.92" {
		t.Fatalf("EU West client after its region failed: %q", got)
	}
	eu.Start()
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ = d.lookupECS("geo.example.test.", dns.TypeA, "203.0.113.0/24"); got == "127.0.0.81" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("EU West did not recover: %q", got)
}
