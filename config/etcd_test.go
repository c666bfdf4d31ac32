package config

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const etcdEndpoints = "etcd {\n  endpoints = [\"http://127.0.0.1:2379\"]\n"

func etcdBlock(attrs string) string { return etcdEndpoints + attrs + "}\n" }

// etcdRuleCases check the rules of the etcd block.
var etcdRuleCases = []ruleCase{
	{"etcd_endpoints_required", etcdBlock(""), "etcd " + marker + "{\n  prefix = \"/f/\"\n}\n", "Missing required argument"},
	{"etcd_endpoints_not_empty", etcdBlock(""), "etcd {\n  endpoints = " + marker + "[]\n}\n", "Missing etcd endpoints"},
	{"etcd_endpoint_url", "etcd {\n  endpoints = [\"http://127.0.0.1:2379\", \"https://[::1]:2379\"]\n}\n", "etcd {\n  endpoints = [\"http://127.0.0.1:2379\", " + marker + "\"127.0.0.1:2379\"]\n}\n", "Invalid etcd endpoint"},
	{"etcd_endpoint_scheme", etcdBlock(""), "etcd {\n  endpoints = [" + marker + "\"unix:///run/etcd.sock\"]\n}\n", "Invalid etcd endpoint"},
	{"etcd_prefix_slashes", etcdBlock("  prefix = \"/dns/failoverd/\"\n"), etcdBlock("  prefix = " + marker + "\"failoverd\"\n"), "Invalid prefix"},
	{"etcd_lease_ttl_duration", etcdBlock("  lease_ttl = \"10s\"\n"), etcdBlock("  lease_ttl = " + marker + "\"5 seconds\"\n"), "Invalid lease_ttl"},
	{"etcd_lease_ttl_at_least_2s", etcdBlock("  lease_ttl = \"2s\"\n"), etcdBlock("  lease_ttl = " + marker + "\"1500ms\"\n"), "Invalid lease_ttl"},
	{"etcd_dial_timeout_positive", etcdBlock("  dial_timeout = \"500ms\"\n"), etcdBlock("  dial_timeout = " + marker + "\"0s\"\n"), "Invalid dial_timeout"},
	{"etcd_quorum_words", etcdBlock("  quorum = \"all\"\n"), etcdBlock("  quorum = " + marker + "\"most\"\n"), "Invalid quorum"},
	{"etcd_quorum_number_at_least_1", etcdBlock("  quorum = 2\n"), etcdBlock("  quorum = " + marker + "0\n"), "Invalid quorum"},
	{"etcd_quorum_decimal_string", etcdBlock("  quorum = \"3\"\n"), etcdBlock("  quorum = " + marker + "\"1.5\"\n"), "Invalid quorum"},
	{"etcd_on_partition", etcdBlock("  on_partition = \"freeze\"\n"), etcdBlock("  on_partition = " + marker + "\"stop\"\n"), "Invalid on_partition"},
	{"etcd_tls_files_readable", etcdBlock("  ca_file = \"ca.pem\"\n  cert_file = \"cert.pem\"\n  key_file = \"key.pem\"\n"), etcdBlock("  ca_file = " + marker + "\"missing.pem\"\n"), "Cannot read ca_file"},
	{"etcd_tls_files_regular", etcdBlock("  ca_file = \"ca.pem\"\n"), etcdBlock("  ca_file = " + marker + "\"/dev/zero\"\n"), "Not a regular file"},
	{"etcd_cert_needs_key", etcdBlock("  cert_file = \"cert.pem\"\n  key_file = \"key.pem\"\n"), etcdBlock("  cert_file = " + marker + "\"cert.pem\"\n"), "Missing key_file"},
	{"etcd_key_needs_cert", etcdBlock("  cert_file = \"cert.pem\"\n  key_file = \"key.pem\"\n"), etcdBlock("  key_file = " + marker + "\"key.pem\"\n"), "Missing cert_file"},
	{"etcd_password_file_readable", etcdBlock("  username = \"failoverd\"\n  password_file = \"password\"\n"), etcdBlock("  username = \"failoverd\"\n  password_file = " + marker + "\"nopassword\"\n"), "Cannot read password_file"},
	{"etcd_password_needs_username", etcdBlock("  username = \"failoverd\"\n  password_file = \"password\"\n"), etcdBlock("  password_file = " + marker + "\"password\"\n"), "Missing username"},
	{"etcd_one_block", etcdBlock(""), etcdBlock("") + marker + etcdBlock(""), "Duplicate etcd block"},
}

