package config

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ServiceJSON is one service block of a file, in HCL's JSON syntax: the
// body of PUT /v1/services/{fqdn}.
type ServiceJSON struct {
	Kind string
	// FQDN is the block's label as written.
	FQDN string
	Body []byte
}

// ServicesAsJSON turns every service block of a file in native syntax into
// HCL's JSON syntax, one body per service, in file order: what
// `failoverctl apply FILE` sends. Attribute values are evaluated (the
// language has no variables or functions), blocks become nested objects.
// Any block that is not a service is an error: only services are applied.
// The services' content is checked when they are applied, not here.
func ServicesAsJSON(filename string, src []byte) ([]ServiceJSON, hcl.Diagnostics) {
	if d, _ := checkSource(src, filename, false, MaxTokens); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	body := f.Body.(*hclsyntax.Body)
	for _, a := range body.Attributes {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Not a service block",
			Detail:   fmt.Sprintf("Only service blocks (active_failover, gslb, rttm, sf_pool) are applied; %q is an argument.", a.Name),
			Subject:  a.NameRange.Ptr(),
		})
	}
	var out []ServiceJSON
	for _, b := range body.Blocks {
		if !slices.Contains(ServiceKinds, b.Type) || len(b.Labels) != 1 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Not a service block",
				Detail:   fmt.Sprintf("Only service blocks (active_failover, gslb, rttm, sf_pool) with one fqdn label are applied; apply the rest of the configuration by editing its files. This is a %s block.", b.Type),
				Subject:  b.TypeRange.Ptr(),
			})
			continue
		}
		v, bdiags := bodyJSON(b.Body)
		diags = append(diags, bdiags...)
		if bdiags.HasErrors() {
			continue
		}
		data, err := json.Marshal(map[string]any{b.Type: map[string]any{b.Labels[0]: v}})
		if err != nil {
			panic(err) // plain data: a failure is a bug
		}
		out = append(out, ServiceJSON{Kind: b.Type, FQDN: b.Labels[0], Body: data})
	}
	if len(out) == 0 && !diags.HasErrors() {
		r := body.MissingItemRange()
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No service block",
			Detail:   "The file holds no active_failover, gslb, rttm or sf_pool block to apply.",
			Subject:  &r,
		})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return out, diags
}

// bodyJSON renders a native body as HCL's JSON syntax: attributes as their
// values; blocks by type, labelled ones keyed by label, repeated ones (or
// repeated labels) as arrays.
func bodyJSON(body *hclsyntax.Body) (map[string]any, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := map[string]any{}
	for name, a := range body.Attributes {
		v, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		data, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsuitable value", Detail: err.Error(), Subject: a.Expr.Range().Ptr()})
			continue
		}
		out[name] = json.RawMessage(data)
	}
	byType := map[string][]*hclsyntax.Block{}
	var types []string
	for _, b := range body.Blocks {
		if byType[b.Type] == nil {
			types = append(types, b.Type)
		}
		byType[b.Type] = append(byType[b.Type], b)
	}
	for _, t := range types {
		blocks := byType[t]
		var items []any
		for _, b := range blocks {
			v, d := bodyJSON(b.Body)
			diags = append(diags, d...)
			var item any = v
			for i := len(b.Labels) - 1; i >= 0; i-- {
				item = map[string]any{b.Labels[i]: item}
			}
			items = append(items, item)
		}
		if len(items) == 1 {
			out[t] = items[0]
		} else {
			out[t] = items // HCL's JSON syntax: an array of blocks
		}
	}
	return out, diags
}

// ServiceSource returns the service on fqdn as its file has it, in HCL's
// JSON syntax ({"KIND": {"FQDN": {...}}}): an API-managed service's file as
// stored, or the block of the operator's file turned into JSON syntax. It
// reads the file again, so an edit not yet reloaded shows; a block no longer
// there is an error.
func (c *Config) ServiceSource(fqdn string) ([]byte, error) {
	ref, ok := c.LookupService(fqdn)
	if !ok {
		return nil, fmt.Errorf("no service %s", normalizeName(fqdn))
	}
	src, err := os.ReadFile(ref.DefRange.Filename)
	if err != nil {
		return nil, err
	}
	if ref.Managed {
		return src, nil
	}
	f, diags := hclsyntax.ParseConfig(src, ref.DefRange.Filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", ref.DefRange.Filename, diags.Error())
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != ref.Kind || len(b.Labels) != 1 || normalizeName(b.Labels[0]) != ref.FQDN {
			continue
		}
		v, d := bodyJSON(b.Body)
		if d.HasErrors() {
			return nil, fmt.Errorf("%s: %s", ref.Where(), d.Error())
		}
		data, err := json.Marshal(map[string]any{b.Type: map[string]any{b.Labels[0]: v}})
		if err != nil {
			panic(err) // plain data: a failure is a bug
		}
		return data, nil
	}
	return nil, fmt.Errorf("%s: the %s block of %s is no longer there", ref.DefRange.Filename, ref.Kind, ref.FQDN)
}
