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
	// shared, when set, lets one body answer names of any length.
	shared *sharedBody
	// Signed weighted answers (DO queries on a signed zone): perPick
	// records are written per picked record (the record and its RRSIG),
	// or, with tail set, the whole set is picked and tail (its RRSIG)
	// follows it.
	perPick uint16
	tail    []byte
}

// sharedBody describes an entry answering many names (a zone's NXDOMAIN,
// the NODATA of its service names): its body holds only the zone's SOA,
// packed, compressed, after the question of a name of nameLen octets.
// Compression pointers into the question or the body move with the
// length of the query's name: ptrs are their offsets in the body. The
// full path compresses the SOA's names against the query's name too, so
// a query whose label just above the origin is the one of such a name
// (avoid: "ns1" of ns1.<origin>) is left to it.
type sharedBody struct {
	nameLen   int
	originLen int
	ptrs      []uint16
	avoid     []string // wire labels, lower case
}

// fastZone answers names that do not exist in a zone.
type fastZone struct {
	nx     *fastEntry // nil: wildcards, delegations or DNAMEs; use the full path
	signed bool       // DO queries are answered from fastTable.signed
}

type fastTable struct {
	entries map[string]*fastEntry // lower-case wire name + qtype
	zones   map[string]*fastZone  // lower-case wire origin
	// dyn holds the weighted A/AAAA entries of each prepared service name;
	// they hold no SOA, so the next publish reuses them for a name whose
	// pubName it reused.
	dyn map[*pubName]dynFast
	// signed answers DO queries on signed zones, for exact (name, qtype)
	// keys only (answers with their RRSIGs); anything else takes the full
	// path. signedDyn are its weighted entries, reused like dyn while the
	// signing epoch stays.
	signed    map[string]*fastEntry
	signedDyn map[*pubName]signedFast
}

