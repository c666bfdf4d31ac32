package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// chunkEdgeCases are files where a cut at a lone "}" is wrong or where
// merging chunks must be refused: heredocs, comments, top-level arguments,
// CRLF line ends, a byte order mark.
var chunkEdgeCases = []string{
	"zone \"a.example\" {\n}\nzone \"b.example\" {\n}\nzone \"c.example\" {\n}\n",
	"zone \"a.example\" {\n}\n/*\n}\nzone \"b.example\" {\n}\n*/\nzone \"c.example\" {\n}\n",
	"a = <<EOT\n}\nzone \"x\" {\n}\nEOT\nzone \"c.example\" {\n}\n",
	"a = 1\nzone \"a.example\" {\n}\na = 2\nzone \"b.example\" {\n}\n",
	"a = 1\nzone \"a.example\" {\n}\nb = 2\nzone \"b.example\" {\n}\n",
	"zone \"a.example\" {\r\n}\r\nzone \"b.example\" {\r\n}\r\n",
	"\xef\xbb\xbfzone \"a.example\" {\n}\nzone \"b.example\" {\n}\n",
	"zone \"a.example\" {\n}\n\xef\xbb\xbfzone \"b.example\" {\n}\n",
	"# only a comment\n}\n}\n",
	"zone \"a.example\" {\n  record \"www\" {\n    type = \"A\"\n    rdata = [\"192.0.2.1\"]\n}\n}\nzone \"b.example\" {\n}\n",
	"zone \"a.example\" {\n}\nzone \"b.example\" {\n  ttl = \"x\"\n}\nzone \"c.example\" {\n",
	"zone \"a.example\" {\n}\n\n\n# c\nzone \"b.example\" {\n}\n",
	"}\n}\n}\n",
	"\n}\n",
	"",
}

// chunkInputs returns the examples, the invalid configurations, the rule
// cases, the decoding edge cases, the chunking edge cases and a generated
// configuration of many services, by name.
func chunkInputs(t *testing.T) map[string]string {
	t.Helper()
	srcs := map[string]string{}
	paths, _ := filepath.Glob("../examples/*.hcl")
	more, _ := filepath.Glob("testdata/invalid/*.hcl")
	merged, _ := filepath.Glob("testdata/invalid/*/*.hcl")
	for _, p := range slices.Concat(paths, more, merged) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs[filepath.Base(p)] = string(b)
	}
	for _, tc := range ruleCases {
		srcs["rule-"+tc.name+"-good"] = base + tc.good
		srcs["rule-"+tc.name+"-bad"] = base + strings.Replace(tc.bad, marker, "", 1)
	}
	for i, src := range decodeEdgeCases {
		srcs["edge-"+string(rune('a'+i/26))+string(rune('a'+i%26))] = src
	}
	for i, src := range chunkEdgeCases {
		srcs["chunk-"+string(rune('a'+i))] = src
	}
	var b strings.Builder
	b.WriteString(benchHeader)
	for i := range 30 {
		switch i % 3 {
		case 0:
			benchGSLB(&b, i)
		case 1:
			benchAFO(&b, i)
		default:
			benchSFPool(&b, i)
		}
	}
	srcs["generated"] = b.String()
	return srcs
}

// TestChunkedParseMatchesWhole checks that parsing a file in chunks and
// decoding its blocks in batches gives the syntax tree, the raw structs and
// the diagnostics of parsing it whole with hclsyntax and decoding it with
// gohcl, whatever the chunk size.
func TestChunkedParseMatchesWhole(t *testing.T) {
	dir := t.TempDir()
	for name, src := range chunkInputs(t) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if refused(t, path, []byte(src)) {
			continue
		}
		wantFile, wantDiags := hclsyntax.ParseConfig([]byte(src), path, hcl.InitialPos)
		var wantRaw *rawFile
		var wantDecode hcl.Diagnostics
		if !wantDiags.HasErrors() {
			wantRaw = &rawFile{}
			wantDecode = gohcl.DecodeBody(wantFile.Body, nil, wantRaw)
			compacted(wantRaw)
		}
		for _, size := range []int{1, 5, 40, chunkSize} {
			t.Run(name+"/"+strconv.Itoa(size), func(t *testing.T) {
				got := parseFiles([]string{path}, size)[0]
				if got.file == nil || !bytes.Equal(got.file.Bytes, []byte(src)) {
					t.Errorf("the parsed file does not keep the source")
				}
				if !reflect.DeepEqual(got.diags, wantDiags) {
					t.Errorf("syntax diagnostics differ:\ngot  %v\nwant %v", got.diags, wantDiags)
				}
				if !reflect.DeepEqual(got.raw, wantRaw) {
					t.Errorf("decoded value differs:\ngot  %#v\nwant %#v", got.raw, wantRaw)
				}
				if g, w := diagStrings(got.decodeDiags), diagStrings(wantDecode); !slices.Equal(g, w) {
					t.Errorf("decoding diagnostics differ:\ngot  %q\nwant %q", g, w)
				}
			})
		}
	}
}

// refused reports whether src is not UTF-8 or nests too deeply, and checks
// that parseFiles then reports exactly that instead of parsing.
func refused(t *testing.T, path string, src []byte) bool {
	t.Helper()
	d := checkEncoding(src, path)
	if d == nil {
		d, _ = checkNesting(src, path, MaxTokens)
	}
	if d == nil {
		return false
	}
	got := parseFiles([]string{path}, 1)[0]
	if got.raw != nil || len(got.diags) != 1 || got.diags[0].Summary != d.Summary || *got.diags[0].Subject != *d.Subject {
		t.Errorf("%s: want only %v, got %v", path, d, got.diags)
	}
	return true
}

