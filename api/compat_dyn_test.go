package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/failoverd/failoverd/api"
)

// Golden request/response tests of every Dyn REST path dyn-python uses,
// sent with its headers and body shapes (a JSON body on every verb,
// Auth-Token, API-Version), checking the envelope and the response shapes
// that would raise inside the client.

type dynClient struct {
	t     *testing.T
	base  string
	token string
}

type dynReply struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	JobID  json.Number     `json:"job_id"`
	Msgs   []map[string]any
}

func (c *dynClient) do(method, path string, body any) (int, dynReply) {
	c.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.base+"/REST/"+path, strings.NewReader(string(b)))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dyn-py v1.8.6")
	req.Header.Set("API-Version", "current")
	if c.token != "" {
		req.Header.Set("Auth-Token", c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	// The envelope's own rules: every key present, job_id a number, every
	// message with INFO and ERR_CD.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		c.t.Fatalf("%s %s: not a JSON object: %s", method, path, data)
	}
	for _, k := range []string{"status", "data", "job_id", "msgs"} {
		if _, ok := raw[k]; !ok {
			c.t.Fatalf("%s %s: envelope lacks %s: %s", method, path, k, data)
		}
	}
	var r dynReply
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
	if _, err := r.JobID.Int64(); err != nil {
		c.t.Fatalf("%s %s: job_id %q is not an integer", method, path, r.JobID)
	}
	if len(r.Msgs) == 0 {
		c.t.Fatalf("%s %s: no msgs", method, path)
	}
	for _, m := range r.Msgs {
		if _, ok := m["INFO"]; !ok {
			c.t.Fatalf("%s %s: msg without INFO: %s", method, path, data)
		}
		if _, ok := m["ERR_CD"]; !ok {
			c.t.Fatalf("%s %s: msg without ERR_CD: %s", method, path, data)
		}
	}
	return resp.StatusCode, r
}

func (r dynReply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Data, &m); err != nil {
		t.Fatalf("data is not an object: %s", r.Data)
	}
	return m
}

func (r dynReply) errCode() string {
	if len(r.Msgs) == 0 {
		return ""
	}
	s, _ := r.Msgs[0]["ERR_CD"].(string)
	return s
}

// checkDynService asserts the shapes dyn-python rebuilds objects from.
func checkDynService(t *testing.T, s map[string]any) {
	t.Helper()
	if a := s["active"]; a != "Y" && a != "N" {
		t.Fatalf("active %v", a)
	}
	if m, ok := s["monitor"].(map[string]any); ok {
		for k := range m {
			if !slices.Contains([]string{"protocol", "interval", "retries", "timeout", "port", "path", "host", "header", "expected"}, k) {
				t.Fatalf("monitor key %q", k)
			}
		}
	}
	if ne, ok := s["notify_events"]; ok {
		if _, isStr := ne.(string); !isStr {
			t.Fatalf("notify_events must be a comma string: %v", ne)
		}
	}
	regions, _ := s["region"].([]any)
	for _, e := range regions {
		r := e.(map[string]any)
		if !slices.Contains([]string{"US West", "US Central", "US East", "EU West", "EU Central", "EU East", "Asia", "global"}, r["region_code"].(string)) {
			t.Fatalf("region_code %v", r["region_code"])
		}
		if _, ok := r["zone"]; ok {
			t.Fatalf("region carries zone: %v", r)
		}
		for _, pe := range r["pool"].([]any) {
			p := pe.(map[string]any)
			for _, k := range []string{"zone", "fqdn", "region_code"} {
				if _, ok := p[k]; ok {
					t.Fatalf("pool entry carries %s: %v", k, p)
				}
			}
			w, ok := p["weight"].(float64)
			if !ok || w != float64(int(w)) || w < 1 || w > 15 {
				t.Fatalf("weight %v", p["weight"])
			}
			if !slices.Contains([]string{"always", "obey", "remove", "no"}, p["serve_mode"].(string)) {
				t.Fatalf("serve_mode %v", p["serve_mode"])
			}
		}
	}
}

