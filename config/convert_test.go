package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A service applied from a native file (failoverctl apply) must be the
// service the file describes: converting it to HCL's JSON syntax and
// loading it as a managed file gives the same settings as loading it
// natively.
func TestServicesAsJSON_LoadsAsTheNativeBlockDoes(t *testing.T) {
	services := `gslb "app.example.com." {
  ttl            = 5
  notify_events  = ["ip", "svc"]
  monitor {
    protocol = "HTTP"
    interval = "10s"
    path     = "/health"
    header   = "X-Probe: failoverd\nX-Env: prod"
  }
  syslog {
    server = "127.0.0.1"
    port   = 5514
  }
  region "US East" {
    serve_count = 2
    pool "192.0.2.10" {
      label  = "use-1"
      weight = 5
    }
    pool "192.0.2.11" { serve_mode = "always" }
  }
  region "global" {
    pool "192.0.2.20" {}
  }
}

sf_pool "a.example.com." {
  rdata = "192.0.2.40"
  monitor { url = "http://192.0.2.40/health" }
  backup_record { rdata = "192.0.2.41" }
}
`
	dir := t.TempDir()
	operator := `server {
  state_dir = "` + filepath.Join(dir, "state") + `"
}
zone "example.com" {}
`
	native := writeConfig(t, map[string]string{"a.hcl": operator, "b.hcl": services})
	want, files, diags := Load(native)
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}

	blocks, diags := ServicesAsJSON("services.hcl", []byte(services))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(blocks) != 2 || blocks[0].Kind != "gslb" || blocks[0].FQDN != "app.example.com." || blocks[1].Kind != "sf_pool" {
		t.Fatalf("%+v", blocks)
	}
	path := filepath.Join(dir, "operator.hcl")
	if err := os.WriteFile(path, []byte(operator), 0o644); err != nil {
		t.Fatal(err)
	}
	changes := map[string][]byte{}
	for _, b := range blocks {
		changes[ManagedFile(b.FQDN)] = b.Body
	}
	got, files, diags := LoadChanged(path, changes)
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}
	g, w := got.GSLBs[0], want.GSLBs[0]
	if g.TTL != w.TTL || strings.Join(g.NotifyEvents, ",") != strings.Join(w.NotifyEvents, ",") ||
		g.Monitor.Interval != w.Monitor.Interval || g.Monitor.Path != w.Monitor.Path || fmt.Sprint(g.Monitor.Header) != fmt.Sprint(w.Monitor.Header) ||
		g.Syslog.Port != w.Syslog.Port || len(g.Regions) != len(w.Regions) {
		t.Fatalf("gslb differs:\n%+v\n%+v", g, w)
	}
	for i := range g.Regions {
		gr, wr := g.Regions[i], w.Regions[i]
		if gr.Code != wr.Code || gr.ServeCount != wr.ServeCount || len(gr.Pool) != len(wr.Pool) {
			t.Fatalf("region %d differs: %+v %+v", i, gr, wr)
		}
		for j := range gr.Pool {
			if gr.Pool[j].Address != wr.Pool[j].Address || gr.Pool[j].Weight != wr.Pool[j].Weight ||
				gr.Pool[j].Label != wr.Pool[j].Label || gr.Pool[j].ServeMode != wr.Pool[j].ServeMode {
				t.Fatalf("pool differs: %+v %+v", gr.Pool[j], wr.Pool[j])
			}
		}
	}
	if got.SFPools[0].Backup == nil || got.SFPools[0].Backup.RData != "192.0.2.41" || got.SFPools[0].Monitor.URL != want.SFPools[0].Monitor.URL {
		t.Fatalf("sf_pool differs: %+v", got.SFPools[0])
	}
}

func TestServicesAsJSON_OnlyServiceBlocks(t *testing.T) {
	tests := []struct{ rule, src, want string }{
		{"a zone block is not applied", "zone \"example.com\" {}\n", "Not a service block"},
		{"an argument is not applied", "ttl = 5\n", "Not a service block"},
		{"an empty file applies nothing", "\n", "No service block"},
		{"a syntax error", "gslb \"a.\" {\n", "Unclosed configuration block"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, diags := ServicesAsJSON("f.hcl", []byte(tt.src))
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
				t.Fatalf("%v", diags)
			}
		})
	}
}

func TestServiceSource_ReadsTheBlockBackFromItsFile(t *testing.T) {
	path, managed := managedBase(t)
	if err := os.WriteFile(filepath.Join(managed, "app.example.com.hcl.json"), []byte(managedGSLB), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, files, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}
	tests := []struct{ rule, fqdn, want string }{
		{"a managed service is its file as stored", "app.example.com.", managedGSLB},
		{"a service from the files is its block in JSON syntax", "FILES.example.com",
			`{"gslb":{"files.example.com.":{"monitor":{"interval":"1m","protocol":"HTTP"},"region":{"global":{"pool":{"192.0.2.1":{}}}}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := cfg.ServiceSource(tt.fqdn)
			if err != nil || string(got) != tt.want {
				t.Fatalf("%v\n%s", err, got)
			}
		})
	}
	if _, err := cfg.ServiceSource("nope.example.com."); err == nil {
		t.Fatal("a missing service has a source")
	}
}
