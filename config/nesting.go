package config

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// MaxNesting is how deeply brackets, braces, parentheses, quoted strings,
// heredocs, template sequences and chains of operators may nest in a
// configuration file. hcl's parser and evaluator recurse once per level
// with no limit of their own: a few hundred kilobytes of "[" overflow the
// goroutine stack, which kills the process rather than returning an error,
// so Load measures the depth before it hands the bytes to hcl. A real
// configuration nests fewer than ten levels.
const MaxNesting = 100

// nestingScan follows the context rules of hclsyntax's scanner (code,
// quoted strings, heredocs, comments, template sequences) closely enough
// never to count fewer levels than the parser will recurse: openers inside
// strings and comments do not count, operators count one level each until
// the end of the expression, and closers only close a matching opener.
type nestingScan struct {
	src []byte
	i   int

	line      int // 1-based line of src[i]
	lineStart int // byte offset of the line

	// braces and retBraces mirror the scanner's own state: a "}" ends a
	// template sequence when the brace count is back to where it began.
	braces    int
	retBraces []int
	ctx       []nestCtx // open strings, heredocs and template sequences

	// tokens roughly counts hclsyntax's tokens: the parsed file costs
	// memory in proportion to them.
	tokens    int
	maxTokens int
	// json scans HCL's JSON syntax: no comments and no heredocs, so "#",
	// "//", "/*" and "<<" are read as operators (counted, never skipped).
	json bool

	levels []nestLevel // every open level, outermost first
	ops    int         // operators counted in the expression at the top level
	opsSum int         // ops over every open level and the top level
	max    int
}

// nestCtx is a lexical context other than code.
type nestCtx struct {
	kind   byte   // '"' quoted string, '<' heredoc, '$' template sequence
	marker []byte // heredoc end marker

	// A JSON string is one token to hcljson's scanner; its content is
	// parsed as a template only when evaluated. From its first "${" or
	// "%{" on, every opener in it counts (none closes) until the string
	// ends, when the levels opened in it close.
	template bool
	levels   int // len(levels) when the JSON string opened
}

// nestLevel is one open level and the operators of its enclosing
// expression counted so far.
type nestLevel struct {
	kind     byte // { [ ( " < $
	outerOps int
}

// MaxTokens is how many tokens (names, numbers, strings, brackets,
// operators, line ends) one configuration may hold, all files together.
// A parsed file takes memory in proportion to its tokens, a few hundred
// bytes each, and text can be much denser in tokens than a real
// configuration: 100,000 services of the kinds in examples/ are 4 to 7
// million tokens (19 to 31 MB).
const MaxTokens = 8_000_000

// checkNesting returns a diagnostic at the first place src nests deeper
// than MaxNesting, or where the configuration's tokens pass maxTokens
// (what is left of MaxTokens for this file), or nil, and the number of
// tokens. src must be valid UTF-8: hclsyntax's scanner reads broken UTF-8
// in ways (a "#" inside an identifier) the scan does not follow.
func checkNesting(src []byte, filename string, maxTokens int) (*hcl.Diagnostic, int) {
	return scanSource(src, filename, false, maxTokens)
}

// scanSource is checkNesting for either syntax.
func scanSource(src []byte, filename string, json bool, maxTokens int) (*hcl.Diagnostic, int) {
	s := nestingScan{src: src, line: 1, maxTokens: maxTokens, json: json}
	switch s.run(MaxNesting) {
	case overNesting:
		return s.diagnostic(filename, "Nesting too deep", fmt.Sprintf("Brackets, braces, strings, templates and operators nest more than %d levels deep here, "+
			"and failoverd does not read further. A configuration needs only a few levels: look for unclosed brackets or generated text.", MaxNesting)), s.tokens
	case overTokens:
		return s.diagnostic(filename, "Configuration too large", fmt.Sprintf("The configuration holds more than %d tokens (names, values, brackets, line ends) by here, "+
			"and failoverd does not read further: 100,000 services take 4 to 7 million.", MaxTokens)), s.tokens
	}
	return nil, s.tokens
}

