package main

import (
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/api/apitest"
)

// startMemoryAPI runs a real API server with the in-memory controller on
// 127.0.0.1:0 and returns its host:port and the controller.
func startMemoryAPI(t *testing.T) (string, *apitest.Memory) {
	t.Helper()
	ctl := apitest.NewMemory()
	srv, err := api.NewServer(api.Options{Listen: "127.0.0.1:0", Token: token}, ctl, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	apitest.Run(t, srv)
	return srv.Addr().String(), ctl
}

// TestOperationsCommands covers why, whatif, reload, zones and the status
// filters, as tables and as -json.
func TestOperationsCommands(t *testing.T) {
	addr, ctl := startMemoryAPI(t)
	env := map[string]string{"FAILOVERD_ADDR": addr, "FAILOVERD_TOKEN": token}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
		notOut   []string
	}{
		{"why names the region, the rule and every address's reason", []string{"why", "app.example.com", "-client", "198.51.100.7"}, 0,
			[]string{"REGION", "US East (region_map)", "region_map: the source address 198.51.100.7", "ANSWER", "192.0.2.10",
				"ADDRESS", "IN ANSWER", "192.0.2.11", "removed until recovered", "STEPS", "1. app.example.com. is a gslb service"}, nil, nil},
		{"why with a type and ECS", []string{"why", "app.example.com.", "-type", "aaaa", "-ecs", "203.0.113.0/24", "-client", "192.0.2.1"}, 0,
			[]string{"app.example.com. AAAA", "ECS 203.0.113.0/24"}, nil, nil},
		{"why without a name", []string{"why"}, 2, nil, []string{"FQDN"}, nil},
		{"why a bad client", []string{"why", "app.example.com.", "-client", "nope"}, 1, nil, []string{"ApiErrorBadRequest"}, nil},
		{"why an unknown name", []string{"why", "nope.example.com."}, 1, nil, []string{"ApiErrorDoesNotExist"}, nil},
		{"whatif lists what would change", []string{"whatif", "-down", "192.0.2.10,192.0.2.20"}, 0,
			[]string{"FQDN", "SERVED THEN", "app.example.com.", "US East", "trouble -> failover", "global", "2001:db8::20"}, nil, nil},
		{"whatif with nothing changing says so", []string{"whatif", "-up", "192.0.2.11"}, 0, []string{"would change"}, nil, nil},
		{"whatif without addresses", []string{"whatif"}, 2, nil, []string{"-down"}, nil},
		{"whatif an unknown address", []string{"whatif", "-down", "203.0.113.99"}, 1, nil, []string{"ApiErrorDoesNotExist"}, nil},
		{"zones", []string{"zones"}, 0, []string{"ZONE", "SERIAL", "example.com.", "2026112305", "example.net."}, nil, nil},
		{"status filtered by kind", []string{"status", "-kind", "gslb,rttm"}, 0, []string{"app.example.com.", "api.example.com."}, nil, []string{"www.example.com.", "a.example.com."}},
		{"status filtered by status", []string{"status", "-status", "failover"}, 0, []string{"api.example.com."}, nil, []string{"app.example.com."}},
		{"status filter of one service", []string{"status", "app.example.com.", "-kind", "gslb"}, 2, nil, []string{"-kind"}, nil},
		{"status limit shows a page in FQDN order and the next", []string{"status", "-limit", "2"}, 0,
			[]string{"a.example.com.", "api.example.com.", "more: -after api.example.com."}, nil, []string{"app.example.com.", "www.example.com."}},
		{"status after continues the list", []string{"status", "-limit", "2", "-after", "api.example.com."}, 0,
			[]string{"app.example.com.", "www.example.com."}, nil, []string{"a.example.com.", "more:"}},
		{"status q searches the FQDNs", []string{"status", "-q", "ww"}, 0, []string{"www.example.com."}, nil, []string{"app.example.com."}},
		{"status limit of one service", []string{"status", "app.example.com.", "-limit", "1"}, 2, nil, []string{"-limit"}, nil},
		{"status limit out of range", []string{"status", "-limit", "5000"}, 1, nil, []string{"ApiErrorBadRequest"}, nil},
		{"reload", []string{"reload"}, 0, []string{"JOB", "reload", "complete"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCtl(t, env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notOut {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}

	t.Run("a refused reload prints its diagnostics and exits 1", func(t *testing.T) {
		ctl.SetReloadDiagnostics([]string{"/etc/failoverd/failoverd.hcl:3:1: error: Unsupported block type"})
		t.Cleanup(func() { ctl.SetReloadDiagnostics(nil) })
		code, out, errOut := runCtl(t, env, "reload")
		if code != 1 || out != "" || !strings.Contains(errOut, "ApiErrorBadRequest") ||
			!strings.Contains(errOut, "/etc/failoverd/failoverd.hcl:3:1: error: Unsupported block type") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})

	for _, tc := range []struct {
		args []string
		key  string
	}{
		{[]string{"-json", "why", "app.example.com.", "-client", "198.51.100.7"}, "steps"},
		{[]string{"-json", "whatif", "-down", "192.0.2.10"}, "changes"},
		{[]string{"-json", "zones"}, "zones"},
		{[]string{"-json", "reload"}, "job"},
	} {
		t.Run("json "+tc.args[1], func(t *testing.T) {
			code, out, errOut := runCtl(t, env, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if _, ok := m[tc.key]; !ok {
				t.Errorf("no %q in %v", tc.key, m)
			}
		})
	}
}
