package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// BuiltinRegions are the region codes that exist without dns.region_map.
var BuiltinRegions = []string{"US West", "US Central", "US East", "EU West", "EU Central", "EU East", "Asia", "global"}

// NotifyEventKinds are the event kinds notify_events may name; pool, notify
// and api spell them the same (a daemon test checks that they agree).
var NotifyEventKinds = []string{"ip", "svc", "nosrv"}

// SyslogFacilities are the facility names a syslog block accepts, in code
// order; notify maps the same names to their codes (checked in daemon).
var SyslogFacilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// Value sets of the enumerated attributes.
var (
	logLevels         = []string{"debug", "info", "warn", "error"}
	logFormats        = []string{"json", "console"}
	startTLSModes     = []string{"never", "opportunistic", "required"}
	protocols         = []string{ProtocolHTTP, ProtocolHTTPS, ProtocolPING, ProtocolSMTP, ProtocolTCP, ProtocolNONE}
	afoModes          = []string{"ip", "cname"}
	regionModes       = []string{"ip", "cname", "region", "global"}
	serveModes        = []string{ServeAlways, ServeObey, ServeRemove, ServeNo}
	rrTypes           = []string{"A", "AAAA"}
	liveRecordStates  = []string{"NOT_FORCED", "FORCED_INACTIVE"}
	sensitivities     = []string{"LOW", "HIGH"}
	sfMethods         = []string{"GET", "POST"}
	syslogTransports  = []string{"udp", "tcp"}
	syslogProtocols   = []string{"rfc3164", "rfc5424"}
	syslogDeliveries  = []string{"change", "all"}
	clusterNameRE     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	labelRE           = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)
	recordTypeRE      = regexp.MustCompile(`^[A-Z][A-Z0-9-]*$`)
	maxDescriptionLen = 255
)

// Defaults that are not a single literal.
const (
	defaultHistoryRetention = 720 * time.Hour
	defaultZoneTTL          = 3600
	defaultSFTTL            = 300
	defaultSFInterval       = time.Minute
	maxTTL                  = 1<<31 - 1
)

// names tracks the definitions of one kind of name to report duplicates.
type names map[string]hcl.Range

// add records name at rng, or reports a duplicate and returns false.
func (l *loader) dup(seen names, name string, rng hcl.Range, summary, what string) bool {
	if first, ok := seen[name]; ok {
		l.errf(rng, summary, "%s is already defined at %s. Remove or rename one of them.", what, where(first))
		return false
	}
	seen[name] = rng
	return true
}

