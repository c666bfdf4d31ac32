package dnsserver

import (
	"bytes"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Online denial of existence (RFC 4470 "white lies"): every NSEC a query
// receives is made for it, and covers only the names it must, so the
// zone's names cannot be walked. Transfers get a real NSEC chain instead
// (see signedZoneRecords).

// wireLabels returns name's labels in wire form (lower case), leftmost
// first, or nil when it does not pack.
func wireLabels(name string) [][]byte {
	var buf [256]byte
	n, err := dns.PackDomainName(dns.Fqdn(name), buf[:], 0, nil, false)
	if err != nil {
		return nil
	}
	var labels [][]byte
	for off := 0; off < n && buf[off] != 0; {
		l := int(buf[off])
		labels = append(labels, bytes.ToLower(buf[off+1:off+1+l]))
		off += 1 + l
	}
	return labels
}

// nameFromLabels builds a presentation-format name from wire labels.
func nameFromLabels(labels [][]byte) (string, bool) {
	var buf [256]byte
	off := 0
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || off+1+len(l)+1 > 255 {
			return "", false
		}
		buf[off] = byte(len(l))
		copy(buf[off+1:], l)
		off += 1 + len(l)
	}
	buf[off] = 0
	s, _, err := dns.UnpackDomainName(buf[:off+1], 0)
	if err != nil {
		return "", false
	}
	return strings.ToLower(s), true
}

// canonicalCompare orders names as RFC 4034 6.1 does: label by label from
// the root, each label's octets in lower case.
func canonicalCompare(a, b string) int {
	la, lb := wireLabels(a), wireLabels(b)
	for i, j := len(la)-1, len(lb)-1; ; i, j = i-1, j-1 {
		switch {
		case i < 0 && j < 0:
			return 0
		case i < 0:
			return -1
		case j < 0:
			return 1
		}
		if c := bytes.Compare(la[i], lb[j]); c != 0 {
			return c
		}
	}
}

// foldDown and foldUp keep a changed octet in canonical order: octets
// 'A'..'Z' compare as 'a'..'z', so an octet that would become one is moved
// past them in the direction it was going.
func foldDown(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return 'A' - 1
	}
	return b
}

func foldUp(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return 'Z' + 1
	}
	return b
}

// coverRange returns the owner and next name of an NSEC that covers name
// (which does not exist) and nothing that exists: a sibling range around
// name's first label, under its parent. name's descendants are inside the
// range too; they do not exist either. For a first label of zero octets
// alone (\000, the smallest) the owner is the parent itself. ok is false
// for a name no range can be built around.
func coverRange(name string) (owner, next string, ok bool) {
	labels := wireLabels(name)
	if len(labels) == 0 {
		return "", "", false
	}
	first, rest := labels[0], labels[1:]
	nameLen := 1
	for _, l := range labels {
		nameLen += 1 + len(l)
	}
	// Predecessor: the first label with its last octet one lower, then one
	// octet 0xFF (longer labels sort after their prefixes).
	var pred []byte
	if last := first[len(first)-1]; last == 0 {
		pred = first[:len(first)-1]
	} else {
		pred = append(slices.Clone(first[:len(first)-1]), foldDown(last-1))
		if len(pred) < 63 && nameLen < 255 {
			pred = append(pred, 0xFF)
		}
	}
	// Successor: the first label followed by a zero octet, the smallest
	// label after it that is not its prefix.
	var succ []byte
	if len(first) < 63 && nameLen < 255 {
		succ = append(slices.Clone(first), 0)
	} else {
		i := len(first) - 1
		for i >= 0 && first[i] == 0xFF {
			i--
		}
		if i < 0 {
			return "", "", false
		}
		succ = append(slices.Clone(first[:i]), foldUp(first[i]+1))
	}
	ownerLabels := append([][]byte{pred}, rest...)
	if len(pred) == 0 {
		ownerLabels = rest
	}
	owner, ok1 := nameFromLabels(ownerLabels)
	if len(ownerLabels) == 0 {
		owner, ok1 = ".", true
	}
	next, ok2 := nameFromLabels(append([][]byte{succ}, rest...))
	return owner, next, ok1 && ok2
}

// childZero is the first name below name in canonical order (\000.name),
// the next name of an NSEC that denies types at name but not its
// descendants; name itself when that is too long.
func childZero(name string) string {
	if n, ok := nameFromLabels(append([][]byte{{0}}, wireLabels(name)...)); ok {
		return n
	}
	return name
}

