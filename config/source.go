package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// loader accumulates diagnostics while turning raw blocks into a Config.
type loader struct {
	dir       string
	fileOrder map[string]int // file name → position in load order
	diags     hcl.Diagnostics
}

// errf records an error diagnostic at rng.
func (l *loader) errf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

// src locates attributes and list elements of one block body, in native
// syntax or in HCL's JSON syntax (API-managed services), falling back to the
// block's definition when nothing narrower is known.
type src struct {
	body hcl.Body
	def  hcl.Range
}

// attribute returns the attribute, or nil when it is not set.
func (s src) attribute(name string) *hcl.Attribute {
	if b, ok := s.body.(*attrBody); ok {
		return b.attribute(name)
	}
	if b, ok := s.body.(*hclsyntax.Body); ok {
		// The fast path: native bodies are most of every configuration.
		if a := b.Attributes[name]; a != nil {
			return a.AsHCLAttribute()
		}
		return nil
	}
	if s.body == nil {
		return nil
	}
	content, _, _ := s.body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	if content == nil {
		return nil
	}
	return content.Attributes[name]
}

// has reports whether the attribute is set.
func (s src) has(name string) bool {
	if b, ok := s.body.(*attrBody); ok {
		// Without building an hcl.Attribute: build asks for every
		// attribute of every service.
		return b.place(name) != nil
	}
	return s.attribute(name) != nil
}

// attr returns the range of the attribute's value.
func (s src) attr(name string) hcl.Range {
	if b, ok := s.body.(*attrBody); ok {
		if p := b.place(name); p != nil {
			return b.rng(p.exprRange)
		}
		return s.def
	}
	if a := s.attribute(name); a != nil {
		return a.Expr.Range()
	}
	return s.def
}

// name returns the range of the attribute's name.
func (s src) name(name string) hcl.Range {
	if b, ok := s.body.(*attrBody); ok {
		if p := b.place(name); p != nil {
			return b.rng(p.nameRange)
		}
		return s.def
	}
	if a := s.attribute(name); a != nil {
		return a.NameRange
	}
	return s.def
}

// elem returns the range of element i of a list attribute.
func (s src) elem(name string, i int) hcl.Range {
	a := s.attribute(name)
	if a == nil {
		return s.def
	}
	if exprs, d := hcl.ExprList(a.Expr); !d.HasErrors() && i < len(exprs) {
		return exprs[i].Range()
	}
	return a.Expr.Range()
}

// item finds the value of the item with the given key of a map attribute.
func (s src) item(name, key string) *hcl.KeyValuePair {
	a := s.attribute(name)
	if a == nil {
		return nil
	}
	pairs, d := hcl.ExprMap(a.Expr)
	if d.HasErrors() {
		return nil
	}
	for i := range pairs {
		v, d := pairs[i].Key.Value(nil)
		if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type().FriendlyName() != "string" {
			continue
		}
		if v.AsString() == key {
			return &pairs[i]
		}
	}
	return nil
}

// key returns the range of a key of a map attribute.
func (s src) key(name, key string) hcl.Range {
	if it := s.item(name, key); it != nil {
		return it.Key.Range()
	}
	return s.attr(name)
}

// keyElem returns the range of element i of the list under key of a map
// attribute.
func (s src) keyElem(name, key string, i int) hcl.Range {
	it := s.item(name, key)
	if it == nil {
		return s.attr(name)
	}
	if exprs, d := hcl.ExprList(it.Value); !d.HasErrors() && i < len(exprs) {
		return exprs[i].Range()
	}
	return it.Value.Range()
}

// resolvePath makes p absolute against the directory of the file in which
// rng lies.
func resolvePath(p string, rng hcl.Range) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(rng.Filename), p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		panic(fmt.Sprintf("config: absolute path of %q: %v", p, err))
	}
	return abs
}

// quoteList renders allowed values as "a", "b" or "c".
func quoteList(allowed []string) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// where renders a range as FILE:LINE for "first defined at" details.
func where(r hcl.Range) string {
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}
