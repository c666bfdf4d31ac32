package dnsserver

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Response rate limiting (RRL), as BIND, Knot and NSD do it: a spoofed
// source cannot turn the server into an amplifier, because the identical
// responses one client prefix can draw are capped. Responses are counted
// by kind, as BIND counts them:
//   - answers per (client prefix, qname, qtype);
//   - NODATA per (client prefix, qname);
//   - NXDOMAIN per (client prefix, zone), the zone read from the SOA owner;
//   - referrals per (client prefix, delegation);
//   - errors (REFUSED, FORMERR, ...) per client prefix.
// Over the rate a UDP response is dropped, except every Slip-th, which goes
// out truncated (TC=1, empty sections) so a real client retries over TCP.
// TCP is never limited. The response is classified from its wire form,
// after either answer path built it.
//
// Each account is a GCRA cell (the "virtual scheduling" form of a token
// bucket): one 64-bit word holding the theoretical arrival time, updated
// with a compare-and-swap. Accounts live in a fixed table indexed by a
// randomly seeded hash, so the hot path neither allocates nor locks; two accounts
// that collide in the table evict each other, which can only let more
// responses through, never fewer.

// RRL configures response rate limiting on UDP.
type RRL struct {
	// ResponsesPerSecond is the rate allowed per client prefix and
	// response kind (a burst of one second's worth is allowed).
	ResponsesPerSecond int
	// Slip sends every Slip-th limited response truncated instead of
	// dropping it; 0 drops them all.
	Slip int
	// IPv4Prefix and IPv6Prefix group clients; 0 means 24 and 56.
	IPv4Prefix, IPv6Prefix int
	// Exempt clients are never limited.
	Exempt []netip.Prefix
}

// rrlAction is what becomes of a response.
type rrlAction uint8

const (
	rrlSend rrlAction = iota
	rrlDrop
	rrlSlip
)

// Response kinds (the account key's kind byte).
const (
	rrlAnswer byte = iota + 1
	rrlNoData
	rrlNXDomain
	rrlReferral
	rrlError
)

const (
	rrlTableBits = 17 // 128 Ki accounts: 1 MiB of cells and 512 KiB of slip counters
	// rrlTagBits of each cell hold the top of the account's hash, so an
	// evicted account is recognised; the rest is the arrival time in µs
	// since the limiter started (2^48 µs is 8.9 years).
	rrlTagBits  = 16
	rrlTimeMask = 1<<(64-rrlTagBits) - 1
)

type rateLimiter struct {
	interval int64 // µs between responses at the allowed rate
	burst    int64 // µs of tolerance: one second's worth of responses
	slip     uint32
	v4, v6   int
	exempt   []netip.Prefix
	key      uint64 // hash seed, random per limiter
	epoch    time.Time

	cells []atomic.Uint64
	slips []atomic.Uint32

	dropped, slipped atomic.Uint64
}

func newRateLimiter(c RRL) (*rateLimiter, error) {
	if c.ResponsesPerSecond <= 0 || c.ResponsesPerSecond > 1_000_000 {
		return nil, fmt.Errorf("rrl: responses_per_second %d out of range 1..1000000", c.ResponsesPerSecond)
	}
	if c.Slip < 0 {
		return nil, fmt.Errorf("rrl: slip %d is negative", c.Slip)
	}
	v4, v6 := c.IPv4Prefix, c.IPv6Prefix
	if v4 == 0 {
		v4 = 24
	}
	if v6 == 0 {
		v6 = 56
	}
	if v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128 {
		return nil, fmt.Errorf("rrl: prefix lengths %d and %d out of range", v4, v6)
	}
	interval := int64(time.Second/time.Microsecond) / int64(c.ResponsesPerSecond)
	return &rateLimiter{
		interval: interval,
		burst:    interval * int64(c.ResponsesPerSecond-1),
		slip:     uint32(c.Slip),
		v4:       v4,
		v6:       v6,
		exempt:   c.Exempt,
		key:      rand.Uint64(),
		epoch:    time.Now(),
		cells:    make([]atomic.Uint64, 1<<rrlTableBits),
		slips:    make([]atomic.Uint32, 1<<rrlTableBits),
	}, nil
}

// micros returns t on the limiter's clock (monotonic µs since its start).
func (l *rateLimiter) micros(t time.Time) int64 {
	return int64(t.Sub(l.epoch) / time.Microsecond)
}

// decide returns what to do with resp, the UDP answer to a query from
// src, at now (µs on the limiter's clock).
func (l *rateLimiter) decide(resp []byte, src netip.Addr, now int64) rrlAction {
	h, ok := l.account(resp, src)
	if !ok {
		return rrlSend
	}
	if l.take(h, now) {
		return rrlSend
	}
	i := h & (1<<rrlTableBits - 1)
	if l.slip > 0 && l.slips[i].Add(1)%l.slip == 0 {
		l.slipped.Add(1)
		return rrlSlip
	}
	l.dropped.Add(1)
	return rrlDrop
}

