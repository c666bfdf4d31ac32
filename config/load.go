package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Load reads the configuration at path: one .hcl file, or a directory whose
// *.hcl files are merged in name order, then the API-managed services of
// server.managed_dir (*.hcl.json, one service block each in HCL's JSON
// syntax) in name order. It returns the files' source (keyed by file name
// as used in diagnostics: the path as given, or joined to the directory as
// given; managed files by absolute path) for rendering, without their
// syntax trees, and every problem found. When any diagnostic is an error the returned *Config is nil.
//
// At most MaxErrors problems are returned, followed by one that says how
// many more there are: a generated or corrupted file can hold millions.
func Load(path string) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	return LoadChanged(path, nil)
}

// MaxErrors is how many problems Load reports at most.
const MaxErrors = 100

// truncate keeps the first MaxErrors diagnostics and says how many more
// there were, at the place of the first one left out.
func truncate(diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) <= MaxErrors {
		return diags
	}
	rest := diags[MaxErrors:]
	more := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Too many errors",
		Detail:   fmt.Sprintf("%d more problems, from here on, are not shown. Fix the ones above and validate again.", len(rest)),
		Subject:  rest[0].Subject,
	}
	return append(diags[:MaxErrors:MaxErrors], more)
}

// LoadChanged is Load with API-managed files changed in memory first:
// changes maps the base name of a file in server.managed_dir (ManagedFile)
// to its new content, or to nil to leave the file out. Nothing is written;
// this is how a change over the API is checked before it is kept.
func LoadChanged(path string, changes map[string][]byte) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	cfg, files, diags := loadChanged(path, changes)
	// Only the bytes are kept, which is all rendering diagnostics needs: the
	// syntax trees of 100,000 services take 400 MB, twenty times the
	// Config built from them, and a reload holds the files while the
	// running configuration is still in memory.
	for name, f := range files {
		files[name] = &hcl.File{Bytes: f.Bytes}
	}
	return cfg, files, truncate(diags)
}

