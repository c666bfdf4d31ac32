package dnsserver

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/dchest/siphash"
	"github.com/miekg/dns"
)

// DNS Cookies (RFC 7873) let a client prove that it receives the answers
// sent to its address: a query bearing a valid server cookie cannot be
// spoofed, so response rate limiting leaves it alone. Server cookies are
// the interoperable ones of RFC 9018 (version 1, SipHash-2-4), so servers
// sharing Options.CookieSecret accept each other's cookies.
//
// A query's COOKIE option is handled as RFC 7873 §5.2 says:
//   - malformed (not 8 or 16..40 bytes): FORMERR;
//   - a client cookie alone, or with a server cookie that does not verify:
//     answered normally with a fresh server cookie (§5.2.3, §5.2.4), except
//     when rate limiting holds the answer back: then the slipped response
//     is BADCOOKIE with the fresh cookie instead of a truncated answer;
//   - a valid server cookie: answered normally, with the cookie renewed
//     once it is half an hour old (RFC 9018 §4.3), never rate limited.
// Clients that send no cookie are answered as before.

const (
	cookieClientLen = 8
	cookieServerLen = 16 // RFC 9018: version, reserved, timestamp, hash
	cookieMaxLen    = 40
	// RFC 9018 §4.3: a server cookie is accepted from an hour in the past
	// to five minutes in the future, and renewed after half an hour.
	cookieMaxAge    = 3600
	cookieMaxFuture = 300
	cookieRenew     = 1800
)

// cookieJar makes and checks server cookies with one secret.
type cookieJar struct {
	k0, k1 uint64 // the SipHash key: the 16-byte secret
}

// newCookieJar takes a 16-byte secret, or makes a random one when secret
// is empty.
func newCookieJar(secret []byte) (*cookieJar, error) {
	if len(secret) == 0 {
		secret = make([]byte, 16)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("cookie secret: %w", err)
		}
	}
	if len(secret) != 16 {
		return nil, fmt.Errorf("cookie secret: %d bytes, want 16", len(secret))
	}
	return &cookieJar{k0: binary.LittleEndian.Uint64(secret), k1: binary.LittleEndian.Uint64(secret[8:])}, nil
}

// serverCookie returns the RFC 9018 server cookie for the client cookie
// cc of client ip at ts (Unix seconds).
func (j *cookieJar) serverCookie(cc []byte, ip netip.Addr, ts uint32) [cookieServerLen]byte {
	var in [cookieClientLen + 8 + 16]byte
	n := copy(in[:], cc[:cookieClientLen])
	in[n] = 1 // version; three reserved zero bytes follow
	binary.BigEndian.PutUint32(in[n+4:], ts)
	n += 8
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		n += copy(in[n:], a[:])
	} else {
		a := ip.As16()
		n += copy(in[n:], a[:])
	}
	var sc [cookieServerLen]byte
	copy(sc[:8], in[cookieClientLen:cookieClientLen+8])
	binary.LittleEndian.PutUint64(sc[8:], siphash.Hash(j.k0, j.k1, in[:n]))
	return sc
}

// cookieState is what a query's COOKIE option amounts to.
type cookieState uint8

const (
	cookieNone      cookieState = iota // no COOKIE option
	cookieMalformed                    // FORMERR
	cookieClient                       // a client cookie, no valid server cookie
	cookieValid                        // a valid server cookie
)

// check classifies cookie, a COOKIE option's data sent by ip, at now
// (Unix seconds), and returns the option data to answer with (the client
// cookie and a server cookie) unless it is malformed.
func (j *cookieJar) check(cookie []byte, ip netip.Addr, now uint32) (cookieState, []byte) {
	var reply [cookieClientLen + cookieServerLen]byte
	state := j.checkInto(cookie, ip, now, &reply)
	if state == cookieMalformed {
		return state, nil
	}
	return state, reply[:]
}

// checkInto is check writing the answer's option data to reply.
func (j *cookieJar) checkInto(cookie []byte, ip netip.Addr, now uint32, reply *[cookieClientLen + cookieServerLen]byte) cookieState {
	switch l := len(cookie); {
	case l == cookieClientLen:
	case l >= cookieClientLen+8 && l <= cookieMaxLen:
	default:
		return cookieMalformed
	}
	cc := cookie[:cookieClientLen]
	state, ts := cookieClient, now
	if len(cookie) == cookieClientLen+cookieServerLen && cookie[cookieClientLen] == 1 {
		sent := binary.BigEndian.Uint32(cookie[cookieClientLen+4:])
		age := int32(now - sent) // RFC 1982 arithmetic: the clock wraps in 2106
		want := j.serverCookie(cc, ip, sent)
		if age <= cookieMaxAge && age >= -cookieMaxFuture && string(want[:]) == string(cookie[cookieClientLen:]) {
			state = cookieValid
			if age < cookieRenew {
				ts = sent // still fresh: hand the same cookie back
			}
		}
	}
	copy(reply[:], cc)
	sc := j.serverCookie(cc, ip, ts)
	copy(reply[cookieClientLen:], sc[:])
	return state
}

