package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

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
	lines := map[*hcl.File][]int{}
	for i, d := range diags {
		if i > 0 {
			bw.WriteString("\n")
		}
		writeDiagnostic(bw, files, lines, d)
	}
	return bw.Flush()
}

// writeDiagnostic writes one diagnostic; lines caches the line starts of
// each file, so that many diagnostics in one large file cost no more than
// one pass over it.
func writeDiagnostic(w *bufio.Writer, files map[string]*hcl.File, lines map[*hcl.File][]int, d *hcl.Diagnostic) {
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
	starts, ok := lines[f]
	if !ok {
		starts = lineStarts(f.Bytes)
		lines[f] = starts
	}
	line, lineStart, ok := sourceLine(f.Bytes, starts, rng.Start.Line)
	if !ok {
		return
	}
	// Underline from the start column to the end of the range, or to the
	// end of the line when the range spans several lines.
	from := rng.Start.Byte - lineStart
	to := rng.End.Byte - lineStart
	if rng.End.Line != rng.Start.Line || to > len(line) {
		to = len(bytes.TrimRight(line, " \t\r"))
	}
	if from < 0 || from > len(line) {
		from, to = -1, -1
	}
	// A very long line (generated or hostile text) is shown only around
	// the subject.
	prefix, suffix := "", ""
	if len(line) > maxSnippet {
		lo := 0
		if from > maxSnippet/4 {
			lo = from - maxSnippet/4
		}
		for lo > 0 && !utf8.RuneStart(line[lo]) {
			lo--
		}
		hi := min(len(line), lo+maxSnippet)
		for hi < len(line) && !utf8.RuneStart(line[hi]) {
			hi++
		}
		if lo > 0 {
			prefix = "…"
		}
		if hi < len(line) {
			suffix = "…"
		}
		line = line[lo:hi]
		from, to = from-lo, min(to-lo, len(line))
	}
	num := strconv.Itoa(rng.Start.Line)
	pad := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "  %s | %s%s%s\n", num, prefix, strings.TrimRight(string(line), " \t\r"), suffix)
	if from < 0 || from > len(line) {
		return
	}
	var under strings.Builder
	if prefix != "" {
		under.WriteString(" ")
	}
	for _, r := range string(line[:from]) {
		if r == '\t' {
			under.WriteRune('\t')
		} else {
			under.WriteRune(' ')
		}
	}
	n := utf8.RuneCount(line[from:max(from, to)])
	under.WriteString(strings.Repeat("^", max(n, 1)))
	fmt.Fprintf(w, "  %s | %s\n", pad, under.String())
}

// maxSnippet is the longest source line, in bytes, a diagnostic shows
// whole.
const maxSnippet = 160

// lineStarts returns the byte offset of every line of src.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// sourceLine returns line n (1-based) of src without its newline, and the
// byte offset at which it starts.
func sourceLine(src []byte, starts []int, n int) ([]byte, int, bool) {
	if n < 1 || n > len(starts) {
		return nil, 0, false
	}
	start := starts[n-1]
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
