package migrate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Whatever the input, the importers return text or errors, never panic,
// and give the same answer twice.
func FuzzImport(f *testing.F) {
	exports, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, e := range exports {
		if data, err := os.ReadFile(e); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`[{"data": [1, "x", null]}, {"rrSets": [{}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, imp := range Importers {
			out1, err1 := imp([]File{{Name: "f.json", Data: data}})
			out2, err2 := imp([]File{{Name: "f.json", Data: data}})
			if !bytes.Equal(out1, out2) || (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
				t.Fatalf("%s: two runs differ:\n%s\n%v\n---\n%s\n%v", name, out1, err1, out2, err2)
			}
			if (err1 == nil) == (out1 == nil) {
				t.Fatalf("%s: want output or an error, got %q and %v", name, out1, err1)
			}
		}
	})
}
