package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hashicorp/hcl/v2"
	hcljson "github.com/hashicorp/hcl/v2/json"
)

// ManagedSuffix ends the name of every API-managed service file.
const ManagedSuffix = ".hcl.json"

// ServiceKinds are the block types of services, the "kind" of the API.
var ServiceKinds = []string{"active_failover", "gslb", "rttm", "sf_pool"}

// ManagedFile is the base name of the file in server.managed_dir that holds
// the API-managed service fqdn: the lower-case name without its trailing
// dot, then ".hcl.json".
func ManagedFile(fqdn string) string {
	return strings.TrimSuffix(normalizeName(fqdn), ".") + ManagedSuffix
}

// serviceSchema admits only service blocks: a managed file or a PUT body
// holds nothing else.
var serviceSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, k := range ServiceKinds {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: k, LabelNames: []string{"fqdn"}})
	}
	return s
}()

// ParseService parses one service block written in HCL's JSON syntax, such
// as {"gslb": {"app.example.com.": {...}}}: the body of PUT
// /v1/services/{fqdn} and the content of a managed file. It returns the
// block, whose type is the service's kind and whose label is its fqdn as
// written. Anything but exactly one service block is an error at the
// offending place; the block's content is checked only by Load.
func ParseService(filename string, src []byte) (*hcl.Block, hcl.Diagnostics) {
	if d, _ := checkSource(src, filename, true, MaxTokens); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	f, diags := hcljson.Parse(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	content, cdiags := f.Body.Content(serviceSchema)
	diags = append(diags, cdiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	if len(content.Blocks) == 0 {
		r := f.Body.MissingItemRange()
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No service block",
			Detail:   "Give exactly one service block, such as {\"gslb\": {\"app.example.com.\": {...}}}; its type is active_failover, gslb, rttm or sf_pool.",
			Subject:  &r,
		})
	}
	for _, b := range content.Blocks[1:] {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "More than one service block",
			Detail:   fmt.Sprintf("Only one service goes in each request or managed file; %s %q is a second one. Send each service on its own.", b.Type, b.Labels[0]),
			Subject:  b.DefRange.Ptr(),
		})
	}
	return content.Blocks[0], diags
}

// ServiceRef says where a service of a loaded configuration is defined.
type ServiceRef struct {
	// Kind is active_failover, gslb, rttm or sf_pool.
	Kind string
	// FQDN is absolute and lower-case.
	FQDN string
	// DefRange is where the service block is defined.
	DefRange hcl.Range
	// Managed is true for a service created over the API (its file lies in
	// server.managed_dir), false for one from the operator's files.
	Managed bool
}

// Where renders the definition as FILE:LINE.
func (r ServiceRef) Where() string { return where(r.DefRange) }

// LookupService finds the service on fqdn (any letter case, with or
// without the trailing dot).
func (c *Config) LookupService(fqdn string) (ServiceRef, bool) {
	name := normalizeName(fqdn)
	ref := func(kind string, s string, rng hcl.Range) (ServiceRef, bool) {
		return ServiceRef{Kind: kind, FQDN: s, DefRange: rng, Managed: c.isManaged(rng.Filename)}, true
	}
	for _, s := range c.ActiveFailovers {
		if s.FQDN == name {
			return ref("active_failover", s.FQDN, s.DefRange)
		}
	}
	for _, s := range c.GSLBs {
		if s.FQDN == name {
			return ref("gslb", s.FQDN, s.DefRange)
		}
	}
	for _, s := range c.RTTMs {
		if s.FQDN == name {
			return ref("rttm", s.FQDN, s.DefRange)
		}
	}
	for _, s := range c.SFPools {
		if s.FQDN == name {
			return ref("sf_pool", s.FQDN, s.DefRange)
		}
	}
	return ServiceRef{}, false
}

// isManaged reports whether the file name is an API-managed service file.
func (c *Config) isManaged(filename string) bool {
	return strings.HasSuffix(filename, ManagedSuffix) && filepath.Dir(filename) == c.Server.ManagedDir
}

// managedFiles lists the API-managed service files of dir in name order,
// with changes applied: a name mapped to nil is left out, one mapped to
// content is added when missing. A missing directory holds none.
func managedFiles(dir string, changes map[string][]byte) ([]string, hcl.Diagnostics) {
	set := map[string]bool{}
	entries, err := os.ReadDir(dir)
	// A missing managed_dir holds no service; a state_dir that is not a
	// directory is reported where state_dir is checked, by the daemon.
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		at := hcl.Range{Filename: dir, Start: hcl.InitialPos, End: hcl.InitialPos}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read managed_dir",
			Detail:   fmt.Sprintf("%v. Make server.managed_dir readable by failoverd.", err),
			Subject:  &at,
		}}
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ManagedSuffix) && !strings.HasPrefix(e.Name(), ".") {
			set[e.Name()] = true
		}
	}
	for name, content := range changes {
		set[name] = content != nil
	}
	var names []string
	for name, ok := range set {
		if ok {
			names = append(names, filepath.Join(dir, name))
		}
	}
	sort.Strings(names)
	return names, nil
}

// parseManaged reads (or takes from changes), parses and decodes one
// API-managed service file: one service block in HCL's JSON syntax, named
// as its file.
func parseManaged(dec *decoder, name string, changes map[string][]byte) parsedFile {
	var p parsedFile
	if content, ok := changes[filepath.Base(name)]; ok {
		p = parsedFile{name: name, src: content, read: true}
	} else {
		p = readFile(name, MaxConfigSize, MaxTokens)
		if !p.read {
			return p
		}
	}
	block, diags := ParseService(name, p.src)
	p.diags = diags
	if f, _ := hcljson.Parse(p.src, name); f != nil {
		p.file = f
	}
	if diags.HasErrors() {
		return p
	}
	if want := filepath.Base(name); ManagedFile(block.Labels[0]) != want {
		p.diags = append(p.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Service and file name differ",
			Detail:   fmt.Sprintf("A managed file holds the service it is named after: %s holds %q. Rename the file to %s.", want, block.Labels[0], ManagedFile(block.Labels[0])),
			Subject:  block.LabelRanges[0].Ptr(),
		})
		return p
	}
	top := dec.decodeTop(block)
	p.raw = &rawFile{}
	p.decodeDiags = dec.assemble(p.raw, []topBlock{top})
	return p
}