// signedFast are a service name's signed weighted entries, made in epoch.
type signedFast struct {
	dynFast
	epoch uint64
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

// slowEntry sends a query to the full path. It is shared and never
// modified.
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

// DNS message layout used by the fast path (RFC 1035 4.1.1, RFC 6891 6.1.2).
const (
	headerLen   = 12
	flagQR      = 1 << 15
	flagAA      = 1 << 10
	flagRD      = 1 << 8
	flagCD      = 1 << 4
	opcodeShift = 11
	opcodeMask  = 0xF
	rcodeMask   = 0xF
	// optLen is an OPT RR without options: root owner (1), type (2),
	// UDP size (2), extended rcode and version (2), flags (2), RDLENGTH (2).
	optLen = 11
	// optDO is the DO bit in the OPT flags' first octet (RFC 3225).
	optDO = 0x80
	// maxKeyLen is a fast-table key: a wire name (at most 255 octets) and
	// the qtype.
	maxKeyLen = 255 + 2
)

// fastQuery is what the fast path reads from a query.
type fastQuery struct {
	flags uint16
	qtype uint16
	// key is the lower-case wire name, then the qtype; nameLen octets of
	// it are the name.
	key     [maxKeyLen + 1]byte
	nameLen int
	qend    int // end of the question
	// above is the label of the name just above the zone's origin
	// (offsets in key), when lookup found the zone.
	above [2]int
	edns  bool
	do    bool
	limit int // the client's UDP limit
}

// parse reads q: one IN question of an ordinary type, at most an OPT RR
// (version 0, only fastOption options) after it, nothing else. It reports
// false for anything the full path must answer.
func (fq *fastQuery) parse(q []byte) bool {
	if len(q) < headerLen+5 {
		return false
	}
	fq.flags = binary.BigEndian.Uint16(q[2:])
	if fq.flags&flagQR != 0 || (fq.flags>>opcodeShift)&opcodeMask != dns.OpcodeQuery {
		return false
	}
	qd, an, ns, ar := binary.BigEndian.Uint16(q[4:]), binary.BigEndian.Uint16(q[6:]), binary.BigEndian.Uint16(q[8:]), binary.BigEndian.Uint16(q[10:])
	if qd != 1 || an != 0 || ns != 0 || ar > 1 {
		return false
	}
	off, ok := fq.readName(q)
	if !ok || off+4 > len(q) {
		return false
	}
	fq.qtype = binary.BigEndian.Uint16(q[off:])
	if binary.BigEndian.Uint16(q[off+2:]) != dns.ClassINET {
		return false
	}
	switch fq.qtype {
	case dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeOPT, 0:
		return false
	}
	binary.BigEndian.PutUint16(fq.key[fq.nameLen:], fq.qtype)
	fq.qend = off + 4
	fq.limit, fq.edns, fq.do = dns.MinMsgSize, false, false
	if ar == 0 {
		return len(q) == fq.qend
	}
	return fq.readOPT(q[fq.qend:])
}

// readName copies the question's name, lower-cased, into the key and
// returns the offset after it. Compression pointers are refused.
func (fq *fastQuery) readName(q []byte) (int, bool) {
	k, off := 0, headerLen
	for {
		if off >= len(q) {
			return 0, false
		}
		l := int(q[off])
		if l == 0 {
			fq.key[k] = 0
			fq.nameLen = k + 1
			return off + 1, true
		}
		if l > 63 || off+1+l > len(q) || k+1+l > 254 {
			return 0, false
		}
		fq.key[k] = byte(l)
		k++
		for _, c := range q[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			fq.key[k] = c
			k++
		}
		off += 1 + l
	}
}

// readOPT reads the OPT RR that must be all of o. An option that is not a
// fastOption leaves the query to the full path.
func (fq *fastQuery) readOPT(o []byte) bool {
	if len(o) < optLen || o[0] != 0 || binary.BigEndian.Uint16(o[1:]) != dns.TypeOPT || o[6] != 0 {
		return false // not an OPT, or not EDNS version 0
	}
	if len(o) != optLen+int(binary.BigEndian.Uint16(o[9:])) {
		return false
	}
	for opts := o[optLen:]; len(opts) > 0; {
		if len(opts) < 4 {
			return false
		}
		code, olen := binary.BigEndian.Uint16(opts), int(binary.BigEndian.Uint16(opts[2:]))
		if len(opts) < 4+olen || !fastOption(code) {
			return false
		}
		opts = opts[4+olen:]
	}
	fq.edns, fq.do = true, o[7]&optDO != 0
	fq.limit = min(max(int(binary.BigEndian.Uint16(o[3:])), dns.MinMsgSize), maxUDPSize)
	return true
}

// fastOption reports whether the fast path may answer a query that carries
// the EDNS option code: the options miekg/dns reads at any length and that
// change nothing in the answer, and codes it does not know (kept as opaque
// bytes). ECS and COOKIE change the answer, and the others have a fixed
// layout that the full path checks (FORMERR when it is wrong), so they go
// there.
func fastOption(code uint16) bool {
	switch code {
	case dns.EDNS0SUBNET, dns.EDNS0COOKIE, dns.EDNS0LLQ, dns.EDNS0UL, dns.EDNS0ESU, dns.EDNS0EXPIRE,
		dns.EDNS0TCPKEEPALIVE, dns.EDNS0EDE, dns.EDNS0REPORTING, dns.EDNS0ZONEVERSION:
		return false
	}
	return true
}

// lookup finds the entry answering fq: the exact (name, qtype), the
// name's "any other type", or the NXDOMAIN of its zone (if a simple one).
// nil or a slow entry: the full path answers.
func (ft *fastTable) lookup(fq *fastQuery) *fastEntry {
	k := fq.nameLen
	if e := ft.entries[string(fq.key[:k+2])]; e != nil {
		return e
	}
	fq.key[k], fq.key[k+1] = 0, 0
	e := ft.entries[string(fq.key[:k+2])]
	binary.BigEndian.PutUint16(fq.key[k:], fq.qtype)
	if e != nil {
		return e
	}
	for o, prev := 0, 0; o < k; prev, o = o, o+int(fq.key[o])+1 {
		if z := ft.zones[string(fq.key[o:k])]; z != nil {
			fq.above = [2]int{prev, o}
			return z.nx
		}
	}
	return nil
}

// inSignedZone reports whether fq's name is in a signed zone (or in none
// the table knows: the full path decides).
func (ft *fastTable) inSignedZone(fq *fastQuery) bool {
	k := fq.nameLen
	for o := 0; o < k; o += int(fq.key[o]) + 1 {
		if z := ft.zones[string(fq.key[o:k])]; z != nil {
			return z.signed
		}
	}
	return true
}

// write appends the answer to q (parsed as fq) from e to out, or returns
// nil when it does not fit the client's limit.
func (e *fastEntry) write(out, q []byte, fq *fastQuery) []byte {
	if e.rrs != nil {
		return e.writePicked(out, q, fq)
	}
	if fq.qend+len(e.body)+optLen > fq.limit {
		return nil // too big for the client: the full path truncates
	}
	if e.shared != nil && !e.shared.answers(fq) {
		return nil
	}
	out = writeHeader(out, q, fq, e.flags, e.counts)
	out = append(out, e.body...)
	if e.shared != nil {
		e.shared.move(out[len(out)-len(e.body):], fq.nameLen-e.shared.nameLen)
	}
	return writeOPT(out, fq)
}

// writePicked is write for weighted records: serveCount of them picked
// per query.
func (e *fastEntry) writePicked(out, q []byte, fq *fastQuery) []byte {
	var picked [16]int
	idx := pickWeighted(e.ws, e.serveCount, picked[:0])
	n := uint16(len(idx))
	if e.perPick > 1 {
		n *= e.perPick
	}
	if e.tail != nil {
		n++
	}
	out = writeHeader(out, q, fq, e.flags, [3]uint16{n, 0, 0})
	for _, i := range idx {
		count(e.answered, i)
		out = append(out, e.rrs[i]...)
	}
	out = append(out, e.tail...)
	out = writeOPT(out, fq)
	if len(out) > fq.limit {
		return nil
	}
	return out
}

// writeHeader appends the answer's header (the query's ID; QR, RD and CD
// copied; flags and counts of the entry, plus the OPT) and question.
func writeHeader(out, q []byte, fq *fastQuery, flags uint16, counts [3]uint16) []byte {
	if fq.edns {
		counts[2]++
	}
	out = append(out, q[0], q[1],
		byte((flagQR|fq.flags&(flagRD|flagCD)|flags)>>8), byte(flagQR|fq.flags&(flagRD|flagCD)|flags),
		0, 1, byte(counts[0]>>8), byte(counts[0]), byte(counts[1]>>8), byte(counts[1]), byte(counts[2]>>8), byte(counts[2]))
	return append(out, q[headerLen:fq.qend]...)
}

// writeOPT appends the answer's OPT RR to an EDNS query: our buffer size,
// version 0, DO copied.
func writeOPT(out []byte, fq *fastQuery) []byte {
	if !fq.edns {
		return out
	}
	var flags byte
	if fq.do {
		flags = optDO
	}
	return append(out, 0, byte(dns.TypeOPT>>8), byte(dns.TypeOPT), maxUDPSize>>8, maxUDPSize&0xFF, 0, 0, flags, 0, 0, 0)
}

// fastAnswer answers q into out from the pre-packed table, counting it in
// st, or returns nil when the query needs the full path. It does not
// allocate when out has room for maxUDPSize bytes.
func (s *Server) fastAnswer(p *published, q []byte, out []byte, st *readerStats) []byte {
	ft := p.fast
	if ft == nil {
		return nil
	}
	var fq fastQuery
	if !fq.parse(q) {
		return nil
	}
	var e *fastEntry
	if fq.do && p.signed {
		e = ft.signed[string(fq.key[:fq.nameLen+2])]
		if e == nil && !ft.inSignedZone(&fq) {
			e = ft.lookup(&fq) // an unsigned zone's answer is the same with DO
		}
	} else {
		e = ft.lookup(&fq)
	}
	if e == nil || e.slow {
		return nil
	}
	out = e.write(out, q, &fq)
	if out == nil {
		return nil
	}
	if e.gslots != nil {
		st.inc(e.gslots[qtypeIndex(fq.qtype)])
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
