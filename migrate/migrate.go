// Package migrate is `failoverd import`: it turns what the hosted products'
// APIs returned for a service (Dyn's Active Failover, GSLB and RTTM,
// UltraDNS's Simple Monitor / Simple Failover pools) into failoverd's HCL
// configuration language, as docs/migrating.md describes.
//
// The output is text for a person to review and keep: every field that has
// no equivalent in failoverd is written as a "# not imported:" comment where
// it was, and a contact the export only names gets a placeholder address.
package migrate

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
)

// File is one export: its name (for messages) and its content.
type File struct {
	Name string
	Data []byte
}

// Func imports exports of one product. It returns the configuration text,
// or every problem found, each an *Error.
type Func func(files []File) ([]byte, error)

// Importers are the products `failoverd import` reads, by the name given on
// its command line.
var Importers = map[string]Func{
	"dyn":      Dyn,
	"ultradns": UltraDNS,
}

// importer collects what the files of one run produce: services in input
// order, and the zones and contacts they need, printed once each.
type importer struct {
	product  string
	files    []string
	zones    map[string]*block
	contacts map[string]bool
	services map[string]string // fqdn → where it was first imported from
	root     block
	errs     []error
}

// maxTTL is the largest TTL DNS allows (RFC 2181).
const maxTTL = 1<<31 - 1

func newImporter(product string, files []File) *importer {
	im := &importer{
		product:  product,
		zones:    map[string]*block{},
		contacts: map[string]bool{},
		services: map[string]string{},
	}
	for _, f := range files {
		im.files = append(im.files, filepath.Base(f.Name))
	}
	return im
}

func (im *importer) doc(f File) *doc { return &doc{file: f.Name, errs: &im.errs} }

// zone makes sure a zone block is printed for name and returns it.
func (im *importer) zone(name string) *block {
	z, ok := im.zones[name]
	if !ok {
		z = &block{typ: "zone", labels: []string{name}}
		im.zones[name] = z
	}
	return z
}

// claim records that fqdn is imported from v; a second service on one name
// would make the configuration invalid, so it is an input error.
func (im *importer) claim(v value, fqdn string) bool {
	if first, dup := im.services[fqdn]; dup {
		v.fail("%s is already imported from %s", fqdn, first)
		return false
	}
	im.services[fqdn] = v.d.file + " " + v.path
	return true
}

// finish prints the configuration: a header, the contacts, the zones (both
// sorted by name), then the services in the order they were read.
func (im *importer) finish() ([]byte, error) {
	if len(im.errs) > 0 {
		return nil, errors.Join(im.errs...)
	}
	var out block
	out.comment("Imported by `failoverd import %s` from %s.", im.product, strings.Join(im.files, ", "))
	out.comment("Review every \"not imported\" comment and every contact before use.")
	for _, nick := range slices.Sorted(maps.Keys(im.contacts)) {
		c := out.child("contact", nick)
		c.comment("The export names this contact but does not carry its addresses:")
		c.comment("replace the placeholder with the e-mail addresses to notify.")
		c.list("email", []string{"replace-me@example.invalid"})
	}
	for _, name := range slices.Sorted(maps.Keys(im.zones)) {
		out.items = append(out.items, im.zones[name])
	}
	out.items = append(out.items, im.root.items...)
	return []byte(out.render()), nil
}

// address reads s as an IP address (written in its canonical form) or a
// host name (lower case, with the trailing dot failoverd writes).
func address(s string) (addr string, isIP, ok bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.TrimSuffix(s, ".")); err == nil && a.Zone() == "" {
		return a.Unmap().String(), true, true
	}
	if n, ok := hostname(s); ok {
		return n, false, true
	}
	return "", false, false
}

// hostname reads s as a DNS host name: labels of letters, digits, hyphens
// and underscores, 1-63 characters each, at least one letter somewhere (so
// that a mistyped address is not taken for a name).
func hostname(s string) (string, bool) {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if n == "" || len(n) > 253 || !strings.ContainsAny(n, "abcdefghijklmnopqrstuvwxyz_-") {
		return "", false
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", false
			}
		}
	}
	return n + ".", true
}

// inZone reports whether the absolute name fqdn is zone or lies below it.
func inZone(fqdn, zone string) bool {
	return fqdn == zone || strings.HasSuffix(fqdn, "."+zone)
}

// zoneLabel is a zone as its block is labelled: without the trailing dot,
// as the configuration examples write zones.
func zoneLabel(zone string) string { return strings.TrimSuffix(zone, ".") }

// readZone reads the zone of a service.
func readZone(v value, s string) (string, bool) {
	z, ok := hostname(s)
	if !ok {
		v.fail("%s is not a zone name", quote(s))
	}
	return z, ok
}

// serviceName reads the name of a service and checks that it lies in zone.
func serviceName(v value, s, zone string) (string, bool) {
	n, ok := hostname(s)
	if !ok {
		v.fail("%s is not a host name", quote(s))
		return "", false
	}
	if !inZone(n, zone) {
		v.fail("%s is not inside the zone %s", n, zone)
		return "", false
	}
	return n, true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
