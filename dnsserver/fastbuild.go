package dnsserver

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
)

// Building the fast path's table at Publish time (see fast.go for the
// query side).

// buildFast pre-packs the deterministic answers of p (prev is the
// snapshot it replaces, whose weighted entries it may reuse).
func (s *Server) buildFast(p *published, prev *published) {
	b := &fastBuilder{s: s, p: p, noData: map[zoneType]*fastEntry{}}
	size := 0
	if prev != nil && prev.fast != nil {
		b.prevDyn = prev.fast.dyn
		size = len(prev.fast.entries)
	}
	b.ft = &fastTable{entries: make(map[string]*fastEntry, size), zones: map[string]*fastZone{}, dyn: make(map[*pubName]dynFast, len(b.prevDyn))}
	if p.signed {
		b.ft.signed, b.ft.signedDyn = map[string]*fastEntry{}, map[*pubName]signedFast{}
		if prev != nil && prev.fast != nil {
			b.prevSigned = prev.fast.signedDyn
		}
	}
	for _, z := range p.order {
		b.addZone(z)
		if z.signer != nil {
			b.addSigned(z)
		}
	}
	p.fast = b.ft
}

// fastBuilder builds the fast table of one publish. Its entries come from
// the full path's own answer code (answerQuery), so both paths agree by
// construction.
type fastBuilder struct {
	s       *Server
	p       *published
	prevDyn map[*pubName]dynFast
	// prevSigned are the previous publish's signed weighted entries.
	prevSigned map[*pubName]signedFast
	ft         *fastTable
	// noData holds one NODATA entry per zone and family for service
	// names (see noDataEntry).
	noData map[zoneType]*fastEntry
}

type zoneType struct {
	z     *pubZone
	qtype uint16
}

// addZone adds the entries of every name of z, and its NXDOMAIN entry.
func (b *fastBuilder) addZone(z *pubZone) {
	zd := z.data
	ow := wireName(z.origin)
	if ow == nil {
		return
	}
	// Delegations and DNAMEs change answers below them; wildcards change
	// answers for names that do not exist. Such zones answer names that
	// do not exist through the full path.
	simple := len(zd.delegations) == 0 && len(zd.dnames) == 0
	fz := &fastZone{signed: z.signer != nil}
	if simple && !hasWildcard(zd) {
		// Packed for a placeholder name, shared by every name that does
		// not exist.
		nx := b.pack(z, "\\000."+z.origin, dns.TypeNULL, true)
		if nx.shared != nil && nx.flags&rcodeMask == dns.RcodeNameError {
			fz.nx = nx
		}
	}
	b.ft.zones[string(ow)] = fz
	// Static names, then service names and their empty non-terminals
	// that are not static too.
	for n := range zd.names {
		b.addName(z, n, simple)
	}
	for n := range z.dynExist {
		if _, static := zd.names[n]; !static {
			b.addName(z, n, simple)
		}
	}
}

func hasWildcard(zd *ZoneData) bool {
	for n := range zd.names {
		if strings.HasPrefix(n, "*.") {
			return true
		}
	}
	return false
}

// addName adds the entries of name n of zone z. A name without a packed
// entry for "any other type" is answered by the full path for those.
func (b *fastBuilder) addName(z *pubZone, n string, simpleZone bool) {
	if b.p.findZone(n) != z {
		return // belongs to a more specific zone we serve
	}
	pn := z.dyn[n]
	keys := nameKeysOf(n, pn)
	if keys == nil {
		return
	}
	b.ft.entries[keys.other] = slowEntry
	if !simpleZone && belowCut(z.data, n) {
		return
	}
	if pn != nil {
		b.addService(z, n, pn, keys)
		return
	}
	types, _ := z.typesOf(n)
	if len(types[dns.TypeCNAME]) > 0 {
		return // followed by the full path
	}
	w := wireName(n)
	for t := range types {
		b.ft.entries[fastKey(w, t)] = b.pack(z, n, t, false)
	}
	if n == z.origin && b.p.findZone(parentName(n)) != nil {
		// DS at the apex is the parent zone's (see answerQuery).
		b.ft.entries[fastKey(w, dns.TypeDS)] = b.pack(z, n, dns.TypeDS, false)
	}
	// Any other type: NODATA (absent types are all alike).
	if len(types[dns.TypeNULL]) == 0 {
		b.ft.entries[keys.other] = b.pack(z, n, dns.TypeNULL, true)
	}
}

