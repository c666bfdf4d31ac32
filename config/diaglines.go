package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// DiagnosticLines renders each error of diags on one line,
// "FILE:LINE:COL: error: SUMMARY", as the control API returns them for a
// refused configuration (the first line of what WriteDiagnostics writes).
func DiagnosticLines(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		rng := d.Subject
		if rng == nil {
			rng = d.Context
		}
		if rng == nil {
			out = append(out, "error: "+d.Summary)
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: error: %s", rng.Filename, rng.Start.Line, rng.Start.Column, d.Summary))
	}
	return out
}
