package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// One service of each kind, each seen failing over and recovering through
// DNS: gslb and rttm drop a failed pool address and take it back,
// sf_pool serves its backup record, a cluster serves its fallback server.
func TestEveryKind_FailsOverAndRecovers(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	gslbA := newTargetOn(t, "127.0.0.31", port, "ok")
	newTargetOn(t, "127.0.0.32", port, "ok")
	rttmA := newTargetOn(t, "127.0.0.33", port, "ok")
	newTargetOn(t, "127.0.0.34", port, "ok")
	sfLive := newTargetOn(t, "127.0.0.41", port, "testing")
	web1 := newTargetOn(t, "127.0.0.51", port, "ok")

	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}

gslb "g.example.test." {
  ttl = 0
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "400ms"
    retries  = 0
    port     = %[1]d
  }
  region "global" {
    serve_count = 2
    pool "127.0.0.31" { weight = 5 }
    pool "127.0.0.32" { weight = 5 }
  }
}

rttm "r.example.test." {
  ttl = 0
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "400ms"
    retries  = 0
    port     = %[1]d
  }
  performance_monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "400ms"
    port     = %[1]d
  }
  region "global" {
    serve_count = 2
    pool "127.0.0.33" { weight = 1 }
    pool "127.0.0.34" { weight = 1 }
  }
}

sf_pool "sf.example.test." {
  rrtype = "A"
  ttl    = 0
  rdata  = "127.0.0.41"
  monitor {
    method        = "GET"
    url           = "http://127.0.0.41:%[1]d/health"
    search_string = "testing"
    interval      = "1s"
    timeout       = "400ms"
    retries       = 0
  }
  backup_record { rdata = "127.0.0.42" }
}

cluster "web" {
  service "http" {
    fqdn = "web.example.test."
    ttl  = 0
    monitor {
      protocol = "TCP"
      interval = "1s"
      timeout  = "400ms"
      retries  = 0
    }
    real_service "web1" {
      ip_address = "127.0.0.51"
      port       = %[1]d
      weight     = 10
    }
    real_service "sorry" {
      ip_address = "127.0.0.59"
      port       = %[1]d
      weight     = 1
      fallback   = true
    }
  }
}
`, port))

	within := 5 * time.Second
	d.waitAnswer("g.example.test.", dns.TypeA, "127.0.0.31,127.0.0.32", within)
	d.waitAnswer("r.example.test.", dns.TypeA, "127.0.0.33,127.0.0.34", within)
	d.waitAnswer("sf.example.test.", dns.TypeA, "127.0.0.41", within)
	d.waitAnswer("web.example.test.", dns.TypeA, "127.0.0.51", within)

	// Every answer with web1 counts towards its answers_total.
	for range 10 {
		d.lookup("udp", "web.example.test.", dns.TypeA)
		d.lookup("tcp", "web.example.test.", dns.TypeA)
	}
	var stats struct {
		AnswersTotal uint64 `json:"answers_total"`
		Active       bool   `json:"active"`
	}
	d.getJSON("/v1/clusters/web/services/http/real_services/web1/statistics", &stats)
	if stats.AnswersTotal < 20 || !stats.Active {
		t.Fatalf("web1 statistics: %+v", stats)
	}

	gslbA.Stop()
	rttmA.Stop()
	sfLive.Stop()
	web1.Stop()
	d.waitAnswer("g.example.test.", dns.TypeA, "127.0.0.32", within)
	d.waitAnswer("r.example.test.", dns.TypeA, "127.0.0.34", within)
	d.waitAnswer("sf.example.test.", dns.TypeA, "127.0.0.42", within)
	d.waitAnswer("web.example.test.", dns.TypeA, "127.0.0.59", within)

	r, err := query(d.dnsAddr, "udp", "_http._tcp.web.example.test.", dns.TypeSRV, dns.ClassINET)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("SRV during fallback: %v, %v", r, err)
	}
	if srv, ok := r.Answer[0].(*dns.SRV); !ok || srv.Target != "sorry.web.example.test." || srv.Port != uint16(port) {
		t.Fatalf("SRV during fallback: %v", r.Answer[0])
	}

	gslbA.Start()
	rttmA.Start()
	sfLive.Start()
	web1.Start()
	d.waitAnswer("g.example.test.", dns.TypeA, "127.0.0.31,127.0.0.32", within)
	d.waitAnswer("r.example.test.", dns.TypeA, "127.0.0.33,127.0.0.34", within)
	d.waitAnswer("sf.example.test.", dns.TypeA, "127.0.0.41", within)
	d.waitAnswer("web.example.test.", dns.TypeA, "127.0.0.51", within)
	d.waitAnswer("web1.web.example.test.", dns.TypeA, "127.0.0.51", within)
}
