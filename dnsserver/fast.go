package dnsserver

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
)

// The UDP fast path answers common queries (one IN question, no ECS) from
// answers packed at Publish time: the response is the query's header and
// question followed by pre-packed sections, with weighted A/AAAA picks
// spliced in per query. Anything else goes through miekg/dns and handle.

// fastEntry is the pre-packed answer of one (name, qtype), or of "any
// other qtype" of a name (qtype 0 in the key).
type fastEntry struct {
	slow   bool   // answer through the full path
	flags  uint16 // AA and rcode
	counts [3]uint16
	body   []byte // the packed answer, authority and additional sections
	// Weighted A/AAAA answers: each record packed on its own (owner
	// compressed to the question), picked per query.
	rrs        [][]byte
	ws         []uint32
	answered   []*atomic.Uint64 // per-record answer counters, or nil
	serveCount int
	// slot is the queries counter slot of an entry of a fixed qtype;
	// generic entries (any other qtype, NXDOMAIN) have one per qtype label.
	slot   int32
	gslots *[numQtypeLabels]int32
}

// fastZone answers names that do not exist in a zone.
type fastZone struct {
	nx *fastEntry // nil: wildcards or delegations, use the full path
}

type fastTable struct {
	entries map[string]*fastEntry // lower-case wire name + qtype
	zones   map[string]*fastZone  // lower-case wire origin
	// dyn holds the weighted A/AAAA entries of each prepared service name;
	// they hold no SOA, so the next publish reuses them for a name whose
	// pubName it reused.
	dyn map[*pubName]dynFast
}

// dynFast are a service name's weighted answers (nil: that family is empty).
type dynFast struct{ a, aaaa *fastEntry }

