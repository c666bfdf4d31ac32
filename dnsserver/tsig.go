package dnsserver

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Transaction signatures (TSIG, RFC 8945) authenticate zone transfers and
// NOTIFY with a shared secret. Every signed request is checked before it
// is answered, whatever it asks, in the RFC's order:
//   - a key we do not have, or an algorithm that is not the key's:
//     NOTAUTH with TSIG error BADKEY, unsigned;
//   - a MAC that does not verify: NOTAUTH with BADSIG, unsigned;
//   - a signing time beyond the fudge: NOTAUTH with BADTIME, signed, our
//     time in Other Data.
// A request that passes is answered signed with its key. When
// Options.TransferTSIG names a key, AXFR and IXFR must be signed with it
// (else NOTAUTH, after the address check of TransferAllow), and NOTIFY is
// sent signed with it.

// TSIGKey is a shared secret for transaction signatures (a tsig_key).
type TSIGKey struct {
	// Name is the key's name ("xfr" or "xfr."), as both ends configure it.
	Name string
	// Algorithm is hmac-sha256 (the default when empty), hmac-sha512 or
	// hmac-sha1.
	Algorithm string
	// Secret is the base64 secret.
	Secret string
}

type tsigKey struct {
	name, alg string // canonical: lower case, fully qualified
	secret    []byte
	hash      func() hash.Hash
}

// tsigKeyring holds the configured keys; it implements dns.TsigProvider
// (miekg/dns's own provider knows no algorithm per key).
type tsigKeyring map[string]*tsigKey

var _ dns.TsigProvider = tsigKeyring(nil)

func newTSIGKeyring(keys []TSIGKey) (tsigKeyring, error) {
	ring := tsigKeyring{}
	for _, k := range keys {
		name := dns.CanonicalName(k.Name)
		if _, ok := dns.IsDomainName(name); !ok || name == "." {
			return nil, fmt.Errorf("tsig key %q: not a domain name", k.Name)
		}
		if ring[name] != nil {
			return nil, fmt.Errorf("tsig key %q: defined twice", k.Name)
		}
		alg := dns.CanonicalName(k.Algorithm)
		if k.Algorithm == "" {
			alg = dns.HmacSHA256
		}
		var h func() hash.Hash
		switch alg {
		case dns.HmacSHA256:
			h = sha256.New
		case dns.HmacSHA512:
			h = sha512.New
		case dns.HmacSHA1:
			h = sha1.New
		default:
			return nil, fmt.Errorf("tsig key %q: algorithm %q (want hmac-sha256, hmac-sha512 or hmac-sha1)", k.Name, k.Algorithm)
		}
		secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k.Secret))
		if err != nil || len(secret) == 0 {
			return nil, fmt.Errorf("tsig key %q: secret is not base64", k.Name)
		}
		ring[name] = &tsigKey{name: name, alg: alg, secret: secret, hash: h}
	}
	return ring, nil
}

// key returns the key t is made with, or dns.ErrSecret when we do not
// have it (name and algorithm both count).
func (r tsigKeyring) key(t *dns.TSIG) (*tsigKey, error) {
	k := r[dns.CanonicalName(t.Hdr.Name)]
	if k == nil || k.alg != dns.CanonicalName(t.Algorithm) {
		return nil, dns.ErrSecret
	}
	return k, nil
}

// Generate implements dns.TsigProvider.
func (r tsigKeyring) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	k, err := r.key(t)
	if err != nil {
		return nil, err
	}
	h := hmac.New(k.hash, k.secret)
	h.Write(msg)
	return h.Sum(nil), nil
}

