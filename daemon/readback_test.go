package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/failoverd/failoverd/config"
)

// The read-back is every setting as configured, with the configuration's
// names and defaults filled in, and no secret.
func TestServiceConfig_EverySettingNoSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "failoverd.hcl")
	src := header(dir) + `
contact "ops" { email = ["ops@example.test"] }
zone "example.test" {}
gslb "app.example.test." {
  ttl              = 5
  notify_events    = ["ip", "svc"]
  contact_nickname = "ops"
  monitor {
    protocol        = "HTTPS"
    interval        = "10s"
    path            = "/health"
    header          = "Authorization: Bearer s3cret\nX-Env: prod"
    tls_skip_verify = true
  }
  region "US East" {
    serve_count   = 2
    failover_mode = "region"
    failover_data = "global"
    pool "192.0.2.10" {
      label      = "use-1"
      weight     = 5
      serve_mode = "remove"
    }
  }
  region "global" {
    pool "192.0.2.20" {}
  }
}
sf_pool "a.example.test." {
  rdata                   = "192.0.2.40"
  pool_description        = "web front"
  live_record_description = "the live one"
  monitor {
    url = "https://probe:hunter2@192.0.2.40/health"
  }
  backup_record {
    rdata       = "192.0.2.41"
    description = "sorry server"
  }
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		fqdn string
		want []string // substrings of the JSON read-back
	}{
		{"app.example.test.", []string{
			`"ttl":5`, `"notify_events":["ip","svc"]`, `"contact_nickname":"ops"`, `"contact":{"email":["ops@example.test"],"name":"ops"}`,
			`"active":true`, `"auto_recover":true`, `"recovery_delay":0`,
			`"protocol":"HTTPS"`, `"interval":"10s"`, `"path":"/health"`, `"tls_skip_verify":true`, `"retries":1`, `"port":443`,
			`"X-Env: prod"`, `"Authorization: (secret, not shown)"`,
			`"US East":{`, `"serve_count":2`, `"failover_mode":"region"`, `"failover_data":"global"`, `"min_healthy":1`,
			`"192.0.2.10":{"label":"use-1","serve_mode":"remove","weight":5}`, `"192.0.2.20":{"label":"","serve_mode":"obey","weight":1}`,
		}},
		{"a.example.test.", []string{
			`"pool_description":"web front"`, `"live_record_description":"the live one"`, `"rrtype":"A"`,
			`"backup_record":{"description":"sorry server","rdata":"192.0.2.41"}`, `"url":"https://probe:xxxxx@192.0.2.40/health"`,
			`"region_failure_sensitivity":"HIGH"`, `"live_record_state":"NOT_FORCED"`,
		}},
	}
	for _, tc := range tests {
		b, err := json.Marshal(serviceConfig(cfg, tc.fqdn))
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: read-back lacks %s:\n%s", tc.fqdn, w, got)
			}
		}
		for _, secret := range []string{"s3cret", "hunter2", "DefRange", "Range"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s: read-back shows %q:\n%s", tc.fqdn, secret, got)
			}
		}
	}
	if serviceConfig(cfg, "nope.example.test.") != nil {
		t.Error("read-back of a name that is no service")
	}
}
