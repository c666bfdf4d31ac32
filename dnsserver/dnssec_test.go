package dnsserver

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/internal/testutil"
)

// signedSnapshot is testSnapshot with example.com signed by a new key.
func signedSnapshot(t testing.TB, algorithm string, lifetime time.Duration) (*Snapshot, *Signer) {
	t.Helper()
	key, err := GenerateKey("example.com.", algorithm)
	if err != nil {
		t.Fatal(err)
	}
	snap := testSnapshot(t)
	s := NewSigner(key, lifetime, time.Hour, time.Now())
	snap.Zones[0].Signer = s
	return snap, s
}

func doQuery(qname string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.SetEdns0(4096, true)
	return m
}

// rrsets groups a section's records other than RRSIG and OPT by owner and
// type, and its RRSIGs by owner and covered type.
func rrsets(sec []dns.RR) (sets map[string][]dns.RR, sigs map[string]*dns.RRSIG) {
	sets, sigs = map[string][]dns.RR{}, map[string]*dns.RRSIG{}
	for _, rr := range sec {
		h := rr.Header()
		switch v := rr.(type) {
		case *dns.OPT:
		case *dns.RRSIG:
			sigs[strings.ToLower(h.Name)+"/"+dns.TypeToString[v.TypeCovered]] = v
		default:
			k := strings.ToLower(h.Name) + "/" + dns.TypeToString[h.Rrtype]
			sets[k] = append(sets[k], rr)
		}
	}
	return sets, sigs
}

// checkSigned verifies the RRSIG of every RRset of sec with key, except
// those named in unsigned (owner/TYPE).
func checkSigned(t *testing.T, key *dns.DNSKEY, sec []dns.RR, unsigned ...string) {
	t.Helper()
	sets, sigs := rrsets(sec)
	for k, set := range sets {
		sig := sigs[k]
		if slices.Contains(unsigned, k) {
			if sig != nil {
				t.Errorf("%s is signed; it must not be", k)
			}
			continue
		}
		if sig == nil {
			t.Errorf("%s has no RRSIG", k)
			continue
		}
		if err := sig.Verify(key, set); err != nil {
			t.Errorf("%s: RRSIG does not verify: %v", k, err)
		}
		if !sig.ValidityPeriod(time.Now()) {
			t.Errorf("%s: RRSIG not valid now (%d..%d)", k, sig.Inception, sig.Expiration)
		}
	}
}

// covers reports whether an NSEC of sec covers name (owner < name < next
// in canonical order, or the last NSEC wrapping to the apex).
func covers(sec []dns.RR, name string) bool {
	for _, rr := range sec {
		n, ok := rr.(*dns.NSEC)
		if !ok {
			continue
		}
		if canonicalCompare(n.Hdr.Name, name) < 0 && canonicalCompare(name, n.NextDomain) < 0 {
			return true
		}
	}
	return false
}

// nsecAt returns the NSEC owned by name in sec, or nil.
func nsecAt(sec []dns.RR, name string) *dns.NSEC {
	for _, rr := range sec {
		if n, ok := rr.(*dns.NSEC); ok && strings.EqualFold(n.Hdr.Name, name) {
			return n
		}
	}
	return nil
}

