package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// failoverd runs the built binary with args and returns its exit code,
// stdout and stderr.
func failoverd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "failoverd"), args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("failoverd %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// importFixture writes testdata/import/NAME with {{PORT}} filled in and runs
// `failoverd import PRODUCT` on it.
func importFixture(t *testing.T, product, name string, port int) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "import", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, bytes.ReplaceAll(src, []byte("{{PORT}}"), []byte(fmt.Sprint(port))), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := failoverd(t, "import", product, path)
	if code != 0 || errOut != "" {
		t.Fatalf("failoverd import %s %s: exit %d\n%s", product, name, code, errOut)
	}
	return out
}

// The round trip of docs/migrating.md: Dyn and UltraDNS exports are
// imported, the daemon blocks are appended, `failoverd validate` accepts the
// result, the daemon runs it, and DNS answers what the exports' pools say.
// The monitors are NONE, or probe targets this test keeps up, so the
// answers do not depend on when the first probe round runs.
func TestImport_DynAndUltraDNSExportsRunAndAnswer(t *testing.T) {
	port := testutil.FreePort(t, "127.0.0.1")
	newTargetOn(t, "127.0.0.61", port, "OK")
	newTargetOn(t, "127.0.0.101", port, "OK")

	imported := importFixture(t, "dyn", "dyn-export.json", port) +
		importFixture(t, "ultradns", "ultradns-export.json", port)
	for _, kept := range []string{
		`# not imported: status = "ok"`,
		`# not imported: from ultradns-export.json, $.rrSets[3]: static.udns.test. A ttl 300 rdata ["192.0.2.80"]: a record set, not a pool`,
	} {
		if !strings.Contains(imported, kept) {
			t.Errorf("output lacks %q:\n%s", kept, imported)
		}
	}

	config := imported + `
server { state_dir = "{{STATE}}" }
dns {
  listen     = ["{{DNS}}"]
  region_map = { "US East" = ["198.51.100.0/24"] }
}
api { listen = "{{API}}" }
`
	checked := filepath.Join(t.TempDir(), "failoverd.hcl")
	filled := strings.NewReplacer("{{DNS}}", "127.0.0.1:5353", "{{API}}", "127.0.0.1:8053", "{{STATE}}", t.TempDir()).Replace(config)
	if err := os.WriteFile(checked, []byte(filled), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := failoverd(t, "validate", "-config", checked); code != 0 || out != "" {
		t.Fatalf("failoverd validate: exit %d\n%s%s\nconfiguration:\n%s", code, out, errOut, filled)
	}

	d := startDaemon(t, config)
	for _, tc := range []struct {
		name  string
		qtype uint16
		want  string
	}{
		// Dyn Active Failover: the monitored primary.
		{"www.example.test.", dns.TypeA, "127.0.0.61"},
		// Dyn GSLB, global region (the client is in no mapped region):
		// serve_count 4 covers every entry of the family asked for.
		{"geo.example.test.", dns.TypeA, "127.0.0.81,127.0.0.82"},
		{"geo.example.test.", dns.TypeAAAA, "2001:db8::81"},
		// Dyn RTTM: ep 2 of three healthy addresses, none measured, so
		// the first two in address order.
		{"fast.example.test.", dns.TypeA, "127.0.0.91,127.0.0.92"},
		// UltraDNS SF pools: the live record; the backup of a pool forced
		// inactive; a Simple Monitor's live AAAA record.
		{"live.udns.test.", dns.TypeA, "127.0.0.101"},
		{"forced.udns.test.", dns.TypeA, "127.0.0.112"},
		{"v6.udns.test.", dns.TypeAAAA, "2001:db8::121"},
	} {
		d.waitAnswer(tc.name, tc.qtype, tc.want, 5*time.Second)
	}
	if got := d.dig("www.example.test", "A"); got != "127.0.0.61" {
		t.Errorf("dig www.example.test A: %q", got)
	}
	if got := d.dig("forced.udns.test", "A"); got != "127.0.0.112" {
		t.Errorf("dig forced.udns.test A: %q", got)
	}
	// Dyn GSLB, US East (by EDNS Client Subnet): serve_mode "no" is never served.
	if got, _ := d.lookupECS("geo.example.test.", dns.TypeA, "198.51.100.0/24"); got != "127.0.0.71,127.0.0.72" {
		t.Errorf("geo.example.test A from US East: %q, want 127.0.0.71,127.0.0.72", got)
	}
	// The plain record set was kept as a comment only.
	if r, err := query(d.dnsAddr, "udp", "static.udns.test.", dns.TypeA, dns.ClassINET); err != nil || len(r.Answer) != 0 {
		t.Errorf("static.udns.test. A: %v, %v; want no answer", r, err)
	}
}
