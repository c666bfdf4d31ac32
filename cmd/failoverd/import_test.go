package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/failoverd/failoverd/config"
)

const importTestdata = "../../migrate/testdata"

// loadsClean fails the test with the rendered diagnostics when the
// configuration at path does not load.
func loadsClean(t *testing.T, path string) {
	t.Helper()
	_, files, diags := config.Load(path)
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = config.WriteDiagnostics(&b, files, diags)
		t.Errorf("%s does not validate:\n%s", path, b.String())
	}
}

// Every golden output of the importers is a configuration that loads
// without errors (the zones and contacts it needs are in it).
func TestImport_GoldenOutputsValidate(t *testing.T) {
	goldens, err := filepath.Glob(filepath.Join(importTestdata, "*", "*.hcl"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, g := range goldens {
		t.Run(filepath.Base(filepath.Dir(g))+"/"+filepath.Base(g), func(t *testing.T) {
			loadsClean(t, g)
		})
	}
}

// All of a product's exports imported in one run: zones and contacts they
// share are printed once, and the whole validates.
func TestImport_SeveralFilesInOneRunValidate(t *testing.T) {
	for _, product := range []string{"dyn", "ultradns"} {
		t.Run(product, func(t *testing.T) {
			exports, _ := filepath.Glob(filepath.Join(importTestdata, product, "*.json"))
			if len(exports) < 2 {
				t.Fatalf("want several %s exports, have %d", product, len(exports))
			}
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"import", product}, exports...), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			out := stdout.String()
			for _, once := range []string{`zone "example.com" {}`, `contact "webops" {`} {
				if n := strings.Count(out, once); product == "dyn" && n != 1 {
					t.Errorf("%s printed %d times, want once", once, n)
				}
			}
			path := filepath.Join(t.TempDir(), "imported.hcl")
			if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			loadsClean(t, path)
		})
	}
}

func TestImport_CommandLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "export.json")
	if err := os.WriteFile(bad, []byte(`{"status": "success", "job_id": 1, "msgs": [], "data": {
  "zone": "example.com", "fqdn": "app.example.com",
  "monitor": {"protocol": "TCP", "interval": 1},
  "region": [{"region_code": "global", "pool": [{"address": "192.0.2.1"}]},
             {"region_code": "US East", "pool": [{"address": "192.0.2.300"}]}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	good := filepath.Join(importTestdata, "ultradns", "sf-pool.json")
	golden, err := os.ReadFile(strings.TrimSuffix(good, ".json") + ".hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{"output is the configuration on stdout", []string{"import", "ultradns", good}, 0, string(golden), ""},
		{"bad input names file and JSON path", []string{"import", "dyn", bad}, 1, "", bad + `: $.data.region[1].pool[0].address: "192.0.2.300": not an IP address or host name` + "\n"},
		{"unreadable file names the file", []string{"import", "dyn", missing}, 1, "", missing + ": $: cannot read: no such file or directory\n"},
		{"unknown product is a usage error", []string{"import", "route53", good}, 2, "", `unknown product "route53"`},
		{"no file is a usage error", []string{"import", "dyn"}, 2, "", "name at least one export file"},
		{"no product is a usage error", []string{"import"}, 2, "", "usage: failoverd import dyn|ultradns FILE..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderrHas) || (tc.stderrHas == "" && stderr.Len() > 0) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.stderrHas)
			}
		})
	}
}