// build turns the decoded files into a Config, checking every rule.
func (l *loader) build(raws []*rawFile) *Config {
	cfg := &Config{Dir: l.dir, Contacts: map[string]*Contact{}}
	var (
		servers []*rawServer
		dnss    []*rawDNS
		apis    []*rawAPI
		smtps   []*rawSMTP
	)
	for _, r := range raws {
		servers = append(servers, r.Servers...)
		dnss = append(dnss, r.DNS...)
		apis = append(apis, r.API...)
		smtps = append(smtps, r.SMTP...)
	}
	cfg.Server = l.server(singleBlock(l, servers, "server", func(r *rawServer) hcl.Range { return r.DefRange }))
	cfg.DNS = l.dns(singleBlock(l, dnss, "dns", func(r *rawDNS) hcl.Range { return r.DefRange }))
	cfg.API = l.api(singleBlock(l, apis, "api", func(r *rawAPI) hcl.Range { return r.DefRange }))
	if r := singleBlock(l, smtps, "smtp", func(r *rawSMTP) hcl.Range { return r.DefRange }); r != nil {
		cfg.SMTP = l.smtp(r)
	}

	contactSeen := names{}
	for _, r := range raws {
		for _, rc := range r.Contacts {
			if c := l.contact(rc); l.dup(contactSeen, c.Name, rc.NameRange, "Duplicate contact", "contact "+strconv.Quote(c.Name)) {
				cfg.Contacts[c.Name] = c
			}
		}
	}
	zoneSeen := names{}
	for _, r := range raws {
		for _, rz := range r.Zones {
			z := l.zone(rz)
			if l.dup(zoneSeen, z.Name, rz.NameRange, "Duplicate zone", "zone "+strconv.Quote(z.Name)) {
				cfg.Zones = append(cfg.Zones, z)
			}
		}
	}

	regionCodes := map[string]bool{}
	for _, c := range BuiltinRegions {
		regionCodes[c] = true
	}
	for c := range cfg.DNS.RegionMap {
		regionCodes[c] = true
	}

	sc := &serviceContext{cfg: cfg, regionCodes: regionCodes}
	for _, r := range raws {
		for _, ra := range r.ActiveFailovers {
			cfg.ActiveFailovers = append(cfg.ActiveFailovers, l.activeFailover(sc, ra))
		}
	}
	for _, r := range raws {
		for _, rg := range r.GSLBs {
			cfg.GSLBs = append(cfg.GSLBs, l.gslb(sc, rg))
		}
	}
	for _, r := range raws {
		for _, rr := range r.RTTMs {
			cfg.RTTMs = append(cfg.RTTMs, l.rttm(sc, rr))
		}
	}
	for _, r := range raws {
		for _, rs := range r.SFPools {
			cfg.SFPools = append(cfg.SFPools, l.sfPool(sc, rs))
		}
	}
	clusterSeen := names{}
	for _, r := range raws {
		for _, rc := range r.Clusters {
			c := l.cluster(sc, rc)
			if l.dup(clusterSeen, c.Name, rc.NameRange, "Duplicate cluster", "cluster "+strconv.Quote(c.Name)) {
				cfg.Clusters = append(cfg.Clusters, c)
			}
		}
	}
	l.checkDuplicateFQDNs(sc.fqdns, l.fileOrder)
	return cfg
}

// singleBlock returns the only block of a kind that may appear once in the
// whole configuration (nil when absent), reporting every extra one.
func singleBlock[T any](l *loader, blocks []T, kind string, def func(T) hcl.Range) T {
	var zero T
	if len(blocks) == 0 {
		return zero
	}
	for _, b := range blocks[1:] {
		l.errf(def(b), "Duplicate "+kind+" block", "A %s block is already defined at %s; only one is allowed across all files. Merge them.", kind, where(def(blocks[0])))
	}
	return blocks[0]
}

func (l *loader) server(r *rawServer) Server {
	s := Server{Site: "local", LogLevel: "info", LogFormat: "json", HistoryRetention: defaultHistoryRetention}
	if h, err := os.Hostname(); err == nil && h != "" {
		s.Hostname = h
	} else {
		s.Hostname = "localhost"
	}
	stateDir := "./state"
	if r != nil {
		at := src{r.Body, r.DefRange}
		if r.Hostname != nil {
			h := strings.TrimSuffix(*r.Hostname, ".")
			if !validHostname(normalizeName(h)) {
				l.errf(at.attr("hostname"), "Invalid hostname", "hostname must be a DNS name such as \"ns1.example.net\"; got %q.", *r.Hostname)
			}
			s.Hostname = h
		}
		if r.Site != nil {
			if strings.TrimSpace(*r.Site) == "" {
				l.errf(at.attr("site"), "Empty site", "site is the code of this monitoring site (%%sit); give a short code such as \"iad\" or remove the attribute.")
			}
			s.Site = *r.Site
		}
		s.StateDirRange = at.attr("state_dir")
		if r.StateDir != nil {
			if *r.StateDir == "" {
				l.errf(at.attr("state_dir"), "Empty state_dir", "Give the directory for operational state, or remove the attribute to use \"./state\".")
			} else {
				stateDir = *r.StateDir
			}
		}
		if r.LogLevel != nil {
			l.enum(*r.LogLevel, logLevels, at.attr("log_level"), "log_level")
			s.LogLevel = *r.LogLevel
		}
		if r.LogFormat != nil {
			l.enum(*r.LogFormat, logFormats, at.attr("log_format"), "log_format")
			s.LogFormat = *r.LogFormat
		}
		if r.HistoryRetention != nil {
			if d, ok := l.duration(*r.HistoryRetention, at.attr("history_retention"), "history_retention"); ok {
				if d <= 0 {
					l.errf(at.attr("history_retention"), "Invalid history_retention", "history_retention must be positive, such as \"720h\".")
				}
				s.HistoryRetention = d
			}
		}
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		panic("config: absolute state_dir: " + err.Error())
	}
	s.StateDir = abs
	return s
}