// addService adds the weighted A and AAAA entries of a service name
// answered alike everywhere (no regions, no CNAME), reusing the previous
// publish's entries of the same prepared name.
func (b *fastBuilder) addService(z *pubZone, n string, pn *pubName, keys *nameKeys) {
	if pn.regional || pn.global.cname != nil {
		return
	}
	pr := pn.global
	df, ok := b.prevDyn[pn]
	if !ok {
		if len(pr.a) > 0 {
			df.a = b.packWeighted(z, n, dns.TypeA, pr.a, pr.aw, pr.ac, pr.serveCount)
		}
		if len(pr.aaaa) > 0 {
			df.aaaa = b.packWeighted(z, n, dns.TypeAAAA, pr.aaaa, pr.aaaaw, pr.aaaac, pr.serveCount)
		}
	}
	b.ft.dyn[pn] = df
	b.ft.entries[keys.a] = b.orNoData(df.a, z, n, dns.TypeA)
	b.ft.entries[keys.aaaa] = b.orNoData(df.aaaa, z, n, dns.TypeAAAA)
}

// pack packs the answer to (name, qtype); generic entries answer any
// qtype (their counter is looked up per query). An answer that is the
// zone's SOA alone can be shared by other names (see sharedBody).
func (b *fastBuilder) pack(z *pubZone, name string, qtype uint16, generic bool) *fastEntry {
	e, m := b.packAnswer(z, name, qtype, false)
	if e == slowEntry {
		return e
	}
	e.shared = shareBody(m, z.origin, e.body)
	metrics := b.s.metrics.queries
	if generic {
		e.gslots = new([numQtypeLabels]int32)
		for i := range e.gslots {
			e.gslots[i] = metrics.slot(z.origin, qtypeLabelAt(i), rcodeLabel(m.Rcode))
		}
	} else {
		e.slot = metrics.slot(z.origin, qtypeLabel(qtype), rcodeLabel(m.Rcode))
	}
	return e
}

// packAnswer packs the full path's answer to (name, qtype), signed for a
// DO query when do: an entry without its counter slots, and the message it
// was packed from. It is slowEntry when the answer holds another service
// name's weighted pick or does not pack.
func (b *fastBuilder) packAnswer(z *pubZone, name string, qtype uint16, do bool) (*fastEntry, *dns.Msg) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := client{srcBits: -1, do: do}
	answerQuery(b.p, z, m, name, qtype, &c)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if b.isService(rr.Header().Name) && rr.Header().Name != name {
				return slowEntry, nil // holds another name's weighted pick
			}
		}
	}
	if do {
		signSections(b.p, m, &c)
	}
	m.Compress = true // as the full path packs it
	buf, err := m.Pack()
	if err != nil {
		return slowEntry, nil
	}
	e := &fastEntry{
		flags:  uint16(m.Rcode & rcodeMask),
		counts: [3]uint16{uint16(len(m.Answer)), uint16(len(m.Ns)), uint16(len(m.Extra))},
		body:   buf[headerLen+questionLen(name):],
	}
	if m.Authoritative {
		e.flags |= flagAA
	}
	return e, m
}

// shareBody returns how body, m packed, can answer other names, or nil
// when it cannot: when it is not the SOA of origin alone, or when m's own
// name would be compressed into it (its label above the origin is one to
// avoid). It finds the compression pointers by packing m again after a
// question three octets longer: exactly the pointers move by three.
func shareBody(m *dns.Msg, origin string, body []byte) *sharedBody {
	if len(m.Answer) != 0 || len(m.Extra) != 0 || len(m.Ns) != 1 {
		return nil
	}
	soa, ok := m.Ns[0].(*dns.SOA)
	if !ok || soa.Hdr.Name != origin {
		return nil
	}
	name := m.Question[0].Name
	sb := &sharedBody{nameLen: len(wireName(name)), originLen: len(wireName(origin))}
	for _, n := range []string{soa.Ns, soa.Mbox} {
		if l := labelAbove(wireName(strings.ToLower(n)), sb.originLen); l != "" {
			sb.avoid = append(sb.avoid, l)
		}
	}
	if slices.Contains(sb.avoid, labelAbove(wireName(name), sb.originLen)) {
		return nil
	}
	const shift = 3 // a two-octet label
	longer := m.Copy()
	longer.Question[0].Name = "\\000\\000." + name
	buf, err := longer.Pack()
	if err != nil || len(buf) != headerLen+questionLen(name)+shift+len(body) {
		return nil
	}
	moved := buf[len(buf)-len(body):]
	for i := 0; i+1 < len(body); i++ {
		p, q := binary.BigEndian.Uint16(body[i:]), binary.BigEndian.Uint16(moved[i:])
		if p>>14 == 3 && q == p+shift {
			sb.ptrs = append(sb.ptrs, uint16(i))
			i++
		}
	}
	// Check: moving the pointers found turns one packing into the other.
	check := slices.Clone(body)
	sb.move(check, shift)
	if !bytes.Equal(check, moved) {
		return nil
	}
	return sb
}

