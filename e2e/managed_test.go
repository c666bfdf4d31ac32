package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Services changed over the API (docs/api.md, "Changing services over the
// API") against the real binary: served before the call answers, refused
// with the API's error shapes, kept across kill -9, and never half written.

const managedConfig = `
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}

gslb "files.example.test." {
  ttl = 0
  monitor {
    protocol = "NONE"
    interval = "1m"
  }
  region "global" {
    pool "192.0.2.1" {}
  }
}
`

// managedBody is a gslb on fqdn serving addr, never probed.
func managedBody(fqdn, addr string) string {
	return fmt.Sprintf(`{"gslb": {%q: {"ttl": 0, "monitor": {"protocol": "NONE", "interval": "1m"},
  "region": {"global": {"pool": {%q: {"weight": 2}}}}}}}`, fqdn, addr)
}

// send makes one API call and returns the status and JSON answer.
func (d *daemonProc) send(method, path, body string) (int, map[string]any) {
	d.t.Helper()
	status, m, err := d.trySend(method, path, body)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, m
}

func (d *daemonProc) trySend(method, path, body string) (int, map[string]any, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+d.apiAddr+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, m, nil
}

func TestManagedServices_ServedBeforeTheCallAnswersAndKeptAcrossKill9(t *testing.T) {
	d := startDaemon(t, managedConfig)
	managed := filepath.Join(d.dir, "state", "managed")

	code, body := d.send("PUT", "/v1/services/app.example.test", managedBody("app.example.test.", "192.0.2.10"))
	if code != 200 || body["job"].(map[string]any)["action"] != "create" {
		t.Fatalf("create: %d %v", code, body)
	}
	// One query, no polling: the change is served before the call answers.
	if got, err := d.lookup("udp", "app.example.test.", dns.TypeA); err != nil || got != "192.0.2.10" {
		t.Fatalf("after create: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(managed, "app.example.test.hcl.json")); err != nil {
		t.Fatalf("managed file: %v", err)
	}
	var detail map[string]any
	d.getJSON("/v1/services/app.example.test.", &detail)
	if detail["managed"] != true {
		t.Fatalf("managed: %v", detail["managed"])
	}
	d.getJSON("/v1/services/files.example.test.", &detail)
	if detail["managed"] != false {
		t.Fatalf("files service managed: %v", detail["managed"])
	}

	code, body = d.send("PUT", "/v1/services/app.example.test.", managedBody("app.example.test.", "192.0.2.11"))
	if code != 200 || body["job"].(map[string]any)["action"] != "update" {
		t.Fatalf("update: %d %v", code, body)
	}
	if got, err := d.lookup("udp", "app.example.test.", dns.TypeA); err != nil || got != "192.0.2.11" {
		t.Fatalf("after update: %q %v", got, err)
	}

	d.kill9()
	d.start()
	if got, err := d.lookup("udp", "app.example.test.", dns.TypeA); err != nil || got != "192.0.2.11" {
		t.Fatalf("after kill -9: %q %v", got, err)
	}

	code, body = d.send("DELETE", "/v1/services/app.example.test.", "")
	if code != 200 || body["job"].(map[string]any)["action"] != "delete" {
		t.Fatalf("delete: %d %v", code, body)
	}
	r, err := query(d.dnsAddr, "udp", "app.example.test.", dns.TypeA, dns.ClassINET)
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Fatalf("after delete: %v %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(managed, "app.example.test.hcl.json")); !os.IsNotExist(err) {
		t.Fatalf("managed file after delete: %v", err)
	}
}

func TestManagedServices_RefusedChangesChangeNothing(t *testing.T) {
	d := startDaemon(t, managedConfig)
	managed := filepath.Join(d.dir, "state", "managed")
	tests := []struct {
		rule, method, path, body string
		status                   int
		errorType, contains      string
	}{
		{"a service from the operator's files names its FILE:LINE", "PUT", "/v1/services/files.example.test.",
			managedBody("files.example.test.", "192.0.2.9"), 412, "ApiErrorPreconditionFailed", d.config + ":7"},
		{"deleting a service from the operator's files names its FILE:LINE", "DELETE", "/v1/services/files.example.test.", "",
			412, "ApiErrorPreconditionFailed", d.config + ":7"},
		{"a service in a zone that does not exist", "PUT", "/v1/services/app.example.org.",
			managedBody("app.example.org.", "192.0.2.9"), 400, "ApiErrorBadRequest", "Name outside every zone"},
		{"a weight out of range", "PUT", "/v1/services/app.example.test.",
			strings.Replace(managedBody("app.example.test.", "192.0.2.9"), `"weight": 2`, `"weight": 16`, 1), 400, "ApiErrorBadRequest", "weight"},
		{"a second service in the body", "PUT", "/v1/services/app.example.test.",
			`{"gslb": {"app.example.test.": {}, "b.example.test.": {}}}`, 400, "ApiErrorBadRequest", "More than one service block"},
		{"a body that is not a service block", "PUT", "/v1/services/app.example.test.",
			`{"zone": {"example.org": {}}}`, 400, "ApiErrorBadRequest", "request:1:2"},
		{"the path and the body name different services", "PUT", "/v1/services/other.example.test.",
			managedBody("app.example.test.", "192.0.2.9"), 400, "ApiErrorBadRequest", "app.example.test."},
		{"deleting a service that does not exist", "DELETE", "/v1/services/nope.example.test.", "", 404, "ApiErrorDoesNotExist", "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			code, body := d.send(tt.method, tt.path, tt.body)
			text, _ := json.Marshal(body)
			if code != tt.status || body["error_type"] != tt.errorType || !strings.Contains(string(text), tt.contains) {
				t.Fatalf("%s %s: %d %s, want %d %s with %q", tt.method, tt.path, code, text, tt.status, tt.errorType, tt.contains)
			}
			if entries, _ := os.ReadDir(managed); len(entries) != 0 {
				t.Fatalf("managed_dir holds %v", entries)
			}
			if got, err := d.lookup("udp", "files.example.test.", dns.TypeA); err != nil || got != "192.0.2.1" {
				t.Fatalf("files service: %q %v", got, err)
			}
		})
	}
}

func TestManagedServices_FailoverctlApplyAndDeleteAndValidateReadsManagedDir(t *testing.T) {
	d := startDaemon(t, managedConfig)
	ctl := newOpCtl(t, d, "")
	file := filepath.Join(t.TempDir(), "services.hcl.json")
	src := `{"gslb": {"a.example.test.": {"ttl": 0, "monitor": {"protocol": "NONE", "interval": "1m"}, "region": {"global": {"pool": {"192.0.2.21": {}}}}},
                      "b.example.test.": {"ttl": 0, "monitor": {"protocol": "NONE", "interval": "1m"}, "region": {"global": {"pool": {"192.0.2.22": {}}}}}}}`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := ctl.run("apply", file)
	if code != 0 || strings.Count(out, "create") != 2 {
		t.Fatalf("apply: %d\n%s\n%s", code, out, errOut)
	}
	for name, want := range map[string]string{"a.example.test.": "192.0.2.21", "b.example.test.": "192.0.2.22"} {
		if got, err := d.lookup("udp", name, dns.TypeA); err != nil || got != want {
			t.Fatalf("%s: %q %v", name, got, err)
		}
	}
	native := filepath.Join(t.TempDir(), "native.hcl")
	if err := os.WriteFile(native, []byte(`# a native-syntax file
gslb "n.example.test." {
  ttl = 0
  monitor {
    protocol = "NONE"
    interval = "1m"
  }
  region "global" {
    pool "192.0.2.23" { weight = 3 }
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = ctl.run("apply", native)
	if code != 0 || !strings.Contains(out, "create") {
		t.Fatalf("apply of a native file: %d\n%s\n%s", code, out, errOut)
	}
	if got, err := d.lookup("udp", "n.example.test.", dns.TypeA); err != nil || got != "192.0.2.23" {
		t.Fatalf("n.example.test.: %q %v", got, err)
	}
	if err := os.WriteFile(native, []byte("zone \"example.org\" {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = ctl.run("apply", native)
	if code != 1 || !strings.Contains(errOut, native+":1:1: error: Not a service block") {
		t.Fatalf("apply of a zone: %d %s", code, errOut)
	}
	out, errOut, code = ctl.run("delete", "b.example.test")
	if code != 0 || !strings.Contains(out, "delete") {
		t.Fatalf("delete: %d\n%s\n%s", code, out, errOut)
	}
	_, errOut, code = ctl.run("delete", "files.example.test")
	if code != 1 || !strings.Contains(errOut, "ApiErrorPreconditionFailed") || !strings.Contains(errOut, d.config+":7") {
		t.Fatalf("delete of a files service: %d %s", code, errOut)
	}
	bad := strings.ReplaceAll(managedBody("c.example.test.", "192.0.2.9"), `"weight": 2`, `"weight": 0`)
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = ctl.run("apply", file)
	if code != 1 || !strings.Contains(errOut, "c.example.test.hcl.json:") {
		t.Fatalf("apply of a bad service: %d %s", code, errOut)
	}

	// validate reads managed_dir: a broken managed file is reported there.
	if code, _, _ := failoverd(t, "validate", "-config", d.config); code != 0 {
		t.Fatalf("validate of a good configuration: %d", code)
	}
	broken := filepath.Join(d.dir, "state", "managed", "a.example.test.hcl.json")
	if err := os.WriteFile(broken, []byte(`{"gslb": {"a.example.test.": {"ttl": "x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := failoverd(t, "validate", "-config", d.config)
	if code != 1 || !strings.Contains(stdout+stderr, broken+":1:") {
		t.Fatalf("validate with a broken managed file: %d\n%s%s", code, stdout, stderr)
	}
}

// Issue 18: "A crash mid-write leaves either the old or the new file, never
// a broken one." The daemon is killed at random moments while PUTs
// alternate between two versions of one service; after each kill the file
// is one of the two, and the restarted daemon serves it.
func TestManagedServices_Kill9MidWriteLeavesTheOldOrTheNewFile(t *testing.T) {
	d := startDaemon(t, managedConfig)
	file := filepath.Join(d.dir, "state", "managed", "app.example.test.hcl.json")
	versions := map[string]string{
		managedBody("app.example.test.", "192.0.2.10"): "192.0.2.10",
		managedBody("app.example.test.", "192.0.2.11"): "192.0.2.11",
	}
	bodies := []string{managedBody("app.example.test.", "192.0.2.10"), managedBody("app.example.test.", "192.0.2.11")}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	written := false
	for round := range 6 {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 10000; i++ {
				if _, _, err := d.trySend("PUT", "/v1/services/app.example.test.", bodies[i%2]); err != nil {
					return // the daemon is gone
				}
			}
		})
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		d.kill9()
		cancel()
		wg.Wait()

		got, err := os.ReadFile(file)
		want, ok := versions[string(got)]
		// Until one PUT has been written, "the old file" is no file: a
		// kill can come before the first PUT of any round lands.
		if written || err == nil {
			if err != nil || !ok {
				t.Fatalf("round %d: the managed file is neither version: %v\n%s", round, err, got)
			}
			written = true
		}
		entries, _ := os.ReadDir(filepath.Dir(file))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") && e.Name() != filepath.Base(file) {
				t.Fatalf("round %d: unexpected file %s", round, e.Name())
			}
		}
		d.start()
		if ok {
			if answer, err := d.lookup("udp", "app.example.test.", dns.TypeA); err != nil || answer != want {
				t.Fatalf("round %d: restarted daemon serves %q (%v), the file says %s", round, answer, err, want)
			}
		}
	}
	// Temporary files a kill left behind are cleaned up by the next write.
	if code, body := d.send("PUT", "/v1/services/app.example.test.", bodies[0]); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	if code, body := d.send("PUT", "/v1/services/app.example.test.", bodies[1]); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		var names bytes.Buffer
		for _, e := range entries {
			names.WriteString(e.Name() + " ")
		}
		t.Fatalf("managed_dir holds %s", names.String())
	}
}
