package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Load reads the configuration at path: one .hcl file, or a directory whose
// *.hcl files are merged in name order. It returns the parsed files (keyed by
// file name as used in diagnostics: the path as given, or joined to the
// directory as given) for rendering, and every problem found. When any
// diagnostic is an error the returned *Config is nil.
func Load(path string) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	files := map[string]*hcl.File{}
	names, dir, diags := configFiles(path)
	if diags.HasErrors() {
		return nil, files, diags
	}

	parsed := parseFiles(names)
	var raws []*rawFile
	syntaxOK := true
	for i, name := range names {
		p := &parsed[i]
		if p.file != nil {
			files[name] = p.file
		}
		diags = append(diags, p.diags...)
		if p.raw == nil {
			syntaxOK = false
			continue
		}
		diags = append(diags, p.decodeDiags...)
		raws = append(raws, p.raw)
	}
	if !syntaxOK {
		// A file that does not parse contributes nothing, so checks across
		// files (zones, duplicates) would report problems that are not there.
		return nil, files, diags
	}

	absDir, err := filepath.Abs(dir)
	if err != nil {
		panic(fmt.Sprintf("config: absolute path of %q: %v", dir, err))
	}
	l := &loader{dir: absDir, fileOrder: map[string]int{}}
	for i, n := range names {
		l.fileOrder[n] = i
	}
	cfg := l.build(raws)
	for _, n := range names {
		abs, err := filepath.Abs(n)
		if err != nil {
			panic(fmt.Sprintf("config: absolute path of %q: %v", n, err))
		}
		cfg.Files = append(cfg.Files, abs)
	}
	diags = append(diags, l.diags...)
	sortDiagnostics(diags, names)
	if diags.HasErrors() {
		return nil, files, diags
	}
	return cfg, files, diags
}

// parsedFile is one configuration file, parsed and decoded.
type parsedFile struct {
	file        *hcl.File       // nil when the file cannot be read
	diags       hcl.Diagnostics // reading and syntax
	raw         *rawFile        // nil when the file does not parse
	decodeDiags hcl.Diagnostics
}

// parseFiles reads, parses and decodes the named files, in parallel when
// there are several: each file is independent and parsing dominates a large
// configuration. The result is in the order of names, so the diagnostics
// are the same as those of a sequential load.
func parseFiles(names []string) []parsedFile {
	out := make([]parsedFile, len(names))
	dec := newDecoder()
	workers := min(runtime.GOMAXPROCS(0), len(names))
	if workers <= 1 {
		for i, n := range names {
			out[i] = parseFile(dec, n)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				out[i] = parseFile(dec, names[i])
			}
		})
	}
	wg.Wait()
	return out
}

// parseFile reads, parses and decodes one file, with the diagnostics of
// hclparse.Parser.ParseHCLFile and gohcl.DecodeBody.
func parseFile(dec *decoder, name string) parsedFile {
	src, err := os.ReadFile(name)
	if err != nil {
		return parsedFile{diags: hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read file",
			Detail:   fmt.Sprintf("The configuration file %q could not be read.", name),
		}}}
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	p := parsedFile{file: f, diags: diags}
	if f == nil || diags.HasErrors() {
		return p
	}
	p.raw = &rawFile{}
	p.decodeDiags = dec.decodeFile(f.Body, p.raw)
	return p
}

// configFiles lists the files to load for path and the configuration
// directory.
func configFiles(path string) ([]string, string, hcl.Diagnostics) {
	at := hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos}
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration",
			Detail:   fmt.Sprintf("%v. Give the path of an .hcl file or of a directory of .hcl files.", err),
			Subject:  &at,
		}}
	}
	if !st.IsDir() {
		return []string{path}, filepath.Dir(path), nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration directory",
			Detail:   fmt.Sprintf("%v. Make the directory readable.", err),
			Subject:  &at,
		}}
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		names = append(names, filepath.Join(path, e.Name()))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   "The directory holds no *.hcl file. Add one, or give the path of a file.",
			Subject:  &at,
		}}
	}
	return names, path, nil
}

// sortDiagnostics orders diagnostics by file (in load order) and position,
// keeping the order of diagnostics at the same place.
func sortDiagnostics(diags hcl.Diagnostics, names []string) {
	order := map[string]int{}
	for i, n := range names {
		order[n] = i
	}
	key := func(d *hcl.Diagnostic) (int, int) {
		if d.Subject == nil {
			return -1, 0
		}
		return order[d.Subject.Filename], d.Subject.Start.Byte
	}
	sort.SliceStable(diags, func(i, j int) bool {
		fi, bi := key(diags[i])
		fj, bj := key(diags[j])
		if fi != fj {
			return fi < fj
		}
		return bi < bj
	})
}
