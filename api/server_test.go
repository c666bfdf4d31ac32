package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/api/apitest"
)

const testToken = "s3cret-token"

type testServer struct {
	srv  *api.Server
	ctl  *apitest.Memory
	base string
}

// startServer runs a real server on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, token string) *testServer {
	t.Helper()
	return startServerWith(t, api.Options{Token: token}, zaptest.NewLogger(t))
}

// startServerWith runs a real server with opts (Listen defaults to
// 127.0.0.1:0) until the test ends.
func startServerWith(t *testing.T, opts api.Options, log *zap.Logger) *testServer {
	t.Helper()
	ctl := apitest.NewMemory()
	reg := prometheus.NewRegistry()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	opts.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	opts.Registerer = reg
	srv, err := api.NewServer(opts, ctl, log)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	apitest.Run(t, srv)
	scheme := "http://"
	if opts.TLSCertFile != "" {
		scheme = "https://"
	}
	return &testServer{srv: srv, ctl: ctl, base: scheme + srv.Addr().String()}
}

// call sends one request and returns the status and the decoded JSON body.
func (ts *testServer) call(t *testing.T, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, data)
		}
	} else {
		m = map[string]any{"_raw": string(data)}
	}
	return resp.StatusCode, m, resp.Header
}

// state is everything an operator can change, as JSON, to check that a
// rejected request changed nothing.
func (ts *testServer) state(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	c := api.NewClient(ts.base, testToken)
	ctx := context.Background()
	svcs, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		d, err := c.Service(ctx, s.FQDN)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewEncoder(&b).Encode(d)
	}
	rs, err := c.RealServices(ctx, "web-cluster", "https")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewEncoder(&b).Encode(rs)
	return b.String()
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestNewServerRefusesNonLoopbackListenWithoutToken(t *testing.T) {
	tests := []struct {
		listen, token string
		wantErr       bool
	}{
		{"127.0.0.1:0", "", false},
		{"127.0.0.2:8053", "", false},
		{"[::1]:0", "", false},
		{"localhost:8053", "", false},
		{"", "", false}, // default 127.0.0.1:8053
		{"0.0.0.0:8053", "", true},
		{":8053", "", true},
		{"[::]:8053", "", true},
		{"192.0.2.1:8053", "", true},
		{"api.example.com:8053", "", true},
		{"0.0.0.0:8053", "tok", false},
		{"192.0.2.1:8053", "tok", false},
		{"no-port", "tok", true},
	}
	for _, tt := range tests {
		_, err := api.NewServer(api.Options{Listen: tt.listen, Token: tt.token}, apitest.NewMemory(), zaptest.NewLogger(t))
		if (err != nil) != tt.wantErr {
			t.Errorf("NewServer(listen %q, token %q) error = %v, want error %v", tt.listen, tt.token, err, tt.wantErr)
		}
	}
}

func TestAuthBearerTokenOnV1Only(t *testing.T) {
	ts := startServer(t, testToken)
	tests := []struct {
		name       string
		method     string
		path       string
		header     string // Authorization value; "" = none
		wantStatus int
	}{
		{"no token", "GET", "/v1/services", "", 401},
		{"wrong token", "GET", "/v1/services", "Bearer nope", 401},
		{"token prefix", "GET", "/v1/services", "Bearer " + testToken[:4], 401},
		{"token with suffix", "GET", "/v1/services", "Bearer " + testToken + "x", 401},
		{"basic scheme", "GET", "/v1/services", "Basic " + testToken, 401},
		{"bare token", "GET", "/v1/services", testToken, 401},
		{"right token", "GET", "/v1/services", "Bearer " + testToken, 200},
		{"scheme case-insensitive", "GET", "/v1/services", "bearer " + testToken, 200},
		{"mutation without token", "POST", "/v1/services/app.example.com./deactivate", "", 401},
		{"unknown v1 path without token", "GET", "/v1/nothing", "", 401},
		{"unknown v1 path with token", "GET", "/v1/nothing", "Bearer " + testToken, 404},
		{"healthz needs none", "GET", "/healthz", "", 200},
		{"metrics need none", "GET", "/metrics", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.state(t)
			req, _ := http.NewRequest(tt.method, ts.base+tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 401 {
				var er api.ErrorResponse
				if err := json.Unmarshal(body, &er); err != nil || er.ErrorType != "ApiErrorUnauthorized" || er.Error == "" {
					t.Errorf("401 body %s, want error_type ApiErrorUnauthorized", body)
				}
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if after := ts.state(t); after != before {
					t.Errorf("rejected request changed state:\n%s\n%s", before, after)
				}
			}
			if tt.path == "/healthz" && string(body) != "ok" {
				t.Errorf("healthz body %q, want ok", body)
			}
		})
	}
	if ts.ctl.Calls() != 0 {
		t.Errorf("unauthorized mutations reached the controller %d times", ts.ctl.Calls())
	}
}

