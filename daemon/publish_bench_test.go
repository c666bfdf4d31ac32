package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/pool"
)

// bigConfig writes a configuration of n gslb services, each with two pool
// addresses probed over TCP, and loads it.
func bigConfig(tb testing.TB, n int) *config.Config { return bigConfigZone(tb, n, "") }

// bigConfigZone is bigConfig with zoneBody inside the zone block.
func bigConfigZone(tb testing.TB, n int, zoneBody string) *config.Config {
	tb.Helper()
	dir := tb.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "server { state_dir = %q }\ndns { listen = [\"127.0.0.1:0\"] }\napi { listen = \"127.0.0.1:0\" }\nzone \"example.com\" {\n%s\n}\n", filepath.Join(dir, "state"), zoneBody)
	for i := range n {
		fmt.Fprintf(&b, `gslb "s%d.example.com." {
  ttl = 5
  monitor {
    protocol = "TCP"
    interval = "10s"
  }
  region "global" {
    pool "10.%d.%d.1" { weight = 2 }
    pool "10.%d.%d.2" { weight = 1 }
  }
}
`, i, i/250, i%250, i/250, i%250)
	}
	path := filepath.Join(dir, "big.hcl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg, _, diags := config.Load(path)
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	return cfg
}

// prepared is Prepare(cfg), failing tb on any problem.
func prepared(tb testing.TB, cfg *config.Config) *Prepared {
	tb.Helper()
	p, diags := Prepare(cfg)
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	return p
}

// BenchmarkPublish10k measures one decision-loop publish (engine answers →
// DNS snapshot → atomic swap) with 10,000 services.
func BenchmarkPublish10k(b *testing.B) {
	cfg := bigConfig(b, 10000)
	d, err := New(Options{Prepared: prepared(b, cfg), Version: "bench"}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.store.Close() })
	now := time.Now()
	b.ResetTimer()
	for range b.N {
		d.loop.pub.publish(now, nil, d.loop.engine)
	}
}

// BenchmarkPublishOneService10k measures the common case: one service's
// answers changed (a failover) among 10,000.
func BenchmarkPublishOneService10k(b *testing.B) {
	cfg := bigConfig(b, 10000)
	d, err := New(Options{Prepared: prepared(b, cfg), Version: "bench"}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.store.Close() })
	now := time.Now()
	services := []string{"s5000.example.com."}
	b.ResetTimer()
	for range b.N {
		d.loop.pub.publish(now, services, d.loop.engine)
	}
}

// BenchmarkFailoverPublish10k measures a failover's publish among 10,000
// services: one service's answer changes, in an unsigned and in a signed
// zone (the signed one signs the new answer and packs its signed fast
// entries before the swap).
func BenchmarkFailoverPublish10k(b *testing.B) {
	for _, zone := range []struct{ name, body string }{{"unsigned", ""}, {"signed", "dnssec {}"}} {
		b.Run(zone.name, func(b *testing.B) {
			cfg := bigConfigZone(b, 10000, zone.body)
			d, err := New(Options{Prepared: prepared(b, cfg), Version: "bench"}, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.store.Close() })
			key := ""
			for _, t := range d.loop.plan.targets {
				if t.Address == "10.20.0.2" {
					key = t.Key()
				}
			}
			now := time.Now()
			services := []string{"s5000.example.com."}
			up := true
			b.ResetTimer()
			for range b.N {
				// Take one pool address out and back in, alternately.
				up = !up
				now = now.Add(time.Second)
				d.loop.engine.Observe(pool.Observation{Target: key, Up: up, Time: now})
				d.loop.pub.publish(now, services, d.loop.engine)
			}
		})
	}
}

// BenchmarkLoadAndBuild10k measures parsing and validating a 10,000-service
// configuration and building the daemon from it (no sockets bound).
func BenchmarkLoadAndBuild10k(b *testing.B) {
	cfg := bigConfig(b, 10000)
	path := cfg.Files[0]
	b.ResetTimer()
	for range b.N {
		c, _, diags := config.Load(path)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		c.Server.StateDir = b.TempDir()
		d, err := New(Options{Prepared: prepared(b, c), Version: "bench"}, zap.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		d.store.Close()
	}
}

// BenchmarkStart100k measures what `failoverd run` does before it binds a
// port, at the configuration-size target: Load, Prepare and New (plan,
// engine, first DNS snapshot, the commit of every served set to a new
// state file) for 100,000 active_failover services as bench/run.sh
// generates them. Skipped with -short: one iteration takes seconds.
func BenchmarkStart100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 services")
	}
	dir := b.TempDir()
	var w strings.Builder
	fmt.Fprintf(&w, "server { state_dir = %q }\ndns { listen = [\"127.0.0.1:0\"] }\napi { listen = \"127.0.0.1:0\" }\nzone \"example.com\" {}\n", filepath.Join(dir, "state"))
	for i := 1; i <= 100000; i++ {
		fmt.Fprintf(&w, `active_failover "s%d.example.com." {
  address       = "127.%d.%d.%d"
  failover_data = "127.%d.%d.%d"
  ttl           = 0
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
`, i, 1+i/62500, i/250%250, i%250+1, 101+i/62500, i/250%250, i%250+1)
	}
	path := filepath.Join(dir, "100k.hcl")
	if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		cfg, _, diags := config.Load(path)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		cfg.Server.StateDir = b.TempDir()
		d, err := New(Options{Prepared: prepared(b, cfg), Version: "bench"}, zap.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		d.store.Close()
	}
	// The machine is shared: CPU time (all threads, GC included) per start
	// varies less than wall time.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