// take charges one response to account h and reports whether it is
// within the rate.
func (l *rateLimiter) take(h uint64, now int64) bool {
	cell := &l.cells[h&(1<<rrlTableBits-1)]
	tag := h >> (64 - rrlTagBits) << (64 - rrlTagBits)
	t := now & rrlTimeMask
	// Bounded: each failed CAS means another reader moved this account on.
	for range 64 {
		old := cell.Load()
		tat := int64(old & rrlTimeMask)
		if old&^rrlTimeMask != tag || tat < t {
			tat = t // a new account, an evicted one, or idle long enough
		}
		if tat-t > l.burst {
			return false
		}
		if cell.CompareAndSwap(old, tag|uint64(tat+l.interval)&rrlTimeMask) {
			return true
		}
	}
	return true
}

// account returns the hash of resp's account, or false when resp is not
// limited (an exempt client, or not a response we can read).
func (l *rateLimiter) account(resp []byte, src netip.Addr) (uint64, bool) {
	if len(resp) < 12 {
		return 0, false
	}
	src = src.Unmap()
	for _, p := range l.exempt {
		if p.Contains(src) {
			return 0, false
		}
	}
	// The client prefix, as two words.
	var hi, lo uint64
	if src.Is4() {
		a := src.As4()
		hi = uint64(binary.BigEndian.Uint32(a[:])) & (^uint64(0) << (32 - l.v4)) & 0xFFFFFFFF
		hi |= 4 << 32
	} else {
		a := src.As16()
		hi, lo = binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
		switch {
		case l.v6 <= 64:
			hi &= ^uint64(0) << (64 - l.v6) // a shift by 64 is 0 in Go
			lo = 0
		default:
			lo &= ^uint64(0) << (128 - l.v6)
		}
	}
	rcode := resp[3] & 0xF
	an, ns := binary.BigEndian.Uint16(resp[6:]), binary.BigEndian.Uint16(resp[8:])
	aa := resp[2]&0x04 != 0
	if binary.BigEndian.Uint16(resp[4:]) != 1 {
		return l.hash(hi, lo, rrlError, 0, nil), true
	}
	qend, ok := skipName(resp, 12)
	if !ok || qend+4 > len(resp) {
		return 0, false
	}
	qname := resp[12:qend] // the question's name is never compressed
	qtype := binary.BigEndian.Uint16(resp[qend:])
	var kind byte
	switch {
	case rcode == dns.RcodeSuccess && an > 0:
		return l.hash(hi, lo, rrlAnswer, qtype, qname), true
	case rcode == dns.RcodeSuccess && !aa && ns > 0:
		kind = rrlReferral
	case rcode == dns.RcodeSuccess:
		return l.hash(hi, lo, rrlNoData, 0, qname), true
	case rcode == dns.RcodeNameError:
		kind = rrlNXDomain
	default:
		return l.hash(hi, lo, rrlError, 0, nil), true
	}
	// NXDOMAIN and referrals count by the first authority record's owner
	// (the zone's SOA, the delegation's NS), which may be compressed.
	if an != 0 || ns == 0 {
		return l.hash(hi, lo, kind, 0, qname), true
	}
	var buf [256]byte
	owner, _, ok := appendLowerName(buf[:0], resp, qend+4)
	if !ok {
		return l.hash(hi, lo, kind, 0, qname), true
	}
	return l.hash(hi, lo, kind, 0, owner), true
}