func TestNoTokenOnLoopbackNeedsNoAuth(t *testing.T) {
	ts := startServer(t, "")
	status, body, _ := ts.call(t, "GET", "/v1/services", "", "")
	if status != 200 || len(dig(body, "services").([]any)) != 4 {
		t.Fatalf("status %d body %v", status, body)
	}
}

func TestMetricsIncludeAPIRequests(t *testing.T) {
	ts := startServer(t, testToken)
	ts.call(t, "GET", "/v1/services", testToken, "")
	_, body, _ := ts.call(t, "GET", "/metrics", "", "")
	raw, _ := body["_raw"].(string)
	if !strings.Contains(raw, "failoverd_api_requests_total") {
		t.Errorf("metrics lack failoverd_api_requests_total:\n%s", raw)
	}
}

// TestEndpoints walks every path of docs/api.md in order against one server;
// later cases see the changes of earlier ones.
func TestEndpoints(t *testing.T) {
	ts := startServer(t, testToken)
	type check func(t *testing.T, body map[string]any)
	job := func(action, target string) check {
		return func(t *testing.T, body map[string]any) {
			j, ok := body["job"].(map[string]any)
			if !ok {
				t.Fatalf("job is %v, want an object", body["job"])
			}
			if got, want := keys(j), sorted("id", "action", "target", "status", "created"); !reflect.DeepEqual(got, want) {
				t.Errorf("job keys %v, want %v", got, want)
			}
			if j["action"] != action || j["target"] != target || j["status"] != "complete" {
				t.Errorf("job %v, want action %s target %s status complete", j, action, target)
			}
			if _, err := time.Parse(time.RFC3339, j["created"].(string)); err != nil || !strings.HasSuffix(j["created"].(string), "Z") {
				t.Errorf("created %v is not RFC 3339 UTC", j["created"])
			}
		}
	}
	noJob := func(t *testing.T, body map[string]any) {
		if v, ok := body["job"]; !ok || v != nil {
			t.Errorf("body %v, want {\"job\": null}", body)
		}
	}
	entryKeys := sorted("address", "label", "weight", "serve_mode", "status", "removed", "rtt_seconds", "message", "last_probe", "history")
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantType   string // error_type when wantStatus != 200
		check      check
	}{
		{"list services", "GET", "/v1/services", "", 200, "", func(t *testing.T, b map[string]any) {
			s := dig(b, "services").([]any)
			if len(s) != 4 {
				t.Fatalf("%d services, want 4", len(s))
			}
			if got := keys(s[0]); !reflect.DeepEqual(got, sorted("fqdn", "kind", "status", "active")) {
				t.Errorf("service keys %v", got)
			}
			if dig(s, 0, "fqdn") != "app.example.com." || dig(s, 0, "kind") != "gslb" || dig(s, 0, "active") != true {
				t.Errorf("first service %v", s[0])
			}
		}},
		{"service without trailing dot", "GET", "/v1/services/app.example.com", "", 200, "", func(t *testing.T, b map[string]any) {
			if got := keys(b); !reflect.DeepEqual(got, sorted("fqdn", "kind", "status", "active", "regions", "managed", "config")) {
				t.Errorf("detail keys %v", got)
			}
			if got := keys(dig(b, "regions", 0)); !reflect.DeepEqual(got, sorted("code", "status", "served", "entries")) {
				t.Errorf("region keys %v", got)
			}
			if got := keys(dig(b, "regions", 0, "entries", 0)); !reflect.DeepEqual(got, entryKeys) {
				t.Errorf("entry keys %v, want %v", got, entryKeys)
			}
			if dig(b, "regions", 0, "code") != "US East" || dig(b, "regions", 0, "entries", 1, "removed") != true ||
				dig(b, "regions", 0, "entries", 1, "message") != "connection refused" {
				t.Errorf("detail %v", b)
			}
			if dig(b, "regions", 1, "entries", 1, "rtt_seconds") != nil || dig(b, "regions", 1, "entries", 1, "last_probe") != nil {
				t.Errorf("an unprobed entry must have null rtt_seconds and last_probe: %v", dig(b, "regions", 1, "entries", 1))
			}
		}},
		{"service with trailing dot", "GET", "/v1/services/app.example.com.", "", 200, "", nil},
		{"zone dnssec", "GET", "/v1/zones/example.com/dnssec", "", 200, "", func(t *testing.T, b map[string]any) {
			if got := keys(b); !reflect.DeepEqual(got, []string{"algorithm", "dnskey", "ds", "key_tag", "zone"}) {
				t.Errorf("dnssec keys %v", got)
			}
			if b["zone"] != "example.com." || b["key_tag"] != float64(18618) {
				t.Errorf("dnssec %v", b)
			}
		}},
		{"zone dnssec of an unsigned zone", "GET", "/v1/zones/example.org./dnssec", "", 404, "ApiErrorDoesNotExist", nil},
		{"sf_pool detail", "GET", "/v1/services/a.example.com.", "", 200, "", func(t *testing.T, b map[string]any) {
			if b["status"] != "OK" || b["live_record_state"] != "NOT_FORCED" {
				t.Errorf("sf_pool %v", b)
			}
		}},
		{"unknown service", "GET", "/v1/services/nope.example.com.", "", 404, "ApiErrorDoesNotExist", nil},
		{"controller failure is a JSON 500", "GET", "/v1/services/" + apitest.BrokenFQDN, "", 500, "ApiErrorInternal", nil},
		{"deactivate", "POST", "/v1/services/app.example.com./deactivate", "", 200, "", job("deactivate", "app.example.com.")},
		{"deactivate again changes nothing", "POST", "/v1/services/app.example.com/deactivate", "", 200, "", noJob},
		{"deactivated shows inactive", "GET", "/v1/services/app.example.com.", "", 200, "", func(t *testing.T, b map[string]any) {
			if b["active"] != false {
				t.Errorf("active %v after deactivate", b["active"])
			}
		}},
		{"activate", "POST", "/v1/services/app.example.com./activate", "", 200, "", job("activate", "app.example.com.")},
		{"activate again changes nothing", "POST", "/v1/services/app.example.com./activate", "", 200, "", noJob},
		{"activate unknown", "POST", "/v1/services/nope.example.com./activate", "", 404, "ApiErrorDoesNotExist", nil},
		{"job by id", "GET", "/v1/jobs/2", "", 200, "", job("activate", "app.example.com.")},
		{"job unknown", "GET", "/v1/jobs/999", "", 404, "ApiErrorDoesNotExist", nil},
		{"job id not a number", "GET", "/v1/jobs/abc", "", 400, "ApiErrorBadRequest", nil},
		{"recover malformed JSON", "POST", "/v1/services/app.example.com./recover", `{"address":`, 400, "ApiErrorBadRequest", nil},
		{"recover unknown field", "POST", "/v1/services/app.example.com./recover", `{"adress":"192.0.2.11"}`, 400, "ApiErrorBadRequest", nil},
		{"recover trailing data", "POST", "/v1/services/app.example.com./recover", `{"address":"192.0.2.11"} x`, 400, "ApiErrorBadRequest", nil},
		{"recover unknown address", "POST", "/v1/services/app.example.com./recover", `{"address":"192.0.2.99"}`, 404, "ApiErrorDoesNotExist", nil},
		{"recover one address", "POST", "/v1/services/app.example.com./recover", `{"address":"192.0.2.11"}`, 200, "", job("recover", "app.example.com. 192.0.2.11")},
		{"recover it again changes nothing", "POST", "/v1/services/app.example.com./recover", `{"address":"192.0.2.11"}`, 200, "", noJob},
		{"recover whole service without body", "POST", "/v1/services/api.example.com./recover", "", 200, "", job("recover", "api.example.com.")},
		{"force a gslb fails", "POST", "/v1/services/app.example.com./force", "", 412, "ApiErrorPreconditionFailed", nil},
		{"force sf_pool", "POST", "/v1/services/a.example.com./force", "", 200, "", job("force", "a.example.com.")},
		{"forced sf_pool is MANUAL", "GET", "/v1/services/a.example.com", "", 200, "", func(t *testing.T, b map[string]any) {
			if b["status"] != "MANUAL" || b["live_record_state"] != "FORCED_INACTIVE" {
				t.Errorf("after force: %v", b)
			}
		}},
		{"force again changes nothing", "POST", "/v1/services/a.example.com./force", "", 200, "", noJob},
		{"unforce sf_pool", "POST", "/v1/services/a.example.com./unforce", "", 200, "", job("unforce", "a.example.com.")},
		{"log without start", "GET", "/v1/services/app.example.com./log", "", 400, "ApiErrorBadRequest", nil},
		{"log bad start", "GET", "/v1/services/app.example.com./log?start=yesterday", "", 400, "ApiErrorBadRequest", nil},
		{"log bad end", "GET", "/v1/services/app.example.com./log?start=2026-11-23T00:00:00Z&end=1700000000", "", 400, "ApiErrorBadRequest", nil},
		{"log end before start", "GET", "/v1/services/app.example.com./log?start=2026-11-23T07:00:00Z&end=2026-11-23T06:00:00Z", "", 400, "ApiErrorBadRequest", nil},
		{"log unknown service", "GET", "/v1/services/nope.example.com./log?start=2026-11-23T00:00:00Z", "", 404, "ApiErrorDoesNotExist", nil},
		{"log all", "GET", "/v1/services/app.example.com./log?start=2026-11-23T00:00:00Z", "", 200, "", func(t *testing.T, b map[string]any) {
			ev := dig(b, "events").([]any)
			if len(ev) != 3 {
				t.Fatalf("%d events, want 3", len(ev))
			}
			want := sorted("time", "kind", "region", "address", "old_status", "new_status", "message")
			if got := keys(ev[0]); !reflect.DeepEqual(got, want) {
				t.Errorf("event keys %v, want %v", got, want)
			}
			if dig(ev, 0, "time") != "2026-11-23T06:10:00Z" || dig(ev, 0, "kind") != "ip" || dig(ev, 2, "kind") != "nosrv" {
				t.Errorf("events %v", ev)
			}
		}},
		{"log interval with offset", "GET", "/v1/services/app.example.com./log?start=2026-11-23T07:15:00%2B01:00&end=2026-11-23T06:30:00Z", "", 200, "", func(t *testing.T, b map[string]any) {
			if ev := dig(b, "events").([]any); len(ev) != 1 || dig(ev, 0, "kind") != "nosrv" {
				t.Errorf("events %v, want the one nosrv event", ev)
			}
		}},
		{"log offset with an unencoded plus", "GET", "/v1/services/app.example.com./log?start=2026-11-23T07:15:00+01:00", "", 200, "", func(t *testing.T, b map[string]any) {
			if ev := dig(b, "events").([]any); len(ev) != 1 {
				t.Errorf("events %v, want the one event after 06:15Z", ev)
			}
		}},
		{"log empty interval is []", "GET", "/v1/services/www.example.com./log?start=2026-11-23T00:00:00Z", "", 200, "", func(t *testing.T, b map[string]any) {
			if ev, ok := b["events"].([]any); !ok || len(ev) != 0 {
				t.Errorf("events %v, want []", b["events"])
			}
		}},
		{"rrsets without ts", "GET", "/v1/services/app.example.com./rrsets", "", 400, "ApiErrorBadRequest", nil},
		{"rrsets bad ts", "GET", "/v1/services/app.example.com./rrsets?ts=2026-11-23T00:00:00Z", "", 400, "ApiErrorBadRequest", nil},
		{"rrsets negative ts", "GET", "/v1/services/app.example.com./rrsets?ts=-5", "", 400, "ApiErrorBadRequest", nil},
		{"rrsets unknown service", "GET", "/v1/services/nope.example.com./rrsets?ts=1795413600", "", 404, "ApiErrorDoesNotExist", nil},
		{"rrsets", "GET", "/v1/services/app.example.com./rrsets?ts=1795413600", "", 200, "", func(t *testing.T, b map[string]any) {
			if got := keys(b); !reflect.DeepEqual(got, sorted("ts", "regions")) {
				t.Errorf("keys %v", got)
			}
			if b["ts"] != float64(1795413600) || dig(b, "regions", 0, "code") != "US East" || dig(b, "regions", 1, "served", 1) != "2001:db8::20" {
				t.Errorf("rrsets %v", b)
			}
		}},
		{"rrsets before anything was served", "GET", "/v1/services/app.example.com./rrsets?ts=1000", "", 200, "", func(t *testing.T, b map[string]any) {
			if s, ok := dig(b, "regions", 0, "served").([]any); !ok || len(s) != 0 {
				t.Errorf("served %v, want []", dig(b, "regions", 0, "served"))
			}
		}},
		{"clusters", "GET", "/v1/clusters", "", 200, "", func(t *testing.T, b map[string]any) {
			if dig(b, "clusters", 0, "name") != "web-cluster" || dig(b, "clusters", 0, "services", 0, "name") != "https" ||
				dig(b, "clusters", 0, "services", 0, "fqdn") != "web.example.com." || dig(b, "clusters", 0, "services", 0, "real_services", 2) != "sorry" {
				t.Errorf("clusters %v", b)
			}
		}},
		{"real services", "GET", "/v1/clusters/web-cluster/services/https/real_services", "", 200, "", func(t *testing.T, b map[string]any) {
			if rs := dig(b, "real_services").([]any); len(rs) != 3 || dig(rs, 1, "name") != "web2" {
				t.Errorf("real_services %v", b)
			}
		}},
		{"real services unknown cluster", "GET", "/v1/clusters/nope/services/https/real_services", "", 404, "ApiErrorDoesNotExist", nil},
		{"real services unknown service", "GET", "/v1/clusters/web-cluster/services/nope/real_services", "", 404, "ApiErrorDoesNotExist", nil},
		{"real services invalid cluster name", "GET", "/v1/clusters/bad%20name/services/https/real_services", "", 400, "ApiErrorBadRequest", nil},
		{"real service info", "GET", "/v1/clusters/web-cluster/services/https/real_services/web1", "", 200, "", func(t *testing.T, b map[string]any) {
			for _, k := range []string{"ip_address", "port", "weight", "fallback", "enabled", "status"} {
				if _, ok := b[k]; !ok {
					t.Errorf("info lacks %s: %v", k, b)
				}
			}
			if b["ip_address"] != "192.0.2.51" || b["port"] != float64(443) || b["weight"] != float64(10) || b["enabled"] != true || b["fallback"] != false {
				t.Errorf("info %v", b)
			}
		}},
		{"real service unknown", "GET", "/v1/clusters/web-cluster/services/https/real_services/nope", "", 404, "ApiErrorDoesNotExist", nil},
		{"statistics", "GET", "/v1/clusters/web-cluster/services/https/real_services/web1/statistics", "", 200, "", func(t *testing.T, b map[string]any) {
			want := sorted("active", "status", "rtt_seconds", "answers_total", "probes_total", "probe_failures_total", "last_update")
			if got := keys(b); !reflect.DeepEqual(got, want) {
				t.Errorf("statistics keys %v, want %v", got, want)
			}
			if b["active"] != true || b["answers_total"] != float64(42) || b["last_update"] != "2026-11-23T06:59:00Z" {
				t.Errorf("statistics %v", b)
			}
		}},
		{"statistics unknown", "GET", "/v1/clusters/web-cluster/services/https/real_services/nope/statistics", "", 404, "ApiErrorDoesNotExist", nil},
		{"enable an enabled server changes nothing", "POST", "/v1/clusters/web-cluster/services/https/real_services/web1/enable", "", 200, "", noJob},
		{"disabled server as fallback", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/enable_fallback", "", 412, "ApiErrorPreconditionFailed", nil},
		{"second fallback", "POST", "/v1/clusters/web-cluster/services/https/real_services/web1/enable_fallback", "", 412, "ApiErrorPreconditionFailed", nil},
		{"enable", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/enable", "", 200, "", job("enable", "web-cluster/https/web2")},
		{"disable", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/disable", "", 200, "", job("disable", "web-cluster/https/web2")},
		{"disable_fallback", "POST", "/v1/clusters/web-cluster/services/https/real_services/sorry/disable_fallback", "", 200, "", job("disable_fallback", "web-cluster/https/sorry")},
		{"enable_fallback", "POST", "/v1/clusters/web-cluster/services/https/real_services/web1/enable_fallback", "", 200, "", job("enable_fallback", "web-cluster/https/web1")},
		{"enable unknown server", "POST", "/v1/clusters/web-cluster/services/https/real_services/nope/enable", "", 404, "ApiErrorDoesNotExist", nil},
		{"weight", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": 3}`, 200, "", job("set_weight", "web-cluster/https/web2")},
		{"same weight changes nothing", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": 3}`, 200, "", noJob},
		{"weight zero", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": 0}`, 200, "", job("set_weight", "web-cluster/https/web2")},
		{"weight negative", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": -1}`, 400, "ApiErrorBadRequest", nil},
		{"weight over the SRV field", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": 65536}`, 400, "ApiErrorBadRequest", nil},
		{"weight 2^32 never wraps to 0", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": 4294967296}`, 400, "ApiErrorBadRequest", nil},
		{"weight over int64", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": 1e30}`, 400, "ApiErrorBadRequest", nil},
		{"weight not a number", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": "3"}`, 400, "ApiErrorBadRequest", nil},
		{"weight fractional", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{"weight": 2.5}`, 400, "ApiErrorBadRequest", nil},
		{"weight missing", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `{}`, 400, "ApiErrorBadRequest", nil},
		{"weight without body", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", "", 400, "ApiErrorBadRequest", nil},
		{"weight malformed", "POST", "/v1/clusters/web-cluster/services/https/real_services/web2/weight", `weight=3`, 400, "ApiErrorBadRequest", nil},
		{"weight unknown server", "POST", "/v1/clusters/web-cluster/services/https/real_services/nope/weight", `{"weight": 3}`, 404, "ApiErrorDoesNotExist", nil},
		{"wrong verb", "GET", "/v1/services/app.example.com./deactivate", "", 404, "ApiErrorDoesNotExist", nil},
		{"unknown path", "GET", "/v1/zonez", "", 404, "ApiErrorDoesNotExist", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, calls := ts.state(t), ts.ctl.Calls()
			status, body, hdr := ts.call(t, tt.method, tt.path, testToken, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("%s %s: status %d, want %d: %v", tt.method, tt.path, status, tt.wantStatus, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.wantStatus != 200 {
				if got := keys(body); !reflect.DeepEqual(got, []string{"error", "error_type"}) {
					t.Errorf("error body keys %v: %v", got, body)
				}
				if body["error_type"] != tt.wantType || body["error"] == "" {
					t.Errorf("error %v, want type %s", body, tt.wantType)
				}
				if after := ts.state(t); after != before {
					t.Errorf("rejected request changed state:\nbefore %s\nafter  %s", before, after)
				}
				if tt.wantStatus == 400 && ts.ctl.Calls() != calls {
					t.Errorf("a request rejected by validation reached the controller")
				}
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}

func TestClientMethods(t *testing.T) {
	ts := startServer(t, testToken)
	ctx := context.Background()
	for _, addr := range []string{ts.base, ts.base + "/", strings.TrimPrefix(ts.base, "http://")} {
		if err := api.NewClient(addr, testToken).Healthz(ctx); err != nil {
			t.Errorf("Healthz via %q: %v", addr, err)
		}
	}
	c := api.NewClient(strings.TrimPrefix(ts.base, "http://"), testToken+"\n")

	svcs, err := c.Services(ctx)
	if err != nil || len(svcs) != 4 || svcs[1] != (api.ServiceSummary{FQDN: "www.example.com.", Kind: "active_failover", Status: "ok", Active: true}) {
		t.Fatalf("Services = %v, %v", svcs, err)
	}
	d, err := c.Service(ctx, "app.example.com")
	if err != nil || len(d.Regions) != 2 || d.Regions[0].Entries[0].RTTSeconds == nil || len(d.Regions[0].Entries[0].History) != 20 {
		t.Fatalf("Service = %+v, %v", d, err)
	}
	j, err := c.Deactivate(ctx, "www.example.com.")
	if err != nil || j == nil || j.Action != "deactivate" || j.Target != "www.example.com." {
		t.Fatalf("Deactivate = %+v, %v", j, err)
	}
	if j2, err := c.Job(ctx, j.ID); err != nil || *j2 != *j {
		t.Errorf("Job(%d) = %+v, %v; want %+v", j.ID, j2, err, j)
	}
	if j, err := c.Deactivate(ctx, "www.example.com."); err != nil || j != nil {
		t.Errorf("second Deactivate = %+v, %v; want nil, nil", j, err)
	}
	if j, err := c.Activate(ctx, "www.example.com."); err != nil || j == nil {
		t.Errorf("Activate = %+v, %v", j, err)
	}
	if j, err := c.Recover(ctx, "app.example.com.", "192.0.2.11"); err != nil || j == nil || j.Action != "recover" {
		t.Errorf("Recover = %+v, %v", j, err)
	}
	if j, err := c.Recover(ctx, "api.example.com.", ""); err != nil || j == nil {
		t.Errorf("Recover whole = %+v, %v", j, err)
	}
	if j, err := c.Force(ctx, "a.example.com."); err != nil || j == nil || j.Action != "force" {
		t.Errorf("Force = %+v, %v", j, err)
	}
	if j, err := c.Unforce(ctx, "a.example.com."); err != nil || j == nil || j.Action != "unforce" {
		t.Errorf("Unforce = %+v, %v", j, err)
	}
	base := apitest.Base()
	ev, err := c.Log(ctx, "app.example.com.", base, time.Time{})
	if err != nil || len(ev) != 3 || !ev[0].Time.Equal(base.Add(10*time.Minute)) || ev[0].Address != "192.0.2.11" {
		t.Errorf("Log = %+v, %v", ev, err)
	}
	ev, err = c.Log(ctx, "app.example.com.", base, base.Add(15*time.Minute))
	if err != nil || len(ev) != 2 {
		t.Errorf("Log with end = %+v, %v", ev, err)
	}
	rr, err := c.RRSets(ctx, "app.example.com.", base.Add(time.Minute))
	if err != nil || rr.TS != base.Add(time.Minute).Unix() || len(rr.Regions) != 2 || rr.Regions[0].Served[0] != "192.0.2.10" {
		t.Errorf("RRSets = %+v, %v", rr, err)
	}
	cl, err := c.Clusters(ctx)
	if err != nil || len(cl) != 1 || cl[0].Services[0].FQDN != "web.example.com." {
		t.Errorf("Clusters = %+v, %v", cl, err)
	}
	rs, err := c.RealServices(ctx, "web-cluster", "https")
	if err != nil || len(rs) != 3 {
		t.Errorf("RealServices = %+v, %v", rs, err)
	}
	r, err := c.RealService(ctx, "web-cluster", "https", "sorry")
	if err != nil || *r != (api.RealService{Name: "sorry", IPAddress: "192.0.2.59", Port: 443, Weight: 1, Fallback: true, Enabled: true, Status: "unk"}) {
		t.Errorf("RealService = %+v, %v", r, err)
	}
	st, err := c.RealServiceStatistics(ctx, "web-cluster", "https", "web1")
	if err != nil || st.AnswersTotal != 42 || st.ProbesTotal != 60 || st.ProbeFailuresTotal != 1 || st.LastUpdate == nil {
		t.Errorf("RealServiceStatistics = %+v, %v", st, err)
	}
	if j, err := c.ClusterOp(ctx, "web-cluster", "https", "web1", "disable"); err != nil || j == nil || j.Target != "web-cluster/https/web1" {
		t.Errorf("ClusterOp = %+v, %v", j, err)
	}
	if j, err := c.SetWeight(ctx, "web-cluster", "https", "web1", 7); err != nil || j == nil || j.Action != "set_weight" {
		t.Errorf("SetWeight = %+v, %v", j, err)
	}
}

func TestClientErrorTypes(t *testing.T) {
	ts := startServer(t, testToken)
	ctx := context.Background()
	good := api.NewClient(ts.base, testToken)
	tests := []struct {
		name       string
		call       func() error
		wantType   string
		wantStatus int
		sentinel   error
	}{
		{"unauthorized", func() error { _, err := api.NewClient(ts.base, "wrong").Services(ctx); return err }, "ApiErrorUnauthorized", 401, nil},
		{"no token", func() error { _, err := api.NewClient(ts.base, "").Services(ctx); return err }, "ApiErrorUnauthorized", 401, nil},
		{"does not exist", func() error { _, err := good.Service(ctx, "nope.example.com."); return err }, "ApiErrorDoesNotExist", 404, api.ErrDoesNotExist},
		{"precondition", func() error {
			_, err := good.ClusterOp(ctx, "web-cluster", "https", "web2", "enable_fallback")
			return err
		}, "ApiErrorPreconditionFailed", 412, api.ErrPreconditionFailed},
		{"bad request", func() error { _, err := good.SetWeight(ctx, "web-cluster", "https", "web1", -3); return err }, "ApiErrorBadRequest", 400, api.ErrBadRequest},
		{"internal", func() error { _, err := good.Force(ctx, apitest.BrokenFQDN); return err }, "ApiErrorInternal", 500, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *api.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T), want *api.APIError", err, err)
			}
			if ae.Type != tt.wantType || ae.Status != tt.wantStatus || ae.Message == "" || ae.Error() != ae.Message {
				t.Errorf("APIError %+v, want type %s status %d", ae, tt.wantType, tt.wantStatus)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
		})
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	srv, err := api.NewServer(api.Options{Listen: "127.0.0.1:0"}, apitest.NewMemory(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != nil {
		t.Errorf("Addr before Run = %v, want nil", srv.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	<-srv.Ready()
	if err := api.NewClient(srv.Addr().String(), "").Healthz(context.Background()); err != nil {
		t.Fatalf("Healthz: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunFailsOnBusyPort(t *testing.T) {
	ts := startServer(t, "")
	srv, err := api.NewServer(api.Options{Listen: ts.srv.Addr().String()}, apitest.NewMemory(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(context.Background()); err == nil {
		t.Error("Run on a busy port succeeded")
	}
}

// TestConcurrentCalls runs readers and writers at once; with -race it
// checks that the server adds no data race of its own.
func TestConcurrentCalls(t *testing.T) {
	ts := startServer(t, testToken)
	c := api.NewClient(ts.base, testToken)
	// A connection the client dialled but never used counts as active for
	// 5 s in the server's graceful shutdown; close them before it runs.
	t.Cleanup(c.HTTPClient.CloseIdleConnections)
	ctx := context.Background()
	const workers, rounds = 8, 20
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var err error
			for i := 0; i < rounds && err == nil; i++ {
				switch (w + i) % 4 {
				case 0:
					_, err = c.Services(ctx)
				case 1:
					_, err = c.Service(ctx, "app.example.com.")
				case 2:
					if i%2 == 0 {
						_, err = c.Deactivate(ctx, "www.example.com.")
					} else {
						_, err = c.Activate(ctx, "www.example.com.")
					}
				case 3:
					_, err = c.SetWeight(ctx, "web-cluster", "https", "web1", i)
				}
			}
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
