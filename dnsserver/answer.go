package dnsserver

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/miekg/dns"
)

// maxChase bounds CNAME chains followed inside our zones.
const maxChase = 8

// client is who a query is answered for; the region is resolved lazily,
// only when a name has regional answers.
type client struct {
	addr     netip.Addr // ECS address (masked) or the source address
	srcBits  int        // ECS source prefix length; -1 without ECS
	resolved bool
	region   string
	scope    uint8 // ECS scope to report; raised only by regional answers
	regions  *regionMapper
	// do is the query's DO bit: signed zones add their DNSSEC records.
	do bool
	// wild maps the owner of each answer synthesized from a wildcard to
	// the wildcard's name, whose signature it carries.
	wild map[string]string
}

// signing reports whether the answer from z carries DNSSEC records.
func (c *client) signing(z *pubZone) bool { return c.do && z.signer != nil }

func (c *client) regionFor(pn *pubName) *pubRegion {
	if !pn.regional {
		return pn.global
	}
	if !c.resolved {
		c.resolved = true
		c.region, c.scope = c.regions.lookup(c.addr)
	}
	if pr, ok := pn.regions[c.region]; ok {
		return pr
	}
	return pn.global
}

// scopeUsed reports the ECS scope of the answer: 0 unless a regional
// answer was consulted.
func (c *client) scopeUsed() uint8 {
	if !c.resolved || c.srcBits <= 0 {
		return 0
	}
	return c.scope
}

// answerQuery fills m (already a reply to the question) for an IN query of
// qname (canonicalName form) in zone z, following CNAMEs (synthesized from
// DNAMEs too) into every zone served.
func answerQuery(p *published, z *pubZone, m *dns.Msg, qname string, qtype uint16, c *client) {
	m.Authoritative = true
	if qtype == dns.TypeDS && qname == z.origin {
		// RFC 4035 3.1.4.1: the DS RRset at a zone cut is the parent's.
		if pz := p.findZone(parentName(qname)); pz != nil {
			z = pz
		}
	}
	name := qname
	for hop := 0; ; hop++ {
		target, rcode, referral := resolveName(p, z, m, name, qtype, c)
		if referral {
			if hop == 0 {
				m.Authoritative = false
			}
			return
		}
		m.Rcode = rcode
		if rcode != dns.RcodeSuccess || target == "" || hop >= maxChase {
			return
		}
		nz := p.findZone(target)
		if nz == nil || inAnswer(m.Answer, target) {
			return
		}
		z, name = nz, target
	}
}

func inAnswer(rrs []dns.RR, name string) bool {
	for _, rr := range rrs {
		if rr.Header().Name == name {
			return true
		}
	}
	return false
}

