package config

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// scanDepth returns the deepest nesting the scan measures in src.
func scanDepth(src string) int {
	s := nestingScan{src: []byte(src), line: 1, maxTokens: 1 << 30}
	s.run(1 << 30)
	return s.max
}

// TestNestingDepth checks what the scan counts as a level, and what it
// does not: openers in strings, heredocs and comments.
func TestNestingDepth(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want int
	}{
		{"block", "a {\n  b = 1\n}\n", 1},
		{"nested_blocks", "a {\n  b {\n    c {}\n  }\n}\n", 3},
		{"list_in_block", "a {\n  b = [[1], [2]]\n}\n", 3},
		{"string_is_a_level", `a = "x"`, 1},
		{"brackets_in_a_string", `a = "[[[[{{{{(((("`, 1},
		{"closers_in_a_string_close_nothing", "a = [[\"]]]]\" [", 3},
		{"escaped_quote", `a = "\"[[[["`, 1},
		{"template_sequence", `a = "${[1]}"`, 3},
		{"escaped_template", `a = "$${[[[["`, 1},
		{"template_in_template", `a = "${"${1}"}"`, 4},
		{"line_comment", "# [[[[\n// ((((\na = 1\n", 0},
		{"block_comment", "/* [[[[\n{{{{ */ a = [1]\n", 1},
		{"heredoc_text", "a = <<EOT\n[[[[ {{{{\nEOT\n", 1},
		{"heredoc_sequence", "a = <<-EOT\n  ${[1]}\n  EOT\n", 3},
		{"heredoc_marker_only_alone", "a = <<EOT\nx EOT\n[[[[\nEOT\nb = [1]\n", 1},
		{"operators_chain", "a = 1 + 2 + 3\n", 2},
		{"operators_end_with_the_line", "a = 1 + 2\nb = 1 + 2\n", 1},
		{"operators_in_a_list_end_at_a_comma", "a = [-1, -2, -3]\n", 2},
		{"negations", "a = !!!true\n", 3},
		{"ternary", "a = x ? y : z ? 1 : 2\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanDepth(tc.src); got != tc.want {
				t.Errorf("depth of %q = %d, want %d", tc.src, got, tc.want)
			}
		})
	}
}

// lexDepth is the nesting of hclsyntax's own tokens: brackets, braces,
// parentheses, strings, heredocs and template sequences.
func lexDepth(src []byte) int {
	toks, _ := hclsyntax.LexConfig(src, "x.hcl", hcl.InitialPos)
	var stack []hclsyntax.TokenType
	deepest := 0
	popIf := func(open hclsyntax.TokenType) {
		if n := len(stack); n > 0 && stack[n-1] == open {
			stack = stack[:n-1]
		}
	}
	for _, tok := range toks {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			stack = append(stack, tok.Type)
			deepest = max(deepest, len(stack))
		case hclsyntax.TokenCBrace:
			popIf(hclsyntax.TokenOBrace)
		case hclsyntax.TokenCBrack:
			popIf(hclsyntax.TokenOBrack)
		case hclsyntax.TokenCParen:
			popIf(hclsyntax.TokenOParen)
		case hclsyntax.TokenCQuote:
			popIf(hclsyntax.TokenOQuote)
		case hclsyntax.TokenCHeredoc:
			popIf(hclsyntax.TokenOHeredoc)
		case hclsyntax.TokenTemplateSeqEnd:
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i] == hclsyntax.TokenTemplateInterp || stack[i] == hclsyntax.TokenTemplateControl {
					stack = stack[:i]
					break
				}
			}
		}
	}
	return deepest
}

// nestingSeeds are inputs for FuzzNestingScan.
func nestingSeeds(t testing.TB) []string {
	seeds := []string{
		"a = [\"]]\" [[ \"${[}\" ]\n",
		"a = <<EOT\n${ <<X\n]]\nX\n}\nEOT\n[[\n",
		"a = \"\\\n]]\" [[",
		"a = \"%%{[[\" \"%{ if [ }\"",
		"a = <<-EOT\r\n  EOT\r\n[",
		"/* x */ a = [ # ]\n]",
		"a = \"$${\" [ \"$$${[}\"",
		"a = ~}[[",
	}
	paths, _ := filepath.Glob("../examples/*.hcl")
	more, _ := filepath.Glob("testdata/invalid/*.hcl")
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(b))
	}
	return seeds
}

// TestNestingScanCountsLexerLevels checks the seeds of FuzzNestingScan.
func TestNestingScanCountsLexerLevels(t *testing.T) {
	for _, src := range nestingSeeds(t) {
		if got, want := scanDepth(src), lexDepth([]byte(src)); got < want {
			t.Errorf("scan depth %d < lexer depth %d for %q", got, want, src)
		}
	}
}

// FuzzNestingScan checks that the scan never counts fewer levels than the
// tokens of hclsyntax's scanner hold open: were it to, a file could slip
// deep nesting past the limit into the parser.
func FuzzNestingScan(f *testing.F) {
	for _, s := range nestingSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if !utf8.ValidString(src) {
			return // Load refuses a file that is not UTF-8 before the scan
		}
		if got, want := scanDepth(src), lexDepth([]byte(src)); got < want {
			t.Errorf("scan depth %d < lexer depth %d for %q", got, want, src)
		}
	})
}

// TestNestingDepthJSON checks the scan of HCL's JSON syntax: a string is
// one token whose brackets count only after a template sequence opens.
func TestNestingDepthJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want int
	}{
		{"objects", `{"a": {"b": [1, 2]}}`, 3},
		{"brackets_in_a_string", `{"a": "[[[[{{{{"}`, 2},
		{"string_with_a_template_then_brackets", `{"a": "${" [[[ }`, 4},
		{"template_brackets_in_a_string", `{"a": "${[[[[1]]]]}"}`, 7},
		{"closers_in_a_string_close_nothing", `[[ "]]]]" [`, 3},
		{"escaped_quote", `{"a": "\"[[[["}`, 2},
		{"no_comments", `[ # [[`, 4},
		{"no_heredocs", "[ <<EOT\n[[\nEOT\n", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := nestingScan{src: []byte(tc.src), line: 1, maxTokens: 1 << 30, json: true}
			s.run(1 << 30)
			if s.max != tc.want {
				t.Errorf("depth of %q = %d, want %d", tc.src, s.max, tc.want)
			}
		})
	}
}
