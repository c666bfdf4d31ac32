package config

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// writeConfig writes files into a new temporary directory and returns it.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// render returns diags as WriteDiagnostics prints them.
func render(t *testing.T, files map[string]*hcl.File, diags hcl.Diagnostics) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, files, diags); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestExamplesLoadWithoutDiagnostics(t *testing.T) {
	paths, err := filepath.Glob("../examples/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no examples found")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, files, diags := Load(p)
			if len(diags) > 0 {
				t.Fatalf("diagnostics:\n%s", render(t, files, diags))
			}
			if cfg == nil {
				t.Fatal("nil config without diagnostics")
			}
		})
	}
}

func TestQuickstartDefaults(t *testing.T) {
	cfg, files, diags := Load("../examples/quickstart.hcl")
	if diags.HasErrors() {
		t.Fatalf("diagnostics:\n%s", render(t, files, diags))
	}
	if _, ok := files["../examples/quickstart.hcl"]; !ok {
		t.Errorf("files not keyed by the path as given: %v", files)
	}
	abs, _ := filepath.Abs("../examples")
	if cfg.Dir != abs {
		t.Errorf("Dir = %q, want %q", cfg.Dir, abs)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "state", "quickstart"); cfg.Server.StateDir != want {
		t.Errorf("StateDir = %q, want %q", cfg.Server.StateDir, want)
	}
	if cfg.Server.HistoryRetention != 720*time.Hour || cfg.Server.LogFormat != "json" {
		t.Errorf("server defaults: %+v", cfg.Server)
	}
	if !cfg.DNS.ECS || len(cfg.DNS.Listen) != 1 || cfg.DNS.Listen[0] != "127.0.0.1:5353" {
		t.Errorf("dns: %+v", cfg.DNS)
	}
	if cfg.API.Listen != "127.0.0.1:8053" || cfg.API.TokenFile != "" {
		t.Errorf("api: %+v", cfg.API)
	}
	if len(cfg.Zones) != 1 || cfg.Zones[0].Name != "example.test." {
		t.Fatalf("zones: %+v", cfg.Zones)
	}
	if z := cfg.ZoneFor("Up.Example.Test"); z != cfg.Zones[0] {
		t.Errorf("ZoneFor = %v", z)
	}
	var static *Record
	for _, r := range cfg.Zones[0].Records {
		if r.Name == "static.example.test." {
			static = r
		}
	}
	if static == nil || static.Type != "A" || static.TTL != 60 || static.RData[0] != "127.0.0.53" {
		t.Errorf("static record: %+v", static)
	}
	if len(cfg.ActiveFailovers) != 2 {
		t.Fatalf("active failovers: %d", len(cfg.ActiveFailovers))
	}
	up := cfg.ActiveFailovers[0]
	if up.FQDN != "up.example.test." || up.Address != "127.0.0.1" || up.FailoverData != "127.0.0.2" || up.TTL != 1 ||
		!up.Active || !up.AutoRecover || len(up.NotifyEvents) != 1 || up.NotifyEvents[0] != "svc" {
		t.Errorf("up: %+v", up)
	}
	m := up.Monitor
	if m.Protocol != "TCP" || m.Port != 8053 || m.Interval != 2*time.Second || m.Timeout != time.Second || m.Retries != 1 {
		t.Errorf("monitor: %+v", m)
	}
	g := cfg.GSLBs[0]
	if len(g.Regions) != 1 || g.Regions[0].Code != "global" || len(g.Regions[0].Pool) != 2 {
		t.Fatalf("gslb: %+v", g)
	}
	if p := g.Regions[0].Pool[1]; p.Address != "127.0.0.5" || p.ServeMode != "obey" || p.Weight != 5 {
		t.Errorf("pool entry: %+v", p)
	}
}