func loadChanged(path string, changes map[string][]byte) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	files := map[string]*hcl.File{}
	names, dir, diags := configFiles(path)
	if diags.HasErrors() {
		return nil, files, diags
	}

	parsed := parseFiles(names, chunkSize)
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

	// The API-managed services come after the operator's files, so that a
	// duplicate is reported at the managed one.
	operatorFiles := len(names)
	mnames, mdiags := managedFiles(managedDirOf(raws), changes)
	diags = append(diags, mdiags...)
	dec := newDecoder()
	for _, name := range mnames {
		p := parseManaged(dec, name, changes)
		if p.file != nil {
			files[name] = p.file
		}
		diags = append(diags, p.diags...)
		diags = append(diags, p.decodeDiags...)
		if p.raw == nil {
			syntaxOK = false
			continue
		}
		raws = append(raws, p.raw)
	}
	names = append(names, mnames...)
	if !syntaxOK {
		sortDiagnostics(diags, names)
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
	l.dropShadowed(diags)
	for _, n := range names[:operatorFiles] {
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

// managedDirOf is server.managed_dir as build will resolve it, from the
// first server block (a second one is an error reported by build).
func managedDirOf(raws []*rawFile) string {
	var r *rawServer
	for _, f := range raws {
		if len(f.Servers) > 0 {
			r = f.Servers[0]
			break
		}
	}
	stateDir := "./state"
	if r != nil && r.StateDir != nil && *r.StateDir != "" {
		stateDir = *r.StateDir
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		panic("config: absolute state_dir: " + err.Error())
	}
	return managedDir(abs, r)
}

// dropShadowed forgets the build checks' diagnostics at the place of a
// decoding error: a value that could not be decoded (2.5 for a whole
// number) is left zero, and its range check would report that zero as a
// second problem.
func (l *loader) dropShadowed(decodeDiags hcl.Diagnostics) {
	type line struct {
		file string
		line int
	}
	bad := map[line][]int{} // byte offsets of decoding errors
	for _, d := range decodeDiags {
		if d.Severity == hcl.DiagError && d.Subject != nil {
			k := line{d.Subject.Filename, d.Subject.Start.Line}
			bad[k] = append(bad[k], d.Subject.Start.Byte)
		}
	}
	if len(bad) == 0 {
		return
	}
	shadowed := func(r *hcl.Range) bool {
		if r == nil {
			return false
		}
		for _, b := range bad[line{r.Filename, r.Start.Line}] {
			if b >= r.Start.Byte && b < max(r.End.Byte, r.Start.Byte+1) {
				return true
			}
		}
		return false
	}
	kept := l.diags[:0]
	for _, d := range l.diags {
		if !shadowed(d.Subject) {
			kept = append(kept, d)
		}
	}
	l.diags = kept
}

// chunkSize is the size from which a file is cut into chunks that are
// parsed in parallel. Small chunks keep the lexer's token slices small (a
// whole 3 MB file allocates hundreds of megabytes of them); each chunk still
// holds dozens of blocks.
const chunkSize = 16 << 10

// decodeBatch is the number of top-level blocks decoded by one job.
const decodeBatch = 256

// parsedFile is one configuration file, parsed and decoded.
type parsedFile struct {
	name        string
	src         []byte
	read        bool            // src holds the file
	tokens      int             // about as many as hclsyntax's tokens
	chunks      []chunk         // parsed and decoded separately
	file        *hcl.File       // nil when the file cannot be read
	diags       hcl.Diagnostics // reading and syntax
	raw         *rawFile        // nil when the file does not parse
	decodeDiags hcl.Diagnostics
}

// chunk is a run of whole top-level blocks of a file.
type chunk struct {
	start hcl.Pos
	end   int // byte offset in the file
	// clean says the chunk parsed with no diagnostics and holds only
	// blocks of the file schema; then blocks are its top-level blocks,
	// decoded.
	clean  bool
	blocks []topBlock
}

// parseFiles reads, parses and decodes the named files with the
// diagnostics of hclparse.Parser.ParseHCLFile and gohcl.DecodeBody, in the
// order of names. The work is spread over GOMAXPROCS goroutines: each file
// is cut into chunks of about size bytes at lines holding a lone "}", and
// each chunk is parsed and its blocks decoded in one job, after which its
// syntax tree is dropped (the raw structs keep attrBody): at no time does
// the tree of a whole large file exist. A chunk that does not parse cleanly
// (the cut fell inside a block, a heredoc or a comment) or holds a
// top-level argument makes its file be parsed and decoded whole, so every
// value and diagnostic is that of a whole-file parse.
//
// A parsed file keeps only its bytes (for diagnostics), not its tree.
func parseFiles(names []string, size int) []parsedFile {
	out := make([]parsedFile, len(names))
	// Read one after the other: the limits are on all files together.
	bytesLeft, tokensLeft := int64(MaxConfigSize), MaxTokens
	for i, name := range names {
		out[i] = readFile(name, bytesLeft, tokensLeft)
		if !out[i].read {
			// Nothing is parsed: Load reports only this file's problem.
			for j := range out[:i] {
				out[j] = parsedFile{name: out[j].name}
			}
			return out
		}
		bytesLeft -= int64(len(out[i].src))
		tokensLeft -= out[i].tokens
	}

	dec := newDecoder()
	type chunkJob struct{ file, chunk int }
	var chunkJobs []chunkJob
	for i := range out {
		if out[i].read {
			out[i].chunks = cutChunks(out[i].src, size)
			for c := range out[i].chunks {
				chunkJobs = append(chunkJobs, chunkJob{i, c})
			}
		}
	}
	forEach(len(chunkJobs), func(j int) {
		p := &out[chunkJobs[j].file]
		p.decodeChunk(dec, &p.chunks[chunkJobs[j].chunk])
	})

	var whole []int
	for i := range out {
		p := &out[i]
		if !p.read {
			continue
		}
		clean := true
		for _, c := range p.chunks {
			clean = clean && c.clean
		}
		if !clean {
			p.chunks = nil
			whole = append(whole, i)
			continue
		}
		var blocks []topBlock
		for _, c := range p.chunks {
			blocks = append(blocks, c.blocks...)
		}
		p.chunks = nil
		p.file = &hcl.File{Bytes: p.src}
		p.raw = &rawFile{}
		p.decodeDiags = dec.assemble(p.raw, blocks)
	}
	if len(whole) == 0 {
		return out
	}

	forEach(len(whole), func(j int) {
		p := &out[whole[j]]
		p.file, p.diags = hclsyntax.ParseConfig(p.src, p.name, hcl.InitialPos)
	})
	type decodeJob struct{ file, from, to int }
	var decodeJobs []decodeJob
	blocks := make([]hcl.Blocks, len(out))
	decoded := make([][]topBlock, len(out))
	for _, i := range whole {
		p := &out[i]
		if p.diags.HasErrors() {
			continue
		}
		content, diags := p.file.Body.Content(dec.file.schema)
		p.decodeDiags = diags
		blocks[i] = content.Blocks
		decoded[i] = make([]topBlock, len(content.Blocks))
		for from := 0; from < len(content.Blocks); from += decodeBatch {
			decodeJobs = append(decodeJobs, decodeJob{i, from, min(from+decodeBatch, len(content.Blocks))})
		}
	}
	forEach(len(decodeJobs), func(j int) {
		dj := decodeJobs[j]
		for k := dj.from; k < dj.to; k++ {
			decoded[dj.file][k] = dec.decodeTop(blocks[dj.file][k])
			dec.compact(decoded[dj.file][k])
		}
	})
	for _, i := range whole {
		p := &out[i]
		p.file = &hcl.File{Bytes: p.src}
		if p.diags.HasErrors() {
			continue
		}
		p.raw = &rawFile{}
		p.decodeDiags = append(p.decodeDiags, dec.assemble(p.raw, decoded[i])...)
	}
	return out
}

// readFile reads one configuration file: a regular file of at most
// maxBytes bytes of UTF-8, at most maxTokens tokens, that nests at most
// MaxNesting levels deep.
func readFile(name string, maxBytes int64, maxTokens int) parsedFile {
	src, err := ReadRegularFile(name, maxBytes)
	if err != nil {
		return parsedFile{name: name, diags: hcl.Diagnostics{readDiagnostic(name, err)}}
	}
	d, tokens := checkSource(src, name, strings.HasSuffix(name, ".json"), maxTokens)
	if d != nil {
		// The bytes are kept for the source snippet only: they are never
		// parsed.
		return parsedFile{name: name, file: &hcl.File{Bytes: src}, diags: hcl.Diagnostics{d}}
	}
	return parsedFile{name: name, src: src, read: true, tokens: tokens}
}

// readDiagnostic describes why a configuration file could not be read.
func readDiagnostic(name string, err error) *hcl.Diagnostic {
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Failed to read file",
		Detail:   fmt.Sprintf("%v.", err),
		Subject:  &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos},
	}
	switch {
	case errors.Is(err, ErrNotRegular):
		d.Summary = "Not a regular file"
		d.Detail = fmt.Sprintf("%v. Configuration files must be regular files.", err)
	case errors.Is(err, ErrTooLarge):
		d.Summary = "Configuration too large"
		d.Detail = fmt.Sprintf("%v. A configuration (one file, or every *.hcl file of a directory together) holds at most %s of HCL; 100,000 services take 19 to 31 MB.", err, byteSize(MaxConfigSize))
	}
	return d
}

