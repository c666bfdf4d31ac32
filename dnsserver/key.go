package dnsserver

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Key is a signed zone's combined signing key (CSK): one key, flags 257,
// that signs every RRset of the zone, the DNSKEY RRset included.
type Key struct {
	// DNSKEY is the public key, owned by the zone's apex.
	DNSKEY *dns.DNSKEY
	priv   crypto.Signer
}

// keyTTL is the TTL of a key file's DNSKEY; the zone serves its DNSKEY,
// CDS and CDNSKEY with the SOA's TTL.
const keyTTL = 3600

// Algorithms maps the configuration's algorithm names to DNSSEC algorithm
// numbers: the algorithms failoverd signs with.
var Algorithms = map[string]uint8{
	"ECDSAP256SHA256": dns.ECDSAP256SHA256,
	"ED25519":         dns.ED25519,
}

// GenerateKey makes a new CSK for zone with the named algorithm.
func GenerateKey(zone, algorithm string) (*Key, error) {
	alg, ok := Algorithms[algorithm]
	if !ok {
		return nil, fmt.Errorf("unsupported DNSSEC algorithm %q", algorithm)
	}
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: canonicalName(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: keyTTL},
		Flags:     dns.ZONE | dns.SEP,
		Protocol:  3,
		Algorithm: alg,
	}
	priv, err := k.Generate(256)
	if err != nil {
		return nil, fmt.Errorf("generating a key for %s: %w", zone, err)
	}
	return &Key{DNSKEY: k, priv: priv.(crypto.Signer)}, nil
}

// ReadKey reads a BIND-format key, as dnssec-keygen writes it: the public
// key file at keyPath (K<zone>+<alg>+<tag>.key) and the .private file
// beside it. It checks that the key belongs to zone, that failoverd can
// sign with its algorithm, and that the private key is the public key's.
func ReadKey(zone, keyPath string) (*Key, error) {
	f, err := os.Open(keyPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k, err := parsePublicKey(zone, keyPath, f)
	if err != nil {
		return nil, err
	}
	privPath := strings.TrimSuffix(keyPath, ".key") + ".private"
	pf, err := os.Open(privPath)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	return withPrivateKey(k, keyPath, privPath, pf)
}

// parsePublicKey reads a DNSKEY record of zone (named name in errors) and
// checks that failoverd can sign with it.
func parsePublicKey(zone, name string, r io.Reader) (*dns.DNSKEY, error) {
	rr, err := dns.ReadRR(r, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	k, ok := rr.(*dns.DNSKEY)
	if !ok {
		return nil, fmt.Errorf("%s: not a DNSKEY record", name)
	}
	k.Hdr.Name = canonicalName(k.Hdr.Name)
	if k.Hdr.Name != canonicalName(zone) {
		return nil, fmt.Errorf("%s: the key is for %s, not %s", name, k.Hdr.Name, canonicalName(zone))
	}
	if AlgorithmName(k.Algorithm) == "" {
		return nil, fmt.Errorf("%s: unsupported algorithm %s (failoverd signs with ECDSAP256SHA256 or ED25519)", name, dns.AlgorithmToString[k.Algorithm])
	}
	if k.Flags&dns.ZONE == 0 {
		return nil, fmt.Errorf("%s: not a zone key (flags %d)", name, k.Flags)
	}
	return k, nil
}

// withPrivateKey reads BIND's private-key format for k from r (named
// privName in errors) and checks that it is k's private key.
func withPrivateKey(k *dns.DNSKEY, pubName, privName string, r io.Reader) (*Key, error) {
	p, err := k.ReadPrivateKey(r, privName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", privName, err)
	}
	signer, ok := p.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", privName)
	}
	key := &Key{DNSKEY: k, priv: signer}
	if err := key.check(); err != nil {
		return nil, fmt.Errorf("%s does not match %s: %w", privName, pubName, err)
	}
	return key, nil
}

// keyTextSeparator parts the DNSKEY record from the private key in
// MarshalText's output.
const keyTextSeparator = "\n;; private key\n"

// MarshalText is the whole key as one text: its DNSKEY record, then BIND's
// private-key format. A multi-site deployment stores it so that every node
// signs with the same key; like the .private file, it is secret.
func (k *Key) MarshalText() []byte {
	return []byte(k.DNSKEY.String() + keyTextSeparator + k.DNSKEY.PrivateKeyString(k.priv))
}

// ParseKey reads MarshalText's output for zone, checked as ReadKey checks
// a key file.
func ParseKey(zone string, text []byte) (*Key, error) {
	pub, priv, ok := strings.Cut(string(text), keyTextSeparator)
	if !ok {
		return nil, fmt.Errorf("key of %s: not a stored key", zone)
	}
	k, err := parsePublicKey(zone, "stored key", strings.NewReader(pub+"\n"))
	if err != nil {
		return nil, err
	}
	return withPrivateKey(k, "stored key", "stored private key", strings.NewReader(priv))
}

// check signs a probe RRset and verifies it with the public key, which
// proves the private key is the DNSKEY's.
func (k *Key) check() error {
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: k.DNSKEY.Hdr.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{"failoverd key check"}}
	now := time.Now()
	sig := &dns.RRSIG{
		Algorithm:  k.DNSKEY.Algorithm,
		KeyTag:     k.DNSKEY.KeyTag(),
		SignerName: k.DNSKEY.Hdr.Name,
		Inception:  uint32(now.Add(-time.Hour).Unix()),
		Expiration: uint32(now.Add(time.Hour).Unix()),
	}
	if err := sig.Sign(k.priv, []dns.RR{rr}); err != nil {
		return err
	}
	return sig.Verify(k.DNSKEY, []dns.RR{rr})
}

