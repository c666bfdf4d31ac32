package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/internal/testutil"
)

// The operators' tools through the real binaries (docs/api.md,
// "Operations"): failoverctl why on a gslb name for a region_map client
// agrees with what DNS answers that client; a what-if followed by the real
// outage gives the predicted answers; a reload with a bad configuration
// returns its diagnostics and changes nothing, and a good one is a job and
// a config event.

const explainConfig = `
server { state_dir = "{{STATE}}" }
dns {
  listen = ["{{DNS}}"]
  region_map = {
    "EU West" = ["203.0.113.0/24"]
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
    serve_count   = 2
    min_healthy   = 1
    failover_mode = "global"
    pool "127.0.0.81" { weight = 1 }
    pool "127.0.0.82" { weight = 1 }
  }
  region "global" {
    serve_count = 2
    pool "127.0.0.91" { weight = 1 }
    pool "127.0.0.92" { weight = 1 }
  }
}
`

// waitAllUp polls the service until it is ok with every address up.
func waitAllUp(t *testing.T, c *opCtl, fqdn string) {
	t.Helper()
	testutil.Eventually(t, 15*time.Second, fqdn+" ok with every address up", func() (bool, string) {
		sd := c.service(fqdn)
		if sd.Status != "ok" {
			return false, "status " + sd.Status
		}
		for _, r := range sd.Regions {
			for _, e := range r.Entries {
				if e.Status != "up" {
					return false, e.Address + " is " + e.Status
				}
			}
		}
		return true, ""
	})
}

func TestExplain_WhyAgreesWithDNS(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	for _, ip := range []string{"127.0.0.81", "127.0.0.82", "127.0.0.91", "127.0.0.92"} {
		newTargetOn(t, ip, port, "ok")
	}
	d := startDaemon(t, fmt.Sprintf(explainConfig, port))
	c := newOpCtl(t, d, "")
	waitAllUp(t, c, "geo.example.test.")

	var x api.Explanation
	c.json(&x, "why", "geo.example.test.", "-client", "203.0.113.7")
	if x.Region.Code != "EU West" || x.Region.Reason != "region_map" || x.Region.Rule != "region_map" || !strings.Contains(x.Region.Detail, "203.0.113.0/24") {
		t.Fatalf("region %+v, want EU West by region_map", x.Region)
	}
	if x.Kind != "gslb" || x.Status != "ok" || x.ServeCount != 2 {
		t.Fatalf("explanation %+v", x)
	}
	slices.Sort(x.Answer)
	dnsAnswer, _ := d.lookupECS("geo.example.test.", dns.TypeA, "203.0.113.7/32")
	if got := strings.Join(x.Answer, ","); got != "127.0.0.81,127.0.0.82" || got != dnsAnswer {
		t.Fatalf("explain answers %q, DNS answers the same client %q", got, dnsAnswer)
	}
	for _, e := range x.Entries {
		if !e.InAnswer || e.Status != "up" || e.Reason == "" {
			t.Errorf("entry %+v", e)
		}
	}
	if len(x.Steps) < 3 {
		t.Errorf("steps %q", x.Steps)
	}
	// A client of no mapped region: global, by rule global.
	c.json(&x, "why", "geo.example.test.", "-client", "192.0.2.1")
	if x.Region.Code != "global" || x.Region.Reason != "global" {
		t.Fatalf("unmapped client: region %+v", x.Region)
	}
	// The same client through ECS: the rule is ecs, region_map matched.
	c.json(&x, "why", "geo.example.test.", "-client", "192.0.2.1", "-ecs", "203.0.113.0/24")
	if x.Region.Code != "EU West" || x.Region.Reason != "ecs" || x.Region.Rule != "region_map" {
		t.Fatalf("unmapped client: region %+v", x.Region)
	}
	// The table names the rule and the reasons.
	out, errOut, code := c.run("why", "geo.example.test.", "-client", "203.0.113.7")
	if code != 0 || !strings.Contains(out, "EU West (region_map)") || !strings.Contains(out, "127.0.0.81") || !strings.Contains(out, "STEPS") {
		t.Fatalf("why table: exit %d\n%s\n%s", code, out, errOut)
	}
	c.fails("ApiErrorDoesNotExist", "why", "nope.example.test.")
}

