package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/api/apitest"
)

const token = "ctl-token"

// startAPI runs a real API server with the in-memory controller on
// 127.0.0.1:0 and returns its host:port.
func startAPI(t *testing.T) string {
	t.Helper()
	addr, _ := startMemoryAPI(t)
	return addr
}

func runCtl(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCommands runs every command against one server, in order: later
// cases see the changes of earlier ones.
func TestCommands(t *testing.T) {
	addr := startAPI(t)
	env := map[string]string{"FAILOVERD_ADDR": "http://" + addr, "FAILOVERD_TOKEN": token}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    []string // substrings of stderr
		wantNotOut []string
	}{
		{"status lists services as a table", env, []string{"status"}, 0,
			[]string{"FQDN", "KIND", "STATUS", "ACTIVE", "app.example.com.", "gslb", "trouble", "www.example.com.", "active_failover", "a.example.com.", "sf_pool", "OK"}, nil, nil},
		{"status of one service", env, []string{"status", "app.example.com"}, 0,
			[]string{"SERVICE", "app.example.com.", "US East", "192.0.2.10", "use-1", "obey", "removed", "connection refused", "0.012s", "2026-11-23T06:30:00Z", "192.0.2.20,2001:db8::20"}, nil, nil},
		{"sf_pool shows its live record state", env, []string{"status", "a.example.com."}, 0, []string{"LIVE RECORD", "NOT_FORCED"}, nil, nil},
		{"-addr as host:port and -token-file", nil, []string{"-addr", addr, "-token-file", tokenFile, "status"}, 0, []string{"app.example.com."}, nil, nil},
		{"flags after the command", nil, []string{"status", "-addr", addr, "-token-file", tokenFile}, 0, []string{"app.example.com."}, nil, nil},
		{"-token-file wins over FAILOVERD_TOKEN", map[string]string{"FAILOVERD_ADDR": addr, "FAILOVERD_TOKEN": "wrong"}, []string{"-token-file", tokenFile, "status"}, 0, []string{"app.example.com."}, nil, nil},
		{"no token", map[string]string{"FAILOVERD_ADDR": addr}, []string{"status"}, 1, nil, []string{"missing or wrong bearer token", "ApiErrorUnauthorized"}, nil},
		{"wrong token", map[string]string{"FAILOVERD_ADDR": addr, "FAILOVERD_TOKEN": "wrong"}, []string{"status"}, 1, nil, []string{"ApiErrorUnauthorized"}, nil},
		{"missing token file", env, []string{"-token-file", "/nonexistent/token", "status"}, 1, nil, []string{"/nonexistent/token"}, nil},
		{"unknown service", env, []string{"status", "nope.example.com."}, 1, nil, []string{"nope.example.com.", "ApiErrorDoesNotExist"}, nil},
		{"deactivate", env, []string{"deactivate", "www.example.com"}, 0, []string{"JOB", "deactivate", "www.example.com.", "complete"}, nil, nil},
		{"deactivate again", env, []string{"deactivate", "www.example.com."}, 0, []string{"nothing to change"}, nil, nil},
		{"activate", env, []string{"activate", "www.example.com."}, 0, []string{"activate", "www.example.com."}, nil, nil},
		{"job", env, []string{"job", "1"}, 0, []string{"1", "deactivate", "www.example.com."}, nil, nil},
		{"unknown job", env, []string{"job", "99"}, 1, nil, []string{"ApiErrorDoesNotExist"}, nil},
		{"job id not a number", env, []string{"job", "x"}, 2, nil, []string{"not a job id", "usage:"}, nil},
		{"recover an address", env, []string{"recover", "app.example.com.", "192.0.2.11"}, 0, []string{"recover", "app.example.com. 192.0.2.11"}, nil, nil},
		{"recover an unknown address", env, []string{"recover", "app.example.com.", "192.0.2.99"}, 1, nil, []string{"192.0.2.99", "ApiErrorDoesNotExist"}, nil},
		{"recover a service", env, []string{"recover", "api.example.com."}, 0, []string{"recover", "api.example.com."}, nil, nil},
		{"force a gslb", env, []string{"force", "app.example.com."}, 1, nil, []string{"not an sf_pool", "ApiErrorPreconditionFailed"}, nil},
		{"force", env, []string{"force", "a.example.com."}, 0, []string{"force", "a.example.com."}, nil, nil},
		{"unforce", env, []string{"unforce", "a.example.com."}, 0, []string{"unforce", "a.example.com."}, nil, nil},
		{"log with a start", env, []string{"log", "app.example.com.", "2026-11-23T00:00:00Z"}, 0,
			[]string{"TIME", "KIND", "2026-11-23T06:10:00Z", "ip", "192.0.2.11", "up", "down", "connection refused", "svc", "trouble", "nosrv"}, nil, nil},
		{"log with start and end", env, []string{"log", "app.example.com.", "2026-11-23T06:15:00Z", "2026-11-23T06:30:00Z"}, 0,
			[]string{"nosrv"}, nil, []string{"connection refused"}},
		{"log with a bad start", env, []string{"log", "app.example.com.", "yesterday"}, 2, nil, []string{"yesterday"}, nil},
		{"rrsets", env, []string{"rrsets", "app.example.com.", "1795413600"}, 0, []string{"1795413600", "US East", "192.0.2.10", "global", "2001:db8::20"}, nil, nil},
		{"rrsets at an RFC 3339 time", env, []string{"rrsets", "app.example.com.", "2026-11-23T06:00:00Z"}, 0, []string{"1795413600"}, nil, nil},
		{"clusters", env, []string{"clusters"}, 0, []string{"CLUSTER", "web-cluster", "https", "web.example.com.", "tcp", "web1,web2,sorry"}, nil, nil},
		{"cluster list", env, []string{"cluster", "list", "web-cluster", "https"}, 0, []string{"NAME", "IP ADDRESS", "web1", "192.0.2.51", "443", "web2", "sorry"}, nil, nil},
		{"cluster info", env, []string{"cluster", "info", "web-cluster", "https", "sorry"}, 0, []string{"sorry", "192.0.2.59", "yes"}, nil, nil},
		{"cluster statistics", env, []string{"cluster", "statistics", "web-cluster", "https", "web1"}, 0, []string{"ANSWERS", "42", "60", "2026-11-23T06:59:00Z"}, nil, nil},
		{"cluster unknown", env, []string{"cluster", "info", "nope", "https", "web1"}, 1, nil, []string{"ApiErrorDoesNotExist"}, nil},
		{"cluster disable", env, []string{"cluster", "disable", "web-cluster", "https", "web1"}, 0, []string{"disable", "web-cluster/https/web1"}, nil, nil},
		{"cluster disabled server as fallback", env, []string{"cluster", "enable_fallback", "web-cluster", "https", "web1"}, 1, nil, []string{"ApiErrorPreconditionFailed"}, nil},
		{"cluster enable", env, []string{"cluster", "enable", "web-cluster", "https", "web1"}, 0, []string{"enable", "web-cluster/https/web1"}, nil, nil},
		{"cluster second fallback", env, []string{"cluster", "enable_fallback", "web-cluster", "https", "web1"}, 1, nil, []string{"already the fallback", "ApiErrorPreconditionFailed"}, nil},
		{"cluster disable_fallback", env, []string{"cluster", "disable_fallback", "web-cluster", "https", "sorry"}, 0, []string{"disable_fallback"}, nil, nil},
		{"cluster weight", env, []string{"cluster", "weight", "web-cluster", "https", "web1", "3"}, 0, []string{"set_weight", "web-cluster/https/web1"}, nil, nil},
		{"cluster negative weight", env, []string{"cluster", "weight", "web-cluster", "https", "web1", "-1"}, 1, nil, []string{"ApiErrorBadRequest"}, nil},
		{"cluster weight not a number", env, []string{"cluster", "weight", "web-cluster", "https", "web1", "x"}, 2, nil, []string{"not an integer"}, nil},
		{"dnssec ds", env, []string{"dnssec", "ds", "example.com"}, 0, []string{"example.com. 3600 IN DS 18618 13 2 2CBE20C2"}, nil, []string{"DNSKEY", "Private"}},
		{"dnssec ds of an unsigned zone", env, []string{"dnssec", "ds", "example.org."}, 1, nil, []string{"ApiErrorDoesNotExist"}, nil},
		{"dnssec without ds", env, []string{"dnssec", "example.com."}, 2, nil, []string{"dnssec ds ZONE"}, nil},
		{"health", env, []string{"health"}, 0, []string{"ok"}, nil, nil},
		{"unknown command", env, []string{"frobnicate"}, 2, nil, []string{"unknown command", "usage:"}, nil},
		{"missing argument", env, []string{"deactivate"}, 2, nil, []string{"FQDN"}, nil},
		{"unknown flag", env, []string{"-nope", "status"}, 2, nil, []string{"-nope"}, nil},
		{"no command", env, nil, 2, nil, []string{"usage:"}, nil},
		{"help", env, []string{"help"}, 0, nil, []string{"usage:"}, nil},
		{"nothing listening", map[string]string{"FAILOVERD_ADDR": "127.0.0.1:1"}, []string{"status"}, 1, nil, []string{"failoverctl:"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCtl(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantNotOut {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if tt.wantCode != 0 && tt.wantCode != 2 && out != "" {
				t.Errorf("a failure printed on stdout: %s", out)
			}
		})
	}
}

// TestJSONOutput checks that -json prints the API's shapes.
func TestJSONOutput(t *testing.T) {
	addr := startAPI(t)
	env := map[string]string{"FAILOVERD_ADDR": addr, "FAILOVERD_TOKEN": token}
	tests := []struct {
		name string
		args []string
		keys []string // top-level keys of the printed object
		want func(m map[string]any) bool
	}{
		{"status", []string{"-json", "status"}, []string{"services"}, func(m map[string]any) bool {
			s := m["services"].([]any)
			return len(s) == 4 && s[0].(map[string]any)["fqdn"] == "app.example.com."
		}},
		{"status fqdn", []string{"status", "-json", "a.example.com"}, []string{"fqdn", "kind", "status", "active", "live_record_state", "regions", "managed", "config"}, func(m map[string]any) bool {
			return m["live_record_state"] == "NOT_FORCED"
		}},
		{"job", []string{"-json", "deactivate", "app.example.com."}, []string{"job"}, func(m map[string]any) bool {
			j := m["job"].(map[string]any)
			return j["action"] == "deactivate" && j["target"] == "app.example.com." && j["status"] == "complete" && j["id"] == float64(1)
		}},
		{"no job", []string{"-json", "deactivate", "app.example.com."}, []string{"job"}, func(m map[string]any) bool {
			return m["job"] == nil
		}},
		{"log", []string{"-json", "log", "app.example.com.", "2026-11-23T00:00:00Z"}, []string{"events"}, func(m map[string]any) bool {
			return len(m["events"].([]any)) == 3
		}},
		{"rrsets", []string{"-json", "rrsets", "app.example.com.", "1795413600"}, []string{"ts", "regions"}, func(m map[string]any) bool {
			return m["ts"] == float64(1795413600)
		}},
		{"clusters", []string{"-json", "clusters"}, []string{"clusters"}, nil},
		{"dnssec ds", []string{"-json", "dnssec", "ds", "example.com."}, []string{"zone", "algorithm", "key_tag", "dnskey", "ds"}, func(m map[string]any) bool {
			return m["key_tag"] == float64(18618)
		}},
		{"cluster list", []string{"-json", "cluster", "list", "web-cluster", "https"}, []string{"real_services"}, nil},
		{"cluster info", []string{"-json", "cluster", "info", "web-cluster", "https", "web1"},
			[]string{"name", "ip_address", "port", "weight", "fallback", "enabled", "status"}, nil},
		{"cluster statistics", []string{"-json", "cluster", "statistics", "web-cluster", "https", "web1"},
			[]string{"active", "status", "rtt_seconds", "answers_total", "probes_total", "probe_failures_total", "last_update"}, nil},
		{"cluster weight", []string{"-json", "cluster", "weight", "web-cluster", "https", "web1", "0"}, []string{"job"}, func(m map[string]any) bool {
			return m["job"].(map[string]any)["action"] == "set_weight"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCtl(t, env, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("-json output is not a JSON object: %v\n%s", err, out)
			}
			for _, k := range tt.keys {
				if _, ok := m[k]; !ok {
					t.Errorf("output lacks key %q: %s", k, out)
				}
			}
			if len(m) != len(tt.keys) {
				t.Errorf("output has keys %v, want %v", m, tt.keys)
			}
			if tt.want != nil && !tt.want(m) {
				t.Errorf("unexpected output: %s", out)
			}
		})
	}
}

func TestCommandsOverTLSWithACAFile(t *testing.T) {
	certFile, keyFile := apitest.SelfSignedFiles(t)
	srv, err := api.NewServer(api.Options{Listen: "127.0.0.1:0", Token: token, TLSCertFile: certFile, TLSKeyFile: keyFile},
		apitest.NewMemory(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	apitest.Run(t, srv)
	url := "https://" + srv.Addr().String()
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		want     string // substring of stdout (exit 0) or stderr
	}{
		{"-ca-file", map[string]string{"FAILOVERD_ADDR": url, "FAILOVERD_TOKEN": token}, []string{"-ca-file", certFile, "deactivate", "www.example.com."}, 0, "deactivate"},
		{"FAILOVERD_CA_FILE", map[string]string{"FAILOVERD_ADDR": url, "FAILOVERD_TOKEN": token, "FAILOVERD_CA_FILE": certFile}, []string{"status"}, 0, "www.example.com."},
		{"untrusted certificate", map[string]string{"FAILOVERD_ADDR": url, "FAILOVERD_TOKEN": token}, []string{"status"}, 1, "certificate"},
		{"CA file without a certificate", map[string]string{"FAILOVERD_ADDR": url, "FAILOVERD_TOKEN": token}, []string{"-ca-file", keyFile, "status"}, 1, "no PEM certificate"},
		{"missing CA file", map[string]string{"FAILOVERD_ADDR": url, "FAILOVERD_CA_FILE": "/nonexistent/ca.pem"}, []string{"status"}, 1, "/nonexistent/ca.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCtl(t, tc.env, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, errOut)
			}
			got := out
			if code != 0 {
				got = errOut
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("output lacks %q:\n%s%s", tc.want, out, errOut)
			}
		})
	}
}