func TestSignedAnswersCarryValidSignatures(t *testing.T) {
	for _, alg := range []string{"ECDSAP256SHA256", "ED25519"} {
		t.Run(alg, func(t *testing.T) {
			snap, s := signedSnapshot(t, alg, 336*time.Hour)
			_, addr := startServer(t, Options{}, snap)
			key := s.Key().DNSKEY
			cases := []struct {
				name         string
				qname        string
				qtype        uint16
				rcode        int
				wantAnswer   bool
				unsignedNs   []string
				unsignedXtra []string
			}{
				{name: "static_A", qname: "static.example.com.", qtype: dns.TypeA, wantAnswer: true},
				{name: "apex_DNSKEY", qname: "example.com.", qtype: dns.TypeDNSKEY, wantAnswer: true},
				{name: "apex_CDS", qname: "example.com.", qtype: dns.TypeCDS, wantAnswer: true},
				{name: "apex_CDNSKEY", qname: "example.com.", qtype: dns.TypeCDNSKEY, wantAnswer: true},
				{name: "apex_SOA", qname: "example.com.", qtype: dns.TypeSOA, wantAnswer: true},
				{name: "MX_with_additional", qname: "example.com.", qtype: dns.TypeMX, wantAnswer: true},
				{name: "service_weighted_A", qname: "app.example.com.", qtype: dns.TypeA, wantAnswer: true},
				{name: "service_AAAA", qname: "app.example.com.", qtype: dns.TypeAAAA, wantAnswer: true},
				{name: "service_CNAME_followed", qname: "alias.example.com.", qtype: dns.TypeA, wantAnswer: true},
				{name: "service_SRV", qname: "_https._tcp.web.example.com.", qtype: dns.TypeSRV, wantAnswer: true},
				{name: "wildcard_answer", qname: "x.wild.example.com.", qtype: dns.TypeA, wantAnswer: true},
				{name: "CNAME_into_another_zone_unsigned", qname: "www.example.net.", qtype: dns.TypeA, wantAnswer: true},
				{name: "referral", qname: "a.child.example.com.", qtype: dns.TypeA, unsignedNs: []string{"child.example.com./NS"}, unsignedXtra: []string{"ns.child.example.com./A"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r := exchange(t, "udp", addr, doQuery(tc.qname, tc.qtype))
					if r.Rcode != tc.rcode {
						t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
					}
					if tc.wantAnswer && len(r.Answer) == 0 {
						t.Fatalf("no answer:\n%v", r)
					}
					var inZone []dns.RR
					for _, rr := range r.Answer {
						if dns.IsSubDomain("example.com.", rr.Header().Name) {
							inZone = append(inZone, rr)
						} else if _, ok := rr.(*dns.RRSIG); ok {
							t.Errorf("the unsigned zone's %s is signed", rr.Header().Name)
						}
					}
					checkSigned(t, key, inZone)
					checkSigned(t, key, r.Ns, tc.unsignedNs...)
					checkSigned(t, key, r.Extra, tc.unsignedXtra...)
				})
			}
		})
	}
}

func TestSignedDenialOfExistence(t *testing.T) {
	snap, s := signedSnapshot(t, "ECDSAP256SHA256", 336*time.Hour)
	_, addr := startServer(t, Options{}, snap)
	key := s.Key().DNSKEY
	cases := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		// covered names must be covered by an NSEC; nodata names must own
		// an NSEC without qtype.
		covered []string
		nodata  []string
	}{
		{"NXDOMAIN_covers_name_and_wildcard", "nope.example.com.", dns.TypeA, dns.RcodeNameError, []string{"nope.example.com.", "*.example.com."}, nil},
		{"NXDOMAIN_below_a_missing_name_covers_the_next_closer", "a.b.nope.example.com.", dns.TypeA, dns.RcodeNameError, []string{"nope.example.com.", "a.b.nope.example.com.", "*.example.com."}, nil},
		{"NXDOMAIN_below_an_existing_name", "x.static.example.com.", dns.TypeA, dns.RcodeNameError, []string{"x.static.example.com.", "*.static.example.com."}, nil},
		{"NXDOMAIN_of_the_smallest_name", "\\000.example.com.", dns.TypeA, dns.RcodeNameError, []string{"\\000.example.com.", "*.example.com."}, nil},
		{"NODATA_static", "static.example.com.", dns.TypeTXT, dns.RcodeSuccess, nil, []string{"static.example.com."}},
		{"NODATA_service_name", "v4only.example.com.", dns.TypeAAAA, dns.RcodeSuccess, nil, []string{"v4only.example.com."}},
		{"NODATA_empty_non_terminal", "sub.example.com.", dns.TypeA, dns.RcodeSuccess, nil, []string{"sub.example.com."}},
		{"NODATA_service_empty_non_terminal", "web.example.com.", dns.TypeA, dns.RcodeSuccess, nil, []string{"web.example.com."}},
		{"NODATA_apex", "example.com.", dns.TypeAAAA, dns.RcodeSuccess, nil, []string{"example.com."}},
		{"wildcard_answer_proves_no_closer_name", "x.wild.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"x.wild.example.com."}, nil},
		{"wildcard_NODATA", "x.wild.example.com.", dns.TypeAAAA, dns.RcodeSuccess, []string{"x.wild.example.com."}, []string{"*.wild.example.com."}},
		{"insecure_delegation_has_no_DS", "a.child.example.com.", dns.TypeA, dns.RcodeSuccess, nil, []string{"child.example.com."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := exchange(t, "udp", addr, doQuery(tc.qname, tc.qtype))
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s:\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode], r)
			}
			checkSigned(t, key, r.Ns, "child.example.com./NS")
			for _, n := range tc.covered {
				if !covers(r.Ns, n) {
					t.Errorf("no NSEC covers %s:\n%v", n, r)
				}
			}
			for _, n := range tc.nodata {
				nsec := nsecAt(r.Ns, n)
				if nsec == nil {
					t.Errorf("no NSEC at %s:\n%v", n, r)
					continue
				}
				want := tc.qtype
				if strings.HasPrefix(tc.name, "insecure_delegation") {
					want = dns.TypeDS
				}
				if slices.Contains(nsec.TypeBitMap, want) {
					t.Errorf("NSEC at %s lists %s", n, dns.TypeToString[want])
				}
				if !slices.Contains(nsec.TypeBitMap, dns.TypeNSEC) || !slices.Contains(nsec.TypeBitMap, dns.TypeRRSIG) {
					t.Errorf("NSEC at %s lacks NSEC or RRSIG in its bitmap", n)
				}
				if canonicalCompare(nsec.NextDomain, n) <= 0 || !dns.IsSubDomain(n, nsec.NextDomain) {
					t.Errorf("NSEC at %s reaches %s: it must deny nothing but %s's types", n, nsec.NextDomain, n)
				}
			}
			// White lies: no NSEC names a name that exists, other than
			// the NODATA owner, so the zone cannot be walked.
			for _, rr := range r.Ns {
				n, ok := rr.(*dns.NSEC)
				if !ok {
					continue
				}
				for _, name := range []string{n.Hdr.Name, n.NextDomain} {
					if slices.Contains(tc.nodata, name) || name == "example.com." {
						continue // the apex exists in every zone
					}
					if existsIn(snap, name) {
						t.Errorf("NSEC %s -> %s reveals the existing name %s", n.Hdr.Name, n.NextDomain, name)
					}
				}
			}
		})
	}
}