func init() {
	tls := map[string]string{"ca.pem": testCert, "cert.pem": testCert, "key.pem": testKey, "password": "pw\n"}
	for _, c := range etcdRuleCases {
		ruleFiles[c.name] = tls
	}
}

func TestEtcdRules(t *testing.T) {
	for _, tc := range etcdRuleCases {
		if slices.ContainsFunc(ruleCases, func(c ruleCase) bool { return c.name == tc.name }) {
			t.Fatalf("case %s is also in ruleCases", tc.name)
		}
		t.Run(tc.name+"/good", func(t *testing.T) {
			_, cfg, out := loadCase(t, tc.name, tc.good)
			if out != "" || cfg == nil {
				t.Fatalf("want no diagnostics for:\n%s\ngot:\n%s", tc.good, out)
			}
		})
		t.Run(tc.name+"/bad", func(t *testing.T) {
			src, line, col := position(t, tc.bad)
			path, cfg, out := loadCase(t, tc.name, src)
			if cfg != nil {
				t.Errorf("config returned despite errors")
			}
			want := path + ":" + itoa(line) + ":" + itoa(col) + ": error: " + tc.summary + "\n"
			if !strings.HasPrefix(out, want) {
				t.Fatalf("source:\n%s\nwant first line %q\ngot:\n%s", src, want, out)
			}
			if n := strings.Count(out, ": error: "); n != 1 {
				t.Errorf("want exactly one error, got %d:\n%s", n, out)
			}
		})
	}
}

func TestEtcdDefaultsAndValues(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Etcd
	}{
		{"defaults", etcdBlock(""), Etcd{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "/failoverd/",
			LeaseTTL: 5 * time.Second, DialTimeout: 2 * time.Second, Quorum: "majority", OnPartition: "local"}},
		{"every_attribute", etcdBlock("  prefix = \"/x/\"\n  lease_ttl = \"3s\"\n  dial_timeout = \"1s\"\n  quorum = 2\n  on_partition = \"freeze\"\n  username = \"u\"\n"),
			Etcd{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "/x/", LeaseTTL: 3 * time.Second,
				DialTimeout: time.Second, Quorum: "2", OnPartition: "freeze", Username: "u"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, cfg, out := loadCase(t, "etcd_values", tc.src)
			if cfg == nil {
				t.Fatalf("diagnostics:\n%s", out)
			}
			got := *cfg.Etcd
			if !slices.Equal(got.Endpoints, tc.want.Endpoints) || got.Prefix != tc.want.Prefix || got.LeaseTTL != tc.want.LeaseTTL ||
				got.DialTimeout != tc.want.DialTimeout || got.Quorum != tc.want.Quorum || got.OnPartition != tc.want.OnPartition ||
				got.Username != tc.want.Username {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEtcdAbsentIsSingleNode(t *testing.T) {
	_, cfg, out := loadCase(t, "no_etcd", "server {}\n")
	if cfg == nil {
		t.Fatal(out)
	}
	if cfg.Etcd != nil {
		t.Errorf("Etcd = %+v without an etcd block, want nil", cfg.Etcd)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestMultiSiteExamplesLoadWithoutDiagnostics(t *testing.T) {
	paths, err := filepath.Glob("../examples/multi-site/*.hcl")
	if err != nil || len(paths) != 3 {
		t.Fatalf("want the three site files, got %v (%v)", paths, err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, files, diags := Load(p)
			if len(diags) > 0 {
				t.Fatalf("diagnostics:\n%s", render(t, files, diags))
			}
			if cfg.Etcd == nil || cfg.Etcd.Quorum != "majority" {
				t.Fatalf("etcd block: %+v", cfg.Etcd)
			}
		})
	}
}