// Why a scan stopped.
const (
	scanDone = iota
	overNesting
	overTokens
)

// checkSource returns a diagnostic when src, a file or an API request body
// in HCL's native syntax or (json) its JSON syntax, is not UTF-8, nests
// deeper than MaxNesting or holds more than maxTokens tokens, and the
// number of tokens. Every text handed to hcl's parsers goes through it
// first: they recurse once per level with no limit of their own.
func checkSource(src []byte, filename string, json bool, maxTokens int) (*hcl.Diagnostic, int) {
	if d := checkEncoding(src, filename); d != nil {
		return d, 0
	}
	return scanSource(src, filename, json, maxTokens)
}

// checkEncoding returns a diagnostic at the first byte of src that is not
// UTF-8, or nil.
func checkEncoding(src []byte, filename string) *hcl.Diagnostic {
	if utf8.Valid(src) {
		return nil
	}
	s := nestingScan{src: src, line: 1}
	for s.i < len(src) {
		r, n := utf8.DecodeRune(src[s.i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		if r == '\n' {
			s.newline()
		}
		s.i += n
	}
	return s.diagnostic(filename, "Invalid character encoding", "Configuration files must be UTF-8 encoded; this byte is not. Convert the file to UTF-8.")
}

// diagnostic is an error at s.i.
func (s *nestingScan) diagnostic(filename, summary, detail string) *hcl.Diagnostic {
	src := s.src
	pos := hcl.Pos{Line: s.line, Column: utf8.RuneCount(src[s.lineStart:s.i]) + 1, Byte: s.i}
	end := pos
	if s.i < len(src) {
		_, n := utf8.DecodeRune(src[s.i:])
		end.Byte += n
		end.Column++
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &hcl.Range{Filename: filename, Start: pos, End: end}}
}

// depth is the current nesting depth.
func (s *nestingScan) depth() int { return len(s.levels) + s.opsSum }

// push opens a level and reports whether the depth is over limit.
func (s *nestingScan) push(kind byte, limit int) bool {
	s.levels = append(s.levels, nestLevel{kind: kind, outerOps: s.ops})
	s.ops = 0
	return s.grew(limit)
}

// pop closes the innermost level, restoring the operator count of the
// expression it was part of.
func (s *nestingScan) pop() {
	top := s.levels[len(s.levels)-1]
	s.levels = s.levels[:len(s.levels)-1]
	s.opsSum -= s.ops
	s.ops = top.outerOps
}

// popIf closes the innermost level when it is of the given kind.
func (s *nestingScan) popIf(kind byte) {
	if n := len(s.levels); n > 0 && s.levels[n-1].kind == kind {
		s.pop()
	}
}

// op counts one operator of the current expression.
func (s *nestingScan) op(limit int) bool {
	s.ops++
	s.opsSum++
	return s.grew(limit)
}

// endExpr forgets the operators of the expression that just ended.
func (s *nestingScan) endExpr() {
	s.opsSum -= s.ops
	s.ops = 0
}

func (s *nestingScan) grew(limit int) bool {
	s.max = max(s.max, s.depth())
	return s.depth() > limit
}

// newline records that src[i] is a line feed.
func (s *nestingScan) newline() {
	s.line++
	s.lineStart = s.i + 1
}

// run scans src and reports whether the depth exceeds limit or the
// tokens exceed s.maxTokens; s.i is then where they do.
func (s *nestingScan) run(limit int) int {
	for s.i < len(s.src) {
		at, line, lineStart := s.i, s.line, s.lineStart
		var over bool
		switch {
		case len(s.ctx) == 0 || s.ctx[len(s.ctx)-1].kind == '$':
			over = s.code(limit)
		case s.ctx[len(s.ctx)-1].kind == '"':
			over = s.quoted(limit)
		default:
			over = s.heredoc(limit)
		}
		if over {
			return overNesting
		}
		if s.tokens > s.maxTokens {
			s.i, s.line, s.lineStart = at, line, lineStart
			return overTokens
		}
	}
	return scanDone
}

// code scans one token of code at s.i.
func (s *nestingScan) code(limit int) bool {
	src := s.src
	c := src[s.i]
	next := byte(0)
	if s.i+1 < len(src) {
		next = src[s.i+1]
	}
	if c != ' ' && c != '\t' && c != '\r' && (!wordByte(c) || s.i == 0 || !wordByte(src[s.i-1])) {
		s.tokens++
	}
	switch c {
	case '\n':
		// A new line ends the expression of a body item; inside brackets,
		// parentheses and template sequences it does not.
		if n := len(s.levels); n == 0 || s.levels[n-1].kind == '{' {
			s.endExpr()
		}
		s.newline()
	case '#':
		if !s.json {
			s.skipLine()
			return false
		}
		if s.op(limit) {
			return true
		}
	case '/':
		switch {
		case s.json:
		case next == '/':
			s.skipLine()
			return false
		case next == '*':
			if s.skipBlockComment() {
				return false
			}
		}
		if s.op(limit) {
			return true
		}
	case '"':
		s.tokens++ // the literal
		s.ctx = append(s.ctx, nestCtx{kind: '"', levels: len(s.levels)})
		if s.push('"', limit) {
			return true
		}
	case '<':
		if marker, n := heredocIntro(src[s.i:]); n > 0 && !s.json {
			s.ctx = append(s.ctx, nestCtx{kind: '<', marker: marker})
			if s.push('<', limit) {
				return true
			}
			s.i += n
			s.newlineAt(s.i - 1)
			return false
		}
		if s.op(limit) {
			return true
		}
	case '{':
		s.braces++
		if s.push('{', limit) {
			return true
		}
	case '~':
		if next == '}' {
			s.i++
			s.closeBrace()
		}
	case '}':
		s.closeBrace()
	case '[', '(':
		if s.push(c, limit) {
			return true
		}
	case ']':
		s.popIf('[')
	case ')':
		s.popIf('(')
	case ',':
		s.endExpr()
	case '!', '-', '+', '*', '%', '>', '&', '|', '?':
		if s.op(limit) {
			return true
		}
	case '=':
		if next == '=' {
			if s.op(limit) {
				return true
			}
			s.i++
		}
	}
	s.i++
	return false
}

// closeBrace handles a "}" (or "~}") at s.i: the end of a template sequence
// when the scanner's brace count says so, else of a block or object.
func (s *nestingScan) closeBrace() {
	if n := len(s.retBraces); n > 0 && s.retBraces[n-1] == s.braces {
		s.braces--
		s.retBraces = s.retBraces[:n-1]
		for len(s.levels) > 0 {
			kind := s.levels[len(s.levels)-1].kind
			s.pop()
			if kind == '$' {
				break
			}
		}
		s.ctx = s.ctx[:len(s.ctx)-1]
		return
	}
	s.braces--
	s.popIf('{')
}

// openSequence starts a template sequence ("${" or "%{") at s.i.
func (s *nestingScan) openSequence(limit int) bool {
	s.braces++
	s.retBraces = append(s.retBraces, s.braces)
	s.ctx = append(s.ctx, nestCtx{kind: '$'})
	s.i += 2
	return s.push('$', limit)
}

// templateChar handles "$" and "%" in a string or heredoc: "${" and "%{"
// open a sequence, "$${" and "%%{" are literal.
func (s *nestingScan) templateChar(limit int) bool {
	src, c := s.src, s.src[s.i]
	switch {
	case s.i+1 < len(src) && src[s.i+1] == '{':
		return s.openSequence(limit)
	case s.i+2 < len(src) && src[s.i+1] == c && src[s.i+2] == '{':
		s.i += 3
	default:
		s.i++
	}
	return false
}

// quoted scans one piece of a quoted string at s.i.
func (s *nestingScan) quoted(limit int) bool {
	if s.json {
		return s.quotedJSON(limit)
	}
	src := s.src
	switch c := src[s.i]; c {
	case '\\':
		// An escape takes the next character, unless that is a line end.
		if s.i+1 < len(src) && src[s.i+1] != '\n' && src[s.i+1] != '\r' {
			s.i++
		}
	case '$', '%':
		return s.templateChar(limit)
	case '"':
		s.tokens++
		s.ctx = s.ctx[:len(s.ctx)-1]
		s.popIf('"')
	case '\n':
		s.newline()
	}
	s.i++
	return false
}

// quotedJSON scans one character of a JSON string at s.i.
func (s *nestingScan) quotedJSON(limit int) bool {
	src, top := s.src, &s.ctx[len(s.ctx)-1]
	switch c := src[s.i]; c {
	case '\\':
		s.i++ // an escape takes the next character
	case '"':
		s.tokens++
		for len(s.levels) > top.levels {
			s.pop()
		}
		s.ctx = s.ctx[:len(s.ctx)-1]
	case '$', '%':
		if s.i+1 < len(src) && src[s.i+1] == '{' {
			top.template = true
			s.i++
			if s.push('$', limit) {
				return true
			}
		}
	case '{', '[', '(':
		if top.template && s.push(c, limit) {
			return true
		}
	case '\n':
		s.newline()
	}
	s.i++
	return false
}

// heredoc scans heredoc text at s.i, which is at the start of a line or
// just after a template sequence.
func (s *nestingScan) heredoc(limit int) bool {
	src := s.src
	top := s.ctx[len(s.ctx)-1]
	if s.i == s.lineStart {
		// A line that holds only the marker (and white space) ends the
		// heredoc; its line feed belongs to the enclosing code.
		if j := bytes.IndexByte(src[s.i:], '\n'); j >= 0 && bytes.Equal(bytes.TrimSpace(src[s.i:s.i+j]), top.marker) {
			s.ctx = s.ctx[:len(s.ctx)-1]
			s.popIf('<')
			s.i += j
			return false
		}
	}
	for s.i < len(src) {
		switch src[s.i] {
		case '$', '%':
			if s.templateChar(limit) {
				return true
			}
			if len(s.ctx) > 0 && s.ctx[len(s.ctx)-1].kind == '$' {
				return false
			}
		case '\n':
			s.tokens++
			s.newline()
			s.i++
			return false
		default:
			s.i++
		}
	}
	return false
}

// newlineAt records a line feed at byte j.
func (s *nestingScan) newlineAt(j int) {
	s.line++
	s.lineStart = j + 1
}

// skipLine moves s.i to the line feed ending a line comment, which is then
// scanned as code.
func (s *nestingScan) skipLine() {
	if j := bytes.IndexByte(s.src[s.i:], '\n'); j >= 0 {
		s.i += j
	} else {
		s.i = len(s.src)
	}
}

// skipBlockComment moves s.i past the "*/" ending a block comment. Without
// one there is no comment (the scanner reads "/" and "*" as operators) and
// it reports false.
func (s *nestingScan) skipBlockComment() bool {
	j := bytes.Index(s.src[s.i+2:], []byte("*/"))
	if j < 0 {
		return false
	}
	end := s.i + 2 + j + 2
	for k := s.i; k < end; k++ {
		if s.src[k] == '\n' {
			s.newlineAt(k)
		}
	}
	s.i = end
	return true
}

// wordByte reports whether c continues an identifier or a number.
func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c >= utf8.RuneSelf
}

// heredocIntro matches "<<" or "<<-", an identifier and a line end at the
// start of b, returning the marker and the length of the introducer.
func heredocIntro(b []byte) ([]byte, int) {
	if len(b) < 3 || b[0] != '<' || b[1] != '<' {
		return nil, 0
	}
	i := 2
	if b[i] == '-' {
		i++
	}
	start := i
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		ok := r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_ID_Start, r)
		if i > start {
			ok = ok || r == '-' || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc, unicode.Other_ID_Continue)
		}
		if !ok || r == utf8.RuneError {
			break
		}
		i += n
	}
	if i == start {
		return nil, 0
	}
	marker := b[start:i]
	if i < len(b) && b[i] == '\r' {
		i++
	}
	if i >= len(b) || b[i] != '\n' {
		return nil, 0
	}
	return marker, i + 1
}
