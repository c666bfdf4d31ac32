package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// decoder fills the raw* structs from HCL bodies exactly as
// gohcl.DecodeBody does (same schemas, same values, same diagnostics), but
// works out each struct type's schema and field layout once instead of for
// every block, and converts long lists without cty's quadratic type
// unification (convertCollection). A decoder is read-only once built, so
// one can serve files decoded in parallel.
//
// It is kept because plain gohcl misses the configuration-size target.
// Measured 6 December 2026 on the shared 2-core machine (load 5-7), `failoverd
// validate` of bench/run.sh's active_failover configuration, 3 runs each:
// 10,000 services 0.84-0.93 s wall, 0.80-0.84 s CPU with the decoder,
// 1.8-2.6 s wall, 1.0-1.4 s CPU with gohcl.DecodeBody per block; 100,000
// services (18.7 MB) 3.9-8.3 s wall, 6.4-8.2 s CPU, 1.2 GB with the
// decoder, 8.9-11.9 s wall, 10.5-13.4 s CPU, 1.6 GB with gohcl (and 2.9 s
// wall, 5.2 s CPU with the decoder at a lighter moment; the target is under
// 3 s). BenchmarkDecode10k isolates the decoding: 0.48 s and 1.1M
// allocations against gohcl's 1.05 s and 3.6M for 10,000 mixed services.
type decoder struct {
	file *plan // the plan of rawFile
}

// plan is the decoding recipe of one raw* struct type.
type plan struct {
	schema   *hcl.BodySchema
	attrs    []attrPlan
	blocks   []blockPlan
	labels   []labelPlan
	body     int // index of the hcl.Body field, or -1
	defRange int // index of the def_range field, or -1
}

type attrPlan struct {
	name  string
	field int
	ty    cty.Type // the cty type gohcl converts the value to
}

type blockPlan struct {
	typeName string
	field    int          // a []*T field
	elem     reflect.Type // T
	plan     *plan
}

type labelPlan struct {
	field      int
	rangeField int // index of the label_range field, or -1
}

var (
	bodyType  = reflect.TypeFor[hcl.Body]()
	rangeType = reflect.TypeFor[hcl.Range]()
)

// newDecoder builds the plans of rawFile and of every block type under it.
func newDecoder() *decoder {
	plans := map[reflect.Type]*plan{}
	return &decoder{file: planFor(reflect.TypeFor[rawFile](), plans)}
}

// planFor returns the plan of struct type ty, building it (and those of its
// block types) into plans when missing. It supports the tag kinds the raw*
// types use and panics on anything else: that is a bug in this package.
func planFor(ty reflect.Type, plans map[reflect.Type]*plan) *plan {
	if p := plans[ty]; p != nil {
		return p
	}
	schema, partial := gohcl.ImpliedBodySchema(reflect.New(ty).Interface())
	if partial {
		panic(fmt.Sprintf("config: %s: remain fields are not supported", ty))
	}
	p := &plan{schema: schema, body: -1, defRange: -1}
	plans[ty] = p
	labelRanges := map[string]int{}
	var labelNames []string
	for i := range ty.NumField() {
		f := ty.Field(i)
		tag := f.Tag.Get("hcl")
		if tag == "" {
			continue
		}
		name, kind, ok := strings.Cut(tag, ",")
		if !ok {
			kind = "attr"
		}
		switch kind {
		case "attr", "optional":
			t, err := gocty.ImpliedType(reflect.New(f.Type).Interface())
			if err != nil {
				panic(fmt.Sprintf("config: %s.%s: %v", ty, f.Name, err))
			}
			p.attrs = append(p.attrs, attrPlan{name: name, field: i, ty: t})
		case "block":
			if f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Pointer ||
				f.Type.Elem().Elem().Kind() != reflect.Struct {
				panic(fmt.Sprintf("config: %s.%s: blocks must be []*struct", ty, f.Name))
			}
			elem := f.Type.Elem().Elem()
			p.blocks = append(p.blocks, blockPlan{typeName: name, field: i, elem: elem, plan: planFor(elem, plans)})
		case "label":
			p.labels = append(p.labels, labelPlan{field: i, rangeField: -1})
			labelNames = append(labelNames, name)
		case "label_range":
			labelRanges[name] = i
		case "body":
			if f.Type != bodyType {
				panic(fmt.Sprintf("config: %s.%s: body must be hcl.Body", ty, f.Name))
			}
			p.body = i
		case "def_range":
			if f.Type != rangeType {
				panic(fmt.Sprintf("config: %s.%s: def_range must be hcl.Range", ty, f.Name))
			}
			p.defRange = i
		default:
			panic(fmt.Sprintf("config: %s.%s: unsupported hcl tag kind %q", ty, f.Name, kind))
		}
	}
	for i, n := range labelNames {
		if r, ok := labelRanges[n]; ok {
			p.labels[i].rangeField = r
		}
	}
	return p
}

// decodeFile decodes a file's body into raw, as gohcl.DecodeBody would.
func (d *decoder) decodeFile(body hcl.Body, raw *rawFile) hcl.Diagnostics {
	return d.file.decodeBody(body, reflect.ValueOf(raw).Elem())
}

// topBlock is one top-level block of a file, decoded on its own so that the
// blocks of a large file can be decoded in parallel.
type topBlock struct {
	typeName string
	val      reflect.Value // a pointer to the new raw* struct
	diags    hcl.Diagnostics
}

// decodeTop decodes a top-level block (one of content.Blocks of the file
// schema) into a new value of its raw* type.
func (d *decoder) decodeTop(block *hcl.Block) topBlock {
	b := d.file.blockPlan(block.Type)
	v := reflect.New(b.elem)
	return topBlock{typeName: block.Type, val: v, diags: b.plan.decodeBlock(block, v.Elem())}
}

