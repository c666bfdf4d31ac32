package migrate

import (
	"net/url"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// UltraDNS imports what UltraDNS's REST API returned for
// GET /v2/zones/{zone}/rrsets/{type}/{owner} (or the rrset lists of a zone):
// the list envelope {"zoneName", "rrSets", "queryInfo", "resultInfo"}, one
// bare rrset carrying its zoneName, or a JSON list of either. Rrsets with the
// Simple Monitor / Simple Failover pool profile become sf_pool blocks; any
// other rrset is kept as a comment.
func UltraDNS(files []File) ([]byte, error) {
	im := newImporter("ultradns", files)
	for _, f := range files {
		if v, ok := parse(im.doc(f), f.Data); ok {
			im.udnsDocument(v, true)
		}
	}
	return im.finish()
}

// sfContexts are the @context values of the SF pool profile: the schema's
// name, and the singular spelling UltraDNS's own examples use.
var sfContexts = []string{
	"http://schemas.ultradns.com/SFPool.jsonschema",
	"http://schema.ultradns.com/SFPool.jsonschema",
}

// maxText is UltraDNS's limit on descriptions and monitor strings: "less
// than 255 characters".
const maxText = 255

func (im *importer) udnsDocument(v value, top bool) {
	if l, ok := v.elems(); ok && top {
		if len(l) == 0 {
			v.fail("an empty list: nothing to import")
		}
		for _, e := range l {
			im.udnsDocument(e, false)
		}
		return
	}
	o, ok := v.object()
	if !ok {
		v.fail("%s is not an UltraDNS rrset, an rrset list, or a list of them", v.brief())
		return
	}
	o.fold = true
	if !o.has("rrSets") {
		im.udnsRRSet(o, "")
		return
	}
	zone, ok := o.text("zoneName")
	if !ok {
		o.key("zoneName").fail("missing: the zone of the rrsets")
		return
	}
	// queryInfo and resultInfo describe the listing, not the pools.
	list, ok := o.array("rrSets")
	if !ok {
		return
	}
	if len(list) == 0 {
		o.key("rrSets").fail("an empty list: nothing to import")
	}
	for _, e := range list {
		ro, ok := e.object()
		if !ok {
			e.fail("%s is not an rrset", e.brief())
			continue
		}
		ro.fold = true
		im.udnsRRSet(ro, zone)
	}
}

// udnsType reads an rrtype as UltraDNS wrote it: "A (1)", "A(1)", "A" or 1.
func udnsType(s string) string {
	t := strings.TrimSpace(s)
	if name, num, ok := strings.Cut(t, "("); ok {
		t = strings.TrimSpace(name)
		if t == "" {
			t = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(num), ")"))
		}
	}
	switch t = strings.ToUpper(t); t {
	case "1":
		return "A"
	case "28":
		return "AAAA"
	}
	return t
}

// ownerName makes an rrset's owner absolute: UltraDNS accepts it relative to
// the zone or absolute, with or without the final dot.
func ownerName(v value, s, zone string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "@" || s == "" {
		return zone, true
	}
	n, ok := hostname(s)
	if !ok {
		v.fail("%s is not a host name", quote(s))
		return "", false
	}
	if !strings.HasSuffix(s, ".") && !inZone(n, zone) {
		n = strings.TrimSuffix(n, ".") + "." + zone
	}
	if !inZone(n, zone) {
		v.fail("%s is not inside the zone %s", n, zone)
		return "", false
	}
	return n, true
}

