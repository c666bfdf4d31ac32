package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/invalid")

// TestInvalidGolden loads every testdata/invalid/*.hcl file (and every
// directory there, merged) and compares the rendered diagnostics with the
// .golden file next to it.
func TestInvalidGolden(t *testing.T) {
	entries, err := os.ReadDir("testdata/invalid")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && !strings.HasSuffix(name, ".hcl") {
			continue
		}
		n++
		path := filepath.Join("testdata", "invalid", name)
		golden := strings.TrimSuffix(path, ".hcl") + ".golden"
		t.Run(name, func(t *testing.T) {
			cfg, files, diags := Load(path)
			if cfg != nil || !diags.HasErrors() {
				t.Fatal("invalid configuration loaded without errors")
			}
			got := render(t, files, diags)
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -run TestInvalidGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no invalid configurations found")
	}
}