func TestExplain_WhatIfThenTheRealOutage(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	eu1 := newTargetOn(t, "127.0.0.81", port, "ok")
	eu2 := newTargetOn(t, "127.0.0.82", port, "ok")
	newTargetOn(t, "127.0.0.91", port, "ok")
	newTargetOn(t, "127.0.0.92", port, "ok")
	d := startDaemon(t, fmt.Sprintf(explainConfig, port))
	c := newOpCtl(t, d, "")
	waitAllUp(t, c, "geo.example.test.")

	var log0 api.LogResponse
	c.json(&log0, "log", "geo.example.test.", "1h")
	var r api.WhatIfResponse
	c.json(&r, "whatif", "-down", "127.0.0.81,127.0.0.82")
	if len(r.Changes) != 1 {
		t.Fatalf("changes %+v, want EU West only", r.Changes)
	}
	ch := r.Changes[0]
	if ch.FQDN != "geo.example.test." || ch.Region != "EU West" || ch.StatusNow != "ok" || ch.StatusThen != "failover" ||
		strings.Join(ch.ServedNow, ",") != "127.0.0.81,127.0.0.82" || strings.Join(ch.ServedThen, ",") != "127.0.0.91,127.0.0.92" {
		t.Fatalf("what-if %+v", ch)
	}
	// Nothing happened: DNS, the status and the history are as they were.
	if got, _ := d.lookupECS("geo.example.test.", dns.TypeA, "203.0.113.0/24"); got != "127.0.0.81,127.0.0.82" {
		t.Fatalf("after the what-if DNS answers %q", got)
	}
	if sd := c.service("geo.example.test."); sd.Status != "ok" {
		t.Fatalf("after the what-if the service is %s", sd.Status)
	}
	var log1 api.LogResponse
	c.json(&log1, "log", "geo.example.test.", "1h")
	if len(log1.Events) != len(log0.Events) {
		t.Fatalf("the what-if left events: %+v", log1.Events[len(log0.Events):])
	}

	// The real outage gives the predicted answer and status.
	eu1.Stop()
	eu2.Stop()
	want := strings.Join(ch.ServedThen, ",")
	deadline := time.Now().Add(10 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		if got, _ = d.lookupECS("geo.example.test.", dns.TypeA, "203.0.113.0/24"); got == want {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("after the outage DNS answers %q, predicted %q", got, want)
	}
	sd := c.service("geo.example.test.")
	for _, reg := range sd.Regions {
		if reg.Code == ch.Region && reg.Status != ch.StatusThen {
			t.Fatalf("after the outage %s is %s, predicted %s", reg.Code, reg.Status, ch.StatusThen)
		}
	}
}

func TestExplain_ReloadRefusedWithDiagnosticsThenApplied(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	for _, ip := range []string{"127.0.0.81", "127.0.0.82", "127.0.0.91", "127.0.0.92"} {
		newTargetOn(t, ip, port, "ok")
	}
	d := startDaemon(t, fmt.Sprintf(explainConfig, port))
	c := newOpCtl(t, d, "")
	waitAllUp(t, c, "geo.example.test.")
	good, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	before := c.service("geo.example.test.")

	// A configuration with an error: refused whole, with FILE:LINE:COL.
	bad := strings.Replace(string(good), `pool "127.0.0.92" { weight = 1 }`, `pool "127.0.0.92" { weight = 1 }
    pool "127.0.0.93" { weight = 99 }`, 1)
	if err := os.WriteFile(d.config, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := c.run("reload")
	if code != 1 || !strings.Contains(errOut, "(ApiErrorBadRequest)") || !strings.Contains(errOut, d.config+":") || !strings.Contains(errOut, ": error: ") {
		t.Fatalf("bad reload: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	after := c.service("geo.example.test.")
	if fmt.Sprint(before.Config) != fmt.Sprint(after.Config) || len(after.Regions) != len(before.Regions) {
		t.Fatalf("a refused reload changed the service:\nbefore %+v\nafter  %+v", before.Config, after.Config)
	}
	if got, _ := d.lookupECS("geo.example.test.", dns.TypeA, "192.0.2.0/24"); got != "127.0.0.91,127.0.0.92" {
		t.Fatalf("after a refused reload DNS answers %q", got)
	}

	// A good change: a job, a config event, and the read-back shows it.
	changed := strings.Replace(string(good), `pool "127.0.0.92" { weight = 1 }`, `pool "127.0.0.92" { weight = 3 }`, 1)
	if err := os.WriteFile(d.config, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	c.mustJob("reload", d.config, "reload")
	sd := c.service("geo.example.test.")
	pool := fmt.Sprint(sd.Config["region"])
	if !strings.Contains(pool, "127.0.0.92:map[label: serve_mode:obey weight:3]") {
		t.Fatalf("config read-back after the reload: %s", pool)
	}
	var lr api.LogResponse
	c.json(&lr, "log", "geo.example.test.", "1h")
	found := false
	for _, e := range lr.Events {
		found = found || (e.Kind == "config" && e.NewStatus == "changed")
	}
	if !found {
		t.Fatalf("no config event in the log: %+v", lr.Events)
	}
	var zs api.ZonesResponse
	c.json(&zs, "zones")
	if len(zs.Zones) != 1 || zs.Zones[0].Zone != "example.test." || zs.Zones[0].Serial == 0 {
		t.Fatalf("zones %+v", zs.Zones)
	}
}
