package migrate

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .hcl files from the importers' output")

// Every export under testdata/<product>/ imports to the .hcl file beside it.
// cmd/failoverd's tests load each of those files with the configuration
// loader, so the goldens are also proof that the output validates.
func TestGolden_ExportsImportToTheirHCL(t *testing.T) {
	for product, imp := range Importers {
		files, err := filepath.Glob(filepath.Join("testdata", product, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no exports under testdata/%s: %v", product, err)
		}
		for _, in := range files {
			t.Run(product+"/"+filepath.Base(in), func(t *testing.T) {
				data, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := imp([]File{{Name: in, Data: data}})
				if err != nil {
					t.Fatalf("import: %v", err)
				}
				golden := strings.TrimSuffix(in, ".json") + ".hcl"
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./migrate -update to write it)", err)
				}
				if string(got) != string(want) {
					t.Errorf("import of %s differs from %s:\n--- got\n%s\n--- want\n%s", in, golden, got, want)
				}
			})
		}
	}
}