func (l *loader) dns(r *rawDNS) DNS {
	d := DNS{Listen: []string{"127.0.0.1:5353"}, ListenRanges: []hcl.Range{{}}, ECS: true}
	if r == nil {
		return d
	}
	at := src{r.Body, r.DefRange}
	if r.Listen != nil {
		if len(*r.Listen) == 0 {
			l.errf(at.attr("listen"), "No listen address", "The DNS server needs at least one address such as \"127.0.0.1:5353\".")
		}
		d.Listen, d.ListenRanges = nil, nil
		for i, a := range *r.Listen {
			if _, _, ok := splitHostPort(a); !ok {
				l.errf(at.elem("listen", i), "Invalid listen address", "Write HOST:PORT, such as \"127.0.0.1:5353\" or \"[::1]:5353\"; got %q.", a)
				continue
			}
			d.Listen = append(d.Listen, a)
			d.ListenRanges = append(d.ListenRanges, at.elem("listen", i))
		}
	}
	if r.ECS != nil {
		d.ECS = *r.ECS
	}
	if r.RegionMap != nil {
		d.RegionMapRange = at.attr("region_map")
		d.RegionMap = map[string][]netip.Prefix{}
		for code, prefixes := range r.RegionMap {
			if strings.TrimSpace(code) == "" {
				l.errf(at.key("region_map", code), "Empty region code", "Name the region, such as \"US East\".")
			}
			ps := []netip.Prefix{}
			for i, p := range prefixes {
				pfx, ok := parsePrefix(p)
				if !ok {
					l.errf(at.keyElem("region_map", code, i), "Invalid prefix", "Write a network prefix such as \"198.51.100.0/24\" or \"2001:db8::/32\"; got %q.", p)
					continue
				}
				ps = append(ps, pfx)
			}
			d.RegionMap[code] = ps
		}
	}
	if r.GeoIPDatabase != nil {
		d.GeoIPDatabase = resolvePath(*r.GeoIPDatabase, at.attr("geoip_database"))
		d.GeoIPDatabaseRange = at.attr("geoip_database")
	}
	if len(r.Transfer) > 1 {
		for _, t := range r.Transfer[1:] {
			l.errf(t.DefRange, "Duplicate transfer block", "A transfer block is already defined at %s. Merge them.", where(r.Transfer[0].DefRange))
		}
	}
	if len(r.Transfer) > 0 {
		t := r.Transfer[0]
		tat := src{t.Body, t.DefRange}
		d.Transfer = &Transfer{Allow: []netip.Prefix{}, Notify: []string{}}
		for i, p := range t.Allow {
			pfx, ok := parsePrefix(p)
			if !ok {
				l.errf(tat.elem("allow", i), "Invalid prefix", "Write an address or prefix such as \"127.0.0.0/8\" or \"192.0.2.53\"; got %q.", p)
				continue
			}
			d.Transfer.Allow = append(d.Transfer.Allow, pfx)
		}
		for i, n := range t.Notify {
			hp, ok := withDefaultPort(n, "53")
			if !ok {
				l.errf(tat.elem("notify", i), "Invalid notify address", "Write the address of a secondary as IP or IP:PORT, such as \"127.0.0.1:5354\"; got %q.", n)
				continue
			}
			d.Transfer.Notify = append(d.Transfer.Notify, hp)
		}
	}
	return d
}

