package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// decodeEdgeCases are bodies that exercise every way decoding can fail:
// wrong types, nulls, unknowns, variables, functions, ranges and label
// counts, next to what the rule and golden tests already cover.
var decodeEdgeCases = []string{
	`zone "a.example" { ttl = "abc" }`,
	`zone "a.example" { ttl = 2.5 }`,
	`zone "a.example" { ttl = 1e30 }`,
	`zone "a.example" { ttl = null }`,
	`zone "a.example" { ttl = var.x }`,
	`zone "a.example" { ttl = max(1, 2) }`,
	`zone "a.example" { ttl = true }`,
	`zone "a.example" { ttl = "30" }`,
	`zone "a.example" { ns = "x" }`,
	`zone "a.example" { ns = [1, true, "x"] }`,
	`zone "a.example" { ns = ["a", null] }`,
	`zone "a.example" { ns = ["a", ["b"]] }`,
	`zone "a.example" { ns = null }`,
	`zone "a.example" { ns = [] }`,
	`zone "a.example" { ns = {a = "b"} }`,
	`zone "a.example" { file = "${x}.zone" }`,
	`zone "a.example" { file = 12 }`,
	`zone "a.example" "b" {}`,
	`zone {}`,
	"zone \"a.example\" {\n  record \"www\" {}\n}",
	"zone \"a.example\" {\n  record \"www\" {\n    type = \"A\"\n    rdata = null\n  }\n}",
	"zone \"a.example\" {\n  record \"www\" {\n    type = \"A\"\n    rdata = [\"192.0.2.1\"]\n    ttl = -1\n  }\n}",
	`dns { listen = "127.0.0.1:53" }`,
	`dns { ecs = "yes" }`,
	`dns { ecs = "true" }`,
	`dns { ecs = 1 }`,
	`dns { region_map = { a = "x" } }`,
	`dns { region_map = 5 }`,
	`dns { region_map = { a = ["x"], b = null } }`,
	`dns { region_map = { (x) = ["y"] } }`,
	"dns {\n  transfer {\n    allow = [\"::1\"]\n  }\n  transfer {}\n}",
	`contact "c" { email = null }`,
	`contact "c" {}`,
	"contact \"c\" {\n  email = [\"a@example.net\"]\n  email2 = 1\n}",
	`smtp {}`,
	"smtp {\n  server = null\n  from = 1\n}",
	"cluster \"c\" {\n  service \"s\" {\n    fqdn = \"w.example.com.\"\n    real_service \"r\" {\n      ip_address = \"192.0.2.1\"\n      port = null\n    }\n  }\n}",
	"cluster \"c\" {\n  service \"s\" {\n    fqdn = \"w.example.com.\"\n    real_service \"r\" {\n      ip_address = \"192.0.2.1\"\n      port = 70000.5\n      weight = \"2\"\n      enabled = \"false\"\n    }\n  }\n}",
	"cluster \"c\" {\n  service \"s\" {\n    real_service \"r\" {}\n    real_service {}\n  }\n}",
	"gslb \"g.example.com.\" {\n  monitor {\n    protocol = 1\n    interval = 10\n    tls_skip_verify = \"x\"\n    port = -1\n  }\n  region \"global\" {\n    pool \"192.0.2.1\" {\n      weight = 2\n      label = [\"x\"]\n    }\n    pool \"192.0.2.2\" \"x\" {}\n  }\n}",
	"rttm \"r.example.com.\" {\n  performance_monitor {}\n  region \"r\" {\n    ep = \"x\"\n    autopopulate = 1\n  }\n}",
	"sf_pool \"p.example.com.\" {\n  rdata = [\"x\"]\n  backup_record {}\n  monitor {\n    url = \"http://x/\"\n    retries = 1.5\n  }\n}",
	"active_failover \"a.example.com.\" {\n  address = 1\n  notify_events = \"ip\"\n  syslog {\n    port = \"514\"\n  }\n}",
	"server {\n  hostname = [\"a\"]\n  log_level = null\n}",
	"api {\n  listen = 8053\n  token_file = true\n}",
	// Lists and maps of lists, converted without cty's quadratic
	// unification when every element already has the element type, and
	// by cty otherwise.
	`zone "a.example" { ns = ["a", "b", "c"] }`,
	`zone "a.example" { ns = ["a", 2, "c"] }`,
	`zone "a.example" { ns = ["a", "${"b"}"] }`,
	`dns { region_map = { a = ["x", "y"], "b c" = ["z"] } }`,
	`dns { region_map = { a = ["x"], b = [] } }`,
	`dns { region_map = { a = ["x"], b = ["y", 1] } }`,
	`dns { region_map = { a = ["x"], b = "y" } }`,
	`dns { region_map = {} }`,
	`contact "c" { email = ["a@example.net", null] }`,
	"zone \"a.example\" { ns = [" + strings.Repeat("\"n.example.\", ", 2000) + "] }",
}

// TestDecodeMatchesGohcl checks that the decoder fills the raw structs and
// reports diagnostics exactly as gohcl.DecodeBody does, for the examples,
// the invalid configurations, every rule case and the edge cases above.
func TestDecodeMatchesGohcl(t *testing.T) {
	srcs := map[string]string{}
	paths, _ := filepath.Glob("../examples/*.hcl")
	more, _ := filepath.Glob("testdata/invalid/*.hcl")
	merged, _ := filepath.Glob("testdata/invalid/*/*.hcl")
	for _, p := range slices.Concat(paths, more, merged) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs[p] = string(b)
	}
	if len(srcs) < 10 {
		t.Fatalf("only %d files found", len(srcs))
	}
	for _, tc := range ruleCases {
		srcs["rule "+tc.name+"/good"] = tc.good
		srcs["rule "+tc.name+"/bad"] = strings.Replace(tc.bad, marker, "", 1)
	}
	for i, src := range decodeEdgeCases {
		srcs[fmt.Sprintf("edge %d", i)] = src
	}
	dec := newDecoder()
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				return // Load decodes only files that parse
			}
			var want, got rawFile
			wantDiags := gohcl.DecodeBody(f.Body, nil, &want)
			gotDiags := dec.decodeFile(f.Body, &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded value differs:\ngot  %#v\nwant %#v", got, want)
			}
			// gohcl walks attributes and blocks in map order, so only the
			// set of diagnostics is comparable; Load sorts them.
			g, w := diagStrings(gotDiags), diagStrings(wantDiags)
			if !slices.Equal(g, w) {
				t.Errorf("diagnostics differ:\ngot  %q\nwant %q", g, w)
			}
		})
	}
}

// diagStrings renders every field of each diagnostic, sorted.
func diagStrings(diags hcl.Diagnostics) []string {
	out := make([]string, len(diags))
	for i, d := range diags {
		out[i] = fmt.Sprintf("%d|%s|%s|%v|%v", d.Severity, d.Summary, d.Detail, d.Subject, d.Context)
	}
	slices.Sort(out)
	return out
}
