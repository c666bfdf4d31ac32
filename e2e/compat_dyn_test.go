package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// goDynect is where Debian's golang-github-nesv-go-dynect-dev puts the
// real Dyn Go client.
const goDynect = "/usr/share/gocode/src/github.com/nesv/go-dynect"

// buildDynectHarness compiles testdata/dynect against the Debian copy of
// go-dynect without touching this module's go.mod: a throwaway module in a
// temporary directory, with go-dynect copied beside it (it has no go.mod of
// its own) and reached through a replace directive.
func buildDynectHarness(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(goDynect, "dynect", "client.go")); err != nil {
		if os.Getenv("FAILOVERD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("go-dynect not installed (Debian package golang-github-nesv-go-dynect-dev; make test installs it)")
		}
		t.Skip("go-dynect not installed (Debian package golang-github-nesv-go-dynect-dev)")
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "go-dynect")
	if out, err := exec.Command("cp", "-r", goDynect, lib).CombinedOutput(); err != nil {
		t.Fatalf("copy go-dynect: %v\n%s", err, out)
	}
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(lib, "go.mod"), "module github.com/nesv/go-dynect\n\ngo 1.21\n")
	src, err := os.ReadFile(filepath.Join("testdata", "dynect", "main.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	harness := filepath.Join(dir, "harness")
	if err := os.Mkdir(harness, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(harness, "main.go"), string(src))
	write(filepath.Join(harness, "go.mod"), "module harness\n\ngo 1.21\n\nrequire github.com/nesv/go-dynect v0.0.0\n\nreplace github.com/nesv/go-dynect => ../go-dynect\n")
	bin := filepath.Join(dir, "dynect-harness")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = harness
	// Offline: go-dynect needs nothing beyond the standard library.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GONOSUMDB=*", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the go-dynect harness: %v\n%s", err, out)
	}
	return bin
}

// The Dyn surface driven by the real go-dynect client (issue 18): login,
// a GSLB create, a pool-entry update, deactivate, a log report, delete and
// logout, with each change checked through DNS.
func TestDynSurface_GoDynectClient(t *testing.T) {
	bin := buildDynectHarness(t)
	token := "0123456789abcdef0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, strings.Replace(managedConfig, `api { listen = "{{API}}" }`,
		`api {
  listen     = "{{API}}"
  token_file = "`+tokenFile+`"
  compat { dyn = true }
}`, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, d.apiAddr, token, "example.test", "dyn.example.test").Output()
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	ok := func(name string) map[string]any {
		t.Helper()
		r, _ := got[name].(map[string]any)
		if r == nil || r["status"] != "success" {
			t.Fatalf("%s: %v", name, got[name])
		}
		if id, _ := r["job_id"].(float64); id <= 0 {
			t.Fatalf("%s: job_id %v", name, r["job_id"])
		}
		return r
	}
	failed := func(name, want string) {
		t.Helper()
		r, _ := got[name].(map[string]any)
		if e, _ := r["error"].(string); e == "" {
			t.Fatalf("%s: want a refusal, got %v", name, got[name])
		}
		_ = want
	}
	if got["bad_login"] != "refused" || got["token_len"] != 32.0 {
		t.Fatalf("login: %v %v", got["bad_login"], got["token_len"])
	}
	ok("create")
	ok("entry")
	failed("bad_weight", "weight")
	failed("unknown_field", "colour")
	ok("deactivate")
	get := ok("get")
	data := get["data"].(map[string]any)
	if data["active"] != "N" || data["fqdn"] != "dyn.example.test" {
		t.Fatalf("get: %v", data)
	}
	region := data["region"].([]any)[0].(map[string]any)
	entry := region["pool"].([]any)[0].(map[string]any)
	if entry["address"] != "192.0.2.10" || entry["weight"] != 7.0 || entry["serve_mode"] != "no" {
		t.Fatalf("pool entry after update: %v", entry)
	}
	mon := data["monitor"].(map[string]any)
	for k := range mon {
		if !strings.Contains(" protocol interval retries timeout port path host header expected ", " "+k+" ") {
			t.Fatalf("monitor key %q is not one Dyn's clients accept: %v", k, mon)
		}
	}
	if mon["interval"] != 1.0 || mon["timeout"] != 5.0 {
		t.Fatalf("monitor %v", mon)
	}
	ok("log")
	ok("delete")
	failed("gone", "NOT_FOUND")
	if got["logout"] != "ok" {
		t.Fatalf("logout: %v", got["logout"])
	}
	failed("after_logout", "")
	r, err := query(d.dnsAddr, "udp", "dyn.example.test.", dns.TypeA, dns.ClassINET)
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Fatalf("after delete: %v %v", r, err)
	}
}