// typesAt returns the types that exist at name in z for a client given pr
// at a service name (nil for others), with RRSIG and NSEC, sorted.
func (z *pubZone) typesAt(name string, pr *pubRegion) []uint16 {
	types, _ := z.typesOf(name)
	set := map[uint16]struct{}{dns.TypeRRSIG: {}, dns.TypeNSEC: {}}
	for t, rrs := range types {
		if len(rrs) > 0 {
			set[t] = struct{}{}
		}
	}
	if pr != nil {
		switch {
		case pr.cname != nil:
			delete(set, dns.TypeA)
			delete(set, dns.TypeAAAA)
			set[dns.TypeCNAME] = struct{}{}
		default:
			delete(set, dns.TypeCNAME)
			for t, rrs := range map[uint16][]dns.RR{dns.TypeA: pr.a, dns.TypeAAAA: pr.aaaa, dns.TypeSRV: pr.srv} {
				if len(rrs) > 0 {
					set[t] = struct{}{}
				} else if t != dns.TypeSRV {
					delete(set, t)
				}
			}
		}
	}
	out := make([]uint16, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// nsec makes an NSEC record of z (TTL of its negative answers).
func (z *pubZone) nsec(owner, next string, types []uint16) *dns.NSEC {
	return &dns.NSEC{
		Hdr:        dns.RR_Header{Name: owner, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: z.negSOA.Hdr.Ttl},
		NextDomain: next,
		TypeBitMap: types,
	}
}

// denyTypes adds the NSEC proving that name exists without qtype (or is
// an empty non-terminal): the name's own NSEC with its real type bitmap.
func (z *pubZone) denyTypes(m *dns.Msg, name string, pr *pubRegion) {
	m.Ns = appendNSEC(m.Ns, z.nsec(name, childZero(name), z.typesAt(name, pr)))
}

// closestEncloser is the longest existing ancestor of name in z (which
// does not exist) and the next closer name, its child on the way to name.
func (z *pubZone) closestEncloser(name string) (ce, nc string) {
	nc = name
	for n := parentName(name); n != "" && dns.IsSubDomain(z.origin, n); n = parentName(n) {
		if z.exists(n) {
			return n, nc
		}
		nc = n
	}
	return z.origin, nc
}

// denyName adds the NSEC covering the next closer name of name (so name
// and everything between it and its closest encloser does not exist).
func (z *pubZone) denyName(m *dns.Msg, name string) (ce string) {
	ce, nc := z.closestEncloser(name)
	z.cover(m, nc, ce)
	return ce
}

// cover adds an NSEC covering name (a child of ce that does not exist).
func (z *pubZone) cover(m *dns.Msg, name, ce string) {
	owner, next, ok := coverRange(name)
	if !ok {
		return // a name of 255 octets of 0xFF labels: left unproven
	}
	types := []uint16{dns.TypeRRSIG, dns.TypeNSEC}
	if owner == ce {
		// name is \000.ce: ce's own NSEC, with its real types, reaches
		// past name and its descendants.
		types = z.typesAt(ce, z.dyn[ce].globalOf())
	}
	m.Ns = appendNSEC(m.Ns, z.nsec(owner, next, types))
}

// denyNXDOMAIN adds the NSECs of a name error (RFC 4035 3.1.3.2): one
// covering the name, one covering the wildcard at its closest encloser.
func (z *pubZone) denyNXDOMAIN(m *dns.Msg, name string) {
	ce := z.denyName(m, name)
	z.cover(m, "*."+ce, ce)
}

// appendNSEC appends n unless the same NSEC is there already (the name's
// and the wildcard's can be one).
func appendNSEC(ns []dns.RR, n *dns.NSEC) []dns.RR {
	for _, rr := range ns {
		if o, ok := rr.(*dns.NSEC); ok && o.Hdr.Name == n.Hdr.Name && o.NextDomain == n.NextDomain {
			return ns
		}
	}
	return append(ns, n)
}

// globalOf is pn's global answer, nil for a nil pn (a static name).
func (pn *pubName) globalOf() *pubRegion {
	if pn == nil {
		return nil
	}
	return pn.global
}

// signSections adds, after every RRset of m that a signed zone of ours is
// authoritative for, its RRSIG. Wildcard answers (c.wild) are signed as
// their wildcard's records; referral NS sets, glue and CNAMEs synthesized
// from a DNAME are not signed (RFC 4035 3.1.1, RFC 6672 5.3.1).
func signSections(p *published, m *dns.Msg, c *client) {
	m.Answer = signSection(p, m.Answer, c)
	m.Ns = signSection(p, m.Ns, c)
	m.Extra = signSection(p, m.Extra, c)
}

func signSection(p *published, rrs []dns.RR, c *client) []dns.RR {
	if len(rrs) == 0 {
		return rrs
	}
	out := make([]dns.RR, 0, 2*len(rrs))
	for i := 0; i < len(rrs); {
		h := rrs[i].Header()
		j := i + 1
		for j < len(rrs) && sameRRset(rrs[j], rrs[i]) {
			j++
		}
		set := rrs[i:j]
		out = append(out, set...)
		i = j
		if h.Rrtype == dns.TypeRRSIG || h.Rrtype == dns.TypeOPT {
			continue
		}
		owner := canonicalName(h.Name)
		zoneOf := owner
		if h.Rrtype == dns.TypeDS {
			zoneOf = parentName(owner) // the parent side's record
		}
		z := p.findZone(zoneOf)
		if z == nil || z.signer == nil {
			continue
		}
		if h.Rrtype != dns.TypeDS && h.Rrtype != dns.TypeNSEC {
			if cut, _ := zoneCut(z.data, owner, h.Rrtype); cut != "" {
				continue // referral, glue or DNAME synthesis
			}
		}
		if wild, ok := c.wild[owner]; ok {
			named := make([]dns.RR, len(set))
			for k, rr := range set {
				cp := dns.Copy(rr)
				cp.Header().Name = wild
				named[k] = cp
			}
			if sig := z.signer.sign(named); sig != nil {
				cp := dns.Copy(sig).(*dns.RRSIG)
				cp.Hdr.Name = h.Name
				out = append(out, cp)
			}
			continue
		}
		out = appendSig(out, z.signer.sign(set))
	}
	return out
}

// signedZoneRecords turns a transfer's records (SOA, records, SOA, as
// zoneRecords gives them) into the signed zone: every authoritative RRset
// followed by its RRSIG, and a complete NSEC chain over the authoritative
// names in canonical order, so a secondary serves (and ldns-verify-zone or
// dnssec-verify accept) a signed zone.
func signedZoneRecords(z *pubZone, rrs []dns.RR) []dns.RR {
	soa := rrs[0]
	type rrset struct {
		name string
		rrs  []dns.RR
	}
	var sets []*rrset
	byKey := map[string]*rrset{}
	types := map[string]map[uint16]bool{}
	for _, rr := range rrs[1 : len(rrs)-1] {
		h := rr.Header()
		name := canonicalName(h.Name)
		k := name + "/" + dns.TypeToString[h.Rrtype]
		set := byKey[k]
		if set == nil {
			set = &rrset{name: name}
			byKey[k] = set
			sets = append(sets, set)
		}
		set.rrs = append(set.rrs, rr)
		if types[name] == nil {
			types[name] = map[uint16]bool{}
		}
		types[name][h.Rrtype] = true
	}
	types[z.origin][dns.TypeSOA] = true
	// Authoritative names: not below a delegation or a DNAME (glue and
	// occluded names get neither NSEC nor RRSIG).
	var names []string
	for name := range types {
		if below := zoneCutAbove(z.data, name); below {
			continue
		}
		names = append(names, name)
	}
	slices.SortFunc(names, canonicalCompare)
	out := make([]dns.RR, 0, 3*len(rrs))
	out = appendSig(append(out, soa), z.signer.sign([]dns.RR{soa}))
	bySet := map[string][]*rrset{}
	for _, set := range sets {
		bySet[set.name] = append(bySet[set.name], set)
	}
	for i, name := range names {
		for _, set := range bySet[name] {
			out = append(out, set.rrs...)
			t := set.rrs[0].Header().Rrtype
			if _, delegation := z.data.delegations[name]; delegation && t != dns.TypeDS && t != dns.TypeNSEC {
				continue // the child's NS set (and nothing else) at a cut
			}
			out = appendSig(out, z.signer.sign(set.rrs))
		}
		bitmap := []uint16{dns.TypeRRSIG, dns.TypeNSEC}
		for t := range types[name] {
			bitmap = append(bitmap, t)
		}
		slices.Sort(bitmap)
		next := names[(i+1)%len(names)]
		n := z.nsec(name, next, bitmap)
		out = appendSig(append(out, n), z.signer.sign([]dns.RR{n}))
	}
	// Glue and occluded records, unsigned.
	for _, set := range sets {
		if zoneCutAbove(z.data, set.name) {
			out = append(out, set.rrs...)
		}
	}
	return append(out, soa)
}

// zoneCutAbove reports whether name is strictly below a delegation or a
// DNAME of zd: not authoritative data.
func zoneCutAbove(zd *ZoneData, name string) bool {
	for n := parentName(name); n != "" && dns.IsSubDomain(zd.origin, n); n = parentName(n) {
		if _, ok := zd.delegations[n]; ok {
			return true
		}
		if _, ok := zd.dnames[n]; ok {
			return true
		}
	}
	return false
}
