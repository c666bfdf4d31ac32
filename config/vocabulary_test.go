package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestVocabulary_NamesWhatTheDecoderAccepts(t *testing.T) {
	vocab := Vocabulary()
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"server", true},
		{"server.hostname", true},
		{"dns.transfer.allow", true},
		{"zone.record.rdata", true},
		{"gslb.region.pool.weight", true},
		{"rttm.performance_monitor.interval", true},
		{"sf_pool.backup_record.description", true},
		{"cluster.service.real_service.fallback", true},
		{"active_failover.syslog.ident", true},
		// Labels are values, not names.
		{"gslb.fqdn", false},
		{"cluster.service.real_service.name", false},
		// Made up: in no block.
		{"gslb.region.pool.colour", false},
		{"server.hostname.extra", false},
	} {
		if got := slices.Contains(vocab, tc.path); got != tc.want {
			t.Errorf("Vocabulary() contains %q = %v, want %v", tc.path, got, tc.want)
		}
	}
	if !slices.IsSorted(vocab) || len(slices.Compact(slices.Clone(vocab))) != len(vocab) {
		t.Errorf("Vocabulary() is not sorted and unique: %q", vocab)
	}
}

// Every block and attribute the shipped examples use (and Load accepts) is
// in the vocabulary under the same path.
func TestVocabulary_CoversTheExamples(t *testing.T) {
	vocab := Vocabulary()
	paths, err := filepath.Glob("../examples/*.hcl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", path, diags.Error())
		}
		for _, used := range bodyPaths("", f.Body.(*hclsyntax.Body)) {
			if !slices.Contains(vocab, used) {
				t.Errorf("%s uses %q, which Vocabulary() does not list", path, used)
			}
		}
	}
}

// bodyPaths lists the dotted paths of every attribute and block in body.
func bodyPaths(prefix string, body *hclsyntax.Body) []string {
	var out []string
	for name := range body.Attributes {
		out = append(out, prefix+name)
	}
	for _, b := range body.Blocks {
		out = append(out, prefix+b.Type)
		out = append(out, bodyPaths(prefix+b.Type+".", b.Body)...)
	}
	return out
}