// TestCutChunks checks where files are cut.
func TestCutChunks(t *testing.T) {
	src := []byte("a {\n}\nb {\n}\n\nc {\n  d {\n  }\n}\ne {}\n")
	for _, tc := range []struct {
		size int
		want []hcl.Pos
	}{
		{1, []hcl.Pos{{Byte: 0, Line: 1, Column: 1}, {Byte: 6, Line: 3, Column: 1}, {Byte: 12, Line: 5, Column: 1}, {Byte: 29, Line: 10, Column: 1}}},
		{7, []hcl.Pos{{Byte: 0, Line: 1, Column: 1}, {Byte: 12, Line: 5, Column: 1}, {Byte: 29, Line: 10, Column: 1}}},
		{20, []hcl.Pos{{Byte: 0, Line: 1, Column: 1}, {Byte: 29, Line: 10, Column: 1}}},
		{29, []hcl.Pos{{Byte: 0, Line: 1, Column: 1}}},
	} {
		chunks := cutChunks(src, tc.size)
		var got []hcl.Pos
		for i, c := range chunks {
			got = append(got, c.start)
			if i+1 < len(chunks) && c.end != chunks[i+1].start.Byte || i+1 == len(chunks) && c.end != len(src) {
				t.Errorf("size %d: chunk %d ends at %d", tc.size, i, c.end)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("size %d: chunks start at %v, want %v", tc.size, got, tc.want)
		}
	}
}

// TestChunksDecodedAlone checks that a file cut into chunks is decoded
// chunk by chunk when every chunk parses cleanly with blocks only, and
// parsed whole when a cut falls inside a comment or heredoc or a top-level
// argument is set.
func TestChunksDecodedAlone(t *testing.T) {
	srcs := chunkInputs(t)
	dec := newDecoder()
	for _, tc := range []struct {
		name  string
		alone bool
	}{
		{"generated", true},
		{"000-active-failover.hcl", true},
		{"chunk-a", true},
		{"chunk-d", false}, // a = 1 … a = 2
		{"chunk-e", false}, // a = 1 … b = 2
		{"chunk-b", false}, // a cut inside a comment
		{"chunk-c", false}, // a cut inside a heredoc
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(srcs[tc.name])
			p := parsedFile{name: tc.name, src: src, read: true, chunks: cutChunks(src, 1)}
			if len(p.chunks) < 2 {
				t.Fatalf("%d chunks", len(p.chunks))
			}
			alone := true
			for i := range p.chunks {
				p.decodeChunk(dec, &p.chunks[i])
				alone = alone && p.chunks[i].clean
			}
			if alone != tc.alone {
				t.Fatalf("decoded chunk by chunk: %v, want %v", alone, tc.alone)
			}
		})
	}
}

// compacted is raw as parseFiles leaves it: every native body replaced by
// its attrBody.
func compacted(raw *rawFile) *rawFile {
	if raw != nil {
		newDecoder().file.compact(reflect.ValueOf(raw).Elem())
	}
	return raw
}

// FuzzChunkedParse checks that parsing in chunks of any size gives the
// syntax tree, values and diagnostics of a whole-file parse.
func FuzzChunkedParse(f *testing.F) {
	for _, src := range chunkEdgeCases {
		f.Add([]byte(src), uint8(1))
	}
	paths, _ := filepath.Glob("../examples/*.hcl")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(7))
	}
	f.Fuzz(func(t *testing.T, src []byte, size uint8) {
		path := filepath.Join(t.TempDir(), "fuzz.hcl")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		if refused(t, path, src) {
			return
		}
		wantFile, wantDiags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		got := parseFiles([]string{path}, int(size))[0]
		if got.file == nil || !bytes.Equal(got.file.Bytes, src) {
			t.Fatal("the parsed file does not keep the source")
		}
		if !reflect.DeepEqual(got.diags, wantDiags) {
			t.Fatalf("syntax diagnostics differ:\ngot  %v\nwant %v", got.diags, wantDiags)
		}
		if wantDiags.HasErrors() {
			return
		}
		var wantRaw rawFile
		wantDecode := gohcl.DecodeBody(wantFile.Body, nil, &wantRaw)
		if !reflect.DeepEqual(got.raw, compacted(&wantRaw)) {
			t.Fatalf("decoded value differs:\ngot  %#v\nwant %#v", got.raw, wantRaw)
		}
		if g, w := diagStrings(got.decodeDiags), diagStrings(wantDecode); !slices.Equal(g, w) {
			t.Fatalf("decoding diagnostics differ:\ngot  %q\nwant %q", g, w)
		}
	})
}

// TestLoadKeepsSourceNotSyntaxTree checks that Load's files hold each
// file's bytes, which rendering diagnostics needs, and no syntax tree, which
// a reload would hold next to the running configuration (400 MB at 100,000
// services): for a valid configuration, one parsed whole (a top-level
// argument) and one that does not parse.
func TestLoadKeepsSourceNotSyntaxTree(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"valid.hcl":    "zone \"example.com\" {\n}\n",
		"argument.hcl": "a = 1\nzone \"example.com\" {\n}\n",
		"unclosed.hcl": "zone \"example.com\" {\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, files, _ := Load(path)
			f := files[path]
			if f == nil {
				t.Fatalf("no file %s in %v", path, files)
			}
			if string(f.Bytes) != src {
				t.Errorf("the file's bytes are not its source")
			}
			if f.Body != nil || f.Nav != nil {
				t.Errorf("the syntax tree is kept")
			}
		})
	}
}
