package dnsserver

import (
	"sync/atomic"

	"github.com/miekg/dns"
)

// Signed entries of the fast table: the answers to DO queries on a signed
// zone, RRSIGs included, packed at Publish time like the unsigned ones, so
// that a DO query costs about what the same query without DO does. Only
// exact (name, qtype) keys get one; denial for names that do not exist
// (made per query) and everything else take the full path.

// addSigned adds the signed entries of z's static and service names.
func (b *fastBuilder) addSigned(z *pubZone) {
	for n := range z.data.names {
		if z.dyn[n] != nil || b.p.findZone(n) != z || belowCut(z.data, n) {
			continue
		}
		types, _ := z.typesOf(n)
		if len(types[dns.TypeCNAME]) > 0 || len(types) == 0 {
			continue
		}
		w := wireName(n)
		if w == nil {
			continue
		}
		for t := range types {
			b.ft.signed[fastKey(w, t)] = b.packSigned(z, n, t)
		}
		if n == z.origin {
			for _, t := range []uint16{dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY} {
				b.ft.signed[fastKey(w, t)] = b.packSigned(z, n, t)
			}
		}
	}
	epoch := z.signer.Epoch()
	nested := len(b.p.order) > 1 // some name of z may be another zone's
	for n, pn := range z.dyn {
		if pn.regional || pn.global.cname != nil || (nested && b.p.findZone(n) != z) {
			continue
		}
		keys := nameKeysOf(n, pn)
		if keys == nil {
			continue
		}
		pr := pn.global
		sf, ok := b.prevSigned[pn]
		if !ok || sf.epoch != epoch {
			sf = signedFast{epoch: epoch}
			if len(pr.a) > 0 {
				sf.a = b.packWeightedSigned(z, n, dns.TypeA, pr.a, pr.aw, pr.ac, pr.serveCount)
			}
			if len(pr.aaaa) > 0 {
				sf.aaaa = b.packWeightedSigned(z, n, dns.TypeAAAA, pr.aaaa, pr.aaaaw, pr.aaaac, pr.serveCount)
			}
		}
		b.ft.signedDyn[pn] = sf
		// A family with nothing to serve is denied with the name's own
		// NSEC and the SOA of the current serial: the full path makes it,
		// so a publish does not repack every service name's denial.
		if sf.a != nil {
			b.ft.signed[keys.a] = sf.a
		}
		if sf.aaaa != nil {
			b.ft.signed[keys.aaaa] = sf.aaaa
		}
	}
}

// packSigned packs the signed answer to a DO query for (name, qtype).
func (b *fastBuilder) packSigned(z *pubZone, name string, qtype uint16) *fastEntry {
	e, m := b.packAnswer(z, name, qtype, true)
	if e != slowEntry {
		e.slot = b.s.metrics.queries.slot(z.origin, qtypeLabel(qtype), rcodeLabel(m.Rcode))
	}
	return e
}

// packWeightedSigned packs a service name's records to be picked per query
// with their signatures: when the whole set is served, the set's RRSIG
// follows the picks; when one record is, each record carries its own. Other
// serve counts pick subsets with too many signatures to pack: nil (the
// full path signs them).
func (b *fastBuilder) packWeightedSigned(z *pubZone, name string, qtype uint16, rrs []dns.RR, ws []uint32, cs []*atomic.Uint64, serveCount int) *fastEntry {
	packed := func(rrs ...dns.RR) []byte {
		for _, rr := range rrs {
			if rr == nil || rr == dns.RR((*dns.RRSIG)(nil)) {
				return nil
			}
		}
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Answer = rrs
		m.Compress = true
		buf, err := m.Pack()
		if err != nil {
			return nil
		}
		return buf[headerLen+questionLen(name):]
	}
	e := &fastEntry{flags: flagAA, ws: ws, answered: cs, serveCount: serveCount}
	e.slot = b.s.metrics.queries.slot(z.origin, qtypeLabel(qtype), rcodeLabel(dns.RcodeSuccess))
	switch {
	case serveCount <= 0 || serveCount >= len(rrs):
		for _, rr := range rrs {
			e.rrs = append(e.rrs, packed(rr))
		}
		sig := z.signer.sign(rrs)
		if e.tail = packed(sig); sig == nil || e.tail == nil {
			return slowEntry
		}
	case serveCount == 1:
		e.perPick = 2
		for _, rr := range rrs {
			if sig := z.signer.sign([]dns.RR{rr}); sig != nil {
				e.rrs = append(e.rrs, packed(rr, sig))
			} else {
				e.rrs = append(e.rrs, nil)
			}
		}
	default:
		return slowEntry
	}
	for _, r := range e.rrs {
		if r == nil {
			return slowEntry
		}
	}
	return e
}