// AlgorithmName is the configuration's name of a DNSSEC algorithm number,
// or "" for one failoverd does not sign with.
func AlgorithmName(alg uint8) string {
	for name, a := range Algorithms {
		if a == alg {
			return name
		}
	}
	return ""
}

// Zone is the key's owner, the zone apex.
func (k *Key) Zone() string { return k.DNSKEY.Hdr.Name }

// Tag is the key tag (RFC 4034 appendix B).
func (k *Key) Tag() uint16 { return k.DNSKEY.KeyTag() }

// Algorithm is the key's algorithm name (ECDSAP256SHA256, ED25519).
func (k *Key) Algorithm() string { return AlgorithmName(k.DNSKEY.Algorithm) }

// DS is the key's DS record with a SHA-256 digest, to hand to the parent.
func (k *Key) DS() *dns.DS {
	ds := k.DNSKEY.ToDS(dns.SHA256)
	ds.Hdr.Ttl = keyTTL
	return ds
}

// BaseName is the BIND name of the key's files without extension:
// K<zone>+<alg>+<tag>.
func (k *Key) BaseName() string {
	return fmt.Sprintf("K%s+%03d+%05d", k.Zone(), k.DNSKEY.Algorithm, k.Tag())
}

// WriteFiles writes the key into dir in BIND's format (readable by
// ReadKey, dnssec-signzone and Knot's keymgr import-bind): the .key file
// world-readable, the .private file 0600. Each file is written to a
// temporary name and renamed, so a crash leaves no half-written key. It
// returns the .key file's path.
func (k *Key) WriteFiles(dir string) (string, error) {
	base := filepath.Join(dir, k.BaseName())
	pub := fmt.Sprintf("; This is a combined signing key (CSK), keyid %d, for %s\n; Created by failoverd %s\n%s\n",
		k.Tag(), k.Zone(), time.Now().UTC().Format(time.RFC3339), k.DNSKEY.String())
	if err := writeFileAtomic(base+".private", []byte(k.DNSKEY.PrivateKeyString(k.priv)), 0o600); err != nil {
		return "", err
	}
	if err := writeFileAtomic(base+".key", []byte(pub), 0o644); err != nil {
		return "", err
	}
	return base + ".key", nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// FindKey looks in dir for a key of zone with the named algorithm, as
// WriteFiles leaves it; it returns os.ErrNotExist when there is none.
func FindKey(dir, zone, algorithm string) (*Key, error) {
	alg, ok := Algorithms[algorithm]
	if !ok {
		return nil, fmt.Errorf("unsupported DNSSEC algorithm %q", algorithm)
	}
	pattern := filepath.Join(dir, fmt.Sprintf("K%s+%03d+*.key", globEscape(canonicalName(zone)), alg))
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no key for %s in %s: %w", zone, dir, os.ErrNotExist)
	}
	if len(paths) > 1 {
		return nil, errors.New("more than one key for " + zone + " in " + dir + ": keep one")
	}
	return ReadKey(zone, paths[0])
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// CheckSignable reports why zd cannot be signed online, or nil: the
// DNSSEC records failoverd makes itself (DNSKEY, CDS and CDNSKEY at the
// apex, RRSIG, NSEC) must not come from the zone's data, nor NSEC3 ones
// (failoverd denies with NSEC).
func CheckSignable(zd *ZoneData) error {
	for name, types := range zd.names {
		for t, rrs := range types {
			if len(rrs) == 0 {
				continue
			}
			switch t {
			case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM:
				return fmt.Errorf("%s %s: a signed zone's %s records are made by failoverd; remove them from the zone", name, dns.TypeToString[t], dns.TypeToString[t])
			case dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY:
				if name == zd.origin {
					return fmt.Errorf("%s %s: a signed zone's apex %s comes from its key; remove it from the zone", name, dns.TypeToString[t], dns.TypeToString[t])
				}
			}
		}
	}
	return nil
}
