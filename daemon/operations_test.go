package daemon

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/api"
)

// A reload through reloadJob (SIGHUP and POST /v1/reload) is refused whole
// with its diagnostics, or refused whole when its job cannot be recorded,
// or applied with a job and a config event for each service it adds or
// changes.
func TestReloadJob_RecordedOrRefusedWhole(t *testing.T) {
	td := startTestDaemon(t, reloadBefore)
	ctx := context.Background()
	snapshot := func() string {
		return td.answer("www.example.test.", dns.TypeA) + "\n" + td.answer("new.example.test.", dns.TypeA) + "\n" + td.view()
	}
	before := snapshot()

	td.write(reloadAfter + "\ngslb \"bad.example.test.\" {\n  nonsense = 1\n}\n")
	_, err := td.d.reloadJob(ctx, "test")
	var de *api.DiagnosticsError
	if !errors.As(err, &de) || len(de.Diagnostics) == 0 || !strings.HasPrefix(de.Diagnostics[0], td.path+":") || !strings.Contains(de.Diagnostics[0], ": error: ") {
		t.Fatalf("reload of a bad configuration = %#v, want diagnostics FILE:LINE:COL: error: ...", err)
	}
	if got := snapshot(); got != before {
		t.Fatalf("a refused reload changed the daemon:\n%s\nwant\n%s", got, before)
	}

	td.write(reloadAfter)
	td.store.failJobs.Store(true)
	if _, err := td.d.reloadJob(ctx, "test"); !errors.Is(err, errDiskFailed) {
		t.Fatalf("reload whose job cannot be recorded = %v, want the store's failure", err)
	}
	td.store.failJobs.Store(false)
	if got := snapshot(); got != before {
		t.Fatalf("an unrecorded reload changed the daemon:\n%s\nwant\n%s", got, before)
	}

	job, err := td.d.reloadJob(ctx, "test")
	if err != nil || job == nil || job.Action != api.ActionReload || job.Target != td.path || job.ID == 0 {
		t.Fatalf("reload = %+v, %v", job, err)
	}
	if got := td.answer("new.example.test.", dns.TypeA); !strings.Contains(got, "192.0.2.20") {
		t.Fatalf("new service after the reload: %s", got)
	}
	evs, err := td.store.Events("new.example.test.", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || len(evs) != 1 || evs[0].Kind != api.EventConfig || evs[0].NewStatus != "added" {
		t.Fatalf("events of the added service: %+v %v", evs, err)
	}
	evs, err = td.store.Events("app.example.test.", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	for _, e := range evs {
		if e.Kind == api.EventConfig {
			t.Fatalf("a config event for an unchanged service: %+v", e)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if j, ok, err := td.store.Job(job.ID); err != nil || !ok || j.Action != api.ActionReload {
		t.Fatalf("job %d in the store: %+v %v %v", job.ID, j, ok, err)
	}
}

const dualStack = `
zone "example.test" {}
gslb "dual.example.test." {
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
  region "global" {
    serve_count = 2
    pool "192.0.2.10" {}
    pool "2001:db8::10" {}
  }
}
`

// Explain through the controller answers what DNS answers for the query
// type: an AAAA address is served, but not in an A answer, and says so.
func TestController_ExplainPerQueryType(t *testing.T) {
	td := startTestDaemon(t, dualStack)
	c := &controller{log: td.d.log, loop: td.d.loop, store: td.d.store}
	for _, tc := range []struct {
		qtype  string
		rrtype uint16
		in     string
		out    string
	}{
		{"A", dns.TypeA, "192.0.2.10", "2001:db8::10"},
		{"AAAA", dns.TypeAAAA, "2001:db8::10", "192.0.2.10"},
	} {
		x, err := c.Explain(context.Background(), api.ExplainQuery{FQDN: "dual.example.test.", Type: tc.qtype, Client: netip.MustParseAddr("127.0.0.1")})
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Answer) != 1 || x.Answer[0] != tc.in || !strings.Contains(td.answer("dual.example.test.", tc.rrtype), tc.in) {
			t.Fatalf("%s: explain answers %v, DNS %s", tc.qtype, x.Answer, td.answer("dual.example.test.", tc.rrtype))
		}
		for _, e := range x.Entries {
			switch e.Address {
			case tc.in:
				if !e.InAnswer {
					t.Errorf("%s: %s not in the answer: %s", tc.qtype, e.Address, e.Reason)
				}
			case tc.out:
				if e.InAnswer || !strings.Contains(e.Reason, "queries only") {
					t.Errorf("%s: %s in_answer %v, reason %q", tc.qtype, e.Address, e.InAnswer, e.Reason)
				}
			}
		}
	}
	x, err := c.Explain(context.Background(), api.ExplainQuery{FQDN: "dual.example.test.", Type: "CNAME", Client: netip.MustParseAddr("127.0.0.1")})
	if err != nil || len(x.Answer) != 0 {
		t.Fatalf("CNAME: %+v %v", x, err)
	}
	for _, e := range x.Entries {
		if e.InAnswer {
			t.Errorf("CNAME: %s in the answer", e.Address)
		}
	}
	if _, err := c.Explain(context.Background(), api.ExplainQuery{FQDN: "nope.example.test.", Type: "A"}); !errors.Is(err, api.ErrDoesNotExist) {
		t.Fatalf("unknown name: %v", err)
	}
}
