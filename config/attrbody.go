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
	attrs   []hcl.Attribute
	missing hcl.Range
}

// newAttrBody keeps the places of b's attributes. A quoted string or a
// literal keeps only its range (its value is already decoded); any other
// expression is kept whole, since a check may look at its elements.
func newAttrBody(b *hclsyntax.Body) *attrBody {
	ab := &attrBody{attrs: make([]hcl.Attribute, 0, len(b.Attributes)), missing: b.MissingItemRange()}
	for _, a := range b.Attributes {
		var expr hcl.Expression = a.Expr
		switch a.Expr.(type) {
		case *hclsyntax.TemplateExpr, *hclsyntax.LiteralValueExpr:
			expr = hcl.StaticExpr(cty.DynamicVal, a.Expr.Range())
		}
		ab.attrs = append(ab.attrs, hcl.Attribute{Name: a.Name, Expr: expr, Range: a.SrcRange, NameRange: a.NameRange})
	}
	// In name order: the same body always gives the same attrBody.
	slices.SortFunc(ab.attrs, func(x, y hcl.Attribute) int { return strings.Compare(x.Name, y.Name) })
	return ab
}

// attribute returns the named attribute, or nil when it is not set.
func (b *attrBody) attribute(name string) *hcl.Attribute {
	for i := range b.attrs {
		if b.attrs[i].Name == name {
			return &b.attrs[i]
		}
	}
	return nil
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
	for i := range b.attrs {
		attrs[b.attrs[i].Name] = &b.attrs[i]
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
