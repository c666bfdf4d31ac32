package dnsserver

import (
	"math/rand/v2"
	"net/netip"
	"sort"
	"sync/atomic"

	"github.com/miekg/dns"
)

// Snapshot is everything the server answers from. A published Snapshot is
// read by many queries at once and must not be modified afterwards.
type Snapshot struct {
	Zones []ZoneSnapshot
}

// ZoneSnapshot is one zone: its static data, its current serial and the
// served sets of its service names.
type ZoneSnapshot struct {
	Data *ZoneData
	// Serial is the SOA serial served; 0 means the loaded SOA's serial.
	Serial uint32
	// Names maps service names (absolute, lower case) to their answers.
	Names map[string]*Dynamic
	// Signer, when set, signs the zone (DNSSEC): the apex serves its key
	// and DO queries get signatures and NSEC denials. The same Signer is
	// given in every snapshot while the key and its settings stay.
	Signer *Signer
}

// Dynamic is the answer of one service name.
type Dynamic struct {
	TTL uint32
	// Regions maps a region code to its answer; it must contain "global".
	Regions map[string]*RegionAnswer
}

// RegionAnswer is the served set of one region of a service name.
type RegionAnswer struct {
	// ServeCount is the number of records per answer; 0 means all of them,
	// in weighted random order.
	ServeCount int
	A, AAAA    []Weighted
	// CNAME, when set, makes the answer this CNAME.
	CNAME string
	SRV   []SRV
}

// Weighted is an address with its selection weight.
type Weighted struct {
	Addr   netip.Addr
	Weight uint32
	// Answered, when set, is incremented every time this record is put in
	// the answer section (cluster real-service statistics). It is shared
	// across snapshots and only ever added to.
	Answered *atomic.Uint64
}

// SRV is one SRV record's data.
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string
}

// GlobalRegion is the region every service name has and every client falls
// back to.
const GlobalRegion = "global"

// published is a Snapshot prepared for answering: zones by origin, answer
// records built once so a query only selects among them.
type published struct {
	zones map[string]*pubZone
	// order holds the zones sorted by origin, for a stable iteration
	// (NOTIFY, the fast table).
	order []*pubZone
	// fast holds pre-packed answers for the UDP fast path (nil: none).
	fast *fastTable
	// signed is set when some zone is signed: DO queries then take the
	// full path, which adds the DNSSEC records.
	signed bool
}

type pubZone struct {
	origin string
	data   *ZoneData
	serial uint32
	soa    *dns.SOA // with the served serial; shared, read-only
	negSOA *dns.SOA // TTL = min(TTL, minimum) for negative answers
	dyn    map[string]*pubName
	// dynExist holds the dynamic names and their empty non-terminals.
	dynExist map[string]struct{}
	// signer signs the zone (nil: unsigned); apex is then the apex's
	// records with the key's DNSKEY, CDS and CDNSKEY added.
	signer *Signer
	apex   map[uint16][]dns.RR
	// presigned is the signer's epoch presign last signed z in.
	presigned uint64
}

// typesOf returns the records of name in z by type, and whether name is a
// static name (one with records, or an empty non-terminal above them).
func (z *pubZone) typesOf(name string) (map[uint16][]dns.RR, bool) {
	if z.apex != nil && name == z.origin {
		return z.apex, true
	}
	types, ok := z.data.names[name]
	return types, ok
}

type pubName struct {
	// src is the Dynamic this was prepared from: a later snapshot that
	// carries the same (immutable) Dynamic reuses the prepared name.
	src *Dynamic
	// keys caches the fast-table keys (set by buildFast, read only by the
	// publishing goroutine).
	keys     *nameKeys
	name     string
	ttl      uint32
	regions  map[string]*pubRegion
	global   *pubRegion
	regional bool // some region differs from global: ECS scope matters
}

