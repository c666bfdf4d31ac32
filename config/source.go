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

// src locates attributes and list elements of one block body, falling back
// to the block's definition when the body is not native syntax.
type src struct {
	body hcl.Body
	def  hcl.Range
}

func (s src) attribute(name string) *hclsyntax.Attribute {
	b, ok := s.body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	return b.Attributes[name]
}

// has reports whether the attribute is set.
func (s src) has(name string) bool { return s.attribute(name) != nil }

// attr returns the range of the attribute's value.
func (s src) attr(name string) hcl.Range {
	if a := s.attribute(name); a != nil {
		return a.Expr.Range()
	}
	return s.def
}

// name returns the range of the attribute's name.
func (s src) name(name string) hcl.Range {
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
	if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return a.Expr.Range()
}

// item finds the item with the given key of a map attribute.
func (s src) item(name, key string) *hclsyntax.ObjectConsItem {
	a := s.attribute(name)
	if a == nil {
		return nil
	}
	o, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	for i := range o.Items {
		v, d := o.Items[i].KeyExpr.Value(nil)
		if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type().FriendlyName() != "string" {
			continue
		}
		if v.AsString() == key {
			return &o.Items[i]
		}
	}
	return nil
}

// key returns the range of a key of a map attribute.
func (s src) key(name, key string) hcl.Range {
	if it := s.item(name, key); it != nil {
		return it.KeyExpr.Range()
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
	if t, ok := it.ValueExpr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return it.ValueExpr.Range()
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
