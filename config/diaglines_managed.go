package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// ManagedDiagnosticLines renders a refused API change's errors as
// DiagnosticLines does, "FILE:LINE:COL: error: SUMMARY", with two
// differences for an API client: a managed file is named relative to
// managed_dir (the client knows the service, not the daemon's disk), and
// the detail follows the summary, since that is what names the attribute
// ("Missing required argument" alone does not say which).
func ManagedDiagnosticLines(diags hcl.Diagnostics, dir string) []string {
	var out []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		text := d.Summary
		if d.Detail != "" {
			text += ": " + d.Detail
		}
		rng := d.Subject
		if rng == nil {
			rng = d.Context
		}
		if rng == nil {
			out = append(out, "error: "+text)
			continue
		}
		file := rng.Filename
		if rel, err := filepath.Rel(dir, file); err == nil && filepath.IsAbs(file) && !strings.HasPrefix(rel, "..") {
			file = rel
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: error: %s", file, rng.Start.Line, rng.Start.Column, text))
	}
	return out
}