type pubRegion struct {
	serveCount int
	a, aaaa    []dns.RR
	aw, aaaaw  []uint32
	// ac, aaaac count answers per record; nil when no record is counted.
	ac, aaaac []*atomic.Uint64
	cname     *dns.CNAME
	srv       []dns.RR
}

func prepare(snap *Snapshot) *published { return prepareFrom(snap, nil) }

// prepareFrom prepares snap, reusing every name of prev whose Dynamic is the
// same pointer, so a publish after one service changed costs little more
// than that service.
func prepareFrom(snap *Snapshot, prev *published) *published {
	p := &published{zones: map[string]*pubZone{}}
	for i := range snap.Zones {
		zs := &snap.Zones[i]
		if zs.Data == nil {
			continue
		}
		z := &pubZone{origin: zs.Data.origin, data: zs.Data, serial: zs.Serial, dyn: map[string]*pubName{}, dynExist: map[string]struct{}{}}
		if z.serial == 0 {
			z.serial = zs.Data.soa.Serial
		}
		soa := dns.Copy(zs.Data.soa).(*dns.SOA)
		soa.Serial = z.serial
		z.soa = soa
		neg := dns.Copy(soa).(*dns.SOA)
		if neg.Minttl < neg.Hdr.Ttl {
			neg.Hdr.Ttl = neg.Minttl
		}
		z.negSOA = neg
		if zs.Signer != nil {
			z.signer = zs.Signer
			p.signed = true
			z.apex = make(map[uint16][]dns.RR, len(zs.Data.names[z.origin])+3)
			for t, rrs := range zs.Data.names[z.origin] {
				z.apex[t] = rrs
			}
			k, cds, cdnskey := z.signer.keyRecords(soa.Hdr.Ttl)
			z.apex[dns.TypeDNSKEY] = []dns.RR{k}
			z.apex[dns.TypeCDS] = []dns.RR{cds}
			z.apex[dns.TypeCDNSKEY] = []dns.RR{cdnskey}
		}
		for name, d := range zs.Names {
			if d == nil {
				continue
			}
			lname := canonicalName(name)
			if !dns.IsSubDomain(z.origin, lname) {
				continue
			}
			var pn *pubName
			if prev != nil {
				if pz := prev.zones[z.origin]; pz != nil {
					if old := pz.dyn[lname]; old != nil && old.src == d {
						pn = old
					}
				}
			}
			if pn == nil {
				pn = prepareName(lname, d)
			}
			if pn == nil {
				continue
			}
			z.dyn[lname] = pn
			for n := lname; n != "" && dns.IsSubDomain(z.origin, n); n = parentName(n) {
				z.dynExist[n] = struct{}{}
			}
		}
		if z.signer != nil {
			presign(z, prev)
		}
		p.zones[z.origin] = z
		p.order = append(p.order, z)
	}
	sort.Slice(p.order, func(i, j int) bool { return p.order[i].origin < p.order[j].origin })
	return p
}

func prepareName(name string, d *Dynamic) *pubName {
	pn := &pubName{src: d, name: name, ttl: d.TTL, regions: make(map[string]*pubRegion, len(d.Regions))}
	for code, ra := range d.Regions {
		if ra == nil {
			continue
		}
		pn.regions[code] = prepareRegion(name, d.TTL, ra)
	}
	pn.global = pn.regions[GlobalRegion]
	if pn.global == nil {
		// Contract violation by the caller; serve nothing rather than crash.
		pn.global = &pubRegion{}
		pn.regions[GlobalRegion] = pn.global
	}
	pn.regional = len(pn.regions) > 1
	return pn
}

