package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned returns a new certificate and its key, PEM-encoded.
func selfSigned() (certPEM, keyPEM string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "failoverd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

var (
	testCert, testKey = selfSigned()
	_, otherKey       = selfSigned()
)

const xfrSecret = "c2VjcmV0IG9mIGF0IGxlYXN0IDMyIGJ5dGVzIGZvciBobWFj"

func tsigKey(attrs string) string { return "tsig_key \"xfr\" {\n" + attrs + "}\n" }

func apiTLS(attrs string) string { return "api {\n" + attrs + "}\n" }

func transferTSIG(name string) string {
	return tsigKey("  secret = \""+xfrSecret+"\"\n") + "dns {\n  transfer {\n    allow = [\"127.0.0.0/8\"]\n    tsig  = " + name + "\n  }\n}\n"
}

// ruleFiles are files written next to the configuration of a rule case,
// by case name (both its good and bad configurations).
var ruleFiles = map[string]map[string]string{
	"api_listen_non_loopback_needs_token": {"token": "s3cret\n"},
	"tsig_secret_file_base64":             {"good.key": xfrSecret + "\n", "bad.key": "not base64!\n"},
	"tsig_secret_file_readable":           {"good.key": xfrSecret},
	"api_tls_pair_loads":                  {"cert.pem": testCert, "key.pem": testKey, "other.pem": otherKey},
	"api_tls_files_readable":              {"cert.pem": testCert, "key.pem": testKey},
	"zone_file_readable":                  {"example.net.zone": "www 60 IN A 192.0.2.80\n"},
	"token_file_not_empty":                {"token": "s3cret\n", "empty": " \n"},
	"password_file_readable":              {"password": "pw\n"},
	"zone_file_regular":                   {"example.net.zone": "www 60 IN A 192.0.2.80\n"},
	"token_file_regular":                  {"token": "s3cret\n"},
}

const smtpBlock = "smtp {\n  server = \"127.0.0.1\"\n  from   = \"f@example.net\"\n"

// attributeRuleCases check the rules of dns.rrl, dns.cookies,
// dns.hide_identity, tsig_key, dns.transfer.tsig, api.tls_*,
// server.probe_source, monitor.watch and the files a configuration names.
var attributeRuleCases = []ruleCase{
	{"rrl_responses_per_second_required", rrl("    responses_per_second = 5\n"), "dns {\n  rrl " + marker + "{\n    slip = 1\n  }\n}\n", "Missing required argument"},
	{"rrl_exempt_prefix", rps("    exempt = [\"192.0.2.0/24\", \"2001:db8::/32\", \"198.51.100.7\"]\n"), rps("    exempt = [\"192.0.2.0/24\", " + marker + "\"192.0.2.0/33\"]\n"), "Invalid prefix"},
	{"rrl_one_block", rps(""), "dns {\n  rrl {\n    responses_per_second = 1\n  }\n  " + marker + "rrl {\n    responses_per_second = 2\n  }\n}\n", "Duplicate rrl block"},
	{"dns_cookies_bool", "dns {\n  cookies = false\n  hide_identity = true\n}\n", "dns {\n  cookies = \"" + marker + "maybe\"\n}\n", "Unsuitable value type"},

	{"tsig_algorithm", tsigKey("  algorithm = \"hmac-sha512\"\n  secret = \"" + xfrSecret + "\"\n"), tsigKey("  algorithm = " + marker + "\"hmac-md5\"\n  secret = \"" + xfrSecret + "\"\n"), "Invalid algorithm"},
	{"tsig_secret_base64", tsigKey("  secret = \"" + xfrSecret + "\"\n"), tsigKey("  secret = " + marker + "\"not base64!\"\n"), "Invalid secret"},
	{"tsig_secret_or_file_not_both", tsigKey("  secret = \"" + xfrSecret + "\"\n"), tsigKey("  secret = \"" + xfrSecret + "\"\n  " + marker + "secret_file = \"x.key\"\n"), "Both secret and secret_file"},
	{"tsig_secret_required", tsigKey("  secret = \"" + xfrSecret + "\"\n"), marker + tsigKey("  algorithm = \"hmac-sha1\"\n"), "Missing TSIG secret"},
	{"tsig_secret_file_base64", tsigKey("  secret_file = \"good.key\"\n"), tsigKey("  secret_file = " + marker + "\"bad.key\"\n"), "Invalid secret_file"},
	{"tsig_secret_file_readable", tsigKey("  secret_file = \"good.key\"\n"), tsigKey("  secret_file = " + marker + "\"missing.key\"\n"), "Cannot read secret_file"},
	{"tsig_key_name", tsigKey("  secret = \"" + xfrSecret + "\"\n"), strings.Replace(tsigKey("  secret = \""+xfrSecret+"\"\n"), `"xfr"`, marker+`"x fr"`, 1), "Invalid tsig_key name"},
	{"duplicate_tsig_key", tsigKey("  secret = \"" + xfrSecret + "\"\n"), tsigKey("  secret = \""+xfrSecret+"\"\n") + strings.Replace(tsigKey("  secret = \""+xfrSecret+"\"\n"), `"xfr"`, marker+`"XFR."`, 1), "Duplicate tsig_key"},
	{"transfer_tsig_names_a_key", transferTSIG(`"XFR."`), transferTSIG(marker + `"axfr"`), "Unknown TSIG key"},

	{"api_tls_both_or_neither_key", apiTLS("  tls_cert_file = \"\"\n  tls_key_file  = \"\"\n"), apiTLS("  tls_cert_file = " + marker + "\"cert.pem\"\n"), "Missing tls_key_file"},
	{"api_tls_both_or_neither_cert", apiTLS(""), apiTLS("  tls_key_file = " + marker + "\"key.pem\"\n"), "Missing tls_cert_file"},
	{"api_tls_pair_loads", apiTLS("  tls_cert_file = \"cert.pem\"\n  tls_key_file  = \"key.pem\"\n"), apiTLS("  tls_cert_file = " + marker + "\"cert.pem\"\n  tls_key_file  = \"other.pem\"\n"), "Invalid TLS certificate or key"},
	{"api_tls_files_readable", apiTLS("  tls_cert_file = \"cert.pem\"\n  tls_key_file  = \"key.pem\"\n"), apiTLS("  tls_cert_file = \"cert.pem\"\n  tls_key_file  = " + marker + "\"nokey.pem\"\n"), "Cannot read tls_key_file"},

	{"server_probe_source", `server { probe_source = "2001:db8::250" }`, `server { probe_source = ` + marker + `"192.0.2.300" }`, "Invalid probe_source"},
	{"monitor_watch_connection_protocols", afoMon("    protocol = \"SMTP\"\n    interval = \"10s\"\n    watch = true\n"), afoMon("    protocol = \"PING\"\n    interval = \"10s\"\n    " + marker + "watch = true\n"), "Attribute not used"},
	{"monitor_watch_false_anywhere", afoMon("    protocol = \"NONE\"\n    interval = \"10s\"\n    watch = false\n"), afoMon("    protocol = \"NONE\"\n    interval = \"10s\"\n    " + marker + "watch = true\n"), "Attribute not used"},

	{"zone_file_readable", `zone "example.net" { file = "example.net.zone" }`, `zone "example.net" { file = ` + marker + `"missing.zone" }`, "Cannot read zone file"},
	{"zone_file_regular", `zone "example.net" { file = "example.net.zone" }`, `zone "example.net" { file = ` + marker + `"/dev/zero" }`, "Not a regular file"},
	{"token_file_not_empty", apiTLS("  listen = \"0.0.0.0:8053\"\n  token_file = \"token\"\n"), apiTLS("  listen = \"0.0.0.0:8053\"\n  token_file = " + marker + "\"empty\"\n"), "Empty token file"},
	{"token_file_regular", apiTLS("  token_file = \"token\"\n"), apiTLS("  token_file = " + marker + "\"/dev/null\"\n"), "Not a regular file"},
	{"password_file_readable", smtpBlock + "  password_file = \"password\"\n}\n", smtpBlock + "  password_file = " + marker + "\"nopassword\"\n}\n", "Cannot read password_file"},
	{"geoip_database_regular", `dns { geoip_database = "" }`, `dns { geoip_database = ` + marker + `"/dev/zero" }`, "Not a regular file"},
}

// TestNewAttributesDecoded checks the defaults and the decoded values of
// the newer attributes.
func TestNewAttributesDecoded(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"a.hcl": `
server { probe_source = "::ffff:192.0.2.250" }
dns {
  transfer {
    allow = ["127.0.0.0/8"]
    tsig  = "Xfr"
  }
  rrl {
    responses_per_second = 20
    exempt = ["192.0.2.0/24"]
  }
}
tsig_key "xfr" { secret_file = "xfr.key" }
tsig_key "other.example.net." {
  algorithm = "hmac-sha512"
  secret    = "` + xfrSecret + `"
}
api {
  tls_cert_file = "cert.pem"
  tls_key_file  = "key.pem"
}
zone "example.com" {}
active_failover "www.example.com." {
  address       = "192.0.2.1"
  failover_data = "192.0.2.2"
  monitor {
    protocol = "HTTP"
    interval = "10s"
    watch    = true
  }
}
gslb "app.example.com." {
  monitor {
    protocol = "TCP"
    interval = "10s"
  }
  region "global" {
    pool "192.0.2.20" {}
  }
}
`,
		"xfr.key":  "  " + xfrSecret + "\n",
		"cert.pem": testCert,
		"key.pem":  testKey,
	})
	cfg, files, diags := Load(dir)
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", render(t, files, diags))
	}
	if want := netip.MustParseAddr("192.0.2.250"); cfg.Server.ProbeSource != want {
		t.Errorf("ProbeSource = %v, want %v", cfg.Server.ProbeSource, want)
	}
	if !cfg.DNS.Cookies || cfg.DNS.HideIdentity {
		t.Errorf("Cookies %v HideIdentity %v, want the defaults true and false", cfg.DNS.Cookies, cfg.DNS.HideIdentity)
	}
	r := cfg.DNS.RRL
	if r == nil || r.ResponsesPerSecond != 20 || r.Slip != 2 || r.IPv4Prefix != 24 || r.IPv6Prefix != 56 ||
		len(r.Exempt) != 1 || r.Exempt[0] != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("RRL = %+v", r)
	}
	if len(cfg.TSIGKeys) != 2 {
		t.Fatalf("TSIGKeys = %+v", cfg.TSIGKeys)
	}
	x, o := cfg.TSIGKeys[0], cfg.TSIGKeys[1]
	if x.Name != "xfr." || x.Algorithm != TSIGHmacSHA256 || x.Secret != xfrSecret {
		t.Errorf("key read from secret_file: %+v", x)
	}
	if o.Name != "other.example.net." || o.Algorithm != TSIGHmacSHA512 || o.Secret != xfrSecret {
		t.Errorf("inline key: %+v", o)
	}
	if cfg.DNS.Transfer.TSIG != x {
		t.Errorf("Transfer.TSIG = %+v, want the key xfr.", cfg.DNS.Transfer.TSIG)
	}
	if cfg.API.TLSCertFile != filepath.Join(dir, "cert.pem") || cfg.API.TLSKeyFile != filepath.Join(dir, "key.pem") {
		t.Errorf("API TLS files: %q %q", cfg.API.TLSCertFile, cfg.API.TLSKeyFile)
	}
	if !cfg.ActiveFailovers[0].Monitor.Watch || cfg.GSLBs[0].Monitor.Watch {
		t.Errorf("Watch: %v (set) %v (default)", cfg.ActiveFailovers[0].Monitor.Watch, cfg.GSLBs[0].Monitor.Watch)
	}

	// Without the optional blocks and attributes.
	cfg, files, diags = Load("../examples/quickstart.hcl")
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", render(t, files, diags))
	}
	if cfg.Server.ProbeSource.IsValid() || cfg.DNS.RRL != nil || !cfg.DNS.Cookies || cfg.DNS.HideIdentity ||
		len(cfg.TSIGKeys) != 0 || cfg.API.TLSCertFile != "" || cfg.API.TLSKeyFile != "" {
		t.Errorf("defaults: server %+v dns %+v keys %v api %+v", cfg.Server, cfg.DNS, cfg.TSIGKeys, cfg.API)
	}
}
