package daemon

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/failoverd/failoverd/pool"
)

func gslbPlan(addrs ...string) *plan {
	r := pool.Region{Code: "global"}
	for _, a := range addrs {
		r.Entries = append(r.Entries, pool.Entry{Address: a})
	}
	return &plan{spec: pool.Spec{Services: []pool.Service{{FQDN: "app.example.com.", Kind: pool.KindGSLB, Regions: []pool.Region{r}}}}}
}

// A reload forgets the status series of a pool address the service no
// longer has, and keeps those of addresses and regions that stay.
func TestMetrics_ReloadForgetsRemovedPoolAddress(t *testing.T) {
	m := newMetrics(prometheus.NewRegistry(), "test")
	for _, a := range []string{"192.0.2.1", "192.0.2.2"} {
		m.observeTransition(pool.Transition{Kind: pool.EventIP, Service: "app.example.com.", Region: "global", Address: a, Old: "unk", New: "up"})
	}
	m.observeTransition(pool.Transition{Kind: pool.EventSvc, Service: "app.example.com.", Region: "global", Old: "unk", New: "ok"})
	if n := testutil.CollectAndCount(m.serviceStatus); n != 3 {
		t.Fatalf("%d status series before the reload, want 3", n)
	}
	m.forget(gslbPlan("192.0.2.1", "192.0.2.2"), gslbPlan("192.0.2.1"))
	if n := testutil.CollectAndCount(m.serviceStatus); n != 2 {
		t.Fatalf("%d status series after removing an address, want 2", n)
	}
	if v := testutil.ToFloat64(m.serviceStatus.WithLabelValues("app.example.com.", "global", "192.0.2.1", "up")); v != 1 {
		t.Fatalf("the remaining address lost its series: %v", v)
	}
}