func (l *loader) api(r *rawAPI) API {
	a := API{Listen: "127.0.0.1:8053"}
	if r == nil {
		return a
	}
	at := src{r.Body, r.DefRange}
	a.ListenRange, a.TokenFileRange = at.attr("listen"), at.attr("token_file")
	if r.TokenFile != nil && *r.TokenFile != "" {
		a.TokenFile = resolvePath(*r.TokenFile, at.attr("token_file"))
	}
	if r.Listen != nil {
		a.Listen = *r.Listen
		host, _, ok := splitHostPort(a.Listen)
		switch {
		case !ok:
			l.errf(at.attr("listen"), "Invalid listen address", "Write HOST:PORT, such as \"127.0.0.1:8053\"; got %q.", a.Listen)
		case !isLoopback(host) && a.TokenFile == "":
			l.errf(at.attr("listen"), "API token required", "The API listens on %q, which is not a loopback address: set token_file, or listen on 127.0.0.1 or [::1].", a.Listen)
		}
	}
	return a
}

func (l *loader) smtp(r *rawSMTP) *SMTP {
	at := src{r.Body, r.DefRange}
	s := &SMTP{From: r.From, StartTLS: "opportunistic"}
	if at.has("server") {
		hp, ok := withDefaultPort(r.Server, "25")
		if !ok {
			l.errf(at.attr("server"), "Invalid SMTP server", "Write HOST or HOST:PORT, such as \"127.0.0.1:25\"; got %q.", r.Server)
		}
		s.Server = hp
	}
	if at.has("from") {
		if _, err := mail.ParseAddress(r.From); err != nil {
			l.errf(at.attr("from"), "Invalid from address", "from must be an e-mail address such as \"failoverd@example.net\"; got %q.", r.From)
		}
	}
	if r.Username != nil {
		s.Username = *r.Username
	}
	if r.PasswordFile != nil && *r.PasswordFile != "" {
		s.PasswordFile = resolvePath(*r.PasswordFile, at.attr("password_file"))
		s.PasswordFileRange = at.attr("password_file")
	}
	if r.StartTLS != nil {
		l.enum(*r.StartTLS, startTLSModes, at.attr("starttls"), "starttls")
		s.StartTLS = *r.StartTLS
	}
	return s
}

func (l *loader) contact(r *rawContact) *Contact {
	at := src{r.Body, r.DefRange}
	c := &Contact{Name: r.Name, Email: r.Email}
	if strings.TrimSpace(r.Name) == "" {
		l.errf(r.NameRange, "Empty contact name", "Give the contact a nickname, such as contact \"ops\".")
	}
	if at.has("email") && len(r.Email) == 0 {
		l.errf(at.attr("email"), "No e-mail address", "List at least one address, such as email = [\"ops@example.net\"].")
	}
	for i, e := range r.Email {
		if _, err := mail.ParseAddress(e); err != nil {
			l.errf(at.elem("email", i), "Invalid e-mail address", "Write an address such as \"ops@example.net\"; got %q.", e)
		}
	}
	return c
}

func (l *loader) zone(r *rawZone) *Zone {
	at := src{r.Body, r.DefRange}
	z := &Zone{Name: normalizeName(r.Name), TTL: defaultZoneTTL, DefRange: r.DefRange, FileRange: at.attr("file"), NS: []string{}}
	if !validZoneName(z.Name) {
		l.errf(r.NameRange, "Invalid zone name", "A zone name is a DNS name such as \"example.com\"; got %q.", r.Name)
	}
	if r.File != nil {
		if *r.File == "" {
			l.errf(at.attr("file"), "Empty zone file", "Give the path of an RFC 1035 master file, or remove the attribute.")
		}
		z.File = resolvePath(*r.File, at.attr("file"))
	}
	if r.TTL != nil {
		z.TTL = l.recordTTL(*r.TTL, at.attr("ttl"))
	}
	for i, ns := range r.NS {
		n := normalizeName(ns)
		if !validHostname(n) {
			l.errf(at.elem("ns", i), "Invalid name server", "Write a name server's DNS name such as \"ns1.example.net.\"; got %q.", ns)
			continue
		}
		z.NS = append(z.NS, n)
	}
	for _, rr := range r.Records {
		z.Records = append(z.Records, l.record(z, rr))
	}
	for i, d := range r.DNSSEC {
		if i > 0 {
			l.errf(d.DefRange, "Duplicate dnssec block", "A dnssec block is already defined at %s. Merge them.", where(r.DNSSEC[0].DefRange))
			continue
		}
		z.DNSSEC = l.dnssec(d)
	}
	return z
}

