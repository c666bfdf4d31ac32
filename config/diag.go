package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics renders diags in the `failoverd validate` format: each
// problem starts with a line "FILE:LINE:COL: error: SUMMARY" (or "warning"),
// followed by the indented detail and the source line with the subject
// underlined. Problems are separated by a blank line. files are the parsed
// files returned by Load; a diagnostic whose file is missing is rendered
// without a snippet.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) error {
	bw := bufio.NewWriter(w)
	for i, d := range diags {
		if i > 0 {
			bw.WriteString("\n")
		}
		writeDiagnostic(bw, files, d)
	}
	return bw.Flush()
}

func writeDiagnostic(w *bufio.Writer, files map[string]*hcl.File, d *hcl.Diagnostic) {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	rng := d.Subject
	if rng == nil {
		rng = d.Context
	}
	if rng != nil {
		fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", rng.Filename, rng.Start.Line, rng.Start.Column, sev, d.Summary)
	} else {
		fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
	}
	if detail := strings.TrimSpace(d.Detail); detail != "" {
		for _, line := range strings.Split(detail, "\n") {
			fmt.Fprintf(w, "  %s\n", strings.TrimRight(line, " \t"))
		}
	}
	if rng == nil {
		return
	}
	f := files[rng.Filename]
	if f == nil || rng.Start.Line < 1 {
		return
	}
	line, lineStart, ok := sourceLine(f.Bytes, rng.Start.Line)
	if !ok {
		return
	}
	num := strconv.Itoa(rng.Start.Line)
	pad := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "  %s | %s\n", num, strings.TrimRight(string(line), " \t\r"))

	// Underline from the start column to the end of the range, or to the
	// end of the line when the range spans several lines.
	from := rng.Start.Byte - lineStart
	to := rng.End.Byte - lineStart
	if rng.End.Line != rng.Start.Line || to > len(line) {
		to = len(bytes.TrimRight(line, " \t\r"))
	}
	if from < 0 || from > len(line) {
		return
	}
	var under strings.Builder
	for _, r := range string(line[:from]) {
		if r == '\t' {
			under.WriteRune('\t')
		} else {
			under.WriteRune(' ')
		}
	}
	n := len([]rune(string(line[from:max(from, to)])))
	under.WriteString(strings.Repeat("^", max(n, 1)))
	fmt.Fprintf(w, "  %s | %s\n", pad, under.String())
}

// sourceLine returns line n (1-based) of src without its newline, and the
// byte offset at which it starts.
func sourceLine(src []byte, n int) ([]byte, int, bool) {
	start := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src[start:], '\n')
		if j < 0 {
			return nil, 0, false
		}
		start += j + 1
	}
	end := bytes.IndexByte(src[start:], '\n')
	if end < 0 {
		return src[start:], start, true
	}
	return src[start : start+end], start, true
}

// Diagnostic and Diagnostics are hcl's: checks made after Load (the
// daemon's, before it binds anything) report in the same form, and render
// with WriteDiagnostics, without importing hcl themselves.
type (
	Diagnostic  = hcl.Diagnostic
	Diagnostics = hcl.Diagnostics
	// Range is a place in a configuration or zone file.
	Range = hcl.Range
)

// Error is an error diagnostic at subject; a zero subject (a default
// value, written nowhere) leaves the place out.
func Error(subject Range, summary, detail string) *Diagnostic {
	d := &Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail}
	if subject.Filename != "" {
		d.Subject = &subject
	}
	return d
}

// FilePos is the range of one character at line:col of a file that is not
// HCL (a zone file): diagnostics about it point there without a snippet.
func FilePos(file string, line, col int) Range {
	return hcl.Range{
		Filename: file,
		Start:    hcl.Pos{Line: line, Column: col, Byte: -1},
		End:      hcl.Pos{Line: line, Column: col + 1, Byte: -1},
	}
}
