package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// managedBase is an operator configuration with one zone and one service,
// and managed_dir inside the test's directory.
func managedBase(t *testing.T) (cfgPath, managed string) {
	t.Helper()
	dir := t.TempDir()
	managed = filepath.Join(dir, "managed")
	files := map[string]string{
		"main.hcl": `server {
  state_dir   = "` + filepath.Join(dir, "state") + `"
  managed_dir = "` + managed + `"
}
zone "example.com" {
  ns = ["ns1.example.net."]
}
gslb "files.example.com." {
  monitor {
    protocol = "HTTP"
    interval = "1m"
  }
  region "global" {
    pool "192.0.2.1" {}
  }
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(managed, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "main.hcl"), managed
}

const managedGSLB = `{"gslb": {"app.example.com.": {"ttl": 5,
  "monitor": {"protocol": "HTTP", "interval": "1m"},
  "region": {"global": {"pool": {"192.0.2.10": {"weight": 5}}}}}}}`

func TestManagedServicesAreLoadedAfterTheOperatorFiles(t *testing.T) {
	path, managed := managedBase(t)
	if err := os.WriteFile(filepath.Join(managed, "app.example.com.hcl.json"), []byte(managedGSLB), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, files, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}
	if len(cfg.GSLBs) != 2 || cfg.GSLBs[1].FQDN != "app.example.com." || cfg.GSLBs[1].TTL != 5 || cfg.GSLBs[1].Regions[0].Pool[0].Weight != 5 {
		t.Fatalf("gslbs: %+v", cfg.GSLBs)
	}
	ref, ok := cfg.LookupService("APP.example.com")
	if !ok || !ref.Managed || ref.Kind != "gslb" {
		t.Fatalf("managed ref %+v %v", ref, ok)
	}
	ref, ok = cfg.LookupService("files.example.com.")
	if !ok || ref.Managed || ref.Where() != path+":8" {
		t.Fatalf("operator ref %+v (%s) %v", ref, ref.Where(), ok)
	}
	for _, f := range cfg.Files {
		if strings.HasSuffix(f, ManagedSuffix) {
			t.Fatalf("Files lists the managed file %s", f)
		}
	}
}

func TestManagedDirDefaultsUnderStateDir(t *testing.T) {
	dir := writeConfig(t, map[string]string{"a.hcl": `server {
  state_dir = "/var/lib/failoverd"
}
`})
	cfg, files, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}
	if cfg.Server.ManagedDir != "/var/lib/failoverd/managed" {
		t.Fatalf("managed_dir %q", cfg.Server.ManagedDir)
	}
	if cfg.API.Compat != (Compat{}) {
		t.Fatalf("compat defaults %+v", cfg.API.Compat)
	}
}

func TestAPICompatSwitches(t *testing.T) {
	dir := writeConfig(t, map[string]string{"a.hcl": `api {
  compat {
    dyn      = true
    memset   = true
  }
}
`})
	cfg, files, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}
	if cfg.API.Compat != (Compat{Dyn: true, Memset: true}) {
		t.Fatalf("compat %+v", cfg.API.Compat)
	}
}

func TestLoadChangedChecksAChangeWithoutWritingIt(t *testing.T) {
	path, managed := managedBase(t)
	name := ManagedFile("app.example.com.")
	cfg, files, diags := LoadChanged(path, map[string][]byte{name: []byte(managedGSLB)})
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}
	if _, ok := cfg.LookupService("app.example.com."); !ok {
		t.Fatal("changed service not loaded")
	}
	if _, err := os.Stat(filepath.Join(managed, name)); !os.IsNotExist(err) {
		t.Fatalf("LoadChanged wrote the file: %v", err)
	}
	// Removing it again in memory leaves the operator's service only.
	if err := os.WriteFile(filepath.Join(managed, name), []byte(managedGSLB), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, files, diags = LoadChanged(path, map[string][]byte{name: nil})
	if diags.HasErrors() {
		t.Fatal(render(t, files, diags))
	}
	if _, ok := cfg.LookupService("app.example.com."); ok {
		t.Fatal("removed service still loaded")
	}
}

func TestManagedFileProblemsNameTheManagedFile(t *testing.T) {
	tests := []struct {
		rule, file, body, want string
	}{
		{"a pool in a zone that does not exist", "app.example.org.hcl.json",
			strings.ReplaceAll(managedGSLB, "example.com", "example.org"), "Name outside every zone"},
		{"a weight out of range", "app.example.com.hcl.json",
			strings.Replace(managedGSLB, `"weight": 5`, `"weight": 99`, 1), "weight"},
		{"a second service", "app.example.com.hcl.json",
			`{"gslb": {"app.example.com.": {}, "b.example.com.": {}}}`, "More than one service block"},
		{"not a service block", "app.example.com.hcl.json", `{"zone": {"example.net": {}}}`, "Extraneous JSON object property"},
		{"no block at all", "app.example.com.hcl.json", `{}`, "No service block"},
		{"not JSON", "app.example.com.hcl.json", `gslb "app.example.com." {}`, "Invalid JSON"},
		{"the file is named after another service", "other.example.com.hcl.json", managedGSLB, "Service and file name differ"},
		{"the operator's service defined again", "files.example.com.hcl.json",
			strings.ReplaceAll(managedGSLB, "app.example.com", "files.example.com"), "Duplicate service name"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			path, managed := managedBase(t)
			cfg, files, diags := LoadChanged(path, map[string][]byte{tt.file: []byte(tt.body)})
			if !diags.HasErrors() || cfg != nil {
				t.Fatalf("no error; cfg %v", cfg != nil)
			}
			out := render(t, files, diags)
			if !strings.Contains(out, tt.want) || !strings.Contains(out, filepath.Join(managed, tt.file)+":") {
				t.Fatalf("diagnostics do not name %s at %s:\n%s", tt.want, tt.file, out)
			}
		})
	}
}

func TestParseServiceSaysKindAndFQDN(t *testing.T) {
	b, diags := ParseService("body", []byte(managedGSLB))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if b.Type != "gslb" || b.Labels[0] != "app.example.com." {
		t.Fatalf("%s %v", b.Type, b.Labels)
	}
}