// cutChunks cuts src into chunks of at least size bytes (but the last),
// each ending with a line that holds a lone "}" at column 1: outside
// heredocs and comments that closes a top-level block.
func cutChunks(src []byte, size int) []chunk {
	var chunks []chunk
	start := hcl.InitialPos
	from := max(size, 1) - 1
	for from < len(src) {
		i := bytes.Index(src[from:], []byte("\n}\n"))
		if i < 0 {
			break
		}
		end := from + i + 3
		if end >= len(src) {
			break
		}
		if src[end] >= utf8.RuneSelf {
			// The lexer drops a byte order mark at the start of its
			// input, so no chunk may start with one: cut further on.
			from = end - 1
			continue
		}
		chunks = append(chunks, chunk{start: start, end: end})
		start = hcl.Pos{Byte: end, Line: start.Line + bytes.Count(src[start.Byte:end], []byte("\n")), Column: 1}
		from = end + max(size, 1) - 1
	}
	return append(chunks, chunk{start: start, end: len(src)})
}

// decodeChunk parses chunk c of p and, when it is clean, decodes its
// blocks. Its syntax tree is garbage when it returns.
func (p *parsedFile) decodeChunk(dec *decoder, c *chunk) {
	f, diags := hclsyntax.ParseConfig(p.src[c.start.Byte:c.end], p.name, c.start)
	if len(diags) > 0 {
		return
	}
	content, diags := f.Body.Content(dec.file.schema)
	if len(diags) > 0 {
		return // a top-level argument, or a block not in the schema
	}
	c.blocks = make([]topBlock, len(content.Blocks))
	for k, b := range content.Blocks {
		c.blocks[k] = dec.decodeTop(b)
		dec.compact(c.blocks[k])
	}
	c.clean = true
}

// forEach calls fn for every i in [0, n) on up to GOMAXPROCS goroutines:
// jobs are independent and CPU-bound. fn must only write to the i-th
// element of a result.
func forEach(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
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