// queryCookie evaluates the COOKIE option in req's OPT record from ip at
// now; the returned option is the one to add to the answer's OPT.
func (j *cookieJar) queryCookie(req *dns.Msg, ip netip.Addr, now time.Time) (cookieState, *dns.EDNS0_COOKIE) {
	opt := req.IsEdns0()
	if opt == nil {
		return cookieNone, nil
	}
	for _, o := range opt.Option {
		c, ok := o.(*dns.EDNS0_COOKIE)
		if !ok {
			continue
		}
		raw, err := hex.DecodeString(c.Cookie)
		if err != nil {
			return cookieMalformed, nil
		}
		state, out := j.check(raw, ip, uint32(now.Unix()))
		if state == cookieMalformed {
			return state, nil
		}
		return state, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: hex.EncodeToString(out)}
	}
	return cookieNone, nil
}

// rawCookie returns the COOKIE option data of the raw query q, if any.
func rawCookie(q []byte) ([]byte, bool) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil, false
	}
	qend, ok := skipName(q, 12)
	if !ok || qend+4 > len(q) {
		return nil, false
	}
	opt, ok := queryOPT(q, qend+4)
	if !ok {
		return nil, false
	}
	for opts := opt[11:]; len(opts) >= 4; {
		code, l := binary.BigEndian.Uint16(opts), int(binary.BigEndian.Uint16(opts[2:]))
		if len(opts) < 4+l {
			return nil, false
		}
		if code == dns.EDNS0COOKIE {
			return opts[4 : 4+l], true
		}
		opts = opts[4+l:]
	}
	return nil, false
}

// badCookie writes to out the BADCOOKIE answer to the raw query q, which
// carries the client cookie of a well-formed COOKIE option: header and
// question, and an OPT with the client cookie and a fresh server cookie
// (RFC 7873 §5.2.3). It returns nil when q has no such cookie.
func (j *cookieJar) badCookie(q, out []byte, ip netip.Addr, now uint32) []byte {
	cookie, ok := rawCookie(q)
	if !ok {
		return nil
	}
	state, reply := j.check(cookie, ip, now)
	if state == cookieMalformed {
		return nil
	}
	out = slipResponse(q, out)
	if out == nil || out[11] != 1 {
		return nil
	}
	out[2] &^= 0x02                           // not truncated: the client retries over UDP with the cookie
	out[3] |= dns.RcodeBadCookie & 0xF        // low bits in the header,
	out[len(out)-6] = dns.RcodeBadCookie >> 4 // high bits in the OPT TTL
	out = append(out[:len(out)-2], 0, 4+byte(len(reply)))
	out = binary.BigEndian.AppendUint16(out, dns.EDNS0COOKIE)
	out = binary.BigEndian.AppendUint16(out, uint16(len(reply)))
	return append(out, reply...)
}

// cookieOptLen is a COOKIE option in an answer: code, length, client and
// server cookie.
const cookieOptLen = 4 + cookieClientLen + cookieServerLen

// fastCookieAnswer answers from the pre-packed table a UDP query whose OPT
// carries a COOKIE option, which fastAnswer leaves to the full path: it
// asks fastAnswer the same query without the option (and with room for it
// kept free under the client's limit), then adds the COOKIE option the
// full path would. It returns nil when the full path must answer (no
// cookie, a malformed one, a small limit, or no fast answer).
func (s *Server) fastCookieAnswer(p *published, q, out []byte, st *readerStats, src netip.Addr, now time.Time) []byte {
	var buf [512]byte
	if len(q) > len(buf) || len(q) < headerSize || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	qend, ok := skipName(q, headerSize)
	if !ok || qend+4 > len(q) {
		return nil
	}
	qend += 4
	opt, ok := queryOPT(q, qend)
	if !ok || qend+len(opt) != len(q) {
		return nil
	}
	limit := min(max(int(binary.BigEndian.Uint16(opt[3:])), dns.MinMsgSize), maxUDPSize)
	if limit-cookieOptLen < dns.MinMsgSize {
		return nil
	}
	// The query again, its OPT without the COOKIE option and with the
	// client's limit less the room the option takes.
	q2 := append(buf[:0], q[:qend+11]...)
	binary.BigEndian.PutUint16(q2[qend+3:], uint16(limit-cookieOptLen))
	var cookie []byte
	for opts := opt[11:]; len(opts) > 0; {
		if len(opts) < 4 {
			return nil
		}
		code, l := binary.BigEndian.Uint16(opts), int(binary.BigEndian.Uint16(opts[2:]))
		if len(opts) < 4+l {
			return nil
		}
		if code == dns.EDNS0COOKIE {
			if cookie != nil {
				return nil // two: the full path decides
			}
			cookie = opts[4 : 4+l]
		} else {
			q2 = append(q2, opts[:4+l]...)
		}
		opts = opts[4+l:]
	}
	if cookie == nil {
		return nil
	}
	var reply [cookieClientLen + cookieServerLen]byte
	if s.cookies.checkInto(cookie, src, uint32(now.Unix()), &reply) == cookieMalformed {
		return nil
	}
	binary.BigEndian.PutUint16(q2[qend+9:], uint16(len(q2)-qend-11))
	resp := s.fastAnswer(p, q2, out, st)
	// The answer ends with its OPT, without options.
	n := len(resp)
	if n < headerSize+11 || resp[n-11] != 0 || binary.BigEndian.Uint16(resp[n-10:]) != dns.TypeOPT || resp[n-2] != 0 || resp[n-1] != 0 {
		return resp
	}
	resp[n-1] = cookieOptLen
	resp = binary.BigEndian.AppendUint16(resp, dns.EDNS0COOKIE)
	resp = binary.BigEndian.AppendUint16(resp, cookieClientLen+cookieServerLen)
	return append(resp, reply[:]...)
}

// headerSize is a DNS header's.
const headerSize = 12
