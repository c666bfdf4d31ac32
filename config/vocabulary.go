package config

import "sort"

// Vocabulary returns every block type and attribute name the configuration
// language accepts, as dotted paths from the top level: "server",
// "server.hostname", "gslb.region.pool.weight". Labels (the quoted names
// after a block type) are values, not names, and are not listed.
//
// It is read from the decoder's own schemas, so an attribute added to the
// raw* structs appears here without further work; the docs package checks
// that docs/configuration.md names each of them.
func Vocabulary() []string {
	var out []string
	var walk func(prefix string, p *plan)
	walk = func(prefix string, p *plan) {
		for _, a := range p.schema.Attributes {
			out = append(out, prefix+a.Name)
		}
		for _, b := range p.blocks {
			out = append(out, prefix+b.typeName)
			walk(prefix+b.typeName+".", b.plan)
		}
	}
	walk("", newDecoder().file)
	sort.Strings(out)
	return out
}
