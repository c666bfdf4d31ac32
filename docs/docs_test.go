package docs

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"

	"github.com/failoverd/failoverd/config"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

// markdownFiles are the documents whose links are checked, relative to the
// repository root.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(repoRoot, d)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	return files
}

func TestLinks_EveryRelativeLinkResolves(t *testing.T) {
	for _, f := range markdownFiles(t) {
		for _, problem := range checkLinks(repoRoot, f) {
			t.Errorf("%s: %s", f, problem)
		}
	}
}

// A clone of the repository is all a reader has: no document may send them
// to files that exist only next to it or on one machine.
func TestDocs_NoPathsOutsideTheRepository(t *testing.T) {
	for _, f := range markdownFiles(t) {
		src, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			// Spelled in parts so that a grep of the repository for them
			// finds no false hit in this file.
			for _, bad := range []string{"../" + "shared", "shared" + "/design", "/" + "work/"} {
				if strings.Contains(line, bad) {
					t.Errorf("%s:%d: %q points outside the repository: %s", f, i+1, bad, line)
				}
			}
		}
	}
}

func TestConfigurationDoc_NamesEveryBlockAndAttribute(t *testing.T) {
	doc := readDoc(t, repoRoot, "docs/configuration.md")
	for _, path := range config.Vocabulary() {
		if !doc.names(path) {
			t.Errorf("docs/configuration.md does not name %s: show it in an hcl example inside its block, or write `%s` in the text",
				path, shortName(path))
		}
	}
}

func TestConfigurationDoc_ExamplesUseOnlyAcceptedNames(t *testing.T) {
	doc := readDoc(t, repoRoot, "docs/configuration.md")
	vocab := config.Vocabulary()
	for used := range doc.examplePaths {
		if !slices.ContainsFunc(vocab, func(p string) bool { return hasPathSuffix(p, used) }) {
			t.Errorf("docs/configuration.md: an hcl example uses %s, which the configuration decoder does not accept", used)
		}
	}
}

// The checks themselves, on a made-up repository: each must find what is
// wrong, or the tests above could pass on anything.
func TestLinks_CheckerFindsBrokenLinks(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/target.md", "# Target\n\n## How to add a prober\n\n## 3. Region and service status (gslb, rttm)\n\n## Twice\n\n## Twice\n")
	write("examples/a.hcl", "")
	for _, tc := range []struct {
		name, link string
		ok         bool
	}{
		{"file", "target.md", true},
		{"directory", "../examples/", true},
		{"file outside docs", "../examples/a.hcl", true},
		{"heading", "target.md#how-to-add-a-prober", true},
		{"heading with punctuation", "target.md#3-region-and-service-status-gslb-rttm", true},
		{"second heading of a name", "target.md#twice-1", true},
		{"same file heading", "#source", true},
		{"absolute URL", "https://example.com/nothing", true},
		{"mail", "mailto:ops@example.net", true},
		{"missing file", "nothing.md", false},
		{"missing heading", "target.md#how-to-add-a-service-kind", false},
		{"missing heading in same file", "#nowhere", false},
		{"outside the repository", "../../elsewhere.md", false},
		{"image", "![chart](missing.png)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := "# Source\n\nSee [it](" + tc.link + ").\n"
			if strings.HasPrefix(tc.link, "!") {
				body = "# Source\n\n" + tc.link + "\n"
			}
			write("docs/source.md", body)
			problems := checkLinks(root, "docs/source.md")
			if ok := len(problems) == 0; ok != tc.ok {
				t.Errorf("link %q: problems %q, want ok=%v", tc.link, problems, tc.ok)
			}
		})
	}
}