// Verify implements dns.TsigProvider.
func (r tsigKeyring) Verify(msg []byte, t *dns.TSIG) error {
	want, err := r.Generate(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(got, want) {
		return dns.ErrSig
	}
	return nil
}

// tsigFudge is the clock skew allowed on what we sign (RFC 8945's 300 s).
const tsigFudge = 300

// tsigVerify checks the TSIG of the raw request msg (whose TSIG record t
// is), as miekg/dns does for TCP: nil, dns.ErrSecret, dns.ErrSig or
// dns.ErrTime.
func (s *Server) tsigVerify(msg []byte) error {
	if s.tsig == nil {
		return dns.ErrSecret
	}
	return dns.TsigVerifyWithProvider(msg, s.tsig, "", false)
}

// tsigRefusal is the NOTAUTH answer to req, whose TSIG failed with
// status (RFC 8945 §5.2). With BADTIME it is to be signed (its TSIG is
// the last record); BADKEY and BADSIG go out unsigned.
func tsigRefusal(req *dns.Msg, status error, now time.Time) *dns.Msg {
	t := req.IsTsig()
	m := new(dns.Msg)
	if _, ok := dns.IsDomainName(t.Algorithm); !ok || dns.Fqdn(t.Algorithm) == "." {
		// A TSIG that names no algorithm is malformed (RFC 8945 5.2:
		// FORMERR); echoing its empty name would make an answer that
		// does not parse.
		m.SetRcode(req, dns.RcodeFormatError)
		return m
	}
	m.SetRcode(req, dns.RcodeNotAuth)
	rt := &dns.TSIG{
		Hdr:        dns.RR_Header{Name: t.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm:  t.Algorithm,
		TimeSigned: t.TimeSigned,
		Fudge:      t.Fudge,
		OrigId:     req.Id,
	}
	switch {
	case errors.Is(status, dns.ErrTime):
		rt.Error = dns.RcodeBadTime
		var other [8]byte
		binary.BigEndian.PutUint64(other[:], uint64(now.Unix()))
		rt.OtherLen, rt.OtherData = 6, hex.EncodeToString(other[2:])
	case errors.Is(status, dns.ErrSig):
		rt.Error = dns.RcodeBadSig
	default:
		rt.Error = dns.RcodeBadKey
	}
	m.Extra = append(m.Extra, rt)
	return m
}

// signWith adds to m (an answer to req, whose TSIG verified) the TSIG
// record that signs it with the request's key.
func signWith(m, req *dns.Msg, now time.Time) {
	t := req.IsTsig()
	m.SetTsig(t.Hdr.Name, t.Algorithm, tsigFudge, now.Unix())
}

// transferKeyOK reports whether req may transfer as far as TSIG goes: it
// is signed with the transfer key when one is required. Only requests
// whose TSIG verified are answered at all.
func (s *Server) transferKeyOK(req *dns.Msg) bool {
	if s.xfrKey == nil {
		return true
	}
	t := req.IsTsig()
	return t != nil && dns.CanonicalName(t.Hdr.Name) == s.xfrKey.name && dns.CanonicalName(t.Algorithm) == s.xfrKey.alg
}

// unsigned reports whether m is a refusal that goes out unsigned: it is
// packed as it is, since miekg/dns's signer would zero the time signed
// copied from the request.
func unsigned(m *dns.Msg) bool {
	t := m.IsTsig()
	return t != nil && (t.Error == dns.RcodeBadKey || t.Error == dns.RcodeBadSig)
}

// packUDP packs m, the answer to req received over UDP, signing it when
// req was signed (TSIG records are the last thing in both). The answer
// was cut to the client's limit before the signature was added; when the
// signature pushes it over, it goes out truncated (TC, no records but
// the OPT) and signed.
func (s *Server) packUDP(m, req *dns.Msg, buf []byte) ([]byte, error) {
	if req.IsTsig() == nil || m.IsTsig() == nil || s.tsig == nil || unsigned(m) {
		return packReply(m, req, buf)
	}
	t := *m.IsTsig()
	out, _, err := dns.TsigGenerateWithProvider(m, s.tsig, req.IsTsig().MAC, false)
	if err != nil || len(out) <= udpLimit(req) {
		return out, err
	}
	m.Answer, m.Ns, m.Extra = nil, nil, nil
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(maxUDPSize, opt.Do())
	}
	m.Truncated = true
	m.Extra = append(m.Extra, &t)
	out, _, err = dns.TsigGenerateWithProvider(m, s.tsig, req.IsTsig().MAC, false)
	return out, err
}

// udpLimit is the largest UDP answer req's sender takes.
func udpLimit(req *dns.Msg) int {
	if opt := req.IsEdns0(); opt != nil {
		return min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
	}
	return dns.MinMsgSize
}

// writeRefusal writes the TSIG refusal m over a miekg/dns connection.
func writeRefusal(w dns.ResponseWriter, m *dns.Msg) error {
	if !unsigned(m) {
		return w.WriteMsg(m) // BADTIME: signed by the writer
	}
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
