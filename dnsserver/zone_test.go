package dnsserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadZoneErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		file    string // zone file content; "" for none
		records []StaticRecord
		origin  string
		want    []string // substrings of the error
	}{
		{"BadRecordNamesFileAndLine", "$TTL 60\nok A 192.0.2.1\nbad A 300.1.1.1\n", nil, "", []string{"zone.db:3:"}},
		{"RecordOutsideZone", "www.example.org. 60 A 192.0.2.1\n", nil, "", []string{"outside the zone"}},
		{"SecondSOA", "@ 60 SOA a. b. 1 2 3 4 5\n@ 60 SOA a. b. 2 2 3 4 5\n", nil, "", []string{"second SOA"}},
		{"CNAMEAndOtherData", "x 60 CNAME y\nx 60 A 192.0.2.1\n", nil, "", []string{"CNAME and other data"}},
		{"MissingInclude", "$INCLUDE nothere.inc\n", nil, "", []string{"nothere.inc"}},
		{"InlineUnknownType", "", []StaticRecord{{Name: "x.example.com.", Type: "BOGUS", RData: []string{"1"}}}, "", []string{"record 1", "unknown type"}},
		{"InlineBadRData", "", []StaticRecord{{Name: "x.example.com.", Type: "A", RData: []string{"not-an-ip"}}}, "", []string{"record 1", "not-an-ip"}},
		{"InlineNewlineInjection", "", []StaticRecord{{Name: "x.example.com.", Type: "TXT", RData: []string{"\"a\"\ny A 192.0.2.1"}}}, "", []string{"newline"}},
		{"InlineOutsideZone", "", []StaticRecord{{Name: "x.example.org.", Type: "A", RData: []string{"192.0.2.1"}}}, "", []string{"outside the zone"}},
		{"BadOrigin", "", nil, "exa mple..com", []string{"not a domain name"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			zc := ZoneConfig{Origin: "example.com.", Records: tc.records, Hostname: "ns1.example.com."}
			if tc.origin != "" {
				zc.Origin = tc.origin
			}
			if tc.file != "" {
				zc.File = writeFile(t, filepath.Join(dir, string(rune('a'+i))), "zone.db", tc.file)
			}
			_, err := LoadZone(zc)
			if err == nil {
				t.Fatal("LoadZone succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadZoneSynthesizesSOAAndNS(t *testing.T) {
	zd := mustLoad(t, ZoneConfig{Origin: "Example.ORG", DefaultTTL: 120, Hostname: "ns9.example.net"})
	if zd.Origin() != "example.org." {
		t.Fatalf("origin %q", zd.Origin())
	}
	want := rrs(t,
		"example.org. 120 IN SOA ns9.example.net. hostmaster.example.org. 1 3600 600 1209600 60",
		"example.org. 120 IN NS ns9.example.net.",
	)
	if got := zd.Records(); !sameRRs(got, want) {
		t.Fatalf("records:\n%v\nwant:\n%v", got, want)
	}
}

func TestLoadZoneMergesFileAndInline(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sub/part.inc", "part A 192.0.2.3\n")
	file := writeFile(t, dir, "z.db", "$ORIGIN example.com.\nfrom-file A 192.0.2.1\n$INCLUDE sub/part.inc\n$TTL 77\nlater A 192.0.2.4\n")
	zd := mustLoad(t, ZoneConfig{
		Origin: "example.com.", File: file, DefaultTTL: 42, Hostname: "ns1.example.com.",
		NS:      []string{"ns1.example.com.", "ns2.example.com"},
		Records: []StaticRecord{{Name: "inline.example.com.", Type: "MX", RData: []string{"10 mail", "20 mail2.example.net."}}},
	})
	want := rrs(t,
		"example.com. 42 IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 1209600 60",
		"example.com. 42 IN NS ns1.example.com.",
		"example.com. 42 IN NS ns2.example.com.",
		"from-file.example.com. 42 IN A 192.0.2.1",
		"part.example.com. 42 IN A 192.0.2.3",
		"later.example.com. 77 IN A 192.0.2.4",
		"inline.example.com. 42 IN MX 10 mail.example.com.",
		"inline.example.com. 42 IN MX 20 mail2.example.net.",
	)
	if got := zd.Records(); !sameRRs(got, want) {
		t.Fatalf("records:\n%v\nwant:\n%v", got, want)
	}
	if zd.Records()[0].Header().Rrtype != dns.TypeSOA {
		t.Fatal("SOA not first")
	}
}