// existsIn reports whether name is a static or service name of the
// snapshot's example.com.
func existsIn(snap *Snapshot, name string) bool {
	zs := snap.Zones[0]
	name = canonicalName(name)
	if _, ok := zs.Data.names[name]; ok {
		return true
	}
	_, ok := zs.Names[name]
	return ok
}

func TestAnswersWithoutDOAreUnchangedBySigning(t *testing.T) {
	signed, _ := signedSnapshot(t, "ECDSAP256SHA256", 336*time.Hour)
	_, sAddr := startServer(t, Options{}, signed)
	_, uAddr := startServer(t, Options{}, testSnapshot(t))
	queries := []struct {
		qname string
		qtype uint16
	}{
		{"static.example.com.", dns.TypeA}, {"v4only.example.com.", dns.TypeA}, {"v4only.example.com.", dns.TypeAAAA},
		{"nope.example.com.", dns.TypeA}, {"x.wild.example.com.", dns.TypeA}, {"alias.example.com.", dns.TypeA},
		{"example.com.", dns.TypeMX}, {"a.child.example.com.", dns.TypeA}, {"sub.example.com.", dns.TypeA},
	}
	for _, q := range queries {
		for _, edns := range []bool{false, true} {
			m := new(dns.Msg)
			m.SetQuestion(q.qname, q.qtype)
			if edns {
				m.SetEdns0(1232, false)
			}
			rs, ru := exchange(t, "udp", sAddr, m), exchange(t, "udp", uAddr, m)
			if rs.Rcode != ru.Rcode || !sameRRs(rs.Answer, ru.Answer) || !sameRRs(rs.Ns, ru.Ns) || len(rs.Extra) != len(ru.Extra) {
				t.Errorf("%s %s (EDNS %v): signed zone answers\n%v\nunsigned zone answers\n%v", q.qname, dns.TypeToString[q.qtype], edns, rs, ru)
			}
		}
	}
}

