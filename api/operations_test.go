package api_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/failoverd/failoverd/api"
)

// TestOperations checks the operators' tools of docs/api.md
// ("Operations"): parameters are validated before the controller is
// called, answers have the documented shapes, a refused reload answers 400
// with its diagnostics and changes nothing.
func TestOperations(t *testing.T) {
	ts := startServer(t, testToken)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantType   string
		check      func(t *testing.T, b map[string]any)
	}{
		{"explain", "GET", "/v1/explain?fqdn=app.example.com&type=A&client=198.51.100.7", "", 200, "", func(t *testing.T, b map[string]any) {
			want := sorted("fqdn", "type", "client", "kind", "status", "region", "answer", "serve_count", "entries", "failover", "steps")
			if got := keys(b); !reflect.DeepEqual(got, want) {
				t.Errorf("keys %v, want %v", got, want)
			}
			if got := keys(b["region"]); !reflect.DeepEqual(got, sorted("code", "reason", "rule", "detail", "client_region")) {
				t.Errorf("region keys %v", got)
			}
			if dig(b, "fqdn") != "app.example.com." || dig(b, "client") != "198.51.100.7" || dig(b, "region", "reason") != "region_map" || !strings.HasPrefix(dig(b, "region", "detail").(string), "region_map: ") {
				t.Errorf("explanation %v", b)
			}
			e := dig(b, "entries", 0)
			if got := keys(e); !reflect.DeepEqual(got, sorted("address", "label", "status", "serve_mode", "weight", "removed", "in_answer", "reason")) {
				t.Errorf("entry keys %v", got)
			}
		}},
		{"explain with ecs", "GET", "/v1/explain?fqdn=app.example.com.&client=127.0.0.1&ecs=198.51.100.0/24", "", 200, "", func(t *testing.T, b map[string]any) {
			if dig(b, "ecs") != "198.51.100.0/24" {
				t.Errorf("ecs %v", b["ecs"])
			}
		}},
		{"explain without client uses the caller", "GET", "/v1/explain?fqdn=app.example.com.", "", 200, "", func(t *testing.T, b map[string]any) {
			if dig(b, "client") != "127.0.0.1" || dig(b, "type") != "A" {
				t.Errorf("client %v type %v", b["client"], b["type"])
			}
		}},
		{"explain without fqdn", "GET", "/v1/explain?client=192.0.2.1", "", 400, "ApiErrorBadRequest", nil},
		{"explain bad type", "GET", "/v1/explain?fqdn=app.example.com.&type=MX", "", 400, "ApiErrorBadRequest", nil},
		{"explain bad client", "GET", "/v1/explain?fqdn=app.example.com.&client=nope", "", 400, "ApiErrorBadRequest", nil},
		{"explain bad ecs", "GET", "/v1/explain?fqdn=app.example.com.&ecs=10.0.0.0/99", "", 400, "ApiErrorBadRequest", nil},
		{"explain unknown service", "GET", "/v1/explain?fqdn=nope.example.com.", "", 404, "ApiErrorDoesNotExist", nil},
		{"whatif", "POST", "/v1/whatif", `{"down": ["192.0.2.10"]}`, 200, "", func(t *testing.T, b map[string]any) {
			ch := dig(b, "changes").([]any)
			if len(ch) != 1 {
				t.Fatalf("changes %v", ch)
			}
			if got := keys(ch[0]); !reflect.DeepEqual(got, sorted("fqdn", "region", "status_now", "status_then", "served_now", "served_then")) {
				t.Errorf("change keys %v", got)
			}
			if dig(ch, 0, "status_then") != "failover" || len(dig(ch, 0, "served_then").([]any)) != 0 {
				t.Errorf("change %v", ch[0])
			}
		}},
		{"whatif with nothing changing is []", "POST", "/v1/whatif", `{"up": ["192.0.2.10"]}`, 200, "", func(t *testing.T, b map[string]any) {
			if ch, ok := b["changes"].([]any); !ok || len(ch) != 0 {
				t.Errorf("changes %v, want []", b["changes"])
			}
		}},
		{"whatif unknown address", "POST", "/v1/whatif", `{"down": ["203.0.113.99"]}`, 404, "ApiErrorDoesNotExist", nil},
		{"whatif empty", "POST", "/v1/whatif", `{"down": [], "up": []}`, 400, "ApiErrorBadRequest", nil},
		{"whatif both down and up", "POST", "/v1/whatif", `{"down": ["192.0.2.10"], "up": ["192.0.2.10"]}`, 400, "ApiErrorBadRequest", nil},
		{"whatif unknown field", "POST", "/v1/whatif", `{"dwn": ["192.0.2.10"]}`, 400, "ApiErrorBadRequest", nil},
		{"whatif without body", "POST", "/v1/whatif", "", 400, "ApiErrorBadRequest", nil},
		{"whatif wrong verb", "GET", "/v1/whatif", "", 404, "ApiErrorDoesNotExist", nil},
		{"zones", "GET", "/v1/zones", "", 200, "", func(t *testing.T, b map[string]any) {
			if got := keys(dig(b, "zones", 0)); !reflect.DeepEqual(got, sorted("zone", "serial", "signed")) {
				t.Errorf("zone keys %v", got)
			}
			if dig(b, "zones", 0, "zone") != "example.com." || dig(b, "zones", 0, "serial") != float64(2026112305) {
				t.Errorf("zones %v", b)
			}
		}},
		{"services by kind", "GET", "/v1/services?kind=gslb", "", 200, "", func(t *testing.T, b map[string]any) {
			if s := dig(b, "services").([]any); len(s) != 1 || dig(s, 0, "fqdn") != "app.example.com." {
				t.Errorf("services %v", s)
			}
		}},
		{"services by status, letter case aside", "GET", "/v1/services?status=ok", "", 200, "", func(t *testing.T, b map[string]any) {
			var got []string
			for _, s := range dig(b, "services").([]any) {
				got = append(got, s.(map[string]any)["fqdn"].(string))
			}
			if !slices.Equal(got, []string{"www.example.com.", "a.example.com."}) {
				t.Errorf("services %v", got)
			}
		}},
		{"services by kind and status", "GET", "/v1/services?kind=gslb,rttm&status=failover", "", 200, "", func(t *testing.T, b map[string]any) {
			if s := dig(b, "services").([]any); len(s) != 1 || dig(s, 0, "fqdn") != "api.example.com." {
				t.Errorf("services %v", s)
			}
		}},
		{"services filter matching nothing is []", "GET", "/v1/services?kind=sf_pool&status=failover", "", 200, "", func(t *testing.T, b map[string]any) {
			if s, ok := b["services"].([]any); !ok || len(s) != 0 {
				t.Errorf("services %v, want []", b["services"])
			}
		}},
		{"services bad kind", "GET", "/v1/services?kind=cluster", "", 400, "ApiErrorBadRequest", nil},
		{"services bad status", "GET", "/v1/services?status=fine", "", 400, "ApiErrorBadRequest", nil},
		{"service config read-back", "GET", "/v1/services/a.example.com.", "", 200, "", func(t *testing.T, b map[string]any) {
			if dig(b, "config", "description") != "live web front" || dig(b, "config", "monitor", "protocol") != "HTTP" {
				t.Errorf("config %v", b["config"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, calls := ts.state(t), ts.ctl.Calls()
			status, body, _ := ts.call(t, tt.method, tt.path, testToken, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("%s %s: status %d, want %d: %v", tt.method, tt.path, status, tt.wantStatus, body)
			}
			if tt.wantStatus != 200 && body["error_type"] != tt.wantType {
				t.Errorf("error %v, want type %s", body, tt.wantType)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
			if ts.state(t) != before || ts.ctl.Calls() != calls {
				t.Error("a read-only call changed something")
			}
		})
	}
}

// TestReload: a reload is a job; a refused configuration answers 400 with
// its diagnostics, and changes nothing.
func TestReload(t *testing.T) {
	ts := startServer(t, testToken)
	status, body, _ := ts.call(t, "POST", "/v1/reload", testToken, "")
	if status != 200 || dig(body, "job", "action") != "reload" || dig(body, "job", "status") != "complete" {
		t.Fatalf("reload: %d %v", status, body)
	}
	diags := []string{"/etc/failoverd/failoverd.hcl:12:5: error: Unsupported argument"}
	ts.ctl.SetReloadDiagnostics(diags)
	before := ts.ctl.Reloads()
	status, body, _ = ts.call(t, "POST", "/v1/reload", testToken, "")
	if status != 400 || body["error_type"] != "ApiErrorBadRequest" {
		t.Fatalf("refused reload: %d %v", status, body)
	}
	if got := keys(body); !reflect.DeepEqual(got, sorted("error", "error_type", "diagnostics")) {
		t.Errorf("keys %v", got)
	}
	if d, _ := body["diagnostics"].([]any); len(d) != 1 || d[0] != diags[0] {
		t.Errorf("diagnostics %v", body["diagnostics"])
	}
	if ts.ctl.Reloads() != before {
		t.Error("a refused reload was applied")
	}
	// The client hands the diagnostics back.
	_, err := api.NewClient(ts.base, testToken).Reload(context.Background())
	var ae *api.APIError
	if !errors.As(err, &ae) || !slices.Equal(ae.Diagnostics, diags) || !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("client error %#v", err)
	}
	if status, body, _ := ts.call(t, "POST", "/v1/reload", testToken, `{"x": 1}`); status != 400 {
		t.Errorf("reload with an unknown body field: %d %v", status, body)
	}
}
