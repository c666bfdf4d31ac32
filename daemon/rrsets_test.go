package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
)

const servedFromStart = `
zone "example.test" {}
active_failover "afo.example.test." {
  address       = "192.0.2.10"
  failover_data = "192.0.2.11"
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
gslb "gslb.example.test." {
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
  region "global" {
    pool "192.0.2.20" {}
  }
  region "EU West" {
    pool "192.0.2.30" {}
  }
}
`

// rrsets is the native rrset report of fqdn at ts.
func (td *testDaemon) rrsets(fqdn string, ts time.Time) map[string][]string {
	td.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/v1/services/%s/rrsets?ts=%d", td.apiAddr, fqdn, ts.Unix()))
	if err != nil {
		td.t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep api.RRSetReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
		td.t.Fatalf("rrsets of %s: HTTP %d %v", fqdn, resp.StatusCode, err)
	}
	out := map[string][]string{}
	for _, r := range rep.Regions {
		out[r.Code] = r.Served
	}
	return out
}

// The served sets published at start and by a reload are recorded: the
// rrset report right after either shows every region of a name whose
// served set never changed.
func TestRRSetReport_WhatStartAndReloadServeIsRecorded(t *testing.T) {
	td := startTestDaemon(t, servedFromStart)
	now := time.Now()
	for _, c := range []struct {
		rule, fqdn string
		want       map[string][]string
	}{
		{"an active failover serves its address from start", "afo.example.test.", map[string][]string{"global": {"192.0.2.10"}}},
		{"every region of a gslb from start", "gslb.example.test.", map[string][]string{"global": {"192.0.2.20"}, "EU West": {"192.0.2.30"}}},
	} {
		t.Run(c.rule, func(t *testing.T) {
			if got := td.rrsets(c.fqdn, now); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}

	td.write(servedFromStart + `
active_failover "new.example.test." {
  address       = "192.0.2.40"
  failover_data = "192.0.2.41"
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
`)
	cfg, _, diags := config.Load(td.path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := td.d.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"global": {"192.0.2.40"}}
	if got := td.rrsets("new.example.test.", time.Now()); !reflect.DeepEqual(got, want) {
		t.Fatalf("a service added by a reload: got %v, want %v", got, want)
	}
}
