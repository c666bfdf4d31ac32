package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/internal/testutil"
)

// The Memset and UltraDNS surfaces against the real daemon: each change
// made through a product's API is checked through DNS.

const compatToken = "0123456789abcdef0123456789abcdef"

func startCompatDaemon(t *testing.T, healthPort int) *daemonProc {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(compatToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api {
  listen     = "{{API}}"
  token_file = %q
  compat {
    ultradns = true
    memset   = true
  }
}
zone "example.test" {}

cluster "web-cluster" {
  service "https" {
    fqdn     = "web.example.test."
    protocol = "tcp"
    ttl      = 0
    monitor {
      protocol = "NONE"
      interval = "1m"
    }
    real_service "web1" {
      ip_address = "192.0.2.51"
      port       = 443
    }
    real_service "web2" {
      ip_address = "192.0.2.52"
      port       = 443
    }
  }
}

sf_pool "files-pool.example.test." {
  rdata = "192.0.2.40"
  monitor { url = "http://127.0.0.1:%d/" }
  backup_record { rdata = "192.0.2.41" }
}
`, tokenFile, healthPort))
}

func TestMemsetSurface_CurlDisablesARealServiceInDNS(t *testing.T) {
	curl := testutil.RequireTool(t, "curl", "curl")
	health := newTarget(t, "127.0.0.1", "ok")
	d := startCompatDaemon(t, health.Port())
	d.waitAnswer("web.example.test.", dns.TypeA, "192.0.2.51,192.0.2.52", 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "--user", compatToken+":x",
		"-d", "cluster_name=web-cluster", "-d", "service_name=https", "-d", "server_name=web1",
		"http://"+d.apiAddr+"/v1/json/cluster.real_service.disable/").Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	var job map[string]any
	if err := json.Unmarshal(out, &job); err != nil || job["type"] != "CLUSTER-REAL-SERVICE-DISABLE" || len(job["id"].(string)) != 32 {
		t.Fatalf("answer %s (%v)", out, err)
	}
	// Served before the call answered: one query.
	if got, err := d.lookup("udp", "web.example.test.", dns.TypeA); err != nil || got != "192.0.2.52" {
		t.Fatalf("after disable: %q %v", got, err)
	}
	out, _ = exec.CommandContext(ctx, curl, "-sS", "--user", "ffffffffffffffffffffffffffffffff:x",
		"http://"+d.apiAddr+"/v1/json/cluster.real_service.enable/?cluster_name=web-cluster&service_name=https&server_name=web1").Output()
	if !strings.Contains(string(out), `"error_code":4`) {
		t.Fatalf("a wrong key: %s", out)
	}
	if got, _ := d.lookup("udp", "web.example.test.", dns.TypeA); got != "192.0.2.52" {
		t.Fatalf("a refused call changed DNS: %q", got)
	}
}

func TestUltraDNSSurface_SFPoolCreatedForcedAndDeleted(t *testing.T) {
	health := newTarget(t, "127.0.0.1", "ok")
	d := startCompatDaemon(t, health.Port())
	base := "http://" + d.apiAddr
	resp, err := http.PostForm(base+"/v1/authorization/token", url.Values{"grant_type": {"password"}, "username": {"ops"}, "password": {compatToken}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	access, _ := tok["accessToken"].(string)
	if resp.StatusCode != 200 || access == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	pool := fmt.Sprintf(`{"ttl": 0, "rdata": ["192.0.2.60"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
  "poolDescription": "p", "liveRecordDescription": "l", "liveRecordState": "NOT_FORCED", "regionFailureSensitivity": "HIGH",
  "monitor": {"method": "GET", "url": "http://127.0.0.1:%d/", "transmittedData": "", "searchString": ""},
  "backupRecord": {"rdata": "192.0.2.61", "description": "b"}}}`, health.Port())
	if code, body := call("POST", "/v1/zones/example.test./rrsets/A/new", pool); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if got, err := d.lookup("udp", "new.example.test.", dns.TypeA); err != nil || got != "192.0.2.60" {
		t.Fatalf("after create: %q %v", got, err)
	}
	if code, body := call("PATCH", "/zones/example.test/rrsets/A/new.example.test.", `{"profile": {"liveRecordState": "FORCED_INACTIVE"}}`); code != 200 {
		t.Fatalf("force: %d %s", code, body)
	}
	if got, err := d.lookup("udp", "new.example.test.", dns.TypeA); err != nil || got != "192.0.2.61" {
		t.Fatalf("after force: %q %v", got, err)
	}
	code, body := call("GET", "/v1/zones/example.test/rrsets/A/new", "")
	if code != 200 || !strings.Contains(body, `"liveRecordState":"FORCED_INACTIVE"`) || !strings.Contains(body, `"rrtype":"A (1)"`) {
		t.Fatalf("read: %d %s", code, body)
	}
	code, body = call("GET", "/v1/zones/example.test/rrsets/A/files-pool", "")
	if want := fmt.Sprintf(`"url":"http://127.0.0.1:%d/"`, health.Port()); code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `"backupRecord":{"description":"","rdata":"192.0.2.41"}`) {
		t.Fatalf("a pool from the files reads back from its block: %d %s", code, body)
	}
	if code, body := call("PUT", "/v1/zones/example.test/rrsets/A/files-pool", `{"ttl": 1, "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema"}}`); code != 400 || !strings.Contains(body, "400001") {
		t.Fatalf("changing a pool from the files: %d %s", code, body)
	}
	if code, body := call("PUT", "/v1/zones/example.test/rrsets/A/new", strings.Replace(pool, `"rdata": ["192.0.2.60"]`, `"rdata": ["192.0.2.300"]`, 1)); code != 400 || !strings.Contains(body, "400001") {
		t.Fatalf("an invalid address: %d %s", code, body)
	}
	if code, body := call("DELETE", "/v1/zones/example.test/rrsets/A/new", ""); code != 204 || body != "" {
		t.Fatalf("delete: %d %q", code, body)
	}
	r, err := query(d.dnsAddr, "udp", "new.example.test.", dns.TypeA, dns.ClassINET)
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Fatalf("after delete: %v %v", r, err)
	}
}