func TestDefaultsApplied(t *testing.T) {
	dir := writeConfig(t, map[string]string{"a.hcl": `
dns {
  region_map = {
    "Lab Net" = ["198.51.100.7/24", "2001:DB8:1::/48"]
  }
  transfer {
    allow  = ["127.0.0.0/8", "192.0.2.53"]
    notify = ["127.0.0.1:5354", "192.0.2.9"]
  }
}
api {
  listen     = "0.0.0.0:8053"
  token_file = "secret/token"
}
smtp {
  server = "127.0.0.1"
  from   = "failoverd@example.net"
}
contact "ops" { email = ["ops@example.net"] }
zone "Example.COM" { file = "zones/example.com.zone" }
active_failover "www.example.com" {
  address       = "WWW.Primary.Example.NET"
  failover_mode = "cname"
  failover_data = "Backup.Example.NET"
  contact_nickname = "ops"
  monitor {
    protocol = "HTTPS"
    interval = "1m"
    header   = "X-A: 1\nX-B: 2\n"
    path     = "health"
  }
  syslog { server = "127.0.0.1" }
}
rttm "api.example.com." {
  monitor {
    protocol = "PING"
    interval = "5m"
  }
  performance_monitor {
    protocol = "HTTP"
    interval = "5m"
  }
  syslog { server = "127.0.0.1" }
  region "global" {
    pool "2001:DB8::30" {}
    pool "192.0.2.30" {}
  }
  region "Lab Net" { autopopulate = true }
}
sf_pool "a.example.com." {
  rdata = "192.0.2.40"
  monitor { url = "http://192.0.2.40/" }
}
cluster "web" {
  service "https" {
    fqdn = "web.example.com."
    monitor {
      protocol = "TCP"
      interval = "10s"
    }
    real_service "web1" {
      ip_address = "192.0.2.51"
      port       = 443
    }
  }
}
`,
		"secret/token":           "s3cret\n",
		"zones/example.com.zone": "static 60 IN A 192.0.2.80\n",
	})
	cfg, files, diags := Load(dir)
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", render(t, files, diags))
	}
	want := map[string][]netip.Prefix{"Lab Net": {netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}}
	if got := cfg.DNS.RegionMap["Lab Net"]; len(got) != 2 || got[0] != want["Lab Net"][0] || got[1] != want["Lab Net"][1] {
		t.Errorf("region_map: %v", cfg.DNS.RegionMap)
	}
	if tr := cfg.DNS.Transfer; tr == nil || tr.Allow[1] != netip.MustParsePrefix("192.0.2.53/32") || tr.Notify[1] != "192.0.2.9:53" {
		t.Errorf("transfer: %+v", cfg.DNS.Transfer)
	}
	if cfg.API.TokenFile != filepath.Join(dir, "secret", "token") {
		t.Errorf("token_file = %q", cfg.API.TokenFile)
	}
	if cfg.SMTP.Server != "127.0.0.1:25" || cfg.SMTP.StartTLS != "opportunistic" {
		t.Errorf("smtp: %+v", cfg.SMTP)
	}
	z := cfg.Zones[0]
	if z.Name != "example.com." || z.File != filepath.Join(dir, "zones", "example.com.zone") || z.TTL != 3600 {
		t.Errorf("zone: %+v", z)
	}
	a := cfg.ActiveFailovers[0]
	if a.FQDN != "www.example.com." || a.Address != "www.primary.example.net." || !a.AddressIsName() || a.FailoverData != "backup.example.net." {
		t.Errorf("active failover: %+v", a)
	}
	if a.TTL != 30 || a.Monitor.Port != 443 || a.Monitor.Timeout != 10*time.Second || a.Monitor.Path != "/health" ||
		len(a.Monitor.Header) != 2 || a.Monitor.Header[1] != "X-B: 2" {
		t.Errorf("active failover monitor: ttl %d %+v", a.TTL, a.Monitor)
	}
	s := a.Syslog
	if s.Port != 514 || s.Transport != "udp" || s.Protocol != "rfc3164" || s.Ident != "dynect" || s.Facility != "daemon" ||
		s.Delivery != "change" || s.ProbeFmt != DefaultProbeFmt || s.StatusFmt != DefaultStatusFmt || s.RTTMFmt != "" {
		t.Errorf("syslog: %+v", s)
	}
	r := cfg.RTTMs[0]
	if r.Syslog.RTTMFmt != DefaultRTTMFmt || r.Monitor.Port != 0 || r.PerformanceMonitor == nil {
		t.Errorf("rttm: %+v %+v", r.Syslog, r.Monitor)
	}
	lab := r.Regions[1]
	if !lab.Autopopulate || len(lab.Pool) != 2 || lab.Pool[0].Address != "2001:db8::30" || lab.Pool[0] == r.Regions[0].Pool[0] {
		t.Errorf("autopopulated region: %+v", lab)
	}
	if g := r.Regions[0]; g.ServeCount != 1 || g.MinHealthy != 1 || g.FailoverMode != "global" || g.EP != 0 || g.APMC != 1 || g.EPMC != 1 {
		t.Errorf("region defaults: %+v", g)
	}
	p := cfg.SFPools[0]
	if p.RRType != "A" || p.TTL != 300 || p.LiveRecordState != "NOT_FORCED" || p.RegionFailureSensitivity != "HIGH" || p.Backup != nil ||
		p.Monitor.Method != "GET" || p.Monitor.Interval != time.Minute || p.Monitor.Timeout != 10*time.Second || p.Monitor.Retries != 1 {
		t.Errorf("sf_pool: %+v %+v", p, p.Monitor)
	}
	cs := cfg.Clusters[0].Services[0]
	if cs.Protocol != "tcp" || cs.TTL != 5 || cs.Monitor.Port != 0 || cs.RealServices[0].Weight != 1 || !cs.RealServices[0].Enabled {
		t.Errorf("cluster service: %+v %+v", cs, cs.Monitor)
	}
}

