package config

import (
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// attrBody is what the checks of build need of a decoded native body: where
// each attribute and its name are, and the list and map expressions whose
// elements and keys they point at. It takes the place of the syntax tree in
// the raw* structs, so that a chunk's tree is garbage as soon as the chunk
// is decoded: the trees of 100,000 services take 400 MB, several times
// these.
type attrBody struct {
	filename string
	attrs    []attrPlace // in name order
	missing  hcl.Range
}

// attrPlace is one attribute: its name, where the name and the value are
// (in the body's file), and the value's expression when a check may look at
// its elements (nil for a quoted string or a literal, whose value is
// decoded already).
type attrPlace struct {
	name       string
	nameRange  [2]pos
	exprRange  [2]pos
	whole      [2]pos
	collection hcl.Expression
}

// pos is an hcl.Pos in a third of the space: no configuration file reaches
// MaxConfigSize, far below 2³¹ bytes.
type pos struct{ line, column, byte int32 }

func newPos(p hcl.Pos) pos { return pos{int32(p.Line), int32(p.Column), int32(p.Byte)} }

func (p pos) hcl() hcl.Pos {
	return hcl.Pos{Line: int(p.line), Column: int(p.column), Byte: int(p.byte)}
}

func newRange(r hcl.Range) [2]pos { return [2]pos{newPos(r.Start), newPos(r.End)} }

// newAttrBody keeps the places of b's attributes.
func newAttrBody(b *hclsyntax.Body) *attrBody {
	ab := &attrBody{filename: b.SrcRange.Filename, attrs: make([]attrPlace, 0, len(b.Attributes)), missing: b.MissingItemRange()}
	for _, a := range b.Attributes {
		p := attrPlace{name: a.Name, nameRange: newRange(a.NameRange), exprRange: newRange(a.Expr.Range()), whole: newRange(a.SrcRange)}
		switch a.Expr.(type) {
		case *hclsyntax.TemplateExpr, *hclsyntax.LiteralValueExpr:
		default:
			p.collection = a.Expr
		}
		ab.attrs = append(ab.attrs, p)
	}
	// In name order: the same body always gives the same attrBody.
	slices.SortFunc(ab.attrs, func(x, y attrPlace) int { return strings.Compare(x.name, y.name) })
	return ab
}

func (b *attrBody) rng(r [2]pos) hcl.Range {
	return hcl.Range{Filename: b.filename, Start: r[0].hcl(), End: r[1].hcl()}
}

// place returns the named attribute's place, or nil when it is not set.
func (b *attrBody) place(name string) *attrPlace {
	i, ok := slices.BinarySearchFunc(b.attrs, name, func(p attrPlace, name string) int { return strings.Compare(p.name, name) })
	if !ok {
		return nil
	}
	return &b.attrs[i]
}

// attribute returns the named attribute, or nil when it is not set. A
// quoted string or literal comes back as a static expression of unknown
// value at its place: only its range is kept.
func (b *attrBody) attribute(name string) *hcl.Attribute {
	p := b.place(name)
	if p == nil {
		return nil
	}
	expr := p.collection
	if expr == nil {
		expr = hcl.StaticExpr(cty.DynamicVal, b.rng(p.exprRange))
	}
	return &hcl.Attribute{Name: p.name, Expr: expr, Range: b.rng(p.whole), NameRange: b.rng(p.nameRange)}
}

// Content returns the attributes of schema that are set. The body was
// decoded against its schema already, so it reports nothing.
func (b *attrBody) Content(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, _, diags := b.PartialContent(schema)
	return c, diags
}

// PartialContent is Content; the remaining body is b itself.
func (b *attrBody) PartialContent(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	c := &hcl.BodyContent{Attributes: hcl.Attributes{}, MissingItemRange: b.missing}
	for _, s := range schema.Attributes {
		if a := b.attribute(s.Name); a != nil {
			c.Attributes[s.Name] = a
		}
	}
	return c, b, nil
}

// JustAttributes returns every attribute.
func (b *attrBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	attrs := make(hcl.Attributes, len(b.attrs))
	for _, p := range b.attrs {
		attrs[p.name] = b.attribute(p.name)
	}
	return attrs, nil
}

// MissingItemRange is where the body's block is.
func (b *attrBody) MissingItemRange() hcl.Range { return b.missing }

// compact replaces every native body in val (a struct of p's type) and in
// the blocks decoded into it by its attrBody.
func (p *plan) compact(val reflect.Value) {
	if p.body >= 0 {
		f := val.Field(p.body)
		if b, ok := f.Interface().(*hclsyntax.Body); ok {
			f.Set(reflect.ValueOf(newAttrBody(b)))
		}
	}
	for _, b := range p.blocks {
		sli := val.Field(b.field)
		for i := range sli.Len() {
			if e := sli.Index(i); !e.IsNil() {
				b.plan.compact(e.Elem())
			}
		}
	}
}
