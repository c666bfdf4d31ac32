package api_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/internal/testutil"
)

// The Memset surface driven by the clients Memset's documentation shows:
// curl (GET with query parameters, form POST as Ansible's helper sends it)
// and Python's standard xmlrpc.client with the key in the URL.

func startMemset(t *testing.T) *testServer {
	t.Helper()
	return startServerWith(t, api.Options{Token: testToken, Compat: api.CompatOptions{Memset: true}}, zaptest.NewLogger(t))
}

// curlJSON runs curl with args and returns the HTTP status and the body.
func curlJSON(t *testing.T, args ...string) (int, any) {
	t.Helper()
	curl := testutil.RequireTool(t, "curl", "curl")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, append([]string{"-sS", "-w", "\n%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	s := strings.TrimSpace(string(out))
	i := strings.LastIndex(s, "\n")
	body := s[:max(i, 0)]
	status, err := strconv.Atoi(s[i+1:])
	if err != nil {
		t.Fatalf("curl %v: no status: %s", args, out)
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("curl %v: body is not JSON: %v: %s", args, err, body)
	}
	return status, v
}

func TestMemset_CurlAsTheVendorDocumentsIt(t *testing.T) {
	ts := startMemset(t)
	user := testToken + ":x"
	info := map[string]any{"ip_address": "192.0.2.52", "port": "443", "weight": 5.0, "fallback": false, "enabled": false, "status": "up"}
	tests := []struct {
		rule   string
		args   []string
		status int
		want   func(v any) bool
	}{
		{"info with GET query parameters", []string{"--user", user, ts.base + "/v1/json/cluster.real_service.info/?cluster_name=web-cluster&service_name=https&server_name=web2"},
			200, func(v any) bool { return reflect.DeepEqual(v, info) }},
		{"list names every real service", []string{"--user", user, ts.base + "/v1/json/cluster.real_service.list?cluster_name=web-cluster&service_name=https"},
			200, func(v any) bool {
				l, _ := v.([]any)
				return len(l) == 3 && l[1].(map[string]any)["name"] == "web2"
			}},
		{"enable by form POST answers the job's status", []string{"--user", user, "-d", "cluster_name=web-cluster", "-d", "service_name=https", "-d", "server_name=web2",
			ts.base + "/v1/json/cluster.real_service.enable/"},
			200, func(v any) bool {
				m, _ := v.(map[string]any)
				return m["id"] == "00000000000000000000000000000001" && m["type"] == "CLUSTER-REAL-SERVICE-ENABLE" && m["finished"] == true && m["error"] == false && m["service"] == "web-cluster"
			}},
		{"enabling again changes nothing and answers null", []string{"--user", user, "-d", "cluster_name=web-cluster", "-d", "service_name=https", "-d", "server_name=web2",
			ts.base + "/v1/json/cluster.real_service.enable/"}, 200, func(v any) bool { return v == nil }},
		{"job.status of that job", []string{"--user", user, ts.base + "/v1/json/job.status/?id=00000000000000000000000000000001"},
			200, func(v any) bool { return v.(map[string]any)["status"] == "complete" }},
		{"set_weight with a JSON body", []string{"--user", user, "-H", "Content-Type: application/json",
			"-d", `{"cluster_name": "web-cluster", "service_name": "https", "server_name": "web1", "weight": 3}`, ts.base + "/v1/json/cluster.real_service.set_weight"},
			200, func(v any) bool { return v.(map[string]any)["type"] == "CLUSTER-REAL-SERVICE-SET-WEIGHT" }},
		{"the api_key parameter instead of Basic auth", []string{ts.base + "/v1/json/cluster.real_service.statistics/?api_key=" + testToken + "&cluster_name=web-cluster&service_name=https&server_name=web1"},
			200, func(v any) bool {
				m := v.(map[string]any)
				return m["active"] == true && m["bps_in"] == 0.0 && m["answers_total"] == 42.0 && m["last_update"] == "2026-11-23T06:59:00Z"
			}},
		{"an unknown server is ApiErrorDoesNotExist, code 3", []string{"--user", user, ts.base + "/v1/json/cluster.real_service.info/?cluster_name=web-cluster&service_name=https&server_name=nope"},
			404, func(v any) bool {
				m := v.(map[string]any)
				return m["error_type"] == "ApiErrorDoesNotExist" && m["error_code"] == 3.0
			}},
		{"a wrong key is refused with code 4", []string{"--user", "0123456789abcdef0123456789abcdef:x", ts.base + "/v1/json/cluster.real_service.info/?cluster_name=web-cluster&service_name=https&server_name=web1"},
			403, func(v any) bool { m := v.(map[string]any); return m["error_code"] == 4.0 }},
		{"no key is refused with code 4", []string{ts.base + "/v1/json/cluster.real_service.info/?cluster_name=web-cluster&service_name=https&server_name=web1"},
			403, func(v any) bool { m := v.(map[string]any); return m["error_code"] == 4.0 }},
		{"disabling the fallback is a precondition failure", []string{"--user", user, "-d", "cluster_name=web-cluster", "-d", "service_name=https", "-d", "server_name=sorry",
			ts.base + "/v1/json/cluster.real_service.disable/"}, 412, func(v any) bool { return v.(map[string]any)["error_type"] == "ApiErrorPreconditionFailed" }},
		{"a weight that is not a number is a bad parameter", []string{"--user", user, "-d", "cluster_name=web-cluster", "-d", "service_name=https", "-d", "server_name=web1", "-d", "weight=heavy",
			ts.base + "/v1/json/cluster.real_service.set_weight/"}, 400, func(v any) bool { return v.(map[string]any)["error_type"] == "ApiErrorBadParameter" }},
		{"a missing parameter is a bad parameter", []string{"--user", user, ts.base + "/v1/json/cluster.real_service.info/?cluster_name=web-cluster"},
			400, func(v any) bool { return strings.Contains(v.(map[string]any)["error"].(string), "service_name") }},
		{"an unknown method does not exist", []string{"--user", user, ts.base + "/v1/json/server.reboot/"},
			404, func(v any) bool { return v.(map[string]any)["error_type"] == "ApiErrorDoesNotExist" }},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			status, v := curlJSON(t, tt.args...)
			if status != tt.status || !tt.want(v) {
				t.Fatalf("HTTP %d %v", status, v)
			}
		})
	}
}