func (im *importer) udnsRRSet(o *object, envZone string) {
	before := len(im.errs)
	zs, ok := o.text("zoneName")
	if !ok {
		zs = envZone
	}
	if zs == "" {
		o.key("zoneName").fail("missing: the zone the rrset is in")
		return
	}
	zone, ok := readZone(o.key("zoneName"), zs)
	if !ok {
		return
	}
	owner, ok := o.text("ownerName")
	if !ok {
		o.key("ownerName").fail("missing: the name of the pool")
		return
	}
	fqdn, ok := ownerName(o.key("ownerName"), owner, zone)
	if !ok {
		return
	}
	ts, ok := o.text("rrtype")
	if !ok {
		o.key("rrtype").fail("missing: A (1) or AAAA (28)")
		return
	}
	rrtype := udnsType(ts)

	profile, hasProfile := o.child("profile")
	if !hasProfile || !sfProfile(profile) {
		// Kept whole: failoverd serves plain records from zone files, and
		// has no other pool kinds.
		ttl, _ := o.get("ttl")
		rdata, _ := o.get("rdata")
		what := "a record set, not a pool"
		if hasProfile {
			what = "profile " + profile.show() + " is not a Simple Monitor / Simple Failover pool"
		}
		im.root.comment("not imported: from %s, %s: %s %s ttl %s rdata %s: %s",
			filepath.Base(o.d.file), o.path, fqdn, rrtype, ttl.show(), rdata.show(), what)
		return
	}
	if rrtype != "A" && rrtype != "AAAA" {
		o.key("rrtype").fail("%s: a Simple Failover pool is an A (1) or AAAA (28) rrset", quote(ts))
		return
	}
	if !im.claim(o.value, fqdn) {
		return
	}

	b := &block{typ: "sf_pool", labels: []string{fqdn}}
	b.str("rrtype", rrtype)
	if n, ok := o.integer("ttl", "a whole number of seconds"); ok {
		if n < 0 || n > maxTTL {
			o.key("ttl").fail("%d is not a ttl from 0 to %d", n, maxTTL)
		} else {
			b.num("ttl", n)
		}
	}
	rdata, _ := o.array("rdata")
	if len(rdata) != 1 {
		o.key("rdata").fail("%s: a Simple Failover pool has exactly one live record", plural(len(rdata), "record", "records"))
	} else if a, ok := familyAddr(rdata[0], rrtype); ok {
		b.str("rdata", a)
	}
	shortText(profile, b, "poolDescription", "pool_description")
	shortText(profile, b, "liveRecordDescription", "live_record_description")
	if s, ok := profile.text("liveRecordState"); ok {
		switch u := strings.ToUpper(s); u {
		case "FORCED_INACTIVE", "NOT_FORCED":
			b.str("live_record_state", u)
		case "NULL": // a Simple Monitor's way of saying NOT_FORCED
		default:
			profile.key("liveRecordState").fail("%s is not FORCED_INACTIVE or NOT_FORCED", quote(s))
		}
	}
	if s, ok := profile.text("regionFailureSensitivity"); ok {
		if u := strings.ToUpper(s); u == "LOW" || u == "HIGH" {
			b.str("region_failure_sensitivity", u)
		} else {
			profile.key("regionFailureSensitivity").fail("%s is not LOW or HIGH", quote(s))
		}
	}

	var children []*block
	if mo, ok := profile.child("monitor"); ok {
		children = append(children, udnsMonitor(mo))
	} else {
		profile.key("monitor").fail("missing: the pool's monitor")
	}
	if bo, ok := profile.child("backupRecord"); ok && bo.filled("rdata") {
		br := &block{typ: "backup_record"}
		v, _ := bo.get("rdata")
		if a, ok := familyAddr(v, rrtype); ok {
			br.str("rdata", a)
		}
		shortText(bo, br, "description", "description")
		bo.keepRest(br)
		children = append(children, br)
	} else if ok {
		// A Simple Monitor: the backup record is ignored, as UltraDNS did.
		bo.keepRest(b)
	}
	profile.keepRest(b)
	o.keepRest(b)
	for _, c := range children {
		b.items = append(b.items, c)
	}
	if len(im.errs) == before {
		im.zone(zoneLabel(zone))
		im.root.heading("from %s, %s", filepath.Base(o.d.file), o.path)
		im.root.items = append(im.root.items, b)
	}
}

// sfProfile reports whether a profile is the SF pool's, taking @context.
func sfProfile(p *object) bool {
	v, ok := p.get("@context")
	if !ok {
		return false
	}
	s, _ := v.v.(string)
	for _, c := range sfContexts {
		if strings.EqualFold(strings.TrimSpace(s), c) {
			return true
		}
	}
	return false
}

// familyAddr reads one address of the rrtype's family.
func familyAddr(v value, rrtype string) (string, bool) {
	s, ok := v.v.(string)
	if !ok {
		v.fail("%s is not an address", v.brief())
		return "", false
	}
	a, isIP, ok := address(s)
	if !ok || !isIP {
		v.fail("%s: not an IP address", quote(s))
		return "", false
	}
	if v4 := !strings.Contains(a, ":"); v4 != (rrtype == "A") {
		v.fail("%s is not an %s address (rrtype %s)", quote(s), map[bool]string{true: "IPv4", false: "IPv6"}[rrtype == "A"], rrtype)
		return "", false
	}
	return a, true
}

// shortText copies a free-text field, which UltraDNS kept under 255
// characters.
func shortText(o *object, b *block, key, attr string) {
	s, ok := o.text(key)
	if !ok {
		return
	}
	if n := utf8.RuneCountInString(s); n >= maxText {
		o.key(key).fail("%d characters: at most %d", n, maxText-1)
		return
	}
	b.str(attr, s)
}

// udnsMonitor reads the SF pool's HTTP monitor. UltraDNS had no interval,
// timeout or retries: failoverd's defaults (1m, 10s, 1) apply.
func udnsMonitor(o *object) *block {
	m := &block{typ: "monitor"}
	if s, ok := o.text("method"); ok {
		if u := strings.ToUpper(s); u == "GET" || u == "POST" {
			m.str("method", u)
		} else {
			o.key("method").fail("%s is not GET or POST", quote(s))
		}
	}
	if s, ok := o.text("url"); !ok {
		o.key("url").fail("missing: the monitored URL")
	} else if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		o.key("url").fail("%s is not a full http or https URL", quote(s))
	} else {
		m.str("url", s)
	}
	shortText(o, m, "transmittedData", "transmitted_data")
	shortText(o, m, "searchString", "search_string")
	o.keepRest(m)
	return m
}
