package dnsserver

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

var (
	xfrSecret   = base64.StdEncoding.EncodeToString([]byte("transfer secret of 32 bytes.....")) // 32 bytes
	otherSecret = base64.StdEncoding.EncodeToString([]byte("another key, known to the server"))
	wrongSecret = base64.StdEncoding.EncodeToString([]byte("not the secret the server knows!"))
)

func tsigOptions(allow string) Options {
	return Options{
		TransferAllow: []netip.Prefix{netip.MustParsePrefix(allow)},
		TSIGKeys: []TSIGKey{
			{Name: "xfr", Algorithm: "hmac-sha256", Secret: xfrSecret},
			{Name: "other", Algorithm: "hmac-sha512", Secret: otherSecret},
		},
		TransferTSIG: "xfr",
	}
}

// signedQuery is a query for (qname, qtype) signed with key name, alg and
// base64 secret at signedAt; an empty name leaves it unsigned.
type signedQuery struct {
	qname    string
	qtype    uint16
	name     string
	alg      string
	secret   string
	signedAt time.Time
}

// exchangeRaw sends sq from src over netw and returns the response, its
// wire form and the request's MAC.
func exchangeRaw(t *testing.T, netw, src, addr string, sq signedQuery) (*dns.Msg, []byte, string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(sq.qname, sq.qtype)
	raw, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	mac := ""
	if sq.name != "" {
		m.SetTsig(sq.name, sq.alg, 300, sq.signedAt.Unix())
		if raw, mac, err = dns.TsigGenerate(m, sq.secret, "", false); err != nil {
			t.Fatal(err)
		}
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	if netw == "tcp" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	} else {
		d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(src)}
	}
	c, err := d.Dial(netw, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var resp []byte
	if netw == "tcp" {
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(raw)))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(raw); err != nil {
			t.Fatal(err)
		}
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		resp = make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, resp); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := c.Write(raw); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		resp = buf[:n]
	}
	r := new(dns.Msg)
	if err := r.Unpack(resp); err != nil {
		t.Fatal(err)
	}
	return r, resp, mac
}

// macMatches reports whether the MAC of r's TSIG is the one r's other
// fields, signed with secret after the request's MAC, give (computed
// anew; miekg/dns's own check refuses NOTAUTH messages outright).
func macMatches(t *testing.T, r *dns.Msg, secret, requestMAC string) bool {
	t.Helper()
	rt := r.IsTsig()
	for _, compress := range []bool{false, true} { // as the server packed it
		m := r.Copy()
		m.Compress = compress
		m.Extra = m.Extra[:len(m.Extra)-1]
		m.SetTsig(rt.Hdr.Name, rt.Algorithm, rt.Fudge, int64(rt.TimeSigned))
		st := m.IsTsig()
		st.OrigId, st.Error, st.OtherLen, st.OtherData = rt.OrigId, rt.Error, rt.OtherLen, rt.OtherData
		_, mac, err := dns.TsigGenerate(m, secret, requestMAC, false)
		if err != nil {
			t.Fatal(err)
		}
		if rt.MACSize > 0 && mac == rt.MAC {
			return true
		}
	}
	return false
}

