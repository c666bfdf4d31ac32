package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// A tiny DNS client: one A question over UDP, the A records of the answer
// section back. Hand-written so the bench tools need no DNS library (miekg/dns
// belongs to dnsserver/).

const (
	typeA     = 1
	typeOPT   = 41
	typeRRSIG = 46
	classIN   = 1
)

// answer is the outcome of one query.
type answer struct {
	rcode  int
	addrs  []netip.Addr // A records of the answer section, sorted
	signed bool         // an RRSIG covering A is in the answer section
}

// String renders the addresses space-separated ("" when there are none).
func (a answer) String() string {
	s := make([]string, len(a.addrs))
	for i, ip := range a.addrs {
		s[i] = ip.String()
	}
	return strings.Join(s, " ")
}

// resolver sends A queries for names to one server over one UDP socket.
type resolver struct {
	conn    *net.UDPConn
	timeout time.Duration
	buf     []byte
	// dnssecOK sends an OPT record with the DO bit and counts an A answer
	// without its RRSIG as no answer: in a signed zone the switch is only done
	// when the signed answer is served.
	dnssecOK bool
}

func newResolver(server string, timeout time.Duration) (*resolver, error) {
	ap, err := netip.ParseAddrPort(server)
	if err != nil {
		return nil, fmt.Errorf("dns server %q: %w", server, err)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	return &resolver{conn: c, timeout: timeout, buf: make([]byte, 4096)}, nil
}

func (r *resolver) Close() error { return r.conn.Close() }

// queryA asks for the A records of name and waits up to r.timeout for the
// response with the matching ID.
func (r *resolver) queryA(name string) (answer, error) {
	id := uint16(rand.Uint32())
	q, err := packQuery(id, name, typeA)
	if err != nil {
		return answer{}, err
	}
	if r.dnssecOK {
		q = appendOPTDO(q)
	}
	deadline := time.Now().Add(r.timeout)
	if err := r.conn.SetDeadline(deadline); err != nil {
		return answer{}, err
	}
	if _, err := r.conn.Write(q); err != nil {
		return answer{}, err
	}
	for {
		n, err := r.conn.Read(r.buf)
		if err != nil {
			return answer{}, err
		}
		if n < 12 || binary.BigEndian.Uint16(r.buf) != id {
			continue // a late answer to an earlier query
		}
		a, err := parseAnswer(r.buf[:n])
		if err == nil && r.dnssecOK && len(a.addrs) > 0 && !a.signed {
			return a, errors.New("A answer without RRSIG")
		}
		return a, err
	}
}

// appendOPTDO adds an EDNS OPT record (4096-byte payload, DO set) to a query
// packed by packQuery.
func appendOPTDO(q []byte) []byte {
	binary.BigEndian.PutUint16(q[10:], 1) // ARCOUNT
	q = append(q, 0)                      // root owner
	q = binary.BigEndian.AppendUint16(q, typeOPT)
	q = binary.BigEndian.AppendUint16(q, 4096)   // UDP payload size
	q = binary.BigEndian.AppendUint32(q, 0x8000) // ext-rcode 0, version 0, DO
	return binary.BigEndian.AppendUint16(q, 0)   // no options
}

func packQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	b := make([]byte, 12, 12+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[4:], 1) // QDCOUNT
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			return nil, fmt.Errorf("bad name %q", name)
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, classIN)
	return b, nil
}

var errShort = errors.New("short DNS message")

// skipName returns the offset just past the (possibly compressed) name at off.
func skipName(m []byte, off int) (int, error) {
	for i := 0; i < 256; i++ {
		if off >= len(m) {
			return 0, errShort
		}
		l := int(m[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xC0 == 0xC0:
			return off + 2, nil
		default:
			off += 1 + l
		}
	}
	return 0, errors.New("name too long")
}

func parseAnswer(m []byte) (answer, error) {
	if len(m) < 12 {
		return answer{}, errShort
	}
	a := answer{rcode: int(m[3] & 0x0F)}
	qd := int(binary.BigEndian.Uint16(m[4:]))
	an := int(binary.BigEndian.Uint16(m[6:]))
	off := 12
	var err error
	for range qd {
		if off, err = skipName(m, off); err != nil {
			return a, err
		}
		off += 4
	}
	for range an {
		if off, err = skipName(m, off); err != nil {
			return a, err
		}
		if off+10 > len(m) {
			return a, errShort
		}
		typ := binary.BigEndian.Uint16(m[off:])
		rdlen := int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10
		if off+rdlen > len(m) {
			return a, errShort
		}
		if typ == typeA && rdlen == 4 {
			a.addrs = append(a.addrs, netip.AddrFrom4([4]byte(m[off:off+4])))
		}
		if typ == typeRRSIG && rdlen >= 2 && binary.BigEndian.Uint16(m[off:]) == typeA {
			a.signed = true
		}
		off += rdlen
	}
	slices.SortFunc(a.addrs, func(x, y netip.Addr) int { return x.Compare(y) })
	return a, nil
}