func TestMemset_PythonXMLRPCClient(t *testing.T) {
	ts := startMemset(t)
	python := testutil.RequireTool(t, "python3", "python3")
	host := strings.TrimPrefix(ts.base, "http://")
	script := `
import json, sys, xmlrpc.client
host, key = sys.argv[1], sys.argv[2]
s = xmlrpc.client.ServerProxy("http://%s:@%s/v1/xmlrpc/" % (key, host))
names = dict(cluster_name="web-cluster", service_name="https", server_name="web2")
out = {}
out["info"] = s.cluster.real_service.info(names)
out["list"] = [r["name"] for r in s.cluster.real_service.list(dict(cluster_name="web-cluster", service_name="https"))]
out["enable"] = s.cluster.real_service.enable(names)
out["again"] = s.cluster.real_service.enable(names)
out["weight"] = s.cluster.real_service.set_weight(dict(names, weight=7))
out["job"] = s.job.status(dict(id=out["weight"]["id"]))
st = s.cluster.real_service.statistics(dict(names, server_name="web1"))
out["stats"] = {"active": st["active"], "pps_in": st["pps_in"], "last_update": str(st["last_update"])}
def fault(call):
    try:
        call()
    except xmlrpc.client.Fault as f:
        return [f.faultCode, f.faultString]
    return None
out["missing"] = fault(lambda: s.cluster.real_service.info(dict(names, server_name="nope")))
out["badkey"] = fault(lambda: xmlrpc.client.ServerProxy("http://wrong:@%s/v1/xmlrpc/" % host).cluster.real_service.info(names))
out["precondition"] = fault(lambda: s.cluster.real_service.disable(dict(names, server_name="sorry")))
out["unknown"] = fault(lambda: s.server.reboot(names))
json.dump(out, sys.stdout, default=str)
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script, host, testToken).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"info":   map[string]any{"ip_address": "192.0.2.52", "port": "443", "weight": 5.0, "fallback": false, "enabled": false, "status": "up"},
		"list":   []any{"web1", "web2", "sorry"},
		"enable": map[string]any{"id": "00000000000000000000000000000001", "type": "CLUSTER-REAL-SERVICE-ENABLE", "status": "complete", "service": "web-cluster", "finished": true, "error": false},
		"again":  nil,
		"weight": map[string]any{"id": "00000000000000000000000000000002", "type": "CLUSTER-REAL-SERVICE-SET-WEIGHT", "status": "complete", "service": "web-cluster", "finished": true, "error": false},
		"job":    map[string]any{"id": "00000000000000000000000000000002", "type": "CLUSTER-REAL-SERVICE-SET-WEIGHT", "status": "complete", "service": "web-cluster", "finished": true, "error": false},
		"stats":  map[string]any{"active": true, "pps_in": 0.0, "last_update": "20261123T06:59:00"},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: got %v, want %v", k, got[k], w)
		}
	}
	for k, code := range map[string]float64{"missing": 3, "badkey": 4, "precondition": 7, "unknown": 3} {
		f, _ := got[k].([]any)
		if len(f) != 2 || f[0] != code {
			t.Errorf("%s: fault %v, want code %v", k, got[k], code)
		}
	}
}