func TestTSIG(t *testing.T) {
	_, addr := startServer(t, tsigOptions("127.0.0.1/32"), xfrSnapshot(t, 2024010107, "192.0.2.10"))
	now := time.Now()
	sq := func(qname string, qtype uint16, name, alg, secret string, at time.Time) signedQuery {
		return signedQuery{qname, qtype, name, alg, secret, at}
	}
	cases := []struct {
		name   string
		netws  []string
		src    string
		q      signedQuery
		rcode  int
		tsigEr uint16 // TSIG error of the response; 0 with a verified signature
		signed bool   // the response's MAC verifies with the request's key
		answer bool
	}{
		{"SignedQueryIsAnsweredSigned", []string{"udp", "tcp"}, "127.0.0.1",
			sq("app.example.com.", dns.TypeTXT, "xfr.", dns.HmacSHA256, xfrSecret, now), dns.RcodeSuccess, 0, true, true},
		{"QuerySignedWithAnyKnownKeyIsAnsweredSigned", []string{"udp", "tcp"}, "127.0.0.1",
			sq("app.example.com.", dns.TypeTXT, "other.", dns.HmacSHA512, otherSecret, now), dns.RcodeSuccess, 0, true, true},
		{"UnknownKeyIsBADKEY", []string{"udp", "tcp"}, "127.0.0.1",
			sq("example.com.", dns.TypeAXFR, "nokey.", dns.HmacSHA256, xfrSecret, now), dns.RcodeNotAuth, dns.RcodeBadKey, false, false},
		{"KeyWithAnotherAlgorithmIsBADKEY", []string{"udp", "tcp"}, "127.0.0.1",
			sq("example.com.", dns.TypeAXFR, "xfr.", dns.HmacSHA512, xfrSecret, now), dns.RcodeNotAuth, dns.RcodeBadKey, false, false},
		{"WrongSecretIsBADSIG", []string{"udp", "tcp"}, "127.0.0.1",
			sq("example.com.", dns.TypeAXFR, "xfr.", dns.HmacSHA256, wrongSecret, now), dns.RcodeNotAuth, dns.RcodeBadSig, false, false},
		{"StaleSignatureIsBADTIMESigned", []string{"udp", "tcp"}, "127.0.0.1",
			sq("example.com.", dns.TypeAXFR, "xfr.", dns.HmacSHA256, xfrSecret, now.Add(-time.Hour)), dns.RcodeNotAuth, dns.RcodeBadTime, true, false},
		{"UnsignedTransferIsNOTAUTHWhenTheKeyIsRequired", []string{"tcp"}, "127.0.0.1",
			sq("example.com.", dns.TypeAXFR, "", "", "", now), dns.RcodeNotAuth, 0, false, false},
		{"TransferSignedWithAnotherKeyIsNOTAUTH", []string{"tcp"}, "127.0.0.1",
			sq("example.com.", dns.TypeAXFR, "other.", dns.HmacSHA512, otherSecret, now), dns.RcodeNotAuth, 0, true, false},
		{"SignedTransferFromOutsideAllowIsREFUSED", []string{"tcp"}, "127.0.0.2",
			sq("example.com.", dns.TypeAXFR, "xfr.", dns.HmacSHA256, xfrSecret, now), dns.RcodeRefused, 0, true, false},
		{"SignedTransferStarts", []string{"tcp"}, "127.0.0.1",
			sq("example.com.", dns.TypeAXFR, "xfr.", dns.HmacSHA256, xfrSecret, now), dns.RcodeSuccess, 0, true, true},
		{"UnsignedQueriesAreAnsweredAsBefore", []string{"udp", "tcp"}, "127.0.0.1",
			sq("app.example.com.", dns.TypeTXT, "", "", "", now), dns.RcodeSuccess, 0, false, true},
	}
	for _, tc := range cases {
		for _, netw := range tc.netws {
			t.Run(tc.name+"/"+netw, func(t *testing.T) {
				r, raw, mac := exchangeRaw(t, netw, tc.src, addr, tc.q)
				if r.Rcode != tc.rcode {
					t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				if got := len(r.Answer) > 0; got != tc.answer {
					t.Fatalf("answer %v", r.Answer)
				}
				rt := r.IsTsig()
				if tc.q.name == "" {
					if rt != nil {
						t.Fatalf("unsigned request, signed answer %v", rt)
					}
					return
				}
				if rt == nil {
					t.Fatal("no TSIG in the answer to a signed request")
				}
				if rt.Error != tc.tsigEr || dns.CanonicalName(rt.Hdr.Name) != dns.CanonicalName(tc.q.name) {
					t.Fatalf("TSIG %s error %s, want %s", rt.Hdr.Name, dns.RcodeToString[int(rt.Error)], dns.RcodeToString[int(tc.tsigEr)])
				}
				if tc.signed && !macMatches(t, r, tc.q.secret, mac) {
					t.Fatalf("answer's MAC %s does not verify", rt.MAC)
				}
				if !tc.signed && rt.MACSize != 0 {
					t.Fatalf("refusal signed (MAC %s)", rt.MAC)
				}
				if tc.tsigEr != 0 && (rt.TimeSigned != uint64(tc.q.signedAt.Unix()) || rt.OrigId != r.Id) {
					t.Fatalf("refusal's time signed %d, original ID %d: want the request's", rt.TimeSigned, rt.OrigId)
				}
				if tc.tsigEr == dns.RcodeBadTime && rt.OtherLen != 6 {
					t.Fatalf("BADTIME without our time: other data %q", rt.OtherData)
				}
				if r.Rcode == dns.RcodeSuccess && tc.signed {
					// miekg/dns's client check agrees (it refuses NOTAUTH).
					if err := dns.TsigVerify(raw, tc.q.secret, mac, false); err != nil {
						t.Fatalf("answer signature: %v", err)
					}
				}
			})
		}
	}
}

// TestTSIGTransfer: a signed AXFR delivers the whole zone, every message
// signed and verified by miekg/dns's transfer client.
func TestTSIGTransfer(t *testing.T) {
	_, addr := startServer(t, tsigOptions("127.0.0.0/8"), xfrSnapshot(t, 2024010107, "192.0.2.10", "192.0.2.11"))
	for _, qtype := range []uint16{dns.TypeAXFR, dns.TypeIXFR} {
		m := new(dns.Msg)
		if qtype == dns.TypeIXFR {
			m.SetIxfr("example.com.", 2024010100, "ns1.example.com.", "hostmaster.example.com.")
		} else {
			m.SetAxfr("example.com.")
		}
		m.SetTsig("xfr.", dns.HmacSHA256, 300, time.Now().Unix())
		tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, TsigSecret: map[string]string{"xfr.": xfrSecret}}
		ch, err := tr.In(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		var got []dns.RR
		for env := range ch {
			if env.Error != nil {
				t.Fatalf("%s: %v", dns.TypeToString[qtype], env.Error)
			}
			got = append(got, env.RR...)
		}
		if len(got) != 10 || got[0].Header().Rrtype != dns.TypeSOA || got[len(got)-1].Header().Rrtype != dns.TypeSOA {
			t.Fatalf("%s: %d records %v", dns.TypeToString[qtype], len(got), got)
		}
	}
}

// TestTSIGWithDig: dig -y transfers the zone, and a wrong secret gets no
// zone.
func TestTSIGWithDig(t *testing.T) {
	dig := testutil.RequireTool(t, "bind9-dnsutils", "dig")
	_, addr := startServer(t, tsigOptions("127.0.0.0/8"), xfrSnapshot(t, 2024010107, "192.0.2.10"))
	host, port, _ := net.SplitHostPort(addr)
	run := func(key string) string {
		out, _ := exec.Command(dig, "-y", key, "+tries=1", "+time=3", "-p", port, "@"+host, "example.com", "AXFR").CombinedOutput()
		return string(out)
	}
	out := run("hmac-sha256:xfr:" + xfrSecret)
	if !strings.Contains(out, "app.example.com.\t5\tIN\tA\t192.0.2.10") || strings.Count(out, "\tSOA\t") != 2 || strings.Contains(out, "WARNING") || strings.Contains(out, "failed") {
		t.Fatalf("dig -y (right key):\n%s", out)
	}
	for _, key := range []string{"hmac-sha256:xfr:" + wrongSecret, "hmac-sha256:nokey:" + xfrSecret} {
		out := run(key)
		if strings.Contains(out, "192.0.2.10") || !strings.Contains(out, "failed") {
			t.Fatalf("dig -y %s:\n%s", key, out)
		}
	}
}

// TestKnotSecondaryWithTSIG: a real Knot secondary that knows the key
// transfers the zone with it and accepts our signed NOTIFY (its ACL
// demands the key), so a change reaches it at once.
func TestKnotSecondaryWithTSIG(t *testing.T) {
	testutil.RequireTool(t, "knot", "knotd")
	knotPort := testutil.FreePort(t, "127.0.0.1")
	opts := tsigOptions("127.0.0.0/8")
	opts.Notify = []string{fmt.Sprintf("127.0.0.1:%d", knotPort)}
	s, addr := startServer(t, opts, xfrSnapshot(t, 2024010100, "192.0.2.10"))
	k := testutil.StartKnot(t, testutil.KnotOptions{
		Port:  knotPort,
		Keys:  []testutil.KnotKey{{Name: "xfr", Algorithm: "hmac-sha256", Secret: xfrSecret}},
		Zones: []testutil.KnotZone{{Domain: "example.com", Primary: addr, TSIG: "xfr"}},
	})
	c := &dns.Client{Timeout: time.Second}
	serves := func(want string) func() (bool, string) {
		return func() (bool, string) {
			m := new(dns.Msg)
			m.SetQuestion("app.example.com.", dns.TypeA)
			r, _, err := c.Exchange(m, k.Addr)
			if err != nil {
				return false, err.Error()
			}
			return len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == want, fmt.Sprint(dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	testutil.Eventually(t, 30*time.Second, "Knot transfers the zone with TSIG", serves("192.0.2.10"))
	// The SOA refresh is an hour: only an accepted NOTIFY brings the change.
	s.Publish(xfrSnapshot(t, 2024010101, "192.0.2.42"))
	testutil.Eventually(t, 30*time.Second, "Knot follows a signed NOTIFY", serves("192.0.2.42"))
}

// TestTSIGSignatureNeverPushesAUDPAnswerOverTheLimit: an answer that fits
// the client's 512 bytes only without its signature goes out truncated,
// signed, within the limit.
func TestTSIGSignatureNeverPushesAUDPAnswerOverTheLimit(t *testing.T) {
	s, err := NewServer(tsigOptions("127.0.0.0/8"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := new(dns.Msg)
	req.SetQuestion("txt.example.com.", dns.TypeTXT)
	req.SetTsig("xfr.", dns.HmacSHA256, 300, time.Now().Unix())
	raw, mac, err := dns.TsigGenerate(req, xfrSecret, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Unpack(raw); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{100, 480, 505} { // answer sizes before signing
		m := new(dns.Msg)
		m.SetReply(req)
		txt := &dns.TXT{Hdr: dns.RR_Header{Name: "txt.example.com.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}}
		for m.Answer = []dns.RR{txt}; m.Len() < size; {
			txt.Txt = append(txt.Txt, "x")
		}
		signWith(m, req, time.Now())
		out, err := s.packUDP(m, req, make([]byte, 0, 2048))
		if err != nil {
			t.Fatal(err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(out); err != nil {
			t.Fatal(err)
		}
		if len(out) > dns.MinMsgSize || (r.Truncated != (size > 450)) || (r.Truncated && len(r.Answer) != 0) {
			t.Fatalf("answer of %d bytes: %d bytes signed, TC %v, %d records", size, len(out), r.Truncated, len(r.Answer))
		}
		if err := dns.TsigVerify(out, xfrSecret, mac, false); err != nil {
			t.Fatalf("answer of %d bytes: signature: %v", size, err)
		}
	}
}