// compact drops the syntax tree of a decoded top-level block (see attrBody).
func (d *decoder) compact(t topBlock) {
	d.file.blockPlan(t.typeName).plan.compact(t.val.Elem())
}

// assemble fills raw with the decoded top-level blocks, in file order, as
// decodeFile would have, and returns their diagnostics in file order.
func (d *decoder) assemble(raw *rawFile, decoded []topBlock) hcl.Diagnostics {
	val := reflect.ValueOf(raw).Elem()
	count := map[string]int{}
	for _, b := range decoded {
		count[b.typeName]++
	}
	for _, b := range d.file.blocks {
		if n := count[b.typeName]; n > 0 {
			val.Field(b.field).Set(reflect.MakeSlice(val.Field(b.field).Type(), 0, n))
		}
	}
	var diags hcl.Diagnostics
	for _, b := range decoded {
		f := val.Field(d.file.blockPlan(b.typeName).field)
		f.Set(reflect.Append(f, b.val))
		diags = append(diags, b.diags...)
	}
	return diags
}

// blockPlan returns the plan of blocks of the given type; content decoded
// with p.schema holds no other.
func (p *plan) blockPlan(typeName string) *blockPlan {
	for i := range p.blocks {
		if p.blocks[i].typeName == typeName {
			return &p.blocks[i]
		}
	}
	panic(fmt.Sprintf("config: no %q blocks in the schema", typeName))
}

// decodeBody decodes body into val, a struct of p's type. The diagnostics
// are those of gohcl: the body's content (unsupported or missing arguments
// and blocks), then each attribute's evaluation and conversion, then each
// block's own; Load sorts them by position.
func (p *plan) decodeBody(body hcl.Body, val reflect.Value) hcl.Diagnostics {
	content, diags := body.Content(p.schema)
	if content == nil {
		return diags
	}
	if p.body >= 0 {
		val.Field(p.body).Set(reflect.ValueOf(&body).Elem())
	}
	for _, a := range p.attrs {
		attr := content.Attributes[a.name]
		if attr == nil {
			continue
		}
		diags = append(diags, decodeExpr(attr.Expr, a.ty, val.Field(a.field).Addr().Interface())...)
	}
	if len(p.blocks) == 0 {
		return diags
	}
	byType := content.Blocks.ByType()
	for _, b := range p.blocks {
		blocks := byType[b.typeName]
		if len(blocks) == 0 {
			continue
		}
		sli := reflect.MakeSlice(val.Field(b.field).Type(), len(blocks), len(blocks))
		for i, block := range blocks {
			v := reflect.New(b.elem)
			diags = append(diags, b.plan.decodeBlock(block, v.Elem())...)
			sli.Index(i).Set(v)
		}
		val.Field(b.field).Set(sli)
	}
	return diags
}

// decodeBlock decodes block into val, a struct of p's type, and fills in
// its labels, label ranges and definition range.
func (p *plan) decodeBlock(block *hcl.Block, val reflect.Value) hcl.Diagnostics {
	diags := p.decodeBody(block.Body, val)
	for i, l := range block.Labels {
		val.Field(p.labels[i].field).SetString(l)
		if r := p.labels[i].rangeField; r >= 0 {
			val.Field(r).Set(reflect.ValueOf(block.LabelRanges[i]))
		}
	}
	if p.defRange >= 0 {
		val.Field(p.defRange).Set(reflect.ValueOf(block.DefRange))
	}
	return diags
}

// decodeExpr evaluates expr without variables or functions, converts the
// value to ty and stores it in target, with gohcl.DecodeExpression's
// diagnostics.
func decodeExpr(expr hcl.Expression, ty cty.Type, target any) hcl.Diagnostics {
	v, diags := expr.Value(nil)
	var err error
	if c, ok := convertCollection(v, ty); ok {
		v = c
	} else {
		v, err = convert.Convert(v, ty)
	}
	if err == nil {
		err = gocty.FromCtyValue(v, target)
	}
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsuitable value type",
			Detail:   fmt.Sprintf("Unsuitable value: %s", err.Error()),
			Subject:  expr.StartRange().Ptr(),
			Context:  expr.Range().Ptr(),
		})
	}
	return diags
}

// convertCollection converts a tuple whose elements all have the primitive
// element type of the list type ty into that list, and an object of such
// tuples into a map of lists, with the result convert.Convert gives. It
// reports false for any other value or type, to be left to convert.Convert,
// which unifies the element types of a tuple by sorting them in quadratic
// time: a region_map list of 50,000 prefixes took 25 seconds.
func convertCollection(v cty.Value, ty cty.Type) (cty.Value, bool) {
	if !v.IsKnown() || v.IsNull() || v.IsMarked() {
		return cty.NilVal, false
	}
	vt := v.Type()
	switch {
	case ty.IsListType() && ty.ElementType().IsPrimitiveType() && vt.IsTupleType():
		ety := ty.ElementType()
		if v.LengthInt() == 0 {
			return cty.NilVal, false
		}
		elems := make([]cty.Value, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsKnown() || e.IsNull() || e.IsMarked() || !e.Type().Equals(ety) {
				return cty.NilVal, false
			}
			elems = append(elems, e)
		}
		return cty.ListVal(elems), true
	case ty.IsMapType() && ty.ElementType().IsListType() && vt.IsObjectType():
		if v.LengthInt() == 0 {
			return cty.NilVal, false
		}
		elems := make(map[string]cty.Value, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			c, ok := convertCollection(e, ty.ElementType())
			if !ok {
				return cty.NilVal, false
			}
			elems[k.AsString()] = c
		}
		return cty.MapVal(elems), true
	}
	return cty.NilVal, false
}