// move adds delta to every compression pointer of body.
func (sb *sharedBody) move(body []byte, delta int) {
	for _, p := range sb.ptrs {
		v := int(binary.BigEndian.Uint16(body[p:])) + delta
		binary.BigEndian.PutUint16(body[p:], uint16(v))
	}
}

// labelAbove returns the label (wire form, with its length octet) of the
// wire name w just above its last originLen octets, or "" when w is not
// longer than that.
func labelAbove(w []byte, originLen int) string {
	p, end := labelAboveAt(w, originLen)
	return string(w[p:end])
}

// labelAboveAt is labelAbove as offsets in w (p == end: none).
func labelAboveAt(w []byte, originLen int) (p, end int) {
	end = len(w) - originLen
	for p = 0; p < end; p += int(w[p]) + 1 {
		if p+int(w[p])+1 == end {
			return p, end
		}
	}
	return 0, 0
}

// answers reports whether the shared body answers the query's name the
// way the full path would (see sharedBody.avoid).
func (sb *sharedBody) answers(fq *fastQuery) bool {
	p, end := fq.above[0], fq.above[1]
	if end == 0 {
		p, end = labelAboveAt(fq.key[:fq.nameLen], sb.originLen)
	}
	for _, a := range sb.avoid {
		if string(fq.key[p:end]) == a {
			return false
		}
	}
	return true
}

// packWeighted packs each of a service name's records on its own (owner
// compressed to the question) to be picked per query.
func (b *fastBuilder) packWeighted(z *pubZone, name string, qtype uint16, rrs []dns.RR, ws []uint32, cs []*atomic.Uint64, serveCount int) *fastEntry {
	e := &fastEntry{flags: flagAA, ws: ws, answered: cs, serveCount: serveCount}
	for _, rr := range rrs {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Answer = []dns.RR{rr}
		m.Compress = true
		buf, err := m.Pack()
		if err != nil {
			return slowEntry
		}
		e.rrs = append(e.rrs, buf[headerLen+questionLen(name):])
	}
	e.slot = b.s.metrics.queries.slot(z.origin, qtypeLabel(qtype), rcodeLabel(dns.RcodeSuccess))
	return e
}

// orNoData returns e, or, for an empty family, the NODATA entry. A service
// name's NODATA answer is its zone's SOA alone; packed without compression
// it does not depend on the name, so one entry per zone and family serves
// every such name.
func (b *fastBuilder) orNoData(e *fastEntry, z *pubZone, name string, qtype uint16) *fastEntry {
	if e != nil {
		return e
	}
	k := zoneType{z, qtype}
	if nd := b.noData[k]; nd != nil {
		return nd
	}
	nd := b.pack(z, name, qtype, false)
	if nd.shared != nil {
		b.noData[k] = nd
	}
	return nd
}

// isService reports whether name is a service name (weighted answers).
func (b *fastBuilder) isService(name string) bool {
	z := b.p.findZone(name)
	return z != nil && z.dyn[name] != nil
}

// questionLen is the length of a question for name on the wire.
func questionLen(name string) int { return len(wireName(name)) + 4 }

// belowCut reports whether name is at or below a delegation, or below a
// DNAME: the full path answers those.
func belowCut(zd *ZoneData, name string) bool {
	for n := name; n != ""; n = parentName(n) {
		if _, ok := zd.delegations[n]; ok && n != zd.origin {
			return true
		}
		if _, ok := zd.dnames[n]; ok && n != name {
			return true
		}
		if n == zd.origin {
			return false
		}
	}
	return false
}
