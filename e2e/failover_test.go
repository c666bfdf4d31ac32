package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The walking skeleton: an active_failover name moves to its backup when the
// primary's HTTP target stops, and back when it returns, within
// interval × (retries+1) + 1 s; the zone's SOA, NS and static records answer.
func TestActiveFailover_HTTPPrimaryStopsAndReturns(t *testing.T) {
	primary := newTarget(t, "127.0.0.11", "Example OK")
	backupIP := "127.0.0.12"
	d := startDaemon(t, fmt.Sprintf(`
server {
  hostname  = "ns1.example.test"
  state_dir = "{{STATE}}"
  log_level = "debug"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }

zone "example.test" {
  ns = ["ns1.example.test."]
  record "static" {
    type  = "A"
    ttl   = 300
    rdata = ["192.0.2.80"]
  }
  record "ns1" {
    type  = "A"
    rdata = ["127.0.0.1"]
  }
}

active_failover "www.example.test." {
  address       = "127.0.0.11"
  failover_mode = "ip"
  failover_data = %q
  ttl           = 1
  monitor {
    protocol = "HTTP"
    interval = "2s"
    retries  = 1
    timeout  = "500ms"
    port     = %d
    expected = "OK"
  }
}
`, backupIP, primary.Port()))

	// Before and after the first round the primary answers (unk is served as up).
	d.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.11", 5*time.Second)
	for _, network := range []string{"udp", "tcp"} {
		got, err := d.lookup(network, "www.example.test.", dns.TypeA)
		if err != nil || got != "127.0.0.11" {
			t.Fatalf("%s: got %q, %v", network, got, err)
		}
	}
	if got := d.dig("www.example.test", "A"); got != "127.0.0.11" {
		t.Fatalf("dig: %q", got)
	}

	// Static records, SOA and NS.
	if got, err := d.lookup("udp", "static.example.test.", dns.TypeA); err != nil || got != "192.0.2.80" {
		t.Fatalf("static: %q, %v", got, err)
	}
	r, err := query(d.dnsAddr, "udp", "example.test.", dns.TypeSOA, dns.ClassINET)
	if err != nil || len(r.Answer) != 1 || !r.Authoritative {
		t.Fatalf("SOA: %v %v", r, err)
	}
	if got, err := d.lookup("tcp", "example.test.", dns.TypeNS); err != nil || got == "" {
		t.Fatalf("NS: %q, %v", got, err)
	}

	// interval × (retries+1) + 1 s, plus slack for the race detector.
	limit := 2*time.Second*2 + time.Second + 2*time.Second
	primary.Stop()
	took := d.waitAnswer("www.example.test.", dns.TypeA, backupIP, limit)
	t.Logf("failover after %v", took)
	if got := d.dig("www.example.test", "A"); got != backupIP {
		t.Fatalf("dig after failover: %q", got)
	}

	primary.Start()
	took = d.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.11", limit)
	t.Logf("recovery after %v", took)
}

// A TCP monitor: an accepted connection is up, a refused one is down.
func TestActiveFailover_TCPMonitor(t *testing.T) {
	primary := newTarget(t, "127.0.0.21", "ok")
	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}
active_failover "tcp.example.test." {
  address       = "127.0.0.21"
  failover_data = "127.0.0.22"
  ttl           = 1
  monitor {
    protocol = "TCP"
    interval = "2s"
    timeout  = "500ms"
    retries  = 0
    port     = %d
  }
}
`, primary.Port()))
	d.waitAnswer("tcp.example.test.", dns.TypeA, "127.0.0.21", 5*time.Second)
	primary.Stop()
	d.waitAnswer("tcp.example.test.", dns.TypeA, "127.0.0.22", 2*time.Second+time.Second+2*time.Second)
	primary.Start()
	d.waitAnswer("tcp.example.test.", dns.TypeA, "127.0.0.21", 2*time.Second+time.Second+2*time.Second)
}
