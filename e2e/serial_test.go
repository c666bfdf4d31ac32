package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// serial is zone's SOA serial as the daemon answers it.
func (d *daemonProc) serial(zone string) uint32 { return d.serialT(d.t, zone) }

// serialT is serial failing t (for callers in subtests).
func (d *daemonProc) serialT(t *testing.T, zone string) uint32 {
	t.Helper()
	r, err := query(d.dnsAddr, "udp", zone, dns.TypeSOA, dns.ClassINET)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("SOA %s: %v %v", zone, r, err)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// Section 7: the SOA serial moves exactly when a servable set changes — not
// on per-query random picks — and never goes back, also across restarts.
func TestSerial_BumpsOnChangeOnlyAndSurvivesRestart(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	a := newTargetOn(t, "127.0.0.61", port, "ok")
	newTargetOn(t, "127.0.0.62", port, "ok")
	newTargetOn(t, "127.0.0.63", port, "ok")
	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}
gslb "w.example.test." {
  ttl = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "300ms"
    retries  = 0
    port     = %d
  }
  region "global" {
    serve_count = 1
    pool "127.0.0.61" { weight = 1 }
    pool "127.0.0.62" { weight = 2 }
    pool "127.0.0.63" { weight = 3 }
  }
}
`, port))
	// Let every first round land (all up: no change after unk→up? unk→up is
	// a status change but not a served-set change).
	time.Sleep(2500 * time.Millisecond)
	s0 := d.serial("example.test.")
	today := uint32(time.Now().UTC().Year()*1000000 + int(time.Now().UTC().Month())*10000 + time.Now().UTC().Day()*100)
	if s0 < today {
		t.Fatalf("serial %d is below YYYYMMDD00 of today (%d)", s0, today)
	}
	seen := map[string]bool{}
	for range 200 {
		got, err := d.lookup("udp", "w.example.test.", dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		seen[got] = true
	}
	if len(seen) < 2 {
		t.Fatalf("serve_count 1 over three addresses gave only %v", seen)
	}
	if s := d.serial("example.test."); s != s0 {
		t.Fatalf("serial moved from %d to %d without a served-set change", s0, s)
	}

	a.Stop()
	deadline := time.Now().Add(5 * time.Second)
	var s1 uint32
	for time.Now().Before(deadline) {
		if s1 = d.serial("example.test."); s1 > s0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s1 <= s0 {
		t.Fatalf("serial did not move after the served set changed: %d", s1)
	}

	d.stop()
	d.start()
	if s2 := d.serial("example.test."); s2 < s1 {
		t.Fatalf("serial went back across a restart: %d → %d", s1, s2)
	}
}