func prepareRegion(name string, ttl uint32, ra *RegionAnswer) *pubRegion {
	pr := &pubRegion{serveCount: ra.ServeCount}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	if ra.CNAME != "" {
		pr.cname = &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.CanonicalName(dns.Fqdn(ra.CNAME))}
		return pr
	}
	for _, w := range ra.A {
		if w.Weight == 0 || !w.Addr.Unmap().Is4() {
			continue
		}
		a := w.Addr.Unmap().As4()
		pr.a = append(pr.a, &dns.A{Hdr: hdr(dns.TypeA), A: a[:]})
		pr.aw = append(pr.aw, w.Weight)
		pr.ac = appendCounter(pr.ac, len(pr.a)-1, w.Answered)
	}
	for _, w := range ra.AAAA {
		if w.Weight == 0 || !w.Addr.Is6() || w.Addr.Is4In6() {
			continue
		}
		a := w.Addr.As16()
		pr.aaaa = append(pr.aaaa, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: a[:]})
		pr.aaaaw = append(pr.aaaaw, w.Weight)
		pr.aaaac = appendCounter(pr.aaaac, len(pr.aaaa)-1, w.Answered)
	}
	for _, s := range ra.SRV {
		pr.srv = append(pr.srv, &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: s.Priority, Weight: s.Weight, Port: s.Port, Target: dns.CanonicalName(dns.Fqdn(s.Target))})
	}
	return pr
}

// findZone returns the zone with the longest origin containing qname
// (lower case), or nil.
func (p *published) findZone(qname string) *pubZone {
	for n := qname; n != ""; n = parentName(n) {
		if z, ok := p.zones[n]; ok {
			return z
		}
	}
	return nil
}

// exists reports whether name (lower case) exists in the zone.
func (z *pubZone) exists(name string) bool {
	if _, ok := z.data.names[name]; ok {
		return true
	}
	_, ok := z.dynExist[name]
	return ok
}

// maxPick is the largest set pickWeighted handles with a bit mask; larger
// sets use a slice.
const maxPick = 64

// pickWeighted chooses k indices of ws (k <= 0 or k >= len: all of them, in
// weighted random order) at random without replacement, each draw with
// probability proportional to weight, and appends them to out.
func pickWeighted(ws []uint32, k int, out []int) []int {
	n := len(ws)
	if k <= 0 || k > n {
		k = n
	}
	if n == 0 {
		return out
	}
	if n == 1 {
		return append(out, 0)
	}
	var total uint64
	for _, w := range ws {
		total += uint64(w)
	}
	if n <= maxPick {
		var used uint64
		for range k {
			r := rand.Uint64N(total)
			for i, w := range ws {
				if used&(1<<uint(i)) != 0 {
					continue
				}
				if r < uint64(w) {
					used |= 1 << uint(i)
					total -= uint64(w)
					out = append(out, i)
					break
				}
				r -= uint64(w)
			}
		}
		return out
	}
	used := make([]bool, n)
	for range k {
		r := rand.Uint64N(total)
		for i, w := range ws {
			if used[i] {
				continue
			}
			if r < uint64(w) {
				used[i] = true
				total -= uint64(w)
				out = append(out, i)
				break
			}
			r -= uint64(w)
		}
	}
	return out
}

// appendCounter records c as the counter of record i, keeping the slice nil
// while no record has a counter (the common case costs nothing per query).
func appendCounter(cs []*atomic.Uint64, i int, c *atomic.Uint64) []*atomic.Uint64 {
	if c == nil && cs == nil {
		return nil
	}
	for len(cs) < i {
		cs = append(cs, nil)
	}
	return append(cs, c)
}

// count adds one answer to the counter of record i, if it has one.
func count(cs []*atomic.Uint64, i int) {
	if i < len(cs) && cs[i] != nil {
		cs[i].Add(1)
	}
}

// pick appends serveCount records of rrs chosen by weight to dst, counting
// each chosen record in cs (nil: no counters).
func pick(dst []dns.RR, rrs []dns.RR, ws []uint32, cs []*atomic.Uint64, serveCount int) []dns.RR {
	if len(rrs) == 1 {
		count(cs, 0)
		return append(dst, rrs[0])
	}
	var buf [16]int
	for _, i := range pickWeighted(ws, serveCount, buf[:0]) {
		count(cs, i)
		dst = append(dst, rrs[i])
	}
	return dst
}
