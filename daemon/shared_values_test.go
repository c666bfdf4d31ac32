package daemon

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/notify"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
)

// The leaves never import each other (TestArchitecture), so a value that
// two of them need is written in each; docs/architecture.md says why. These
// tests are what keeps the copies equal: each compares the leaves' copies
// of one shared value, through the leaves' own exported names or behaviour.

func TestSharedValues_RegionCodes(t *testing.T) {
	geo := []string{dnsserver.RegionUSWest, dnsserver.RegionUSCentral, dnsserver.RegionUSEast,
		dnsserver.RegionEUWest, dnsserver.RegionEUCentral, dnsserver.RegionEUEast, dnsserver.RegionAsia}
	if got, want := slices.Sorted(slices.Values(config.BuiltinRegions)),
		slices.Sorted(slices.Values(append(geo, dnsserver.GlobalRegion))); !slices.Equal(got, want) {
		t.Errorf("config.BuiltinRegions %q, dnsserver's region codes %q", got, want)
	}
	if pool.GlobalRegion != dnsserver.GlobalRegion || !slices.Contains(config.BuiltinRegions, pool.GlobalRegion) {
		t.Errorf("global region: pool %q, dnsserver %q, config %q", pool.GlobalRegion, dnsserver.GlobalRegion, config.BuiltinRegions)
	}
	// Every region the GeoIP mapping can return is one config accepts.
	lon := []float64{-120, -95, -80}
	for _, continent := range []string{"NA", "SA", "EU", "AF", "AS", "OC", "AN", ""} {
		for _, country := range []string{"US", "MX", "CA", "GB", "DE", "RU", "JP", ""} {
			for i := range len(lon) + 1 {
				var l *float64
				if i < len(lon) {
					l = &lon[i]
				}
				if code := dnsserver.GeoRegion(continent, country, l); !slices.Contains(config.BuiltinRegions, code) {
					t.Errorf("GeoRegion(%q, %q) = %q, which config does not accept", continent, country, code)
				}
			}
		}
	}
}

func TestSharedValues_SyslogFacilities(t *testing.T) {
	if got, want := slices.Sorted(slices.Values(config.SyslogFacilities)), notify.FacilityNames(); !slices.Equal(got, want) {
		t.Errorf("config accepts facilities %q, notify maps %q", got, want)
	}
}

func TestSharedValues_EventKinds(t *testing.T) {
	for _, copies := range [][]string{
		{string(pool.EventIP), string(pool.EventSvc), string(pool.EventNoSrv)},
		{notify.KindIP, notify.KindSvc, notify.KindNoSrv},
		{api.EventIP, api.EventSvc, api.EventNoSrv},
	} {
		if !slices.Equal(copies, config.NotifyEventKinds) {
			t.Errorf("event kinds %q differ from config's notify_events values %q", copies, config.NotifyEventKinds)
		}
	}
}

// The defaults config fills in are the ones probe and dnsserver assume
// when a value is left zero.
func TestSharedValues_Defaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "defaults.hcl")
	var b strings.Builder
	b.WriteString("zone \"example.test\" {}\n")
	protocols := []probe.Protocol{probe.HTTP, probe.HTTPS, probe.SMTP, probe.TCP}
	for i, p := range protocols {
		fmt.Fprintf(&b, `active_failover "s%d.example.test." {
  address = "192.0.2.%d"
  failover_data = "192.0.2.200"
  monitor {
    protocol = %q
    interval = "1m"
  }
}
`, i, i+1, p)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := cfg.Zones[0].TTL; got != dnsserver.DefaultZoneTTL {
		t.Errorf("config's default zone ttl %d, dnsserver's %d", got, dnsserver.DefaultZoneTTL)
	}
	for i, p := range protocols {
		m := cfg.ActiveFailovers[i].Monitor
		if m.Port != probe.DefaultPort(p) {
			t.Errorf("%s: config's default port %d, probe's %d", p, m.Port, probe.DefaultPort(p))
		}
		if want := min(probe.DefaultTimeout, time.Minute/2); m.Timeout != want {
			t.Errorf("%s: config's default timeout %v, probe's %v", p, m.Timeout, want)
		}
	}
}

func TestSharedValues_RealServiceWeightBound(t *testing.T) {
	if api.MaxRealServiceWeight != config.MaxRealServiceWeight {
		t.Errorf("real service weight: api allows up to %d, config %d", api.MaxRealServiceWeight, config.MaxRealServiceWeight)
	}
}

func TestSharedValues_ClusterNameRule(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"web", "a.b_c-d", strings.Repeat("x", 64), strings.Repeat("x", 65), "", "sp ace", "slash/", "ü"} {
		path := filepath.Join(dir, "cluster.hcl")
		conf := fmt.Sprintf(`zone "example.test" {}
cluster %q {
  service "https" {
    fqdn = "web.example.test."
    monitor {
      protocol = "TCP"
      interval = "10s"
    }
    real_service "web1" {
      ip_address = "192.0.2.51"
      port       = 443
      weight     = 1
    }
  }
}
`, name)
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, diags := config.Load(path)
		if configOK, apiOK := !diags.HasErrors(), api.ValidClusterName(name); configOK != apiOK {
			t.Errorf("cluster name %q: config accepts it %v, api %v (%v)", name, configOK, apiOK, diags)
		}
	}
}

func TestSharedValues_DNSSECAlgorithms(t *testing.T) {
	signs := slices.Sorted(maps.Keys(dnsserver.Algorithms))
	if got := slices.Sorted(slices.Values(config.DNSSECAlgorithms)); !slices.Equal(got, signs) {
		t.Errorf("config accepts DNSSEC algorithms %q, dnsserver signs with %q", got, signs)
	}
	for _, name := range config.DNSSECAlgorithms {
		if _, err := dnsserver.GenerateKey("example.com.", name); err != nil {
			t.Errorf("dnsserver cannot make a %s key: %v", name, err)
		}
	}
}
