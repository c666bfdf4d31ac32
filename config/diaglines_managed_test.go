package config

import (
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestManagedDiagnosticLines_ManagedFilesRelativeAndTheDetail(t *testing.T) {
	at := func(file string) *hcl.Range {
		return &hcl.Range{Filename: file, Start: hcl.Pos{Line: 1, Column: 295}}
	}
	for _, c := range []struct {
		rule string
		diag *hcl.Diagnostic
		want string
	}{
		{"a managed file is named relative to managed_dir", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid delivery", Subject: at("/var/lib/failoverd/managed/g.example.test.hcl.json")},
			"g.example.test.hcl.json:1:295: error: Invalid delivery"},
		{"the detail names the attribute", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing required argument", Detail: `The argument "server" is required, but no definition was found.`, Subject: at("/var/lib/failoverd/managed/g.example.test.hcl.json")},
			`g.example.test.hcl.json:1:295: error: Missing required argument: The argument "server" is required, but no definition was found.`},
		{"an operator's file keeps its path", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate service", Subject: at("/etc/failoverd/failoverd.hcl")},
			"/etc/failoverd/failoverd.hcl:1:295: error: Duplicate service"},
		{"a file beside managed_dir is not inside it", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "X", Subject: at("/var/lib/failoverd/managed2/a.hcl")},
			"/var/lib/failoverd/managed2/a.hcl:1:295: error: X"},
		{"no range", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "X"}, "error: X"},
	} {
		t.Run(c.rule, func(t *testing.T) {
			got := ManagedDiagnosticLines(hcl.Diagnostics{c.diag, {Severity: hcl.DiagWarning, Summary: "ignored"}}, "/var/lib/failoverd/managed")
			if !reflect.DeepEqual(got, []string{c.want}) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