func TestConfigurationDoc_CheckerFindsMissingNames(t *testing.T) {
	root := t.TempDir()
	md := "# Configuration\n\n```hcl\ngslb \"a.example.\" {\n  monitor {\n    port = 80\n  }\n}\n```\n\n" +
		"The `syslog.ident` attribute, and `server`.\n"
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "docs", "c.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, root, "docs/c.md")
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"gslb", true},
		{"gslb.monitor", true},
		{"gslb.monitor.port", true},
		{"cluster.service.monitor.port", true}, // monitor.port, shown once, covers every monitor
		{"active_failover.syslog.ident", true}, // named in the text
		{"server", true},
		{"gslb.monitor.path", false},   // not shown
		{"rttm.monitor", false},        // a monitor is shown, but not inside an rttm
		{"gslb.syslog.port", false},    // port is shown in a monitor, not in a syslog block
		{"dns", false},                 // a top-level block must be named as one
		{"smtp.server", false},         // `server` is the top-level block
		{"active_failover.ttl", false}, // nowhere
	} {
		if got := doc.names(tc.path); got != tc.want {
			t.Errorf("names(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestSlug_GitHubStyle(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"How to add a prober", "how-to-add-a-prober"},
		{"1. Probing", "1-probing"},
		{"Simple Monitor / Simple Failover pools", "simple-monitor--simple-failover-pools"},
		{"The `monitor` block", "the-monitor-block"},
		{"api.tls_cert_file and friends", "apitls_cert_file-and-friends"},
		{"Région Ünïcode", "région-ünïcode"},
	} {
		if got := slug(tc.heading); got != tc.want {
			t.Errorf("slug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

// markdown is the parser of every document: GitHub's tables so that links
// in table cells are links.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// parsed is one Markdown document.
type parsed struct {
	src  []byte
	root ast.Node
}

func parse(t testing.TB, path string) parsed {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{src: src, root: markdown.Parser().Parse(text.NewReader(src))}
}

// checkLinks returns what is wrong with the relative links and images of
// the document at rel (relative to root).
func checkLinks(root, rel string) []string {
	src, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return []string{err.Error()}
	}
	doc := parsed{src: src, root: markdown.Parser().Parse(text.NewReader(src))}
	var problems []string
	_ = ast.Walk(doc.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		var dest string
		switch l := n.(type) {
		case *ast.Link:
			dest = string(l.Destination)
		case *ast.Image:
			dest = string(l.Destination)
		default:
			return ast.WalkContinue, nil
		}
		if p := checkLink(root, rel, dest); p != "" {
			problems = append(problems, p)
		}
		return ast.WalkContinue, nil
	})
	return problems
}

// checkLink checks one link destination of the document rel.
func checkLink(root, rel, dest string) string {
	u, err := url.Parse(dest)
	if err != nil {
		return fmt.Sprintf("link %q: %v", dest, err)
	}
	if u.Scheme != "" || u.Host != "" {
		return "" // outside the repository: not ours to check here
	}
	target := rel
	if u.Path != "" {
		target = filepath.Join(filepath.Dir(rel), u.Path)
	}
	if target == ".." || strings.HasPrefix(target, "../") || filepath.IsAbs(u.Path) {
		return fmt.Sprintf("link %q leaves the repository", dest)
	}
	info, err := os.Stat(filepath.Join(root, target))
	if err != nil {
		return fmt.Sprintf("link %q: %s does not exist", dest, target)
	}
	if u.Fragment == "" {
		return ""
	}
	if info.IsDir() || filepath.Ext(target) != ".md" {
		return fmt.Sprintf("link %q: an anchor into %s, which is not a Markdown file", dest, target)
	}
	src, err := os.ReadFile(filepath.Join(root, target))
	if err != nil {
		return err.Error()
	}
	if !slices.Contains(anchors(parsed{src: src, root: markdown.Parser().Parse(text.NewReader(src))}), u.Fragment) {
		return fmt.Sprintf("link %q: %s has no heading with anchor #%s", dest, target, u.Fragment)
	}
	return ""
}

// anchors returns the anchors GitHub gives the headings of doc: the slug,
// with -1, -2, ... on repeats.
func anchors(doc parsed) []string {
	var out []string
	seen := map[string]int{}
	_ = ast.Walk(doc.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !ok || !entering {
			return ast.WalkContinue, nil
		}
		s := slug(plainText(h, doc.src))
		if k := seen[s]; k > 0 {
			out = append(out, fmt.Sprintf("%s-%d", s, k))
		} else {
			out = append(out, s)
		}
		seen[s]++
		return ast.WalkSkipChildren, nil
	})
	return out
}

// slug is GitHub's heading anchor: lower case, spaces to hyphens, and
// everything but letters, digits, hyphens and underscores dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plainText is the text of an inline container: its text and code spans,
// without markup.
func plainText(n ast.Node, src []byte) string {
	var b bytes.Buffer
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		default:
			b.WriteString(plainText(c, src))
		}
	}
	return b.String()
}

