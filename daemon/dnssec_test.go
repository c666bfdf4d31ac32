package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/dnsserver"
)

const signedConfig = `
zone "example.test" {
  dnssec {
    signature_lifetime = "15s"
  }
}
active_failover "app.example.test." {
  address       = "192.0.2.10"
  failover_data = "192.0.2.11"
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
`

// doAnswer queries name with DO and returns the reply.
func (td *testDaemon) doAnswer(name string, qtype uint16) *dns.Msg {
	td.t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, true)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(m, td.dnsAddr)
	if err != nil {
		td.t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func TestDNSSEC_KeyIsGeneratedIntoTheStateDirectoryAndServed(t *testing.T) {
	td := startTestDaemon(t, signedConfig)
	dir := filepath.Join(filepath.Dir(td.path), "state", "dnssec")
	stored, err := dnsserver.FindKey(dir, "example.test.", "ECDSAP256SHA256")
	if err != nil {
		t.Fatalf("no key kept in the state directory: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, stored.BaseName()+".private"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", st.Mode().Perm())
	}
	r := td.doAnswer("example.test.", dns.TypeDNSKEY)
	var served *dns.DNSKEY
	var sig *dns.RRSIG
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.DNSKEY:
			served = v
		case *dns.RRSIG:
			sig = v
		}
	}
	if served == nil || served.PublicKey != stored.DNSKEY.PublicKey || served.Flags != 257 {
		t.Fatalf("served DNSKEY %v, want the stored CSK %v", served, stored.DNSKEY)
	}
	if sig == nil || sig.Verify(served, []dns.RR{served}) != nil {
		t.Errorf("DNSKEY RRset not signed by its key: %v", sig)
	}

	// The API gives the key's DS, and never the private key.
	cl := api.NewClient("http://"+td.apiAddr, "")
	info, err := cl.ZoneDNSSEC(context.Background(), "example.test.")
	if err != nil {
		t.Fatal(err)
	}
	wantDS := strings.ReplaceAll(stored.DS().String(), "\t", " ")
	if info.KeyTag != stored.Tag() || len(info.DS) != 1 || info.DS[0] != wantDS || info.Algorithm != "ECDSAP256SHA256" {
		t.Errorf("GET /v1/zones/example.test./dnssec = %+v, want DS %q", info, wantDS)
	}

	zones, err := cl.Zones(context.Background())
	if err != nil || len(zones) != 1 || !zones[0].Signed {
		t.Errorf("GET /v1/zones = %+v, %v: want example.test. signed", zones, err)
	}

	// A second start with the same state directory uses the same key.
	ks := newStateDirKeys(filepath.Join(filepath.Dir(td.path), "state"))
	again, created, err := ks.Key("example.test.", "ECDSAP256SHA256")
	if err != nil || created || again.Tag() != stored.Tag() {
		t.Errorf("second Key: tag %v created %v err %v, want the stored key %d", again, created, err, stored.Tag())
	}
}

func TestDNSSEC_RefreshMovesTheSerialAndRenewsSignatures(t *testing.T) {
	td := startTestDaemon(t, signedConfig)
	s0 := soaSerial(t, td)
	sigOf := func() *dns.RRSIG {
		for _, rr := range td.doAnswer("app.example.test.", dns.TypeA).Answer {
			if s, ok := rr.(*dns.RRSIG); ok {
				return s
			}
		}
		t.Fatal("answer not signed")
		return nil
	}
	before := sigOf()
	pub := td.d.loop.pub
	var refreshedEarly, refreshed bool
	if err := td.d.loop.call(context.Background(), func() error {
		now := time.Now()
		refreshedEarly = pub.refreshSignatures(now.Add(5 * time.Second))
		refreshed = pub.refreshSignatures(now.Add(11 * time.Second))
		pub.publish(now.Add(11*time.Second), []string{}, td.d.loop.engine)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if refreshedEarly {
		t.Error("refreshed with more than a third of the lifetime left")
	}
	if !refreshed {
		t.Fatal("not refreshed with a third of the lifetime left")
	}
	if s := soaSerial(t, td); s <= s0 {
		t.Errorf("serial %d after the refresh, was %d: it must move", s, s0)
	}
	after := sigOf()
	if after.Expiration <= before.Expiration {
		t.Errorf("expiration %d after the refresh, was %d", after.Expiration, before.Expiration)
	}
}

func TestCheck_DNSSECDiagnostics(t *testing.T) {
	dir := t.TempDir()
	key, err := dnsserver.GenerateKey("example.test.", "ED25519")
	if err != nil {
		t.Fatal(err)
	}
	keyPath, err := key.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := dnsserver.GenerateKey("example.org.", "ECDSAP256SHA256")
	otherPath, err := other.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	zoneFile := filepath.Join(dir, "signed.zone")
	os.WriteFile(zoneFile, []byte("$ORIGIN example.test.\n@ 3600 IN SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\nns NSEC @ A RRSIG NSEC\n"), 0o644)
	cases := []struct {
		name, zone, extra, summary string
	}{
		{"key_file_missing", `dnssec { key_file = "` + filepath.Join(dir, "Knone.key") + `" }`, "", "Unreadable key_file"},
		{"key_file_of_another_zone", `dnssec { key_file = "` + otherPath + `" }`, "", "Unusable key_file"},
		{"key_file_of_another_algorithm", `dnssec {
    algorithm = "ECDSAP256SHA256"
    key_file  = "` + keyPath + `"
  }`, "", "Key algorithm mismatch"},
		{"zone_with_its_own_NSEC_records", `file = "` + zoneFile + `"
  dnssec {}`, "", "Zone cannot be signed"},
		{"CNAME_service_at_the_apex", `dnssec {}`, `active_failover "example.test." {
  address       = "192.0.2.10"
  failover_mode = "cname"
  failover_data = "backup.example.net."
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
`, "Zone cannot be signed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "failoverd.hcl")
			body := header(filepath.Dir(path)) + "zone \"example.test\" {\n  " + tc.zone + "\n}\n" + tc.extra
			os.WriteFile(path, []byte(body), 0o644)
			cfg, _, diags := config.Load(path)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			diags = Check(cfg)
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
			}
			if len(got) != 1 || got[0] != tc.summary {
				t.Errorf("diagnostics %q, want one %q:\n%v", got, tc.summary, diags)
			}
		})
	}
	t.Run("a_good_key_file_is_used", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "failoverd.hcl")
		body := header(filepath.Dir(path)) + "zone \"example.test\" {\n  dnssec { key_file = \"" + keyPath + "\" }\n}\n"
		os.WriteFile(path, []byte(body), 0o644)
		cfg, _, diags := config.Load(path)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p := prepared(t, cfg)
		if err := loadKeys(cfg, p.plan, newStateDirKeys(t.TempDir()), zap.NewNop()); err != nil {
			t.Fatal(err)
		}
		if k := p.plan.keys["example.test."]; k == nil || k.Tag() != key.Tag() {
			t.Errorf("zone key %v, want the key_file's %d", k, key.Tag())
		}
	})
}
