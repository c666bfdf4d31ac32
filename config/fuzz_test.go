package config

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no input makes Load or WriteDiagnostics panic, and
// that a Config is returned exactly when there is no error.
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*.hcl")
	more, _ := filepath.Glob("testdata/invalid/*.hcl")
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.hcl")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, files, diags := Load(path)
		if (cfg == nil) != diags.HasErrors() {
			t.Fatalf("config %v with diagnostics %v", cfg != nil, diags)
		}
		if err := WriteDiagnostics(io.Discard, files, diags); err != nil {
			t.Fatal(err)
		}
	})
}
