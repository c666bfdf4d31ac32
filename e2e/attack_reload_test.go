package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// reloads counts the refused and the applied reloads in the daemon's log.
func (d *daemonProc) reloads() (refused, applied int) {
	out := d.out.String()
	return strings.Count(out, "reload refused"), strings.Count(out, "configuration reloaded")
}

// sighup sends SIGHUP and waits until the daemon logs that it refused
// (want "refused") or applied (want "applied") the reload.
func (d *daemonProc) sighup(want string) {
	d.t.Helper()
	refused, applied := d.reloads()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		d.t.Fatal(err)
	}
	testutil.Eventually(d.t, 30*time.Second, "the reload is "+want, func() (bool, string) {
		select {
		case <-d.done:
			d.t.Fatalf("failoverd exited on SIGHUP:\n%s", d.out.String())
		default:
		}
		r, a := d.reloads()
		if r > refused && a > applied {
			d.t.Fatalf("one SIGHUP both refused and applied")
		}
		switch want {
		case "refused":
			return r > refused, fmt.Sprintf("refused %d applied %d", r, a)
		default:
			return a > applied, fmt.Sprintf("refused %d applied %d", r, a)
		}
	})
	if want == "refused" {
		if _, a := d.reloads(); a != applied {
			d.t.Fatalf("a refused reload was also applied")
		}
	}
}

