package dnsserver

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Signer signs one zone's RRsets online with its CSK. Every signature of
// one signing period (an epoch) has the same inception and expiration, so
// a signature made once serves every query until the next epoch: signatures
// are cached per distinct RRset. The daemon keeps a zone's Signer across
// publishes and reloads and starts a new epoch (Refresh) when a third of
// the signature lifetime is left, moving the zone's serial.
type Signer struct {
	key              *Key
	lifetime, offset time.Duration
	ep               atomic.Pointer[epoch]
	// signed counts signatures made (cache misses), for tests and metrics.
	signed atomic.Uint64
	// epochs counts the epochs started.
	epochs atomic.Uint64
}

// epoch is one signing period and its signature cache.
type epoch struct {
	id                    uint64
	inception, expiration uint32
	refreshAt             time.Time

	// The cache has two generations: when the current one is full it
	// becomes the old one, and a hit in the old one moves the signature
	// forward. So the cache is bounded and RRsets still served stay.
	mu       sync.RWMutex
	cur, old map[string]*dns.RRSIG
}

// maxCached bounds each cache generation.
const maxCached = 1 << 16

// NewSigner returns a zone's signer with key, whose first epoch starts at
// now.
func NewSigner(key *Key, lifetime, inceptionOffset time.Duration, now time.Time) *Signer {
	s := &Signer{key: key, lifetime: lifetime, offset: inceptionOffset}
	s.Refresh(now)
	return s
}

// Key is the signer's key.
func (s *Signer) Key() *Key { return s.key }

// Same reports whether s signs with key and these durations, so a reload
// that changes none of them keeps s (and its signatures).
func (s *Signer) Same(key *Key, lifetime, inceptionOffset time.Duration) bool {
	return s.lifetime == lifetime && s.offset == inceptionOffset &&
		s.key.DNSKEY.Algorithm == key.DNSKEY.Algorithm && s.key.DNSKEY.PublicKey == key.DNSKEY.PublicKey
}

// Refresh starts a new epoch at now: signatures valid from now minus the
// inception offset until now plus the lifetime, due again when a third of
// the lifetime is left. Signatures of the old epoch are dropped.
func (s *Signer) Refresh(now time.Time) {
	s.ep.Store(&epoch{
		id:         s.epochs.Add(1),
		inception:  uint32(now.Add(-s.offset).Unix()),
		expiration: uint32(now.Add(s.lifetime).Unix()),
		refreshAt:  now.Add(s.lifetime * 2 / 3),
		cur:        map[string]*dns.RRSIG{},
	})
}

// RefreshAt is when the current epoch's signatures are due to be made
// again.
func (s *Signer) RefreshAt() time.Time { return s.ep.Load().refreshAt }

// Epoch identifies the current epoch (it counts refreshes), so users of
// signatures can tell a refresh happened.
func (s *Signer) Epoch() uint64 { return s.ep.Load().id }

// Signed is how many signatures s has made.
func (s *Signer) Signed() uint64 { return s.signed.Load() }

// sign returns the RRSIG of rrset (one owner, type and class; in any
// order), from the cache when the same RRset was signed in this epoch, or
// nil when it cannot be signed (a record that does not pack: the answer
// goes out without its signature rather than not at all). The returned
// RRSIG is shared: callers must not modify it.
func (s *Signer) sign(rrset []dns.RR) *dns.RRSIG {
	ep := s.ep.Load()
	k, ok := cacheKey(rrset)
	if !ok {
		return nil
	}
	ep.mu.RLock()
	sig, ok := ep.cur[k]
	if !ok {
		sig, ok = ep.old[k]
	}
	ep.mu.RUnlock()
	if ok {
		return sig
	}
	sig = &dns.RRSIG{
		Hdr:        dns.RR_Header{Ttl: rrset[0].Header().Ttl},
		Algorithm:  s.key.DNSKEY.Algorithm,
		KeyTag:     s.key.Tag(),
		SignerName: s.key.Zone(),
		Inception:  ep.inception,
		Expiration: ep.expiration,
	}
	if err := sig.Sign(s.key.priv, rrset); err != nil {
		return nil
	}
	s.signed.Add(1)
	ep.mu.Lock()
	if len(ep.cur) >= maxCached {
		ep.old, ep.cur = ep.cur, make(map[string]*dns.RRSIG, maxCached)
	}
	ep.cur[k] = sig
	ep.mu.Unlock()
	return sig
}

