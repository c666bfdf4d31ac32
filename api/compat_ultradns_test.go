package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/failoverd/failoverd/api"
)

// Golden request/response tests of every path of the UltraDNS surface, with
// the request shapes of ultradns-go-sdk and ultra_rest_client and the
// response constraints they depend on.

type ultraClient struct {
	t     *testing.T
	base  string
	token string
}

func (u *ultraClient) do(method, path string, body any) (int, any, http.Header) {
	u.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, u.base+path, rd)
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var v any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &v); err != nil {
			u.t.Fatalf("%s %s: not JSON: %s", method, path, data)
		}
	}
	return resp.StatusCode, v, resp.Header
}

func ultraLogin(t *testing.T, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/authorization/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", "") // x/oauth2's auto-detected auth style sends this first
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

const sfRRSet = `{"ttl": 60, "rdata": ["192.0.2.60"], "profile": {
  "@context": "http://schemas.ultradns.com/SFPool.jsonschema",
  "poolDescription": "pool", "liveRecordDescription": "live", "liveRecordState": "NOT_FORCED",
  "regionFailureSensitivity": "HIGH",
  "monitor": {"method": "GET", "url": "http://192.0.2.60/health", "transmittedData": "", "searchString": "ok"},
  "backupRecord": {"rdata": "192.0.2.61", "description": "backup"}}}`

// goPartialUpdate is the body ultradns-go-sdk's PartialUpdate sends for a
// liveRecordState change: its profile struct has no omitempty on the two
// descriptions (nor on the monitor's transmittedData and searchString), so
// they arrive as empty strings.
func goPartialUpdate(state string, monitor map[string]any) map[string]any {
	p := map[string]any{"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
		"poolDescription": "", "liveRecordDescription": "", "liveRecordState": state}
	if monitor != nil {
		p["monitor"] = monitor
	}
	return map[string]any{"profile": p}
}

func TestUltraDNS_TokenGrants(t *testing.T) {
	ts := startServerWith(t, api.Options{Token: testToken, Compat: api.CompatOptions{UltraDNS: true}}, zaptest.NewLogger(t))
	code, m := ultraLogin(t, ts.base, url.Values{"grant_type": {"password"}, "username": {"ops"}, "password": {testToken}})
	if code != 200 || m["accessToken"] == "" || m["accessToken"] != m["access_token"] || m["refreshToken"] != m["refresh_token"] ||
		m["token_type"] != "Bearer" || m["tokenType"] != "Bearer" || m["expires_in"] != 3600.0 || m["expiresIn"] != "3600" {
		t.Fatalf("password grant: %d %v", code, m)
	}
	code, r := ultraLogin(t, ts.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refreshToken"].(string)}})
	if code != 200 || r["accessToken"] == m["accessToken"] {
		t.Fatalf("refresh grant: %d %v", code, r)
	}
	code, r = ultraLogin(t, ts.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refreshToken"].(string)}})
	if code != 400 || r["errorCode"] != 60001.0 || r["error"] != "invalid_grant" {
		t.Fatalf("a used refresh token: %d %v", code, r)
	}
	code, r = ultraLogin(t, ts.base, url.Values{"grant_type": {"password"}, "username": {"ops"}, "password": {"wrong"}})
	if code != 400 || r["errorCode"] != 60001.0 || !strings.HasPrefix(r["errorMessage"].(string), "invalid_grant:") {
		t.Fatalf("wrong password: %d %v", code, r)
	}
	code, r = ultraLogin(t, ts.base, url.Values{"grant_type": {"password"}, "username": {"ops"}})
	if code != 400 || r["errorMessage"] != "invalid_request:password parameter is required for grant_type=password" {
		t.Fatalf("missing password: %d %v", code, r)
	}
	u := &ultraClient{t: t, base: ts.base, token: "expired"}
	code, v, _ := u.do("GET", "/v1/zones/example.com./rrsets?q=kind:SF_POOLS", nil)
	if obj, ok := v.(map[string]any); code != 401 || !ok || obj["errorCode"] != 60001.0 {
		t.Fatalf("a bad token must be one object with 60001 (the Python client refreshes on it): %d %v", code, v)
	}
	u.token = m["accessToken"].(string)
	if code, _, _ := u.do("GET", "/v1/zones/example.com./rrsets?q=kind:SF_POOLS", nil); code != 200 {
		t.Fatalf("session token refused: %d", code)
	}
	u.token = testToken
	if code, _, _ := u.do("GET", "/zones/example.com/rrsets", nil); code != 200 {
		t.Fatalf("the failoverd token on the unprefixed alias: %d", code)
	}
}

func TestUltraDNS_SFPoolPaths(t *testing.T) {
	ts := startServerWith(t, api.Options{Token: testToken, Compat: api.CompatOptions{UltraDNS: true}}, zaptest.NewLogger(t))
	var rrset map[string]any
	if err := json.Unmarshal([]byte(sfRRSet), &rrset); err != nil {
		t.Fatal(err)
	}
	errorArray := func(v any, code float64) bool {
		l, ok := v.([]any)
		return ok && len(l) > 0 && l[0].(map[string]any)["errorCode"] == code
	}
	checkRRSet := func(t *testing.T, v any, owner string) map[string]any {
		t.Helper()
		m := v.(map[string]any)
		if m["zoneName"] != "example.com." {
			t.Fatalf("zoneName %v", m["zoneName"])
		}
		qi := m["queryInfo"].(map[string]any)
		if _, ok := qi["limit"].(float64); !ok {
			t.Fatalf("queryInfo.limit must be a number: %v", qi)
		}
		if _, ok := qi["reverse"].(bool); !ok {
			t.Fatalf("queryInfo.reverse must be a boolean: %v", qi)
		}
		for _, e := range m["rrSets"].([]any) {
			rs := e.(map[string]any)
			if rs["ownerName"] != owner {
				continue
			}
			p := rs["profile"].(map[string]any)
			if p["@context"] != "http://schemas.ultradns.com/SFPool.jsonschema" || rs["rrtype"] != "A (1)" {
				t.Fatalf("rrset %v", rs)
			}
			return rs
		}
		t.Fatalf("no rrset %s in %v", owner, m)
		return nil
	}
	u := &ultraClient{t: t, base: ts.base, token: testToken}
	tests := []struct {
		rule, method, path string
		body               any
		status             int
		check              func(t *testing.T, v any)
	}{
		{"read one seeded pool (Go Read): exactly one rrset", "GET", "/v1/zones/example.com./rrsets/A/a", nil, 200, func(t *testing.T, v any) {
			if n := len(v.(map[string]any)["rrSets"].([]any)); n != 1 {
				t.Fatalf("%d rrsets", n)
			}
			rs := checkRRSet(t, v, "a.example.com.")
			if rs["profile"].(map[string]any)["status"] != "OK" {
				t.Fatalf("status %v", rs)
			}
		}},
		{"create (POST) answers 201 with a body", "POST", "/v1/zones/example.com/rrsets/A/new", rrset, 201, func(t *testing.T, v any) {
			if v.(map[string]any)["message"] != "Successful" {
				t.Fatalf("%v", v)
			}
		}},
		{"creating it again is refused", "POST", "/v1/zones/example.com/rrsets/A/new", rrset, 400, func(t *testing.T, v any) {
			if !errorArray(v, 2111) {
				t.Fatalf("%v", v)
			}
		}},
		{"list (Python q={kind: SF_POOLS})", "GET", "/v1/zones/example.com/rrsets?q=kind:SF_POOLS", nil, 200, func(t *testing.T, v any) {
			rs := checkRRSet(t, v, "new.example.com.")
			if rs["rdata"].([]any)[0] != "192.0.2.60" || rs["profile"].(map[string]any)["backupRecord"].(map[string]any)["rdata"] != "192.0.2.61" {
				t.Fatalf("%v", rs)
			}
		}},
		{"list (Go form, ANY with paging)", "GET", "/v1/zones/example.com./rrsets/ANY/?&q=kind:SF_POOLS&offset=1&cursor=&limit=1&sort=&reverse=false", nil, 200, func(t *testing.T, v any) {
			m := v.(map[string]any)
			ri := m["resultInfo"].(map[string]any)
			if ri["totalCount"] != 2.0 || ri["returnedCount"] != 1.0 || ri["offset"] != 1.0 {
				t.Fatalf("%v", ri)
			}
		}},
		{"other record kinds list nothing", "GET", "/v1/zones/example.com/rrsets?q=kind:RECORDS", nil, 200, func(t *testing.T, v any) {
			if n := len(v.(map[string]any)["rrSets"].([]any)); n != 0 {
				t.Fatalf("%d rrsets", n)
			}
		}},
		{"PATCH forces the live record inactive with just that key", "PATCH", "/v1/zones/example.com/rrsets/1/new.example.com.",
			map[string]any{"profile": map[string]any{"liveRecordState": "FORCED_INACTIVE"}}, 200, nil},
		{"the forced state reads back", "GET", "/v1/zones/example.com/rrsets/A/new", nil, 200, func(t *testing.T, v any) {
			rs := checkRRSet(t, v, "new.example.com.")
			if rs["profile"].(map[string]any)["liveRecordState"] != "FORCED_INACTIVE" {
				t.Fatalf("%v", rs)
			}
		}},
		{"a Go SDK PartialUpdate (empty descriptions and monitor strings sent) keeps them", "PATCH", "/v1/zones/example.com/rrsets/A/new.example.com.",
			goPartialUpdate("NOT_FORCED", map[string]any{"transmittedData": "", "searchString": ""}), 200, nil},
		{"the descriptions and monitor read back unchanged, the state changed", "GET", "/v1/zones/example.com/rrsets/A/new", nil, 200, func(t *testing.T, v any) {
			p := checkRRSet(t, v, "new.example.com.")["profile"].(map[string]any)
			m := p["monitor"].(map[string]any)
			if p["poolDescription"] != "pool" || p["liveRecordDescription"] != "live" || m["searchString"] != "ok" || m["url"] != "http://192.0.2.60/health" || p["liveRecordState"] != "NOT_FORCED" {
				t.Fatalf("%v", p)
			}
		}},
		{"PUT replaces an API-managed pool (singular @context accepted on input)", "PUT", "/v1/zones/example.com/rrsets/A/new",
			map[string]any{"ttl": 120, "rdata": []any{"192.0.2.62"}, "profile": map[string]any{"@context": "http://schema.ultradns.com/SFPool.jsonschema",
				"poolDescription": "p2", "liveRecordDescription": "", "liveRecordState": "NOT_FORCED", "monitor": map[string]any{"method": "GET", "url": "http://192.0.2.62/"}}}, 200, nil},
		{"a wrong @context is refused", "PUT", "/v1/zones/example.com/rrsets/A/new",
			map[string]any{"rdata": []any{"192.0.2.62"}, "profile": map[string]any{"@context": "http://schemas.ultradns.com/RDPool.jsonschema"}}, 400, func(t *testing.T, v any) {
				if !errorArray(v, 400001) {
					t.Fatalf("%v", v)
				}
			}},
		{"a pool from the files may change liveRecordState only", "PUT", "/v1/zones/example.com/rrsets/A/a",
			map[string]any{"ttl": 999, "rdata": []any{"192.0.2.40"}, "profile": map[string]any{"@context": "http://schemas.ultradns.com/SFPool.jsonschema"}}, 400, func(t *testing.T, v any) {
				if !errorArray(v, 400001) {
					t.Fatalf("%v", v)
				}
			}},
		{"a Go SDK PartialUpdate of liveRecordState on a pool from the files", "PATCH", "/v1/zones/example.com/rrsets/A/a.example.com.",
			goPartialUpdate("FORCED_INACTIVE", nil), 200, nil},
		{"the pool from the files is forced", "GET", "/v1/zones/example.com/rrsets/A/a", nil, 200, func(t *testing.T, v any) {
			if p := checkRRSet(t, v, "a.example.com.")["profile"].(map[string]any); p["liveRecordState"] != "FORCED_INACTIVE" {
				t.Fatalf("%v", p)
			}
		}},
		{"forcing a pool from the files is an operator action", "PATCH", "/v1/zones/example.com/rrsets/A/a",
			map[string]any{"profile": map[string]any{"liveRecordState": "FORCED_INACTIVE"}}, 200, nil},
		{"deleting a pool from the files is refused", "DELETE", "/v1/zones/example.com/rrsets/A/a", nil, 400, func(t *testing.T, v any) {
			if !errorArray(v, 400001) {
				t.Fatalf("%v", v)
			}
		}},
		{"delete answers 204 without a body", "DELETE", "/v1/zones/example.com/rrsets/A/new", nil, 204, func(t *testing.T, v any) {
			if v != nil {
				t.Fatalf("%v", v)
			}
		}},
		{"a deleted pool is data not found", "GET", "/v1/zones/example.com/rrsets/A/new", nil, 404, func(t *testing.T, v any) {
			if !errorArray(v, 70002) {
				t.Fatalf("%v", v)
			}
		}},
		{"an unknown zone is 1801", "GET", "/v1/zones/example.org/rrsets", nil, 404, func(t *testing.T, v any) {
			if !errorArray(v, 1801) {
				t.Fatalf("%v", v)
			}
		}},
		{"a service that is no SF pool is data not found", "GET", "/v1/zones/example.com/rrsets/A/app", nil, 404, func(t *testing.T, v any) {
			if !errorArray(v, 70002) {
				t.Fatalf("%v", v)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			code, v, _ := u.do(tt.method, tt.path, tt.body)
			if code != tt.status {
				t.Fatalf("%s %s: %d %v", tt.method, tt.path, code, v)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}

func TestUltraDNS_NativeZonePathsStayNative(t *testing.T) {
	ts := startServerWith(t, api.Options{Token: testToken, Compat: api.CompatOptions{UltraDNS: true}}, zaptest.NewLogger(t))
	// Not an rrsets path: the native API answers, with its Bearer rule.
	code, body, _ := ts.call(t, "GET", "/v1/zones/example.com/dnssec", "", "")
	if code != 401 || body["error_type"] != api.ErrorTypeUnauthorized {
		t.Fatalf("%d %v", code, body)
	}
	code, body, _ = ts.call(t, "GET", "/v1/services", testToken, "")
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
}
