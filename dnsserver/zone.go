package dnsserver

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// ZoneConfig describes one authoritative zone's static content.
type ZoneConfig struct {
	// Origin is the zone apex, absolute with a trailing dot.
	Origin string
	// File is an RFC 1035 master file ("" for none), as an absolute path.
	File string
	// DefaultTTL is the TTL of records that give none (inline records and
	// file records before any $TTL). 0 means 3600.
	DefaultTTL uint32
	// NS lists name servers added to the apex NS set.
	NS []string
	// Hostname is the server's name: the mname of a synthesized SOA and the
	// apex NS when the zone has none.
	Hostname string
	// Records are inline records merged with the file's.
	Records []StaticRecord
}

// StaticRecord is one inline record set; each RData element is one record.
type StaticRecord struct {
	Name  string // absolute
	Type  string
	TTL   uint32 // 0: the zone's DefaultTTL
	RData []string
}

// ZoneData is a parsed, immutable zone: its SOA and static records.
// It is shared by every Snapshot that refers to it and never mutated.
// Every name it holds is in canonicalName form.
type ZoneData struct {
	origin string
	soa    *dns.SOA
	// names maps a lower-case owner name to its records by type. Empty
	// non-terminals are present with a nil map.
	names map[string]map[uint16][]dns.RR
	// delegations are the names below the apex that own NS records.
	delegations map[string]struct{}
	// dnames are the names that own a DNAME record (RFC 6672).
	dnames map[string]struct{}
	count  int
}

// DefaultZoneTTL is the TTL of zone-file records before any $TTL when
// ZoneData gives none; config uses the same default for inline records.
const DefaultZoneTTL = 3600

// LoadZone parses a zone's master file and inline records once. Errors name
// the file and line of the offending record.
func LoadZone(zc ZoneConfig) (*ZoneData, error) {
	if _, ok := dns.IsDomainName(zc.Origin); !ok || zc.Origin == "" {
		return nil, fmt.Errorf("zone %q: not a domain name", zc.Origin)
	}
	origin := canonicalName(zc.Origin)
	if origin == "" {
		return nil, fmt.Errorf("zone %q: not a domain name", zc.Origin)
	}
	ttl := zc.DefaultTTL
	if ttl == 0 {
		ttl = DefaultZoneTTL
	}
	zd := &ZoneData{origin: origin, names: map[string]map[uint16][]dns.RR{}, delegations: map[string]struct{}{}, dnames: map[string]struct{}{}}
	var rrs []dns.RR
	if zc.File != "" {
		f, err := os.Open(zc.File)
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", origin, err)
		}
		defer f.Close()
		zp := dns.NewZoneParser(f, origin, zc.File)
		zp.SetDefaultTTL(ttl)
		zp.SetIncludeAllowed(true)
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			rrs = append(rrs, rr)
		}
		if err := zp.Err(); err != nil {
			return nil, fmt.Errorf("zone %s: %w", origin, fileError(err))
		}
	}
	for i, sr := range zc.Records {
		rs, j, err := parseStatic(origin, ttl, sr)
		if err != nil {
			return nil, fmt.Errorf("zone %s: record %d (%s %s): %w", origin, i+1, sr.Name, sr.Type, &RecordError{Record: i, RData: j, Err: err})
		}
		rrs = append(rrs, rs...)
	}
	for _, ns := range zc.NS {
		rr := &dns.NS{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: ttl}, Ns: dns.CanonicalName(dns.Fqdn(ns))}
		rrs = append(rrs, rr)
	}
	for _, rr := range rrs {
		if err := zd.add(rr); err != nil {
			return nil, fmt.Errorf("zone %s: %w", origin, err)
		}
	}
	host := dns.CanonicalName(dns.Fqdn(zc.Hostname))
	if host == "." || host == "" {
		host = "localhost."
	}
	if zd.soa == nil {
		soa := &dns.SOA{
			Hdr:     dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
			Ns:      host,
			Mbox:    "hostmaster." + trimRootDot(origin),
			Serial:  1,
			Refresh: 3600,
			Retry:   600,
			Expire:  1209600,
			Minttl:  60,
		}
		if err := zd.add(soa); err != nil {
			return nil, fmt.Errorf("zone %s: %w", origin, err)
		}
	}
	if len(zd.names[origin][dns.TypeNS]) == 0 {
		rr := &dns.NS{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: ttl}, Ns: host}
		if err := zd.add(rr); err != nil {
			return nil, fmt.Errorf("zone %s: %w", origin, err)
		}
	}
	if err := zd.check(); err != nil {
		return nil, fmt.Errorf("zone %s: %w", origin, err)
	}
	return zd, nil
}

