package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/failoverd/failoverd/api"
)

const newGSLB = `{"gslb": {"new.example.com.": {"monitor": {"protocol": "HTTP", "interval": "1m"},
  "region": {"global": {"pool": {"192.0.2.10": {"weight": 5}}}}}}}`

// Changing services over the API (docs/api.md): the HTTP layer's part —
// verbs, paths, the body passed on whole, error shapes and jobs.
func TestChangingServices_PutCreatesThenUpdatesAndDeleteRemoves(t *testing.T) {
	ts := startServer(t, testToken)
	code, body, _ := ts.call(t, "PUT", "/v1/services/new.example.com", testToken, newGSLB)
	if code != 200 || body["job"].(map[string]any)["action"] != api.ActionCreate {
		t.Fatalf("create: %d %v", code, body)
	}
	code, body, _ = ts.call(t, "GET", "/v1/services/new.example.com.", testToken, "")
	if code != 200 || body["managed"] != true {
		t.Fatalf("get managed: %d %v", code, body)
	}
	code, body, _ = ts.call(t, "PUT", "/v1/services/new.example.com.", testToken, strings.Replace(newGSLB, `"weight": 5`, `"weight": 7`, 1))
	if code != 200 || body["job"].(map[string]any)["action"] != api.ActionUpdate {
		t.Fatalf("update: %d %v", code, body)
	}
	code, body, _ = ts.call(t, "DELETE", "/v1/services/new.example.com.", testToken, "")
	if code != 200 || body["job"].(map[string]any)["action"] != api.ActionDelete {
		t.Fatalf("delete: %d %v", code, body)
	}
	code, body, _ = ts.call(t, "GET", "/v1/services/new.example.com.", testToken, "")
	if code != 404 {
		t.Fatalf("after delete: %d %v", code, body)
	}
}

func TestChangingServices_RefusalsHaveTheAPIErrorShapeAndChangeNothing(t *testing.T) {
	tests := []struct {
		rule, method, path, body string
		status                   int
		errorType, contains      string
	}{
		{"a service from the operator's files cannot be replaced", "PUT", "/v1/services/app.example.com",
			strings.ReplaceAll(newGSLB, "new.example.com", "app.example.com"), 412, api.ErrorTypePreconditionFailed, "failoverd.hcl:"},
		{"a service from the operator's files cannot be deleted", "DELETE", "/v1/services/app.example.com.", "", 412, api.ErrorTypePreconditionFailed, "failoverd.hcl:"},
		{"deleting an unknown service", "DELETE", "/v1/services/nope.example.com.", "", 404, api.ErrorTypeDoesNotExist, "nope"},
		{"an empty body", "PUT", "/v1/services/new.example.com.", " ", 400, api.ErrorTypeBadRequest, "one service block"},
		{"a body that is not one service block", "PUT", "/v1/services/new.example.com.", `{"zone": {"x": {}}}`, 400, api.ErrorTypeBadRequest, ""},
		{"a second service in the body", "PUT", "/v1/services/new.example.com.",
			`{"gslb": {"new.example.com.": {}, "other.example.com.": {}}}`, 400, api.ErrorTypeBadRequest, ""},
		{"the path and the body name different services", "PUT", "/v1/services/other.example.com.", newGSLB, 400, api.ErrorTypeBadRequest, "new.example.com"},
		{"a weight out of range", "PUT", "/v1/services/new.example.com.", strings.Replace(newGSLB, `"weight": 5`, `"weight": 99`, 1), 400, api.ErrorTypeBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			ts := startServer(t, testToken)
			before := ts.state(t)
			code, body, _ := ts.call(t, tt.method, tt.path, testToken, tt.body)
			if code != tt.status || body["error_type"] != tt.errorType {
				t.Fatalf("%s %s: %d %v", tt.method, tt.path, code, body)
			}
			if msg, _ := body["error"].(string); !strings.Contains(msg, tt.contains) {
				t.Fatalf("error %q lacks %q", msg, tt.contains)
			}
			if after := ts.state(t); after != before {
				t.Fatalf("state changed:\n%s\n%s", before, after)
			}
		})
	}
}

func TestChangingServices_DiagnosticsReachTheClient(t *testing.T) {
	ts := startServer(t, testToken)
	c := api.NewClient(ts.base, testToken)
	_, err := c.PutService(context.Background(), "new.example.com.", []byte(strings.Replace(newGSLB, `"weight": 5`, `"weight": 0`, 1)))
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Type != api.ErrorTypeBadRequest || len(ae.Diagnostics) != 1 || !strings.Contains(ae.Diagnostics[0], "request:1:1: error:") {
		t.Fatalf("err %#v", err)
	}
}

func TestChangingServices_WritesNeedJSON(t *testing.T) {
	ts := startServer(t, testToken)
	code, body := ts.raw(t, "PUT", "/v1/services/new.example.com.", newGSLB,
		map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "text/plain"})
	if code != 415 {
		t.Fatalf("%d %s", code, body)
	}
	wantErrorType(t, body, api.ErrorTypeBadRequest)
}