func TestFailoverAnswerIsSignedBeforeItIsPublished(t *testing.T) {
	snap, s := signedSnapshot(t, "ECDSAP256SHA256", 336*time.Hour)
	srv, addr := startServer(t, Options{}, snap)
	exchange(t, "udp", addr, doQuery("v4only.example.com.", dns.TypeA))
	before := s.Signed()
	next := *snap
	next.Zones = slices.Clone(snap.Zones)
	names := map[string]*Dynamic{}
	for k, v := range snap.Zones[0].Names {
		names[k] = v
	}
	names["v4only.example.com."] = &Dynamic{TTL: 30, Regions: map[string]*RegionAnswer{"global": {A: []Weighted{w("192.0.2.99", 1)}}}}
	next.Zones[0].Names = names
	next.Zones[0].Serial++
	srv.Publish(&next)
	made := s.Signed() - before
	if made != 3 { // the new A set, the SOA and the negative SOA of the new serial
		t.Errorf("publishing one changed answer made %d signatures, want 3", made)
	}
	r := exchange(t, "udp", addr, doQuery("v4only.example.com.", dns.TypeA))
	checkSigned(t, s.Key().DNSKEY, r.Answer)
	if got := r.Answer[0].(*dns.A).A.String(); got != "192.0.2.99" {
		t.Fatalf("answer %s after the failover", got)
	}
	for range 20 {
		exchange(t, "udp", addr, doQuery("v4only.example.com.", dns.TypeA))
		exchange(t, "udp", addr, doQuery("static.example.com.", dns.TypeA))
	}
	if s.Signed() != before+made {
		t.Errorf("steady-state queries made %d signatures, want none", s.Signed()-before-made)
	}
}

func TestRefreshMakesNewSignatures(t *testing.T) {
	snap, s := signedSnapshot(t, "ECDSAP256SHA256", time.Minute)
	srv, addr := startServer(t, Options{}, snap)
	r1 := exchange(t, "udp", addr, doQuery("static.example.com.", dns.TypeA))
	if want := time.Now().Add(40 * time.Second); s.RefreshAt().Sub(want).Abs() > 5*time.Second {
		t.Errorf("refresh due at %v, want two thirds of the lifetime from now (%v)", s.RefreshAt(), want)
	}
	later := time.Now().Add(41 * time.Second)
	s.Refresh(later)
	snap.Zones[0].Serial++
	srv.Publish(snap)
	r2 := exchange(t, "udp", addr, doQuery("static.example.com.", dns.TypeA))
	_, sig1 := rrsets(r1.Answer)
	_, sig2 := rrsets(r2.Answer)
	a, b := sig1["static.example.com./A"], sig2["static.example.com./A"]
	if a == nil || b == nil {
		t.Fatal("answers not signed")
	}
	if b.Expiration-a.Expiration < 40 || b.Expiration != uint32(later.Add(time.Minute).Unix()) {
		t.Errorf("expiration after refresh %d, before %d: want the refresh time plus the lifetime", b.Expiration, a.Expiration)
	}
	checkSigned(t, s.Key().DNSKEY, r2.Answer)
}

func TestKeyFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	k, err := GenerateKey("example.com", "ED25519")
	if err != nil {
		t.Fatal(err)
	}
	path, err := k.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(strings.TrimSuffix(path, ".key") + ".private")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf(".private mode %v, want 0600", st.Mode().Perm())
	}
	back, err := FindKey(dir, "example.com.", "ED25519")
	if err != nil {
		t.Fatal(err)
	}
	if back.Tag() != k.Tag() || back.DNSKEY.PublicKey != k.DNSKEY.PublicKey {
		t.Errorf("read back key %d, wrote %d", back.Tag(), k.Tag())
	}
	if _, err := FindKey(dir, "example.com.", "ECDSAP256SHA256"); !os.IsNotExist(err) && !strings.Contains(err.Error(), "no key") {
		t.Errorf("FindKey of another algorithm: %v, want not found", err)
	}
}