var dnssecAlgorithms = []string{DNSSECAlgorithmECDSAP256, DNSSECAlgorithmED25519}

func (l *loader) dnssec(r *rawDNSSEC) *DNSSEC {
	at := src{r.Body, r.DefRange}
	d := &DNSSEC{
		Algorithm:              DNSSECAlgorithmECDSAP256,
		SignatureLifetime:      336 * time.Hour,
		InceptionOffset:        time.Hour,
		DefRange:               r.DefRange,
		AlgorithmRange:         at.attr("algorithm"),
		KeyFileRange:           at.attr("key_file"),
		SignatureLifetimeRange: at.attr("signature_lifetime"),
	}
	if r.Algorithm != nil && l.enum(*r.Algorithm, dnssecAlgorithms, at.attr("algorithm"), "algorithm") {
		d.Algorithm, d.AlgorithmSet = *r.Algorithm, true
	}
	if r.KeyFile != nil {
		if *r.KeyFile == "" {
			l.errf(at.attr("key_file"), "Empty key_file", "Give the path of a BIND-format key (the K<zone>+<alg>+<tag>.key file dnssec-keygen writes, with its .private beside it), or remove the attribute to have failoverd generate one.")
		} else {
			d.KeyFile = resolvePath(*r.KeyFile, at.attr("key_file"))
		}
	}
	if r.InceptionOffset != nil {
		if v, ok := l.duration(*r.InceptionOffset, at.attr("inception_offset"), "inception_offset"); ok {
			if v < 0 {
				l.errf(at.attr("inception_offset"), "Invalid inception_offset", "inception_offset backdates signatures and cannot be negative; got %q.", *r.InceptionOffset)
			}
			d.InceptionOffset = v
		}
	}
	if r.SignatureLifetime != nil {
		if v, ok := l.duration(*r.SignatureLifetime, at.attr("signature_lifetime"), "signature_lifetime"); ok {
			if v < MinSignatureLifetime {
				l.errf(at.attr("signature_lifetime"), "signature_lifetime too short", "Signatures are made again when a third of their lifetime is left, and that third must leave room for secondaries to follow: give at least %q; got %q.", MinSignatureLifetime.String(), *r.SignatureLifetime)
			}
			d.SignatureLifetime = v
		}
	}
	return d
}