func TestDirectoryMerge(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"10-zones.hcl":  `zone "example.com" {}`,
		"20-svc.hcl":    "gslb \"app.example.com.\" {\n  monitor {\n    protocol = \"NONE\"\n    interval = \"10s\"\n  }\n  region \"global\" {\n    pool \"192.0.2.1\" {}\n  }\n}\n",
		"30-dup.hcl":    "zone \"example.com.\" {}\n",
		"notes.txt":     "not configuration",
		"40-server.hcl": "server { site = \"iad\" }\n",
	})
	cfg, files, diags := Load(dir)
	if cfg != nil {
		t.Fatal("config returned despite a duplicate zone")
	}
	out := render(t, files, diags)
	want := filepath.Join(dir, "30-dup.hcl") + ":1:6: error: Duplicate zone\n"
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got:\n%s\nwant prefix %q", out, want)
	}
	if len(diags) != 1 {
		t.Errorf("want one diagnostic, got:\n%s", out)
	}

	os.Remove(filepath.Join(dir, "30-dup.hcl"))
	cfg, files, diags = Load(dir)
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", render(t, files, diags))
	}
	if len(cfg.Zones) != 1 || len(cfg.GSLBs) != 1 || cfg.Server.Site != "iad" || len(cfg.Files) != 3 {
		t.Errorf("merged config: zones %d gslbs %d site %q files %v", len(cfg.Zones), len(cfg.GSLBs), cfg.Server.Site, cfg.Files)
	}
}

func TestWriteDiagnosticsFormat(t *testing.T) {
	dir := writeConfig(t, map[string]string{"bad.hcl": "zone \"example.com\" {}\ngslb \"app.example.com.\" {\n  monitor {\n    protocol = \"TCP\"\n    interval = \"10s\"\n  }\n  region \"global\" {\n    pool \"192.0.2.1\" { weight = 20 }\n  }\n}\n"})
	path := filepath.Join(dir, "bad.hcl")
	_, files, diags := Load(path)
	got := render(t, files, diags)
	want := path + `:8:33: error: Invalid weight
  weight must be from 1 to 15; got 20.
  8 |     pool "192.0.2.1" { weight = 20 }
    |                                 ^^
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestLoadMissingPath(t *testing.T) {
	cfg, files, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if cfg != nil || !diags.HasErrors() {
		t.Fatal("want an error for a missing file")
	}
	if out := render(t, files, diags); !strings.Contains(out, "nope.hcl:1:1: error: Cannot read configuration") {
		t.Errorf("got %q", out)
	}
}