// resolveName answers name in z into m. It returns a CNAME target to
// follow (canonicalName form; when the answer is a CNAME and qtype is not
// CNAME or ANY), the rcode, and whether the answer is a referral.
func resolveName(p *published, z *pubZone, m *dns.Msg, name string, qtype uint16, c *client) (string, int, bool) {
	zd := z.data
	if cut, dname := zoneCut(zd, name, qtype); cut != "" {
		if dname {
			target, rcode := synthesizeCNAME(m, zd, cut, name, qtype)
			return target, rcode, false
		}
		m.Ns = append(m.Ns, zd.names[cut][dns.TypeNS]...)
		if c.signing(z) {
			// RFC 4035 3.1.4: the DS set, or the proof there is none.
			if ds := zd.names[cut][dns.TypeDS]; len(ds) > 0 {
				m.Ns = append(m.Ns, ds...)
			} else {
				z.denyTypes(m, cut, nil)
			}
		}
		for _, ns := range zd.names[cut][dns.TypeNS] {
			m.Extra = appendAddrs(p, m.Extra, ns.(*dns.NS).Ns, c, true)
		}
		return "", dns.RcodeSuccess, true
	}
	types, static := z.typesOf(name)
	if pn := z.dyn[name]; pn != nil {
		pr := c.regionFor(pn)
		if pr.cname != nil {
			if qtype != dns.TypeA && qtype != dns.TypeAAAA && qtype != dns.TypeCNAME && qtype != dns.TypeANY && len(types[qtype]) > 0 {
				m.Answer = append(m.Answer, types[qtype]...)
				return "", dns.RcodeSuccess, false
			}
			m.Answer = append(m.Answer, pr.cname)
			if qtype == dns.TypeCNAME || qtype == dns.TypeANY {
				return "", dns.RcodeSuccess, false
			}
			return canonicalName(pr.cname.Target), dns.RcodeSuccess, false
		}
		switch qtype {
		case dns.TypeA, dns.TypeAAAA:
			if rrs, ws, cs := pr.addrSet(qtype); len(rrs) > 0 {
				m.Answer = pick(m.Answer, rrs, ws, cs, pr.serveCount)
			} else {
				z.noData(m, name, pr, c)
			}
			return "", dns.RcodeSuccess, false
		case dns.TypeSRV:
			if len(pr.srv) > 0 {
				m.Answer = append(m.Answer, pr.srv...)
				for _, rr := range pr.srv {
					m.Extra = appendAddrs(p, m.Extra, rr.(*dns.SRV).Target, c, false)
				}
				return "", dns.RcodeSuccess, false
			}
		case dns.TypeANY:
			switch {
			case len(pr.a) > 0:
				m.Answer = pick(m.Answer, pr.a, pr.aw, pr.ac, pr.serveCount)
				return "", dns.RcodeSuccess, false
			case len(pr.aaaa) > 0:
				m.Answer = pick(m.Answer, pr.aaaa, pr.aaaaw, pr.aaaac, pr.serveCount)
				return "", dns.RcodeSuccess, false
			case len(pr.srv) > 0:
				m.Answer = append(m.Answer, pr.srv...)
				return "", dns.RcodeSuccess, false
			}
		case dns.TypeCNAME:
			z.noData(m, name, pr, c)
			return "", dns.RcodeSuccess, false
		}
		// Other types come from the static records at the name.
		return answerStatic(p, z, m, name, qtype, types, c, false), dns.RcodeSuccess, false
	}
	if static {
		return answerStatic(p, z, m, name, qtype, types, c, false), dns.RcodeSuccess, false
	}
	if _, ok := z.dynExist[name]; ok {
		// Empty non-terminal above a service name.
		z.noData(m, name, nil, c)
		return "", dns.RcodeSuccess, false
	}
	// Wildcard: the source of synthesis is *.<closest encloser>.
	for n := parentName(name); n != "" && dns.IsSubDomain(z.origin, n); n = parentName(n) {
		if !z.exists(n) {
			continue
		}
		wtypes, ok := zd.names["*."+n]
		if !ok {
			break
		}
		if c.signing(z) {
			// The wildcard answers: prove no closer name exists.
			if c.wild == nil {
				c.wild = map[string]string{}
			}
			c.wild[name] = "*." + n
			_, nc := z.closestEncloser(name)
			z.cover(m, nc, n)
		}
		return answerStatic(p, z, m, name, qtype, wtypes, c, true), dns.RcodeSuccess, false
	}
	m.Ns = append(m.Ns, z.negSOA)
	if c.signing(z) {
		z.denyNXDOMAIN(m, name)
	}
	return "", dns.RcodeNameError, false
}

// answerStatic answers from the static records of an existing name, or,
// with synth, from a wildcard's records renamed to the queried name.
func answerStatic(p *published, z *pubZone, m *dns.Msg, name string, qtype uint16, types map[uint16][]dns.RR, c *client, synth bool) string {
	own := func(rrs []dns.RR) []dns.RR {
		if !synth {
			return rrs
		}
		out := make([]dns.RR, len(rrs))
		for i, rr := range rrs {
			cp := dns.Copy(rr)
			cp.Header().Name = name
			out[i] = cp
		}
		return out
	}
	// ANY at a CNAME owner is answered with the CNAME, not followed.
	if cn := types[dns.TypeCNAME]; len(cn) > 0 && qtype != dns.TypeCNAME && qtype != dns.TypeANY {
		m.Answer = append(m.Answer, own(cn[:1])...)
		return canonicalName(cn[0].(*dns.CNAME).Target)
	}
	var rrs []dns.RR
	if qtype == dns.TypeANY {
		rrs = minimalAny(types)
	} else {
		rrs = types[qtype]
	}
	if len(rrs) == 0 {
		if synth {
			// The wildcard exists without the type (RFC 4035 3.1.3.4).
			m.Ns = append(m.Ns, z.negSOA)
			if c.signing(z) {
				z.denyTypes(m, c.wild[name], nil)
			}
			return ""
		}
		z.noData(m, name, nil, c)
		return ""
	}
	if qtype == dns.TypeSOA && name == z.origin {
		rrs = []dns.RR{z.soa}
	}
	rrs = own(rrs)
	m.Answer = append(m.Answer, rrs...)
	m.Extra = appendAdditional(p, m.Extra, rrs, c)
	return ""
}

// noData adds the authority section of a NODATA answer at name (pr: the
// client's answer when name is a service name).
func (z *pubZone) noData(m *dns.Msg, name string, pr *pubRegion, c *client) {
	m.Ns = append(m.Ns, z.negSOA)
	if c.signing(z) {
		z.denyTypes(m, name, pr)
	}
}