func (l *loader) record(z *Zone, r *rawRecord) *Record {
	at := src{r.Body, r.DefRange}
	rec := &Record{TTL: z.TTL, Type: strings.ToUpper(r.Type), RData: r.RData, DefRange: r.DefRange, TypeRange: at.attr("type")}
	for i := range r.RData {
		rec.RDataRanges = append(rec.RDataRanges, at.elem("rdata", i))
	}
	switch name := strings.TrimSpace(r.Name); {
	case name == "@":
		rec.Name = z.Name
	case strings.HasSuffix(name, "."):
		rec.Name = normalizeName(name)
	default:
		rec.Name = normalizeName(name + "." + strings.TrimSuffix(z.Name, "."))
		if z.Name == "." {
			rec.Name = normalizeName(name)
		}
	}
	if !validRecordName(rec.Name) {
		l.errf(r.NameRange, "Invalid record name", "Write an owner name relative to the zone (\"www\", \"@\") or absolute with a trailing dot (\"www.example.com.\"); got %q.", r.Name)
	} else if !inZone(rec.Name, z.Name) {
		l.errf(r.NameRange, "Record outside its zone", "%q is not inside zone %q. Use a name relative to the zone, or move the record to the zone it belongs to.", rec.Name, z.Name)
	}
	if at.has("type") && !recordTypeRE.MatchString(rec.Type) {
		l.errf(at.attr("type"), "Invalid record type", "Write a DNS record type such as \"A\", \"AAAA\", \"CNAME\", \"MX\" or \"TXT\"; got %q.", r.Type)
	}
	if r.TTL != nil {
		rec.TTL = l.recordTTL(*r.TTL, at.attr("ttl"))
	}
	if at.has("rdata") && len(r.RData) == 0 {
		l.errf(at.attr("rdata"), "No record data", "List the record data, such as rdata = [\"192.0.2.80\"].")
	}
	for i, d := range r.RData {
		if strings.TrimSpace(d) == "" {
			l.errf(at.elem("rdata", i), "Empty record data", "Each rdata element is one record in zone-file syntax, such as \"192.0.2.80\" or \"10 mail.example.com.\".")
		}
	}
	return rec
}

// recordTTL checks a static TTL.
func (l *loader) recordTTL(v int, rng hcl.Range) uint32 {
	if v < 0 || v > maxTTL {
		l.errf(rng, "Invalid ttl", "ttl is whole seconds from 0 to %d; got %d.", maxTTL, v)
		return 0
	}
	return uint32(v)
}

// enum reports v when it is not one of allowed.
func (l *loader) enum(v string, allowed []string, rng hcl.Range, attr string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	hint := ""
	for _, a := range allowed {
		if strings.EqualFold(a, strings.TrimSpace(v)) {
			hint = fmt.Sprintf(" Did you mean %q?", a)
		}
	}
	l.errf(rng, "Invalid "+attr, "%s must be %s; got %q.%s", attr, quoteList(allowed), v, hint)
	return false
}

// duration parses a Go duration string.
func (l *loader) duration(s string, rng hcl.Range, attr string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	if err != nil {
		l.errf(rng, "Invalid "+attr, "%s is a duration such as \"500ms\", \"10s\" or \"1m\"; got %q.", attr, s)
		return 0, false
	}
	return d, true
}

// splitHostPort splits HOST:PORT with a numeric port.
func splitHostPort(s string) (host, port string, ok bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", "", false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", "", false
	}
	if host != "" && !validHost(host) {
		return "", "", false
	}
	return host, port, true
}

// withDefaultPort returns HOST:PORT, adding port when s has none.
func withDefaultPort(s, port string) (string, bool) {
	if _, _, ok := splitHostPort(s); ok {
		return s, true
	}
	if validHost(s) {
		return net.JoinHostPort(s, port), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") && validHost(s[1:len(s)-1]) {
		return net.JoinHostPort(s[1:len(s)-1], port), true
	}
	return "", false
}

// validHost reports whether s is an IP address or a host name.
func validHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return validHostname(normalizeName(s))
}

// isLoopback reports whether host names only the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// parsePrefix parses a prefix; a bare address is a single-address prefix.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// parseIP parses an IP address without a zone and returns its canonical form.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validHostname reports whether the absolute name is a host name: labels of
// letters, digits, hyphens and underscores, 1-63 characters each, at most
// 253 characters without the final dot.
func validHostname(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, lab := range strings.Split(name, ".") {
		if !labelRE.MatchString(lab) {
			return false
		}
	}
	return true
}

// validZoneName is validHostname that also accepts the root.
func validZoneName(name string) bool { return name == "." || validHostname(name) }

// validRecordName is validHostname that also accepts a leading wildcard.
func validRecordName(name string) bool {
	if name == "." {
		return true
	}
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		return validHostname(rest)
	}
	return validHostname(name)
}