// hash mixes an account's parts with the limiter's secret seed
// (multiply-fold rounds, as wyhash does); name is hashed in lower case.
func (l *rateLimiter) hash(hi, lo uint64, kind byte, qtype uint16, name []byte) uint64 {
	const k0, k1, k2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	h := mix(l.key^hi, k0)
	h = mix(h^lo^uint64(kind)<<16^uint64(qtype), k1)
	for len(name) >= 8 {
		h = mix(h^lower8(binary.LittleEndian.Uint64(name)), k2)
		name = name[8:]
	}
	var tail uint64
	for i, c := range name {
		tail |= uint64(c) << (8 * i)
	}
	return mix(h^lower8(tail)^uint64(len(name)), k0^k2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// lower8 turns the ASCII capitals among w's eight bytes to lower case.
func lower8(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	low7 := w &^ highs
	geA := low7 + (0x80-'A')*ones    // high bit set where byte >= 'A'
	gtZ := low7 + (0x80-'Z'-1)*ones  // high bit set where byte > 'Z'
	upper := geA &^ gtZ &^ w & highs // ASCII only
	return w | upper>>2              // 0x80 >> 2 is the case bit
}

// skipName returns the offset after the uncompressed name at msg[off:].
func skipName(msg []byte, off int) (int, bool) {
	for n := 0; n < 128 && off < len(msg); n++ {
		l := int(msg[off])
		if l == 0 {
			return off + 1, true
		}
		if l > 63 {
			return 0, false
		}
		off += 1 + l
	}
	return 0, false
}

// maxNameOctets is the longest a domain name may be in wire format, its
// root label included (RFC 1035 section 3.1).
const maxNameOctets = 255

// appendLowerName appends the name at msg[off:] in lower case, following
// compression pointers, to dst (within its capacity); it returns the
// result and the offset just after the name where it started. A name
// longer than maxNameOctets is not a name.
func appendLowerName(dst, msg []byte, off int) ([]byte, int, bool) {
	start := len(dst)
	next := -1
	for hops := 0; hops < 64; hops++ {
		if off >= len(msg) {
			return nil, 0, false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if next < 0 {
				next = off + 1
			}
			if len(dst) == cap(dst) || len(dst)-start+1 > maxNameOctets {
				return nil, 0, false
			}
			return append(dst, 0), next, true
		case l&0xC0 == 0xC0:
			if off+1 >= len(msg) {
				return nil, 0, false
			}
			if next < 0 {
				next = off + 2
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3FFF)
			continue
		case l > 63:
			return nil, 0, false
		}
		if off+1+l > len(msg) || len(dst)+1+l >= cap(dst) {
			return nil, 0, false
		}
		dst = append(dst, byte(l))
		for _, c := range msg[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		off += 1 + l
	}
	return nil, 0, false
}

// slipResponse writes to out the truncated stand-in for a limited answer
// to query q: q's header and question with QR and TC set and no records
// but an OPT when q had one. It returns nil when q has no readable
// question.
func slipResponse(q, out []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	var scratch [256]byte
	name, qend, ok := appendLowerName(scratch[:0], q, 12)
	// The question is copied as it is: a compression pointer in it would
	// point into bytes the stand-in does not carry, so such a query (no
	// real resolver sends one) gets nothing.
	if !ok || qend-12 != len(name) || qend+4 > len(q) {
		return nil
	}
	qend += 4
	out = append(out[:0], q[:qend]...)
	out[2] = out[2]&0x79 | 0x82 // QR, opcode and RD kept, AA cleared, TC set
	out[3] &= 0x10              // CD kept, rcode NOERROR
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	if opt, ok := queryOPT(q, qend); ok {
		out[11] = 1
		out = append(out, 0, 0, 41, maxUDPSize>>8, maxUDPSize&0xFF, 0, 0, opt[7]&0x80, 0, 0, 0)
	}
	return out
}

// queryOPT returns the OPT record following the question of q (ending at
// qend), when q has one there.
func queryOPT(q []byte, qend int) ([]byte, bool) {
	if binary.BigEndian.Uint16(q[10:]) == 0 || binary.BigEndian.Uint16(q[6:]) != 0 || binary.BigEndian.Uint16(q[8:]) != 0 {
		return nil, false
	}
	o := q[qend:]
	if len(o) < 11 || o[0] != 0 || binary.BigEndian.Uint16(o[1:]) != dns.TypeOPT {
		return nil, false
	}
	rdlen := int(binary.BigEndian.Uint16(o[9:]))
	if len(o) < 11+rdlen {
		return nil, false
	}
	return o[:11+rdlen], true
}

// collectors returns the limiter's counters for a registry.
func (l *rateLimiter) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "failoverd_dns_rrl_dropped_total",
			Help: "UDP responses dropped by response rate limiting.",
		}, func() float64 { return float64(l.dropped.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "failoverd_dns_rrl_slipped_total",
			Help: "UDP responses sent truncated (TC=1) by response rate limiting instead of dropped.",
		}, func() float64 { return float64(l.slipped.Load()) }),
	}
}

// limitUDP applies response rate limiting to resp, the answer to the UDP
// query q from src, and returns what to send instead: resp, a slip
// response written to out's storage, or nil (drop). A query bearing a
// valid server cookie is never limited: its source is proven, so it
// cannot be a reflection. A limited query bearing a client cookie slips
// as BADCOOKIE with a fresh server cookie (RFC 7873 §5.2.3) rather than
// as a truncated answer.
func (s *Server) limitUDP(q, resp []byte, src netip.Addr, now time.Time, out []byte) []byte {
	act := s.rrl.decide(resp, src, s.rrl.micros(now))
	if act == rrlSend {
		return resp
	}
	if s.cookies != nil {
		if cookie, ok := rawCookie(q); ok {
			state, _ := s.cookies.check(cookie, src, uint32(now.Unix()))
			switch {
			case state == cookieValid:
				return resp
			case state == cookieClient && act == rrlSlip:
				return s.cookies.badCookie(q, out[:0], src, uint32(now.Unix()))
			case state == cookieClient:
				return nil
			}
		}
	}
	if act == rrlSlip {
		return slipResponse(q, out[:0])
	}
	return nil
}