// writeConfig replaces the daemon's configuration file with content (its
// placeholders filled in as startDaemon does).
func (d *daemonProc) writeConfig(content string) {
	d.t.Helper()
	content = strings.NewReplacer("{{DNS}}", d.dnsAddr, "{{API}}", d.apiAddr, "{{STATE}}", filepath.Join(d.dir, "state")).Replace(content)
	_ = os.Remove(d.config)
	if err := os.WriteFile(d.config, []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

var diagAt = regexp.MustCompile(`(?m)^(/[^\s:]+):(\d+):(\d+): error`)

// validateRefuses runs failoverd validate on path (bounded by the helper's
// 30 s context) and expects exit 1 with a FILE:LINE:COL diagnostic; it
// returns the output.
func validateRefuses(t *testing.T, path string) string {
	t.Helper()
	start := time.Now()
	code, stdout, stderr := failoverd(t, "validate", "-config", path)
	out := stdout + stderr
	if code != 1 || !diagAt.MatchString(out) {
		t.Fatalf("validate %s: exit %d after %v, want 1 with a FILE:LINE:COL diagnostic\n%s", path, code, time.Since(start), out)
	}
	return out
}

// attackClusterConfig is a cluster of two real services with weights 10
// and 5 (weight of web1 as given) next to a static record.
func attackClusterConfig(port int, web1Weight, static string) string {
	return fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {
  record "static" {
    type  = "TXT"
    rdata = ["\"%s\""]
  }
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
      ip_address = "127.0.17.41"
      port       = %d
      weight     = %s
    }
    real_service "web2" {
      ip_address = "127.0.17.42"
      port       = %[2]d
      weight     = 5
    }
  }
}
`, static, port, web1Weight)
}

// srvWeights returns the sorted "target weight port" of the SRV answer.
func srvWeights(t *testing.T, d *daemonProc, name string) string {
	t.Helper()
	r, err := query(d.dnsAddr, "udp", name, dns.TypeSRV, dns.ClassINET)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("SRV %s: %v %v", name, r, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, fmt.Sprintf("%s %d %d", s.Target, s.Weight, s.Port))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Issue 17, item 4 "weight 2^32": a weight beyond the 16-bit SRV field, set
// through the API or written in the configuration, is refused (400; exit 1
// and a refused reload) and the cluster keeps answering A and SRV with its
// servers and their weights (2^32 used to wrap to 0 and take the server
// out).
func TestAttack_WeightBeyondSRVFieldIsRefused(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t, "127.0.0.1")
	newTargetOn(t, "127.0.17.41", port, "ok")
	newTargetOn(t, "127.0.17.42", port, "ok")
	d := startDaemon(t, attackClusterConfig(port, "10", "v1"))
	const srvName = "_http._tcp.web.example.test."
	wantSRV := fmt.Sprintf("web1.web.example.test. 10 %d,web2.web.example.test. 5 %[1]d", port)
	d.waitAnswer("web.example.test.", dns.TypeA, "127.0.17.41,127.0.17.42", 10*time.Second)
	if got := srvWeights(t, d, srvName); got != wantSRV {
		t.Fatalf("SRV before: %q, want %q", got, wantSRV)
	}

	weightPath := "/v1/clusters/web/services/http/real_services/web1/weight"
	for _, tc := range []struct {
		name, body string
	}{
		{"2^32 is 400", `{"weight": 4294967296}`},
		{"2^16 is 400", `{"weight": 65536}`},
		{"2^64 is 400", `{"weight": 18446744073709551616}`},
		{"negative is 400", `{"weight": -1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := apiRequest(t, d, "POST", weightPath, tc.body, map[string]string{"Content-Type": "application/json"})
			if status != 400 || !strings.Contains(body, "error_type") {
				t.Fatalf("%d %s, want 400 with an error type", status, body)
			}
			if got, err := d.lookup("udp", "web.example.test.", dns.TypeA); err != nil || got != "127.0.17.41,127.0.17.42" {
				t.Fatalf("A after the refused weight: %q, %v", got, err)
			}
			if got := srvWeights(t, d, srvName); got != wantSRV {
				t.Fatalf("SRV after the refused weight: %q, want %q", got, wantSRV)
			}
		})
	}
	// The largest SRV weight is accepted: the bound is the field, no less.
	if status, body := apiRequest(t, d, "POST", weightPath, `{"weight": 65535}`, map[string]string{"Content-Type": "application/json"}); status != 200 {
		t.Fatalf("weight 65535: %d %s", status, body)
	}
	wantSRV = fmt.Sprintf("web1.web.example.test. 65535 %d,web2.web.example.test. 5 %[1]d", port)
	testutil.Eventually(t, 10*time.Second, "SRV shows weight 65535", func() (bool, string) {
		got := srvWeights(t, d, srvName)
		return got == wantSRV, got
	})

	// The same weight in the configuration: validate refuses it with its
	// position, a reload to it is refused and the running one keeps answering.
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	if err := os.WriteFile(bad, []byte(strings.NewReplacer("{{DNS}}", "127.0.0.1:53", "{{API}}", "127.0.0.1:8080", "{{STATE}}", filepath.Join(t.TempDir(), "state")).Replace(attackClusterConfig(port, "4294967296", "v2"))), 0o644); err != nil {
		t.Fatal(err)
	}
	badText, _ := os.ReadFile(bad)
	weightLine := 1 + strings.Count(string(badText[:strings.Index(string(badText), "4294967296")]), "\n")
	if out := validateRefuses(t, bad); !strings.Contains(out, fmt.Sprintf("%s:%d:", bad, weightLine)) {
		t.Fatalf("validate does not point at the weight (line %d):\n%s", weightLine, out)
	}
	d.writeConfig(attackClusterConfig(port, "4294967296", "v2"))
	d.sighup("refused")
	if got, err := d.lookup("udp", "static.example.test.", dns.TypeTXT); err != nil || !strings.Contains(got, `"v1"`) {
		t.Fatalf("static after the refused reload: %q, %v", got, err)
	}
	if got, err := d.lookup("udp", "web.example.test.", dns.TypeA); err != nil || got != "127.0.17.41,127.0.17.42" {
		t.Fatalf("A after the refused reload: %q, %v", got, err)
	}
}

