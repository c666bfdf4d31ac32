package daemon

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/failoverd/failoverd"

// The package graph of docs/architecture.md: a star with daemon at the centre.
// Leaves never import each other; cmd/ is thin; each external library has
// one owner.
var allowedImports = map[string][]string{
	"config":          nil,
	"probe":           nil,
	"pool":            nil,
	"dnsserver":       nil,
	"notify":          nil,
	"store":           nil,
	"api":             nil,
	"sites":           nil,
	"migrate":         nil,
	"daemon":          {"config", "probe", "pool", "dnsserver", "notify", "store", "api", "sites"},
	"cmd/failoverd":   {"daemon", "config", "migrate"},
	"cmd/failoverctl": {"api"},
}

var libraryOwner = map[string]string{
	"github.com/hashicorp/hcl/v2":              "config",
	"github.com/miekg/dns":                     "dnsserver",
	"github.com/prometheus-community/pro-bing": "probe",
	"go.etcd.io/bbolt":                         "store",
	"go.etcd.io/etcd":                          "sites",
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

func TestArchitecture_ImportGraph(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = ".."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	seen := 0
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		checkPackage(t, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if seen < len(allowedImports) {
		t.Errorf("go list saw %d packages, want at least %d", seen, len(allowedImports))
	}
}

func checkPackage(t *testing.T, p listedPackage) {
	t.Helper()
	rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
	top := topPackage(rel)
	allowed, known := allowedImports[top]
	for _, imp := range p.Imports {
		for lib, owner := range libraryOwner {
			if (imp == lib || strings.HasPrefix(imp, lib+"/")) && owner != top {
				t.Errorf("%s imports %s, which only %s may use", rel, imp, owner)
			}
		}
		if !strings.HasPrefix(imp, module+"/") {
			continue
		}
		dep := topPackage(strings.TrimPrefix(imp, module+"/"))
		if dep == top {
			continue
		}
		if !known {
			continue // bench programs and tools may use anything
		}
		if !slices.Contains(allowed, dep) {
			t.Errorf("%s imports %s: not allowed by the architecture", rel, dep)
		}
	}
}

// topPackage maps a package path to its entry in allowedImports
// (cmd/failoverd/x → cmd/failoverd, probe/internal → probe).
func topPackage(rel string) string {
	parts := strings.Split(rel, "/")
	if parts[0] == "cmd" && len(parts) > 1 {
		return "cmd/" + parts[1]
	}
	return parts[0]
}