func TestDyn_EveryPathOfTheSDK(t *testing.T) {
	ts := startServerWith(t, api.Options{Token: testToken, Compat: api.CompatOptions{Dyn: true}}, zaptest.NewLogger(t))
	c := &dynClient{t: t, base: ts.base}

	code, r := c.do("POST", "Session/", map[string]any{"customer_name": "c", "user_name": "u", "password": "wrong"})
	if code != 400 || r.Status != "failure" || !strings.Contains(r.Msgs[0]["INFO"].(string), "login") {
		t.Fatalf("bad login: %d %+v", code, r)
	}
	code, r = c.do("POST", "Session/", map[string]any{"customer_name": "c", "user_name": "u", "password": testToken})
	if code != 200 || r.Msgs[0]["INFO"] != "login: Login successful" {
		t.Fatalf("login: %d %+v", code, r)
	}
	c.token = r.object(t)["token"].(string)
	if _, r = c.do("GET", "Session/", nil); r.Status != "success" || strings.Contains(r.Msgs[0]["INFO"].(string), "login:") {
		t.Fatalf("a live session must not say login: %+v", r)
	}

	gslb := map[string]any{
		"contact_nickname": "", "ttl": 30, "auto_recover": "Y", "notify_events": "ip,svc", "recovery_delay": 0,
		"syslog_server": "127.0.0.1", "syslog_port": 514, "syslog_ident": "dynect", "syslog_facility": "daemon", "syslog_delivery": "change",
		"monitor": map[string]any{"protocol": "HTTP", "interval": 1, "retries": 1, "timeout": 10, "path": "/health"},
		"region": []any{
			map[string]any{"region_code": "global", "serve_count": 1, "failover_mode": "global", "failover_data": "",
				"pool": []any{map[string]any{"address": "192.0.2.70", "label": "a", "weight": 2, "serve_mode": "obey"}}},
		},
	}
	// dyn-python's _post sends these four on every GSLB and RTTM create.
	sdkDefaults := map[string]any{"contact_nickname": "ops", "ttl": 30,
		"syslog_port": 514, "syslog_ident": "dynect", "syslog_facility": "daemon", "syslog_delivery": "change",
		"monitor": map[string]any{"protocol": "TCP", "interval": 1, "port": 8080},
		"region": []any{map[string]any{"region_code": "global", "serve_count": 1,
			"pool": []any{map[string]any{"address": "192.0.2.75", "label": "a", "weight": 3, "serve_mode": "obey"}}}},
	}
	rttm := map[string]any{"contact_nickname": "", "ttl": 30, "notify_events": "ip",
		"monitor":             map[string]any{"protocol": "HTTP", "interval": 5},
		"performance_monitor": map[string]any{"protocol": "HTTP", "interval": 10},
		"region": []any{map[string]any{"region_code": "global", "autopopulate": "N", "ep": 1, "apmc": 1, "epmc": 1, "serve_count": 1,
			"pool": []any{map[string]any{"address": "192.0.2.80", "label": "r", "weight": 4, "serve_mode": "obey"}}}},
	}
	failover := map[string]any{"address": "192.0.2.90", "failover_mode": "ip", "failover_data": "192.0.2.91", "contact_nickname": "",
		"monitor": map[string]any{"protocol": "HTTP", "interval": 1}}

	type step struct {
		rule, method, path string
		body               any
		status             int
		check              func(t *testing.T, r dynReply)
	}
	object := func(t *testing.T, r dynReply) { checkDynService(t, r.object(t)) }
	errIs := func(code string) func(t *testing.T, r dynReply) {
		return func(t *testing.T, r dynReply) {
			if r.Status != "failure" || r.errCode() != code {
				t.Fatalf("want %s: %+v", code, r)
			}
		}
	}
	steps := []step{
		{"Zone get", "GET", "Zone/example.com/", nil, 200, func(t *testing.T, r dynReply) {
			if r.object(t)["zone"] != "example.com" {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"unknown zone", "GET", "Zone/example.org/", nil, 404, errIs("NOT_FOUND")},
		{"GSLB get of a service from the files", "GET", "GSLB/example.com/app.example.com/", nil, 200, object},
		{"GSLB list in zone has zone and fqdn", "GET", "GSLB/example.com/", map[string]any{"detail": "Y"}, 200, func(t *testing.T, r dynReply) {
			var l []map[string]any
			_ = json.Unmarshal(r.Data, &l)
			if len(l) != 1 || l[0]["zone"] != "example.com" || l[0]["fqdn"] != "app.example.com" {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"an unknown service: INFO without a final dot (dyn-python adds one)", "GET", "GSLB/example.com/nosuch.example.com/", nil, 404, func(t *testing.T, r dynReply) {
			if info := r.Msgs[0]["INFO"].(string); r.errCode() != "NOT_FOUND" || strings.HasSuffix(info, ".") || !strings.Contains(info, "nosuch.example.com") {
				t.Fatalf("%+v", r.Msgs)
			}
		}},
		{"Failover get of a gslb is not found", "GET", "Failover/example.com/app.example.com/", nil, 404, errIs("NOT_FOUND")},
		{"GSLB deactivate", "PUT", "GSLB/example.com/app.example.com/", map[string]any{"deactivate": true}, 200, func(t *testing.T, r dynReply) {
			if r.object(t)["active"] != "N" {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"GSLB activate", "PUT", "GSLB/example.com/app.example.com/", map[string]any{"activate": true}, 200, object},
		{"GSLB recoverip", "PUT", "GSLB/example.com/app.example.com/", map[string]any{"recoverip": true, "address": "192.0.2.11"}, 200, object},
		{"GSLB recover (string Y)", "PUT", "GSLB/example.com/app.example.com/", map[string]any{"recover": "Y"}, 200, object},
		{"recoverip of an unknown address", "PUT", "GSLB/example.com/app.example.com/", map[string]any{"recoverip": true, "address": "192.0.2.99"}, 404, errIs("NOT_FOUND")},
		{"changing a service from the files", "PUT", "GSLB/example.com/app.example.com/", map[string]any{"ttl": 99}, 400, errIs("ILLEGAL_OPERATION")},
		{"deleting a service from the files", "DELETE", "GSLB/example.com/app.example.com/", nil, 400, errIs("ILLEGAL_OPERATION")},
		{"GSLBRegion list", "GET", "GSLBRegion/example.com/app.example.com/", nil, 200, nil},
		{"GSLBRegion get", "GET", "GSLBRegion/example.com/app.example.com/US East/", nil, 200, nil},
		{"GSLBRegionPoolEntry get may name zone, fqdn and region", "GET", "GSLBRegionPoolEntry/example.com/app.example.com/US East/192.0.2.10/", nil, 200, func(t *testing.T, r dynReply) {
			m := r.object(t)
			if m["region_code"] != "US East" || m["weight"] != 5.0 {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"pool entry of a service from the files, unchanged", "PUT", "GSLBRegionPoolEntry/example.com/app.example.com/US East/192.0.2.10/", map[string]any{"weight": 5}, 200, nil},
		{"pool entry of a service from the files, changed", "PUT", "GSLBRegionPoolEntry/example.com/app.example.com/US East/192.0.2.10/", map[string]any{"weight": 6}, 400, errIs("ILLEGAL_OPERATION")},
		{"GSLB create", "POST", "GSLB/example.com/new.example.com/", gslb, 200, func(t *testing.T, r dynReply) {
			m := r.object(t)
			checkDynService(t, m)
			if m["notify_events"] != "ip,svc" || m["monitor"].(map[string]any)["interval"] != 1.0 || m["syslog_port"] != 514.0 {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"the SDK's syslog defaults without syslog_server are no syslog", "POST", "GSLB/example.com/sdk.example.com/", sdkDefaults, 200, func(t *testing.T, r dynReply) {
			m := r.object(t)
			for _, k := range []string{"syslog_server", "syslog_port", "syslog_ident", "syslog_facility", "syslog_delivery"} {
				if _, ok := m[k]; ok {
					t.Fatalf("%s kept without a server: %s", k, r.Data)
				}
			}
		}},
		{"GSLB create again", "POST", "GSLB/example.com/new.example.com/", gslb, 400, errIs("TARGET_EXISTS")},
		{"GSLB update of a managed service", "PUT", "GSLB/example.com/new.example.com/", map[string]any{"ttl": 20}, 200, func(t *testing.T, r dynReply) {
			if r.object(t)["ttl"] != 20.0 {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"an unknown Dyn field", "PUT", "GSLB/example.com/new.example.com/", map[string]any{"colour": "blue"}, 400, errIs("INVALID_DATA")},
		{"a region code Dyn does not have", "POST", "GSLBRegion/example.com/new.example.com/", map[string]any{"region_code": "Mars", "pool": []any{}}, 400, errIs("INVALID_DATA")},
		{"GSLBRegion create", "POST", "GSLBRegion/example.com/new.example.com/", map[string]any{"region_code": "US East", "serve_count": 1,
			"pool": []any{map[string]any{"address": "192.0.2.71", "weight": 3}}}, 200, nil},
		{"GSLBRegion update", "PUT", "GSLBRegion/example.com/new.example.com/US East/", map[string]any{"serve_count": 1, "failover_mode": "global"}, 200, nil},
		{"GSLBRegionPoolEntry create", "POST", "GSLBRegionPoolEntry/example.com/new.example.com/US East/", map[string]any{"address": "192.0.2.72", "label": "x", "weight": 1, "serve_mode": "obey"}, 200, nil},
		{"GSLBRegionPoolEntry update with new_address", "PUT", "GSLBRegionPoolEntry/example.com/new.example.com/US East/192.0.2.72/", map[string]any{"new_address": "192.0.2.73", "weight": 9}, 200, func(t *testing.T, r dynReply) {
			if m := r.object(t); m["address"] != "192.0.2.73" || m["weight"] != 9.0 {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"a weight out of range", "PUT", "GSLBRegionPoolEntry/example.com/new.example.com/US East/192.0.2.73/", map[string]any{"weight": 99}, 400, errIs("INVALID_DATA")},
		{"GSLBRegionPoolEntry delete", "DELETE", "GSLBRegionPoolEntry/example.com/new.example.com/US East/192.0.2.73/", nil, 200, nil},
		{"GSLBRegion delete", "DELETE", "GSLBRegion/example.com/new.example.com/US East/", nil, 200, nil},
		{"RTTM create", "POST", "RTTM/example.com/rt.example.com/", rttm, 200, func(t *testing.T, r dynReply) {
			m := r.object(t)
			checkDynService(t, m)
			if m["region"].([]any)[0].(map[string]any)["autopopulate"] != "N" {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"RTTM activate", "PUT", "RTTM/example.com/rt.example.com/", map[string]any{"activate": true}, 200, object},
		{"RTTM recover with recoverip", "PUT", "RTTM/example.com/rt.example.com/", map[string]any{"recover": true, "recoverip": true, "address": "192.0.2.80"}, 200, object},
		{"RTTMRegion get", "GET", "RTTMRegion/example.com/rt.example.com/global/", nil, 200, nil},
		{"RTTMRegionPoolEntry get with detail", "GET", "RTTMRegionPoolEntry/example.com/rt.example.com/global/192.0.2.80/", map[string]any{"detail": "Y"}, 200, nil},
		{"RTTMRegionPoolEntry update", "PUT", "RTTMRegionPoolEntry/example.com/rt.example.com/global/192.0.2.80/", map[string]any{"label": "r2", "weight": 5, "serve_mode": "obey"}, 200, nil},
		{"RTTM log report", "POST", "RTTMLogReport/", map[string]any{"zone": "example.com", "fqdn": "app.example.com", "start_ts": time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC).Unix(), "end_ts": time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC).Unix()}, 200, func(t *testing.T, r dynReply) {
			var rows []map[string]any
			_ = json.Unmarshal(r.Data, &rows)
			var health, user []map[string]any
			for _, row := range rows {
				// Dyn's row shape, every key.
				for _, k := range []string{"serial", "change_ts", "change_type", "region_code", "region_status", "user_name", "serve_count", "rdata_type", "region_rdata"} {
					if _, ok := row[k]; !ok {
						t.Fatalf("row without %s: %v", k, row)
					}
				}
				if rd := row["region_rdata"].([]any); len(rd) == 0 || row["serve_count"] != float64(len(rd)) || !slices.Contains([]string{"A", "AAAA", "CNAME"}, row["rdata_type"].(string)) {
					t.Fatalf("region_rdata is the served set after the change: %v", row)
				}
				switch row["change_type"] {
				case "health":
					health = append(health, row)
				case "user":
					user = append(user, row)
				}
			}
			if len(health) != 3 || health[0]["region_code"] != "US East" || health[0]["address"] != "192.0.2.11" {
				t.Fatalf("health rows: %s", r.Data)
			}
			if health[0]["region_status"] != "trouble" {
				t.Fatalf("an ip event's region_status is its region's status after it, not the address's: %v", health[0])
			}
			if len(user) == 0 || !strings.Contains(user[0]["message"].(string), "deactivate") {
				t.Fatalf("the deactivate and activate above are user rows: %s", r.Data)
			}
		}},
		{"RTTM log report without start_ts", "POST", "RTTMLogReport/", map[string]any{"zone": "example.com", "fqdn": "app.example.com"}, 400, errIs("MISSING_DATA")},
		{"RTTM rrset report", "POST", "RTTMRRSetReport/", map[string]any{"zone": "example.com", "fqdn": "app.example.com", "ts": time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC).Unix()}, 200, nil},
		{"Failover create", "POST", "Failover/example.com/fo.example.com/", failover, 200, func(t *testing.T, r dynReply) {
			m := r.object(t)
			if m["address"] != "192.0.2.90" || m["failover_data"] != "192.0.2.91" || m["task_id"] != "" {
				t.Fatalf("%s", r.Data)
			}
		}},
		{"Failover deactivate", "PUT", "Failover/example.com/fo.example.com/", map[string]any{"deactivate": true}, 200, nil},
		{"Failover recover", "PUT", "Failover/example.com/fo.example.com/", map[string]any{"recover": "Y"}, 200, nil},
		{"Failover delete", "DELETE", "Failover/example.com/fo.example.com/", nil, 200, nil},
		{"RTTM delete", "DELETE", "RTTM/example.com/rt.example.com/", nil, 200, nil},
		{"GSLB delete", "DELETE", "GSLB/example.com/new.example.com/", nil, 200, nil},
		{"a deleted service is not found", "GET", "GSLB/example.com/new.example.com/", nil, 404, errIs("NOT_FOUND")},
	}
	for _, s := range steps {
		t.Run(s.rule, func(t *testing.T) {
			code, r := c.do(s.method, s.path, s.body)
			if code != s.status {
				t.Fatalf("%s %s: HTTP %d, want %d: %+v %s", s.method, s.path, code, s.status, r, r.Data)
			}
			if s.check != nil {
				s.check(t, r)
			}
		})
	}

	// A job id names the call's envelope.
	_, r = c.do("PUT", "GSLB/example.com/app.example.com/", map[string]any{"deactivate": true})
	_, j := c.do("GET", "Job/"+r.JobID.String()+"/", nil)
	if j.Status != "success" || string(j.Data) != string(r.Data) {
		t.Fatalf("job %s: %+v", r.JobID, j)
	}
	if code, _ := c.do("GET", "Job/999999/", nil); code != 404 {
		t.Fatalf("unknown job: %d", code)
	}

	if code, r = c.do("DELETE", "Session/", nil); code != 200 || r.Msgs[0]["INFO"] != "logout: Logout successful" {
		t.Fatalf("logout: %d %+v", code, r)
	}
	if code, _ = c.do("GET", "GSLB/example.com/app.example.com/", nil); code != 400 {
		t.Fatalf("a call after logout: %d", code)
	}
	c.token = testToken // the failoverd token itself is an Auth-Token too
	if code, _ = c.do("GET", "GSLB/example.com/app.example.com/", nil); code != 200 {
		t.Fatalf("the token as Auth-Token: %d", code)
	}
}

// Dyn job ids of calls without a native job do not repeat after a restart:
// a new server starts above every id the previous one handed out.
func TestDyn_JobIDsDoNotRepeatAcrossRestarts(t *testing.T) {
	var last int64
	for run := range 3 {
		ts := startServerWith(t, api.Options{Compat: api.CompatOptions{Dyn: true}}, zaptest.NewLogger(t))
		c := &dynClient{t: t, base: ts.base, token: "any"}
		for i := range 5 {
			_, r := c.do("GET", "Zone/example.com/", nil)
			id, _ := r.JobID.Int64()
			if id <= last || id < 1<<40 || id >= 1<<53 {
				t.Fatalf("run %d call %d: job_id %d after %d", run, i, id, last)
			}
			last = id
		}
	}
}
