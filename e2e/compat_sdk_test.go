package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// What the hosted products' own SDKs send, replayed against the real
// daemon (issue 18): dyn-python's create defaults, its reports right after
// start and after an operator action, and ultradns-go-sdk's PartialUpdate,
// which always sends the two descriptions, empty.

func startSDKDaemon(t *testing.T, healthPort int) *daemonProc {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(compatToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api {
  listen     = "{{API}}"
  token_file = %q
  compat {
    dyn      = true
    ultradns = true
  }
}
zone "example.test" {}
contact "ops" { email = ["ops@example.test"] }

rttm "rttm.example.test." {
  ttl = 0
  monitor {
    protocol = "NONE"
    interval = "1m"
  }
  performance_monitor {
    protocol = "NONE"
    interval = "1m"
  }
  region "global" {
    pool "192.0.2.20" {}
  }
  region "EU West" {
    pool "192.0.2.30" {}
  }
}

sf_pool "sf.example.test." {
  ttl                     = 0
  rdata                   = "192.0.2.40"
  pool_description        = "files pool"
  live_record_description = "files live"
  monitor { url = "http://127.0.0.1:%d/" }
  backup_record { rdata = "192.0.2.41" }
}
`, tokenFile, healthPort))
	// startDaemon waits for DNS; the API listener may come a moment later.
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + d.apiAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return d
		}
		if i == 200 {
			t.Fatalf("the API does not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sdkCall sends one JSON request and decodes the JSON answer.
func sdkCall(t *testing.T, method, url string, header map[string]string, body string) (int, any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, url, b)
		}
	}
	return resp.StatusCode, v
}

func TestDynSurface_WhatDynPythonSends(t *testing.T) {
	health := newTarget(t, "127.0.0.1", "ok")
	d := startSDKDaemon(t, health.Port())
	start := time.Now().Unix()
	base := "http://" + d.apiAddr + "/REST/"
	_, v := sdkCall(t, "POST", base+"Session/", nil, `{"customer_name": "cust", "user_name": "ops", "password": "`+compatToken+`"}`)
	tok, _ := v.(map[string]any)["data"].(map[string]any)["token"].(string)
	if tok == "" {
		t.Fatalf("login: %v", v)
	}
	dyn := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		code, v := sdkCall(t, method, base+path, map[string]string{"Auth-Token": tok, "API-Version": "current"}, body)
		m, _ := v.(map[string]any)
		return code, m
	}
	info := func(m map[string]any) string {
		msgs, _ := m["msgs"].([]any)
		if len(msgs) == 0 {
			return ""
		}
		s, _ := msgs[0].(map[string]any)["INFO"].(string)
		return s
	}
	rows := func(m map[string]any) []map[string]any {
		var out []map[string]any
		l, _ := m["data"].([]any)
		for _, e := range l {
			out = append(out, e.(map[string]any))
		}
		return out
	}

	t.Run("the rrset report right after start shows every region", func(t *testing.T) {
		code, m := dyn("POST", "RTTMRRSetReport/", fmt.Sprintf(`{"zone": "example.test", "fqdn": "rttm.example.test", "ts": %d}`, time.Now().Unix()))
		got := map[string]any{}
		for _, r := range rows(m) {
			got[r["region_code"].(string)] = r["region_rdata"]
			if s, _ := r["serial"].(float64); s == 0 {
				t.Errorf("row without the zone serial: %v", r)
			}
		}
		want := map[string]any{
			"global":  []any{map[string]any{"rdata_a": map[string]any{"address": "192.0.2.20"}}},
			"EU West": []any{map[string]any{"rdata_a": map[string]any{"address": "192.0.2.30"}}},
		}
		if code != 200 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%d %v", code, m)
		}
	})

	t.Run("a GSLB create with the SDK's syslog defaults and no syslog_server", func(t *testing.T) {
		body := `{"contact_nickname":"ops","region":[{"region_code":"global","pool":[{"address":"192.0.2.5","label":"a","weight":3,"serve_mode":"obey"}],"serve_count":1}],"ttl":30,"syslog_port":514,"syslog_ident":"dynect","syslog_facility":"daemon","syslog_delivery":"change","monitor":{"protocol":"TCP","interval":1,"port":8080}}`
		code, m := dyn("POST", "GSLB/example.test/gnew.example.test/", body)
		if code != 200 || m["status"] != "success" {
			t.Fatalf("%d %v", code, m)
		}
		if _, ok := m["data"].(map[string]any)["syslog_port"]; ok {
			t.Fatalf("a syslog without server: %v", m["data"])
		}
		if got, err := d.lookup("udp", "gnew.example.test.", dns.TypeA); err != nil || got != "192.0.2.5" {
			t.Fatalf("served: %q %v", got, err)
		}
	})

	t.Run("a refused create names the file relatively, not the daemon's path", func(t *testing.T) {
		body := `{"region":[{"region_code":"global","pool":[{"address":"192.0.2.6","weight":3}],"serve_count":1}],"ttl":30,"syslog_server":"127.0.0.1","syslog_delivery":"sometimes","monitor":{"protocol":"TCP","interval":1,"port":8080}}`
		code, m := dyn("POST", "GSLB/example.test/gbad.example.test/", body)
		in := info(m)
		if code != 400 || !strings.Contains(in, "gbad.example.test.hcl.json:") || strings.Contains(in, d.dir) || strings.Contains(in, "/") {
			t.Fatalf("%d %q", code, in)
		}
	})

	t.Run("not found: no double dot after dyn-python adds its own", func(t *testing.T) {
		code, m := dyn("GET", "GSLB/example.test/nosuch.example.test/", `{}`)
		if in := info(m); code != 404 || strings.HasSuffix(in, ".") || !strings.Contains(in, "nosuch.example.test") {
			t.Fatalf("%d %q", code, in)
		}
	})

	t.Run("an operator action is a user row with the login's name", func(t *testing.T) {
		if code, m := dyn("PUT", "RTTM/example.test/rttm.example.test/", `{"deactivate": true}`); code != 200 {
			t.Fatalf("deactivate: %d %v", code, m)
		}
		code, m := dyn("POST", "RTTMLogReport/", fmt.Sprintf(`{"zone": "example.test", "fqdn": "rttm.example.test", "start_ts": %d, "end_ts": %d}`, start-1, time.Now().Unix()+1))
		var user []map[string]any
		for _, r := range rows(m) {
			for _, k := range []string{"serial", "change_ts", "change_type", "region_code", "region_status", "user_name", "serve_count", "rdata_type", "region_rdata"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("row without %s: %v", k, r)
				}
			}
			if r["change_type"] == "user" {
				user = append(user, r)
			}
		}
		if code != 200 || len(user) != 2 {
			t.Fatalf("want one user row per region: %d %v", code, m)
		}
		for _, r := range user {
			if r["user_name"] != "ops" || !strings.Contains(r["message"].(string), "deactivate") || len(r["region_rdata"].([]any)) == 0 {
				t.Fatalf("user row %v", r)
			}
		}
	})
}

func TestUltraDNSSurface_GoSDKPartialUpdate(t *testing.T) {
	health := newTarget(t, "127.0.0.1", "ok")
	d := startSDKDaemon(t, health.Port())
	base := "http://" + d.apiAddr
	resp, err := http.PostForm(base+"/v1/authorization/token", url.Values{"grant_type": {"password"}, "username": {"ops"}, "password": {compatToken}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	auth := map[string]string{"Authorization": "Bearer " + fmt.Sprint(tok["access_token"])}
	// The body PartialUpdate sends: no omitempty on the two descriptions.
	partial := func(state string) string {
		return `{"profile":{"@context":"http://schemas.ultradns.com/SFPool.jsonschema","poolDescription":"","liveRecordDescription":"","liveRecordState":"` + state + `"}}`
	}
	profile := func(owner string) map[string]any {
		t.Helper()
		code, v := sdkCall(t, "GET", base+"/v1/zones/example.test./rrsets/A/"+owner, auth, "")
		if code != 200 {
			t.Fatalf("read %s: %d %v", owner, code, v)
		}
		return v.(map[string]any)["rrSets"].([]any)[0].(map[string]any)["profile"].(map[string]any)
	}

	t.Run("forcing a pool from the files", func(t *testing.T) {
		if code, v := sdkCall(t, "PATCH", base+"/v1/zones/example.test./rrsets/A/sf.example.test.", auth, partial("FORCED_INACTIVE")); code != 200 {
			t.Fatalf("%d %v", code, v)
		}
		if got, err := d.lookup("udp", "sf.example.test.", dns.TypeA); err != nil || got != "192.0.2.41" {
			t.Fatalf("after force: %q %v", got, err)
		}
		if p := profile("sf"); p["poolDescription"] != "files pool" || p["liveRecordDescription"] != "files live" {
			t.Fatalf("%v", p)
		}
	})

	t.Run("an API-managed pool keeps its descriptions", func(t *testing.T) {
		pool := fmt.Sprintf(`{"ttl": 0, "rdata": ["192.0.2.60"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
  "poolDescription": "keepme", "liveRecordDescription": "live-keep", "liveRecordState": "NOT_FORCED",
  "monitor": {"method": "GET", "url": "http://127.0.0.1:%d/", "transmittedData": "", "searchString": ""},
  "backupRecord": {"rdata": "192.0.2.61", "description": "b"}}}`, health.Port())
		if code, v := sdkCall(t, "POST", base+"/v1/zones/example.test./rrsets/A/keep", auth, pool); code != 201 {
			t.Fatalf("create: %d %v", code, v)
		}
		if code, v := sdkCall(t, "PATCH", base+"/v1/zones/example.test./rrsets/A/keep.example.test.", auth, partial("FORCED_INACTIVE")); code != 200 {
			t.Fatalf("%d %v", code, v)
		}
		p := profile("keep")
		if p["poolDescription"] != "keepme" || p["liveRecordDescription"] != "live-keep" || p["liveRecordState"] != "FORCED_INACTIVE" {
			t.Fatalf("%v", p)
		}
		if got, err := d.lookup("udp", "keep.example.test.", dns.TypeA); err != nil || got != "192.0.2.61" {
			t.Fatalf("after force: %q %v", got, err)
		}
	})
}