func wireName(name string) []byte {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// slowEntry sends a query to the full path.
var slowEntry = &fastEntry{slow: true}

// nameKeys are a name's fast-table keys for any type (other), A and AAAA.
type nameKeys struct{ other, a, aaaa string }

// nameKeysOf returns n's keys, computed once per service name and kept in
// its pubName (only the publishing goroutine touches them), or nil for a
// name that cannot be packed.
func nameKeysOf(n string, pn *pubName) *nameKeys {
	if pn != nil && pn.keys != nil {
		return pn.keys
	}
	w := wireName(n)
	if w == nil {
		return nil
	}
	k := &nameKeys{other: fastKey(w, 0), a: fastKey(w, dns.TypeA), aaaa: fastKey(w, dns.TypeAAAA)}
	if pn != nil {
		pn.keys = k
	}
	return k
}

func fastKey(wire []byte, qtype uint16) string {
	return string(binary.BigEndian.AppendUint16(append([]byte(nil), wire...), qtype))
}

// buildFast pre-packs the deterministic answers of p. It reuses the
// answer logic itself (answerQuery), so both paths agree by construction.
func (s *Server) buildFast(p *published, prev *published) {
	var prevDyn map[*pubName]dynFast
	size := 0
	if prev != nil && prev.fast != nil {
		prevDyn = prev.fast.dyn
		size = len(prev.fast.entries)
	}
	ft := &fastTable{entries: make(map[string]*fastEntry, size), zones: map[string]*fastZone{}, dyn: make(map[*pubName]dynFast, len(prevDyn))}
	isDynamic := func(name string) bool {
		z := p.findZone(name)
		return z != nil && z.dyn[name] != nil
	}
	// packEntry packs the answer to (name, qtype); generic entries answer
	// any qtype (their counter is looked up per query) and, when their
	// question is a placeholder, are packed without compression.
	packEntry := func(z *pubZone, name string, qtype uint16, generic, compress bool) *fastEntry {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		c := client{srcBits: -1}
		answerQuery(p, z, m, name, qtype, &c)
		for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
			for _, rr := range sec {
				if isDynamic(rr.Header().Name) && rr.Header().Name != name {
					return &fastEntry{slow: true}
				}
			}
		}
		m.Compress = compress
		buf, err := m.Pack()
		if err != nil {
			return &fastEntry{slow: true}
		}
		qlen := len(wireName(name)) + 4
		e := &fastEntry{
			flags:  uint16(m.Rcode & 0xF),
			counts: [3]uint16{uint16(len(m.Answer)), uint16(len(m.Ns)), uint16(len(m.Extra))},
			body:   buf[12+qlen:],
		}
		if m.Authoritative {
			e.flags |= 1 << 10
		}
		if generic {
			e.gslots = new([numQtypeLabels]int32)
			for i := range e.gslots {
				e.gslots[i] = s.metrics.queries.slot(z.origin, qtypeLabelAt(i), rcodeLabel(m.Rcode))
			}
		} else {
			e.slot = s.metrics.queries.slot(z.origin, qtypeLabel(qtype), rcodeLabel(m.Rcode))
		}
		return e
	}
	packRRs := func(z *pubZone, name string, qtype uint16, rrs []dns.RR, ws []uint32, cs []*atomic.Uint64, serveCount int) *fastEntry {
		e := &fastEntry{flags: 1 << 10, ws: ws, answered: cs, serveCount: serveCount}
		for _, rr := range rrs {
			m := new(dns.Msg)
			m.SetQuestion(name, qtype)
			m.Answer = []dns.RR{rr}
			m.Compress = true
			buf, err := m.Pack()
			if err != nil {
				return &fastEntry{slow: true}
			}
			e.rrs = append(e.rrs, buf[12+len(wireName(name))+4:])
		}
		e.slot = s.metrics.queries.slot(z.origin, qtypeLabel(qtype), rcodeLabel(dns.RcodeSuccess))
		return e
	}
	// A service name's NODATA answer is its zone's SOA alone; packed
	// without compression it does not depend on the name, so one entry per
	// zone and family serves every such name.
	type zoneType struct {
		z     *pubZone
		qtype uint16
	}
	noData := map[zoneType]*fastEntry{}
	orNoData := func(e *fastEntry, z *pubZone, name string, qtype uint16) *fastEntry {
		if e != nil {
			return e
		}
		k := zoneType{z, qtype}
		if nd := noData[k]; nd != nil {
			return nd
		}
		nd := packEntry(z, name, qtype, false, false)
		if !nd.slow && nd.counts[0] == 0 {
			noData[k] = nd
		}
		return nd
	}
	for _, z := range p.order {
		zd := z.data
		// Delegations change answers below them; wildcards change
		// answers for names that do not exist.
		simpleZone := len(zd.delegations) == 0
		wild := false
		for n := range zd.names {
			if len(n) > 1 && n[0] == '*' && n[1] == '.' {
				wild = true
			}
		}
		ow := wireName(z.origin)
		if ow == nil {
			continue
		}
		fz := &fastZone{}
		if simpleZone && !wild {
			fz.nx = packEntry(z, "\\000."+z.origin, dns.TypeNULL, true, false)
			if fz.nx.slow || fz.nx.flags&0xF != dns.RcodeNameError {
				fz.nx = nil
			}
		}
		ft.zones[string(ow)] = fz
		// Every name of the zone: static names, then service names and
		// their empty non-terminals that are not static too.
		visit := func(n string) {
			if p.findZone(n) != z {
				return // belongs to a more specific zone we serve
			}
			pn := z.dyn[n]
			keys := nameKeysOf(n, pn)
			if keys == nil {
				return
			}
			types := zd.names[n]
			other := slowEntry // shared: nothing is ever packed into it
			if pn == nil {
				other = &fastEntry{slow: true}
			}
			ft.entries[keys.other] = other
			if !simpleZone && belowDelegation(zd, n) {
				return
			}
			if pn != nil {
				if pn.regional || pn.global.cname != nil {
					return
				}
				pr := pn.global
				df, ok := prevDyn[pn]
				if !ok {
					if len(pr.a) > 0 {
						df.a = packRRs(z, n, dns.TypeA, pr.a, pr.aw, pr.ac, pr.serveCount)
					}
					if len(pr.aaaa) > 0 {
						df.aaaa = packRRs(z, n, dns.TypeAAAA, pr.aaaa, pr.aaaaw, pr.aaaac, pr.serveCount)
					}
				}
				ft.dyn[pn] = df
				ft.entries[keys.a] = orNoData(df.a, z, n, dns.TypeA)
				ft.entries[keys.aaaa] = orNoData(df.aaaa, z, n, dns.TypeAAAA)
				return
			}
			if len(types[dns.TypeCNAME]) > 0 {
				return
			}
			w := wireName(n)
			for t := range types {
				ft.entries[fastKey(w, t)] = packEntry(z, n, t, false, true)
			}
			// Any other type: NODATA (absent types are all alike).
			if len(types[dns.TypeNULL]) == 0 {
				*other = *packEntry(z, n, dns.TypeNULL, true, true)
			}
		}
		for n := range zd.names {
			visit(n)
		}
		for n := range z.dynExist {
			if _, static := zd.names[n]; !static {
				visit(n)
			}
		}
	}
	p.fast = ft
}