// configDoc is what a configuration reference shows: the dotted paths of
// every block and attribute in its hcl examples, from the example's top,
// each tail of two or more names of those paths, and its code spans.
type configDoc struct {
	examplePaths map[string]bool
	exampleTails map[string]bool
	codeSpans    map[string]bool
}

func readDoc(t *testing.T, root, rel string) configDoc {
	t.Helper()
	doc := parse(t, filepath.Join(root, rel))
	c := configDoc{examplePaths: map[string]bool{}, exampleTails: map[string]bool{}, codeSpans: map[string]bool{}}
	_ = ast.Walk(doc.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.FencedCodeBlock:
			if string(n.Language(doc.src)) != "hcl" {
				return ast.WalkSkipChildren, nil
			}
			var code bytes.Buffer
			for i := range n.Lines().Len() {
				seg := n.Lines().At(i)
				code.Write(seg.Value(doc.src))
			}
			f, diags := hclsyntax.ParseConfig(code.Bytes(), rel, hcl.InitialPos)
			if diags.HasErrors() {
				t.Errorf("%s: an hcl example does not parse: %s\n%s", rel, diags.Error(), code.String())
				return ast.WalkSkipChildren, nil
			}
			addPaths(c.examplePaths, "", f.Body.(*hclsyntax.Body))
			return ast.WalkSkipChildren, nil
		case *ast.CodeSpan:
			c.codeSpans[plainText(n, doc.src)] = true
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	for p := range c.examplePaths {
		parts := strings.Split(p, ".")
		for i := 0; i+2 <= len(parts); i++ {
			c.exampleTails[strings.Join(parts[i:], ".")] = true
		}
	}
	return c
}

// addPaths adds the dotted path of every attribute and block in body.
func addPaths(paths map[string]bool, prefix string, body *hclsyntax.Body) {
	for name := range body.Attributes {
		paths[prefix+name] = true
	}
	for _, b := range body.Blocks {
		paths[prefix+b.Type] = true
		addPaths(paths, prefix+b.Type+".", b.Body)
	}
}

// names reports whether the document names the vocabulary path: an
// example shows the name inside its own block type (an example may start
// at any block, so "monitor.port" shown once names the port of every
// monitor), or the text has it in a code span, as `block.name` or longer.
// A top-level block must appear as one in an example, or as `name` in the
// text.
func (c configDoc) names(path string) bool {
	parts := strings.Split(path, ".")
	if len(parts) == 1 {
		return c.examplePaths[path] || c.codeSpans[path]
	}
	for i := 0; i+2 <= len(parts); i++ {
		tail := strings.Join(parts[i:], ".")
		if c.exampleTails[tail] || c.codeSpans[tail] {
			return true
		}
	}
	return false
}

// hasPathSuffix reports whether the dotted path ends with the dotted suffix.
func hasPathSuffix(path, suffix string) bool {
	return path == suffix || strings.HasSuffix(path, "."+suffix)
}

// shortName is the last block and the name of path: what to write in the text.
func shortName(path string) string {
	parts := strings.Split(path, ".")
	if len(parts) < 2 {
		return path
	}
	return strings.Join(parts[len(parts)-2:], ".")
}