// cacheKey identifies an RRset whatever the order of its records: the
// uncompressed wire forms of its records, sorted and joined. The set is
// packed as a message because PackRR writes the shared records' Rdlength.
func cacheKey(rrset []dns.RR) (string, bool) {
	m := dns.Msg{Answer: rrset}
	buf, err := m.Pack()
	if err != nil || len(rrset) == 0 {
		return "", false
	}
	var stack [8][]byte
	wires := stack[:0]
	for off := headerLen; off < len(buf); {
		start := off
		for buf[off] != 0 {
			off += int(buf[off]) + 1
		}
		off += 1 + 10 // root label; type, class, TTL, RDLENGTH
		off += int(buf[off-2])<<8 | int(buf[off-1])
		wires = append(wires, buf[start:off])
	}
	if len(wires) > 1 {
		slices.SortFunc(wires, bytes.Compare)
	}
	out := make([]byte, 0, len(buf))
	for _, w := range wires {
		out = append(out, byte(len(w)>>8), byte(len(w)))
		out = append(out, w...)
	}
	return string(out), true
}

// appendSig appends sig unless it is nil (an RRset that could not be signed).
func appendSig(rrs []dns.RR, sig *dns.RRSIG) []dns.RR {
	if sig == nil {
		return rrs
	}
	return append(rrs, sig)
}

// keyRecords are the apex records of the CSK: DNSKEY, CDS (SHA-256) and
// CDNSKEY, with the given TTL.
func (s *Signer) keyRecords(ttl uint32) (dnskey, cds, cdnskey dns.RR) {
	k := dns.Copy(s.key.DNSKEY).(*dns.DNSKEY)
	k.Hdr.Ttl = ttl
	c := s.key.DNSKEY.ToDS(dns.SHA256).ToCDS()
	c.Hdr.Ttl = ttl
	cd := s.key.DNSKEY.ToCDNSKEY()
	cd.Hdr.Ttl = ttl
	return k, c, cd
}

// presign makes, before z is published, the signatures its answers need:
// every authoritative static RRset, the SOA and negative SOA, and every
// service name's served sets (all records, and each record alone when one
// is served at a time), so a failover's new answer validates from its
// first query. Larger weighted picks are signed on their first query.
// Names reused from prev, in the same epoch, are signed already.
func presign(z *pubZone, prev *published) {
	epoch := z.signer.Epoch()
	z.presigned = epoch
	var old *pubZone
	if prev != nil {
		old = prev.zones[z.origin]
	}
	same := old != nil && old.signer == z.signer && old.presigned == epoch
	if !same || old.data != z.data || old.soa.Serial != z.soa.Serial {
		z.signer.sign([]dns.RR{z.soa})
		z.signer.sign([]dns.RR{z.negSOA})
	}
	if !same || old.data != z.data {
		for name := range z.data.names {
			types, _ := z.typesOf(name)
			for t, rrs := range types {
				if len(rrs) == 0 || t == dns.TypeSOA {
					continue
				}
				if cut, _ := zoneCut(z.data, name, t); cut != "" && t != dns.TypeDS {
					continue
				}
				z.signer.sign(rrs)
			}
		}
	}
	for name, pn := range z.dyn {
		if same && old.dyn[name] == pn {
			continue
		}
		for _, pr := range pn.regions {
			presignRegion(z.signer, pr)
		}
	}
}

func presignRegion(s *Signer, pr *pubRegion) {
	if pr.cname != nil {
		s.sign([]dns.RR{pr.cname})
		return
	}
	for _, rrs := range [][]dns.RR{pr.a, pr.aaaa, pr.srv} {
		if len(rrs) == 0 {
			continue
		}
		s.sign(rrs)
		if pr.serveCount == 1 && len(rrs) > 1 {
			for _, rr := range rrs {
				s.sign([]dns.RR{rr})
			}
		}
	}
}