// attackReloadConfig is a configuration whose static TXT record says which
// one is running, with an optional zone master file.
func attackReloadConfig(version, zoneFile string) string {
	file := ""
	if zoneFile != "" {
		file = fmt.Sprintf("\n  file = %q", zoneFile)
	}
	return fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {%s
  record "static" {
    type  = "TXT"
    rdata = ["\"%s\""]
  }
}
`, file, version)
}

// Issue 17, item 5 "hostile configuration files on reload": a 400 KB file
// of nested brackets, a symlink to /dev/zero, a FIFO and a zone file that
// is a FIFO are each refused quickly by validate (with FILE:LINE:COL) and
// by SIGHUP (the daemon stays up and logs it, the running configuration
// keeps answering); a good reload afterwards still applies. An $INCLUDE of
// a file outside the zone's directory never quotes that file's content.
func TestAttack_HostileConfigFilesAreRefusedOnReload(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, attackReloadConfig("v1", ""))
	static := func() string {
		t.Helper()
		got, err := d.lookup("udp", "static.example.test.", dns.TypeTXT)
		if err != nil {
			t.Fatalf("static TXT: %v", err)
		}
		return got
	}
	if got := static(); !strings.Contains(got, `"v1"`) {
		t.Fatalf("static before: %q", got)
	}
	aside := t.TempDir()
	fifo := func(path string) {
		t.Helper()
		_ = os.Remove(path)
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name  string
		write func(path string)
	}{
		{"400 KB of nested brackets", func(path string) {
			body := "zone \"example.test\" {\n  x = " + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + "\n}\n"
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to the zero device", func(path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"FIFO", fifo},
		{"zone file that is a FIFO", func(path string) {
			zf := filepath.Join(filepath.Dir(path), "example.test.zone")
			fifo(zf)
			content := strings.NewReplacer("{{DNS}}", d.dnsAddr, "{{API}}", d.apiAddr, "{{STATE}}", filepath.Join(d.dir, "state")).Replace(attackReloadConfig("v-fifo", zf))
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// validate on a copy of the hostile file in a directory of its own.
			dir := filepath.Join(aside, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "failoverd.hcl")
			tc.write(path)
			t.Logf("validate: %s", validateRefuses(t, path))

			// The same file as the running daemon's configuration.
			_ = os.Remove(d.config)
			tc.write(d.config)
			d.sighup("refused")
			if got := static(); !strings.Contains(got, `"v1"`) {
				t.Fatalf("static after the refused reload: %q, want the running v1", got)
			}
		})
	}

	// A good configuration still applies: no reload was lost or left stuck.
	d.writeConfig(attackReloadConfig("v2", ""))
	d.sighup("applied")
	if got := static(); !strings.Contains(got, `"v2"`) {
		t.Fatalf("static after the good reload: %q, want v2", got)
	}

	// $INCLUDE of a file outside the zone's directory: refused without
	// quoting what that file holds.
	const secret = "SECRET-d41d8cd98f00b204e9800998ecf8427e"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+" not a record\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	zoneDir := t.TempDir()
	zoneFile := filepath.Join(zoneDir, "example.test.zone")
	if err := os.WriteFile(zoneFile, []byte("$ORIGIN example.test.\n$TTL 60\n$INCLUDE "+secretFile+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(zoneDir, "failoverd.hcl")
	if err := os.WriteFile(cfg, []byte(strings.NewReplacer("{{DNS}}", d.dnsAddr, "{{API}}", d.apiAddr, "{{STATE}}", filepath.Join(d.dir, "state")).Replace(attackReloadConfig("v3", zoneFile))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := validateRefuses(t, cfg); strings.Contains(out, secret) {
		t.Fatalf("validate quoted the included file:\n%s", out)
	}
	d.writeConfig(attackReloadConfig("v3", zoneFile))
	d.sighup("refused")
	if strings.Contains(d.out.String(), secret) {
		t.Fatalf("the daemon's log quotes the included file")
	}
	if got := static(); !strings.Contains(got, `"v2"`) {
		t.Fatalf("static after the refused $INCLUDE: %q, want v2", got)
	}
}
