package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// benchHeader holds the server, dns, api, contact and zone blocks every
// generated configuration starts with.
const benchHeader = `server {
  hostname = "ns1.example.net"
}
dns {
  listen = ["127.0.0.1:0"]
}
api {
  listen = "127.0.0.1:0"
}
contact "ops" {
  email = ["ops@example.net"]
}
zone "example.com" {
  ns = ["ns1.example.net."]
}
`

// benchGSLB writes gslb service i: one TCP monitor, one region of two pools.
func benchGSLB(b *strings.Builder, i int) {
	fmt.Fprintf(b, `gslb "s%d.example.com." {
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

// benchAFO writes active_failover service i with an HTTP monitor and a
// syslog block.
func benchAFO(b *strings.Builder, i int) {
	fmt.Fprintf(b, `active_failover "a%d.example.com." {
  address          = "10.%d.%d.1"
  failover_mode    = "ip"
  failover_data    = "10.%d.%d.2"
  auto_recover     = true
  notify_events    = ["ip", "nosrv"]
  contact_nickname = "ops"
  ttl              = 30
  monitor {
    protocol = "HTTP"
    interval = "1m"
    expected = "Example"
  }
  syslog {
    server   = "127.0.0.1"
    port     = 514
    facility = "daemon"
  }
}
`, i, i/250, i%250, i/250, i%250)
}

// benchSFPool writes sf_pool i with a backup record and a monitor.
func benchSFPool(b *strings.Builder, i int) {
	fmt.Fprintf(b, `sf_pool "p%d.example.com." {
  rrtype           = "A"
  ttl              = 300
  rdata            = "10.%d.%d.3"
  contact_nickname = "ops"
  backup_record {
    rdata       = "10.%d.%d.4"
    description = "backup"
  }
  monitor {
    method = "GET"
    url    = "http://10.%d.%d.3/health"
  }
}
`, i, i/250, i%250, i/250, i%250, i/250, i%250)
}

// benchConfig writes n services spread over files files in a new directory
// (the header goes into the first) and returns the path to load: the file
// itself when files is 1, else the directory. mixed cycles gslb,
// active_failover and sf_pool services; otherwise all are gslb.
func benchConfig(b *testing.B, n, files int, mixed bool) string {
	b.Helper()
	dir := b.TempDir()
	bufs := make([]strings.Builder, files)
	bufs[0].WriteString(benchHeader)
	for i := range n {
		w := &bufs[i*files/n]
		switch {
		case !mixed || i%3 == 0:
			benchGSLB(w, i)
		case i%3 == 1:
			benchAFO(w, i)
		default:
			benchSFPool(w, i)
		}
	}
	var path string
	for f := range bufs {
		path = filepath.Join(dir, fmt.Sprintf("%03d.hcl", f))
		if err := os.WriteFile(path, []byte(bufs[f].String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if files > 1 {
		return dir
	}
	return path
}

// BenchmarkLoad10k measures Load of 10,000 services: gslb only, a mix of
// gslb, active_failover and sf_pool, and the mix split over 16 files.
func BenchmarkLoad10k(b *testing.B) {
	for _, bc := range []struct {
		name  string
		files int
		mixed bool
	}{
		{"gslb", 1, false},
		{"mixed", 1, true},
		{"mixed-16files", 16, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := benchConfig(b, 10000, bc.files, bc.mixed)
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				cfg, files, diags := Load(path)
				if cfg == nil || len(diags) > 0 {
					var w strings.Builder
					_ = WriteDiagnostics(&w, files, diags)
					b.Fatalf("diagnostics:\n%s", w.String())
				}
			}
			// The machine is shared: CPU time (all threads, GC included)
			// per load varies less than wall time.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAFONone writes active_failover service i as bench/run.sh generates
// its configuration-size figure: a NONE monitor, about 187 bytes.
func benchAFONone(b *strings.Builder, i int) {
	fmt.Fprintf(b, `active_failover "s%d.example.com." {
  address       = "10.%d.%d.%d"
  failover_data = "10.%d.%d.%d"
  ttl           = 0
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
`, i, 1+i/62500, i/250%250, i%250+1, 101+i/62500, i/250%250, i%250+1)
}

// BenchmarkLoad100k measures Load of 100,000 active_failover services in
// one file (18.7 MB), the configuration-size target of `failoverd
// validate`.
func BenchmarkLoad100k(b *testing.B) {
	var w strings.Builder
	w.WriteString(benchHeader)
	for i := range 100000 {
		benchAFONone(&w, i)
	}
	path := filepath.Join(b.TempDir(), "100k.hcl")
	if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if cfg, _, diags := Load(path); cfg == nil || len(diags) > 0 {
			b.Fatalf("%d diagnostics: %v", len(diags), diags)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecode10k compares the decoder with plain gohcl.DecodeBody on
// the same parsed file of 10,000 mixed services, on one goroutine: the
// reason the decoder exists (see decode.go).
func BenchmarkDecode10k(b *testing.B) {
	path := benchConfig(b, 10000, 1, true)
	src, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	for _, bc := range []struct {
		name   string
		decode func(*rawFile) hcl.Diagnostics
	}{
		{"decoder", func(raw *rawFile) hcl.Diagnostics { return newDecoder().decodeFile(f.Body, raw) }},
		{"gohcl", func(raw *rawFile) hcl.Diagnostics { return gohcl.DecodeBody(f.Body, nil, raw) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var raw rawFile
				if d := bc.decode(&raw); d.HasErrors() {
					b.Fatal(d)
				}
			}
		})
	}
}