// zoneCut returns the highest name at or below the apex at which z stops
// holding name's answer: a delegation below the apex (at name itself too,
// but for DS, which the parent side answers) or a DNAME owner strictly
// above name (the apex too). "" when there is none.
func zoneCut(zd *ZoneData, name string, qtype uint16) (cut string, dname bool) {
	if name == zd.origin || (len(zd.delegations) == 0 && len(zd.dnames) == 0) {
		return "", false
	}
	for n := name; n != ""; n = parentName(n) {
		if _, ok := zd.delegations[n]; ok && n != zd.origin && !(n == name && qtype == dns.TypeDS) {
			cut, dname = n, false
		}
		if _, ok := zd.dnames[n]; ok && n != name {
			cut, dname = n, true
		}
		if n == zd.origin {
			break
		}
	}
	return cut, dname
}

// synthesizeCNAME answers name below the DNAME at owner (RFC 6672 3.2):
// the DNAME, then a CNAME from name to name with owner replaced by the
// DNAME's target, whose TTL is the DNAME's. It returns the CNAME's target
// to follow (none for a CNAME query) and the rcode: YXDOMAIN when the new
// name would be too long.
func synthesizeCNAME(m *dns.Msg, zd *ZoneData, owner, name string, qtype uint16) (string, int) {
	d := zd.names[owner][dns.TypeDNAME][0].(*dns.DNAME)
	if !slices.Contains(m.Answer, dns.RR(d)) {
		m.Answer = append(m.Answer, d)
	}
	target := name[:len(name)-len(owner)] + canonicalName(d.Target)
	if d.Target == "." {
		target = name[:len(name)-len(owner)]
	}
	var buf [256]byte
	if _, err := dns.PackDomainName(target, buf[:], 0, nil, false); err != nil {
		return "", dns.RcodeYXDomain
	}
	m.Answer = append(m.Answer, &dns.CNAME{
		Hdr:    dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: d.Hdr.Ttl},
		Target: target,
	})
	if qtype == dns.TypeCNAME {
		return "", dns.RcodeSuccess
	}
	return target, dns.RcodeSuccess
}

// minimalAny picks one RRset for an ANY query (RFC 8482): the lowest type.
func minimalAny(types map[uint16][]dns.RR) []dns.RR {
	best := uint16(0)
	for t, rrs := range types {
		if len(rrs) > 0 && (best == 0 || t < best) {
			best = t
		}
	}
	if best == 0 {
		return nil
	}
	return types[best]
}

// appendAdditional adds in-zone addresses of NS, MX and SRV targets.
func appendAdditional(p *published, extra []dns.RR, rrs []dns.RR, c *client) []dns.RR {
	for _, rr := range rrs {
		var target string
		switch v := rr.(type) {
		case *dns.NS:
			target = v.Ns
		case *dns.MX:
			target = v.Mx
		case *dns.SRV:
			target = v.Target
		default:
			continue
		}
		extra = appendAddrs(p, extra, target, c, false)
	}
	return extra
}

// appendAddrs adds the A and AAAA records of target when it is in one of
// our zones; glue allows names below a delegation.
func appendAddrs(p *published, extra []dns.RR, target string, c *client, glue bool) []dns.RR {
	target = canonicalName(target)
	z := p.findZone(target)
	if z == nil {
		return extra
	}
	for _, rr := range extra {
		if rr.Header().Name == target {
			return extra
		}
	}
	if pn := z.dyn[target]; pn != nil {
		pr := c.regionFor(pn)
		if pr.cname != nil {
			return extra
		}
		if len(pr.a) > 0 {
			extra = pick(extra, pr.a, pr.aw, nil, pr.serveCount)
		}
		if len(pr.aaaa) > 0 {
			extra = pick(extra, pr.aaaa, pr.aaaaw, nil, pr.serveCount)
		}
		return extra
	}
	types := z.data.names[target]
	extra = append(extra, types[dns.TypeA]...)
	extra = append(extra, types[dns.TypeAAAA]...)
	return extra
}

// zoneRecords returns the whole zone for a transfer: SOA, static records,
// the global served set of every service name (all records), SOA.
func zoneRecords(z *pubZone) []dns.RR {
	out := []dns.RR{z.soa}
	zd := z.data
	names := make([]string, 0, len(zd.names)+len(z.dyn))
	for n := range zd.names {
		names = append(names, n)
	}
	for n := range z.dyn {
		if _, ok := zd.names[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		pn := z.dyn[n]
		var g *pubRegion
		if pn != nil {
			g = pn.global
			if g.cname != nil {
				out = append(out, g.cname)
				continue
			}
			out = append(out, g.a...)
			out = append(out, g.aaaa...)
			out = append(out, g.srv...)
		}
		types, _ := z.typesOf(n)
		ts := make([]int, 0, len(types))
		for t := range types {
			ts = append(ts, int(t))
		}
		sort.Ints(ts)
		for _, t := range ts {
			tt := uint16(t)
			if tt == dns.TypeSOA {
				continue
			}
			if pn != nil && (tt == dns.TypeA || tt == dns.TypeAAAA || tt == dns.TypeCNAME || (tt == dns.TypeSRV && len(g.srv) > 0)) {
				continue
			}
			out = append(out, types[tt]...)
		}
	}
	return append(out, z.soa)
}