// belowDelegation reports whether name is at or below a delegation point.
func belowDelegation(zd *ZoneData, name string) bool {
	for n := name; n != zd.origin && n != ""; n = parentName(n) {
		if _, ok := zd.delegations[n]; ok {
			return true
		}
	}
	return false
}

// fastAnswer answers q into out from the pre-packed table, counting it in
// st, or returns nil when the query needs the full path. It does not
// allocate when out has room for maxUDPSize bytes.
func (s *Server) fastAnswer(p *published, q []byte, out []byte, st *readerStats) []byte {
	ft := p.fast
	if ft == nil || len(q) < 17 {
		return nil
	}
	flags := binary.BigEndian.Uint16(q[2:])
	if flags&0x8000 != 0 || (flags>>11)&0xF != dns.OpcodeQuery {
		return nil
	}
	if binary.BigEndian.Uint16(q[4:]) != 1 || binary.BigEndian.Uint16(q[6:]) != 0 || binary.BigEndian.Uint16(q[8:]) != 0 {
		return nil
	}
	ar := binary.BigEndian.Uint16(q[10:])
	if ar > 1 {
		return nil
	}
	var key [258]byte
	k, off := 0, 12
	for {
		if off >= len(q) {
			return nil
		}
		l := int(q[off])
		if l == 0 {
			key[k] = 0
			k++
			off++
			break
		}
		if l > 63 || off+1+l > len(q) || k+1+l > 254 {
			return nil
		}
		key[k] = byte(l)
		k++
		for _, c := range q[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			key[k] = c
			k++
		}
		off += 1 + l
	}
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	if binary.BigEndian.Uint16(q[off+2:]) != dns.ClassINET {
		return nil
	}
	switch qtype {
	case dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeOPT, 0:
		return nil
	}
	qend := off + 4
	limit, edns, do := dns.MinMsgSize, false, false
	if ar == 1 {
		o := q[qend:]
		if len(o) < 11 || o[0] != 0 || binary.BigEndian.Uint16(o[1:]) != dns.TypeOPT || o[6] != 0 {
			return nil
		}
		rdlen := int(binary.BigEndian.Uint16(o[9:]))
		if len(o) != 11+rdlen {
			return nil
		}
		for opts := o[11:]; len(opts) > 0; {
			if len(opts) < 4 {
				return nil
			}
			code, olen := binary.BigEndian.Uint16(opts), int(binary.BigEndian.Uint16(opts[2:]))
			if len(opts) < 4+olen || (code == dns.EDNS0SUBNET && s.opts.ECS) || (code == dns.EDNS0COOKIE && s.cookies != nil) {
				return nil
			}
			opts = opts[4+olen:]
		}
		edns, do = true, o[7]&0x80 != 0
		limit = min(max(int(binary.BigEndian.Uint16(o[3:])), dns.MinMsgSize), maxUDPSize)
	} else if len(q) != qend {
		return nil
	}
	binary.BigEndian.PutUint16(key[k:], qtype)
	e := ft.entries[string(key[:k+2])]
	if e == nil {
		key[k], key[k+1] = 0, 0
		e = ft.entries[string(key[:k+2])]
	}
	if e == nil {
		// The name does not exist: NXDOMAIN from its zone, if a simple one.
		for o := 0; o < k; o += int(key[o]) + 1 {
			if z := ft.zones[string(key[o:k])]; z != nil {
				e = z.nx
				break
			}
		}
	}
	if e == nil || e.slow {
		return nil
	}
	if e.rrs == nil && qend+len(e.body)+11 > limit {
		return nil // too big for the client: the full path truncates
	}
	out = append(out, q[0], q[1])
	rflags := uint16(0x8000) | flags&0x0110 | e.flags // QR, RD and CD copied
	out = binary.BigEndian.AppendUint16(out, rflags)
	out = binary.BigEndian.AppendUint16(out, 1)
	counts := e.counts
	if e.rrs != nil {
		var buf [16]int
		idx := pickWeighted(e.ws, e.serveCount, buf[:0])
		counts = [3]uint16{uint16(len(idx)), 0, 0}
		out = binary.BigEndian.AppendUint16(out, counts[0])
		out = append(out, 0, 0, 0, 0)
		if edns {
			out[11] = 1
		}
		out = append(out, q[12:qend]...)
		for _, i := range idx {
			count(e.answered, i)
			out = append(out, e.rrs[i]...)
		}
	} else {
		out = binary.BigEndian.AppendUint16(out, counts[0])
		out = binary.BigEndian.AppendUint16(out, counts[1])
		ar := counts[2]
		if edns {
			ar++
		}
		out = binary.BigEndian.AppendUint16(out, ar)
		out = append(out, q[12:qend]...)
		out = append(out, e.body...)
	}
	if edns {
		var d byte
		if do {
			d = 0x80
		}
		out = append(out, 0, 0, 41, maxUDPSize>>8, maxUDPSize&0xFF, 0, 0, d, 0, 0, 0)
	}
	if len(out) > limit {
		return nil
	}
	if e.gslots != nil {
		st.inc(e.gslots[qtypeIndex(qtype)])
	} else {
		st.inc(e.slot)
	}
	return out
}