func trimRootDot(origin string) string {
	if origin == "." {
		return ""
	}
	return origin
}

// RecordError is a LoadZone error in one inline record: Record indexes
// ZoneConfig.Records and RData that record's RData (-1: the record as a
// whole, e.g. its type).
type RecordError struct {
	Record, RData int
	Err           error
}

// Error implements error.
func (e *RecordError) Error() string { return e.Err.Error() }

// Unwrap returns the parse error.
func (e *RecordError) Unwrap() error { return e.Err }

// FileError is a LoadZone error at a place in a master file (or a file it
// includes).
type FileError struct {
	File         string
	Line, Column int
	// Msg says what is wrong without quoting the file's text.
	Msg string
}

// Error implements error.
func (e *FileError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// parseErrorRE takes miekg/dns's ParseError text apart ("FILE: dns: MSG:
// \"TOKEN\" at line: L:C"); its fields are not exported.
var parseErrorRE = regexp.MustCompile(`^(?:(.*): )?dns: (.*): "(?:[^"\\]|\\.)*" at line: (\d+):(\d+)$`)

// fileError turns a master file parse error into a FileError when its text
// has the expected form.
func fileError(err error) error {
	var pe *dns.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	m := parseErrorRE.FindStringSubmatch(pe.Error())
	if m == nil {
		return err
	}
	line, _ := strconv.Atoi(m[3])
	col, _ := strconv.Atoi(m[4])
	return &FileError{File: m[1], Line: line, Column: col, Msg: m[2]}
}

// parseStatic turns one inline record block into RRs; relative names in
// rdata are relative to the zone origin. On an error it also returns the
// index of the rdata element at fault (-1: the record as a whole).
func parseStatic(origin string, defTTL uint32, sr StaticRecord) ([]dns.RR, int, error) {
	name := strings.TrimSpace(sr.Name)
	if name == "" || name == "@" {
		name = origin
	}
	typ := strings.ToUpper(strings.TrimSpace(sr.Type))
	rrtype, ok := dns.StringToType[typ]
	if !ok {
		return nil, -1, fmt.Errorf("unknown type %q", sr.Type)
	}
	if len(sr.RData) == 0 {
		return nil, -1, errors.New("no rdata")
	}
	ttl := sr.TTL
	if ttl == 0 {
		ttl = defTTL
	}
	var out []dns.RR
	for i, rd := range sr.RData {
		if strings.ContainsAny(rd, "\n\r") {
			return nil, i, fmt.Errorf("rdata %q: contains a newline", rd)
		}
		if (rrtype == dns.TypeTXT || rrtype == dns.TypeSPF) && !strings.HasPrefix(strings.TrimSpace(rd), `"`) {
			rd = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(rd) + `"`
		}
		line := fmt.Sprintf("%s %d IN %s %s\n", name, ttl, typ, rd)
		zp := dns.NewZoneParser(strings.NewReader(line), origin, "")
		rr, ok := zp.Next()
		if err := zp.Err(); err != nil {
			// The line and column are those of the synthetic line above:
			// keep only what is wrong.
			if fe, ok := fileError(err).(*FileError); ok {
				return nil, i, fmt.Errorf("rdata %q: %s", rd, fe.Msg)
			}
			return nil, i, fmt.Errorf("rdata %q: %w", rd, err)
		}
		if !ok || rr == nil {
			return nil, i, fmt.Errorf("rdata %q: no record", rd)
		}
		if rr.Header().Rrtype != rrtype {
			return nil, i, fmt.Errorf("rdata %q: parsed as %s", rd, dns.TypeToString[rr.Header().Rrtype])
		}
		out = append(out, rr)
	}
	return out, -1, nil
}

// add inserts rr, creating the empty non-terminals between it and the apex.
func (zd *ZoneData) add(rr dns.RR) error {
	h := rr.Header()
	if h.Class != dns.ClassINET {
		return fmt.Errorf("%s: only class IN is served", h.Name)
	}
	h.Name = canonicalName(h.Name)
	if !dns.IsSubDomain(zd.origin, h.Name) {
		return fmt.Errorf("%s %s: outside the zone", h.Name, dns.TypeToString[h.Rrtype])
	}
	switch h.Rrtype {
	case dns.TypeSOA:
		if h.Name != zd.origin {
			return fmt.Errorf("%s: SOA below the apex", h.Name)
		}
		if zd.soa != nil {
			return fmt.Errorf("%s: second SOA", h.Name)
		}
		zd.soa = rr.(*dns.SOA)
	case dns.TypeNS:
		if h.Name != zd.origin {
			zd.delegations[h.Name] = struct{}{}
		}
	case dns.TypeDNAME:
		zd.dnames[h.Name] = struct{}{}
	}
	types := zd.names[h.Name]
	if types == nil {
		types = map[uint16][]dns.RR{}
		zd.names[h.Name] = types
	}
	for _, old := range types[h.Rrtype] {
		if dns.IsDuplicate(old, rr) {
			return nil
		}
	}
	types[h.Rrtype] = append(types[h.Rrtype], rr)
	zd.count++
	for n := parentName(h.Name); n != "" && dns.IsSubDomain(zd.origin, n); n = parentName(n) {
		if _, ok := zd.names[n]; ok {
			continue
		}
		zd.names[n] = nil
	}
	return nil
}

// check enforces the CNAME rule: a CNAME owner has no other data.
func (zd *ZoneData) check() error {
	for name, types := range zd.names {
		if len(types[dns.TypeCNAME]) == 0 {
			continue
		}
		if len(types[dns.TypeCNAME]) > 1 {
			return fmt.Errorf("%s: more than one CNAME", name)
		}
		for t := range types {
			if t != dns.TypeCNAME && t != dns.TypeRRSIG && t != dns.TypeNSEC {
				return fmt.Errorf("%s: CNAME and other data (%s)", name, dns.TypeToString[t])
			}
		}
		if name == zd.origin {
			return fmt.Errorf("%s: CNAME at the zone apex", name)
		}
	}
	return nil
}

// canonicalName returns name (absolute, presentation format) in the one
// form every lookup uses: the text miekg/dns gives a name read from the
// wire, in lower case. So the zone file's "dot\046esc" and a query's
// "dot\.esc" are one name, and "\065bc" is "abc". A name that does not
// pack is only lower-cased (no lookup will find it).
func canonicalName(name string) string {
	var buf [256]byte
	n, err := dns.PackDomainName(dns.Fqdn(name), buf[:], 0, nil, false)
	if err != nil {
		return strings.ToLower(name)
	}
	s, _, err := dns.UnpackDomainName(buf[:n], 0)
	if err != nil {
		return strings.ToLower(name)
	}
	return strings.ToLower(s)
}

// parentName returns name without its first label, "" for the root.
func parentName(name string) string {
	if name == "." || name == "" {
		return ""
	}
	off, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[off:]
}

// Origin returns the zone apex (lower case, absolute).
func (zd *ZoneData) Origin() string { return zd.origin }

// Records returns copies of every static record in canonical order, SOA
// first (with the loaded serial).
func (zd *ZoneData) Records() []dns.RR {
	out := make([]dns.RR, 0, zd.count)
	out = append(out, dns.Copy(zd.soa))
	names := make([]string, 0, len(zd.names))
	for n := range zd.names {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		types := zd.names[n]
		ts := make([]int, 0, len(types))
		for t := range types {
			ts = append(ts, int(t))
		}
		sort.Ints(ts)
		for _, t := range ts {
			if uint16(t) == dns.TypeSOA {
				continue
			}
			for _, rr := range types[uint16(t)] {
				out = append(out, dns.Copy(rr))
			}
		}
	}
	return out
}
