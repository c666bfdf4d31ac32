package e2e

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Section 7: the serial never goes back and is never reused with other
// content, also when the daemon is killed (kill -9) at random points while
// the zone churns. Operator commands toggle a cluster's real service as
// fast as the API takes them; an observer reads SOA, answer, SOA and keeps
// the pairs whose two serials agree.
func TestSerial_MonotonicAndNeverReusedAcrossKill9DuringChurn(t *testing.T) {
	d := startDaemon(t, `
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}
cluster "web" {
  service "http" {
    fqdn = "web.example.test."
    ttl  = 0
    monitor {
      protocol = "NONE"
      interval = "10s"
    }
    real_service "web1" {
      ip_address = "192.0.2.41"
      port       = 80
    }
    real_service "web2" {
      ip_address = "192.0.2.42"
      port       = 80
    }
  }
}
`)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	content := map[uint32]string{} // serial → the answer it was seen with
	var maxBefore uint32           // highest serial seen before the last kill
	const restarts = 8
	for run := range restarts {
		first := d.serial("example.test.")
		if run > 0 && first <= maxBefore {
			t.Fatalf("restart %d: serial %d, not above %d seen before the kill", run, first, maxBefore)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // churn: disable and enable web1, over and over
			defer wg.Done()
			c := &http.Client{Timeout: 2 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				action := []string{"disable", "enable"}[i%2]
				resp, err := c.Post("http://"+d.apiAddr+"/v1/clusters/web/services/http/real_services/web1/"+action, "application/json", nil)
				if err != nil {
					return // killed
				}
				resp.Body.Close()
			}
		}()
		var last uint32
		deadline := time.Now().Add(time.Duration(100+rnd.IntN(600)) * time.Millisecond)
		for time.Now().Before(deadline) {
			s1, ok1 := soa(d.dnsAddr)
			a, err := d.lookup("udp", "web.example.test.", dns.TypeA)
			s2, ok2 := soa(d.dnsAddr)
			if !ok1 || !ok2 || err != nil {
				continue
			}
			if s2 < s1 || s1 < last {
				t.Fatalf("run %d: serial went back: %d after %d", run, min(s1, s2), max(last, s1))
			}
			last = s2
			if s1 != s2 {
				continue // the answer may belong to either
			}
			if old, ok := content[s1]; ok && old != a {
				t.Fatalf("run %d: serial %d reused: %q, earlier %q", run, s1, a, old)
			}
			content[s1] = a
			maxBefore = max(maxBefore, s2)
		}
		d.kill9()
		close(stop)
		wg.Wait()
		d.start()
	}
	if len(content) < restarts {
		t.Fatalf("only %d distinct serials observed: the churn did not move the serial", len(content))
	}
	var answers []string
	for _, a := range content {
		answers = append(answers, a)
	}
	if !strings.Contains(strings.Join(answers, " "), "192.0.2.41") {
		t.Fatalf("web1 never served: %v", answers)
	}
}

// soa is zone example.test.'s serial, and whether the query succeeded.
func soa(addr string) (uint32, bool) {
	r, err := query(addr, "udp", "example.test.", dns.TypeSOA, dns.ClassINET)
	if err != nil || len(r.Answer) != 1 {
		return 0, false
	}
	s, ok := r.Answer[0].(*dns.SOA)
	if !ok {
		return 0, false
	}
	return s.Serial, true
}