// slowAnswer parses q with miekg/dns and answers through handle. A query
// whose header cannot be read, or a response, is dropped.
func (s *Server) slowAnswer(q []byte, ap netip.AddrPort, out []byte, start time.Time) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 {
		return nil
	}
	req := new(dns.Msg)
	if err := req.Unpack(q); err != nil {
		return s.formErr(q, out, start)
	}
	if req.IsTsig() != nil {
		// Verified on a copy: miekg/dns rewrites the message it checks.
		if err := s.tsigVerify(append([]byte(nil), q...)); err != nil {
			return s.pack(tsigRefusal(req, err, start), req, "", out, start)
		}
	}
	m, zone, _ := s.handle(net.UDPAddrFromAddrPort(ap), req)
	if req.IsTsig() != nil {
		signWith(m, req, start)
	}
	return s.pack(m, req, zone, out, start)
}

// formErr answers FORMERR to a query that cannot be parsed, echoing its ID
// and opcode (q holds at least a header).
func (s *Server) formErr(q []byte, out []byte, start time.Time) []byte {
	hdr := new(dns.Msg)
	hdr.Id = binary.BigEndian.Uint16(q)
	hdr.Opcode = int(q[2]>>3) & 0xF
	m := new(dns.Msg)
	m.SetRcodeFormatError(hdr)
	return s.pack(m, hdr, "", out, start)
}

// pack packs m, the answer to req, into out's storage when it fits.
func (s *Server) pack(m, req *dns.Msg, zone string, out []byte, start time.Time) []byte {
	resp, err := s.packUDP(m, req, out[:cap(out)])
	if err != nil {
		s.log.Debug("dns pack", zap.Error(err))
		return nil
	}
	s.metrics.observe(zone, req, m.Rcode, start)
	return resp
}