func TestReadKeyRefusesBadKeys(t *testing.T) {
	dir := t.TempDir()
	a, _ := GenerateKey("example.com.", "ECDSAP256SHA256")
	b, _ := GenerateKey("example.com.", "ECDSAP256SHA256")
	pa, err := a.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	// a's public key with b's private key.
	mixed := filepath.Join(dir, "Kmixed.key")
	copyFile(t, pa, mixed)
	copyFile(t, strings.TrimSuffix(pb, ".key")+".private", filepath.Join(dir, "Kmixed.private"))
	rsa := filepath.Join(dir, "Krsa.key")
	os.WriteFile(rsa, []byte("example.com. 3600 IN DNSKEY 257 3 8 AwEAAcMnWBKLuvG/LwnPVykcmpvnntwxfshHlHRhlY0F3oz8NMyvljL6ZKXxVPh9MiUA+kfn11W+9NaMO2EakUg9F/Qy8FYMJbvoGN8ZzdSh/2LfHlgX5j31kLyfJyyoLhqN/cKg3j3YtNqYBi5lxOBuc4dqTUsBH3wU9ijJiPqt8Ao1\n"), 0o644)
	cases := []struct {
		name, zone, path, want string
	}{
		{"missing_file", "example.com.", filepath.Join(dir, "Knone.key"), "no such file"},
		{"other_zone", "example.org.", pa, "not example.org."},
		{"private_key_of_another_key", "example.com.", mixed, "does not match"},
		{"unsupported_algorithm", "example.com.", rsa, "unsupported algorithm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadKey(tc.zone, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadKey: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// axfr transfers zone from addr and writes it as a master file.
func axfr(t *testing.T, addr, zone string) (string, []dns.RR) {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(zone)
	tr := new(dns.Transfer)
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []dns.RR
	for env := range ch {
		if env.Error != nil {
			t.Fatal(env.Error)
		}
		out = append(out, env.RR...)
	}
	var b bytes.Buffer
	for _, rr := range out[:len(out)-1] {
		b.WriteString(rr.String() + "\n")
	}
	path := filepath.Join(t.TempDir(), strings.TrimSuffix(zone, ".")+".zone")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, out
}

func TestSignedTransferPassesZoneVerifiers(t *testing.T) {
	snap, _ := signedSnapshot(t, "ECDSAP256SHA256", 336*time.Hour)
	_, addr := startServer(t, Options{TransferAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, snap)
	path, rrs := axfr(t, addr, "example.com.")
	nsecs := 0
	for _, rr := range rrs {
		if _, ok := rr.(*dns.NSEC); ok {
			nsecs++
		}
	}
	if nsecs == 0 {
		t.Fatal("the transfer has no NSEC chain")
	}
	verifiers := [][]string{
		{"ldnsutils", "ldns-verify-zone", path},
		{"bind9-utils", "dnssec-verify", "-z", "-o", "example.com.", path},
	}
	for _, v := range verifiers {
		t.Run(v[1], func(t *testing.T) {
			v := append([]string{testutil.RequireTool(t, v[0], v[1])}, v[2:]...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, v[0], v[1:]...).CombinedOutput()
			if err != nil {
				t.Errorf("%s: %v\n%s", strings.Join(v, " "), err, out)
			}
		})
	}
}

// delvAnchor writes a trust anchor file for delv holding key.
func delvAnchor(t *testing.T, key *dns.DNSKEY) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "anchor.conf")
	body := "trust-anchors {\n  " + key.Hdr.Name + " static-key " + strconv.Itoa(int(key.Flags)) + " " +
		strconv.Itoa(int(key.Protocol)) + " " + strconv.Itoa(int(key.Algorithm)) + " \"" + key.PublicKey + "\";\n};\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// delv asks name's type of addr with delv, validating with the anchor in
// anchorFile for zone, and returns its output.
func delv(t *testing.T, addr, anchorFile, zone, name, qtype string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "delv", "@"+host, "-p", port, "-a", anchorFile, "+root="+zone, "+tcp", name, qtype).CombinedOutput()
	return string(out)
}

func TestDelvValidatesEveryAnswer(t *testing.T) {
	testutil.RequireTool(t, "bind9-dnsutils", "delv")
	snap, s := signedSnapshot(t, "ECDSAP256SHA256", 336*time.Hour)
	_, addr := startServer(t, Options{}, snap)
	anchor := delvAnchor(t, s.Key().DNSKEY)
	cases := []struct {
		name, qname, qtype, want string
	}{
		{"static_A", "static.example.com", "A", "; fully validated"},
		{"service_A", "app.example.com", "A", "; fully validated"},
		{"service_AAAA", "app.example.com", "AAAA", "; fully validated"},
		{"service_CNAME", "alias.example.com", "A", "; fully validated"},
		{"service_SRV", "_https._tcp.web.example.com", "SRV", "; fully validated"},
		{"DNSKEY", "example.com", "DNSKEY", "; fully validated"},
		{"wildcard", "x.wild.example.com", "A", "; fully validated"},
		{"NXDOMAIN", "nope.example.com", "A", "; negative response, fully validated"},
		{"NXDOMAIN_of_the_smallest_name", "\\000.example.com", "A", "; negative response, fully validated"},
		{"NODATA", "v4only.example.com", "AAAA", "; negative response, fully validated"},
		{"NODATA_empty_non_terminal", "sub.example.com", "A", "; negative response, fully validated"},
		{"wildcard_NODATA", "x.wild.example.com", "AAAA", "; negative response, fully validated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := delv(t, addr, anchor, "example.com", tc.qname, tc.qtype)
			if !strings.Contains(out, tc.want) {
				t.Errorf("delv %s %s: want %q in\n%s", tc.qname, tc.qtype, tc.want, out)
			}
		})
	}
	t.Run("another_key_as_anchor_fails", func(t *testing.T) {
		other, _ := GenerateKey("example.com.", "ECDSAP256SHA256")
		out := delv(t, addr, delvAnchor(t, other.DNSKEY), "example.com", "static.example.com", "A")
		if strings.Contains(out, "fully validated") {
			t.Errorf("delv validated with a key the zone is not signed with:\n%s", out)
		}
	})
}

// BenchmarkSignedAnswer compares a DO query on a health-checked name of a
// signed zone with the same query without DO (docs/benchmarks.md: at most
// 1.3x), both through the UDP answer path.
func BenchmarkSignedAnswer(b *testing.B) {
	s, err := NewServer(Options{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	snap, _ := signedSnapshot(b, "ECDSAP256SHA256", 336*time.Hour)
	s.Publish(snap)
	p := s.cur.Load()
	ap := netip.MustParseAddrPort("127.0.0.1:5353")
	for _, do := range []bool{false, true} {
		b.Run("DO="+strconv.FormatBool(do), func(b *testing.B) {
			req := new(dns.Msg)
			req.SetQuestion("v4only.example.com.", dns.TypeA)
			req.SetEdns0(1232, do)
			raw, _ := req.Pack()
			out := make([]byte, 0, 4096)
			st := s.metrics.newReader()
			b.ReportAllocs()
			for b.Loop() {
				if r := s.fastAnswer(p, raw, out[:0], st); r == nil {
					if s.slowAnswer(raw, ap, out[:0], time.Now()) == nil {
						b.Fatal("no answer")
					}
				}
			}
		})
	}
}

func TestCoverRangeIsMinimalAroundTheName(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []struct{ name, name2 string }{
		{"b.example.com.", "plain label"},
		{"a.example.com.", "the smallest letter"},
		{"\\[.example.com.", "an octet just above the upper-case letters"},
		{"a\\000.example.com.", "a trailing zero octet"},
		{long + ".example.com.", "a 63-octet label"},
		{"*.example.com.", "the wildcard"},
		{"\\255.example.com.", "the largest octet"},
	}
	for _, tc := range cases {
		t.Run(tc.name2, func(t *testing.T) {
			owner, next, ok := coverRange(tc.name)
			if !ok {
				t.Fatalf("no range around %s", tc.name)
			}
			if canonicalCompare(owner, tc.name) >= 0 || canonicalCompare(tc.name, next) >= 0 {
				t.Errorf("%s -> %s does not cover %s", owner, next, tc.name)
			}
			if parentName(owner) != parentName(canonicalName(tc.name)) || parentName(next) != parentName(canonicalName(tc.name)) {
				t.Errorf("%s -> %s: not siblings of %s", owner, next, tc.name)
			}
			// Nothing but the name's descendants lies between it and next.
			if child := "x." + tc.name; canonicalCompare(child, next) >= 0 {
				t.Errorf("%s does not cover the name's descendant %s", next, child)
			}
		})
	}
	// Below \000 nothing is smaller: the parent's own NSEC covers it,
	// reaching past the name but not down into it (a next name below the
	// name would make it an empty non-terminal).
	owner, next, ok := coverRange("\\000.example.com.")
	if !ok || owner != "example.com." || next != "\\000\\000.example.com." {
		t.Errorf("coverRange(\\000.example.com.) = %s, %s, %v; want the parent up to \\000\\000", owner, next, ok)
	}
}
