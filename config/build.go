package config

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
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
	partitionModes    = []string{"local", "freeze"}
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
	tsigAlgorithms    = []string{TSIGHmacSHA256, TSIGHmacSHA512, TSIGHmacSHA1}
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
		etcds   []*rawEtcd
	)
	for _, r := range raws {
		servers = append(servers, r.Servers...)
		dnss = append(dnss, r.DNS...)
		apis = append(apis, r.API...)
		smtps = append(smtps, r.SMTP...)
		etcds = append(etcds, r.Etcd...)
	}
	cfg.Server = l.server(singleBlock(l, servers, "server", func(r *rawServer) hcl.Range { return r.DefRange }))
	keySeen := names{}
	for _, r := range raws {
		for _, rk := range r.TSIGKeys {
			if k := l.tsigKey(rk); l.dup(keySeen, k.Name, rk.NameRange, "Duplicate tsig_key", "tsig_key "+strconv.Quote(k.Name)) {
				cfg.TSIGKeys = append(cfg.TSIGKeys, k)
			}
		}
	}
	cfg.DNS = l.dns(singleBlock(l, dnss, "dns", func(r *rawDNS) hcl.Range { return r.DefRange }), cfg.TSIGKeys)
	cfg.API = l.api(singleBlock(l, apis, "api", func(r *rawAPI) hcl.Range { return r.DefRange }))
	if r := singleBlock(l, smtps, "smtp", func(r *rawSMTP) hcl.Range { return r.DefRange }); r != nil {
		cfg.SMTP = l.smtp(r)
	}
	if r := singleBlock(l, etcds, "etcd", func(r *rawEtcd) hcl.Range { return r.DefRange }); r != nil {
		cfg.Etcd = l.etcd(r)
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
		if r.ProbeSource != nil {
			if ip, ok := parseIP(*r.ProbeSource); ok {
				s.ProbeSource = ip
			} else {
				l.errf(at.attr("probe_source"), "Invalid probe_source", "probe_source is the IPv4 or IPv6 address probes are sent from, such as \"192.0.2.250\"; got %q.", *r.ProbeSource)
			}
		}
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		panic("config: absolute state_dir: " + err.Error())
	}
	s.StateDir = abs
	s.ManagedDir = filepath.Join(abs, "managed")
	if r != nil && r.ManagedDir != nil {
		if *r.ManagedDir == "" {
			l.errf(src{r.Body, r.DefRange}.attr("managed_dir"), "Empty managed_dir", "Give the directory for services created over the API, or remove the attribute to use \"<state_dir>/managed\".")
		} else {
			s.ManagedDir = managedDir(abs, r)
		}
	}
	return s
}

// managedDir is server.managed_dir made absolute like state_dir (against
// the working directory), or the default under the absolute state
// directory. Load needs it before the files are built, to read the
// API-managed services with them.
func managedDir(stateDir string, r *rawServer) string {
	if r == nil || r.ManagedDir == nil || *r.ManagedDir == "" {
		return filepath.Join(stateDir, "managed")
	}
	abs, err := filepath.Abs(*r.ManagedDir)
	if err != nil {
		panic("config: absolute managed_dir: " + err.Error())
	}
	return abs
}

func (l *loader) dns(r *rawDNS, keys []*TSIGKey) DNS {
	d := DNS{Listen: []string{"127.0.0.1:5353"}, ListenRanges: []hcl.Range{{}}, ECS: true, Cookies: true}
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
	if r.Cookies != nil {
		d.Cookies = *r.Cookies
	}
	if r.HideIdentity != nil {
		d.HideIdentity = *r.HideIdentity
	}
	if rr, ok := oneBlock(l, r.RRL, "rrl", func(b *rawRRL) hcl.Range { return b.DefRange }, r.DefRange, false); ok {
		d.RRL = l.rrl(rr)
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
	if r.GeoIPDatabase != nil && *r.GeoIPDatabase != "" {
		d.GeoIPDatabase = resolvePath(*r.GeoIPDatabase, at.attr("geoip_database"))
		d.GeoIPDatabaseRange = at.attr("geoip_database")
		// The database is memory-mapped, not read: any size will do.
		l.checkFile(d.GeoIPDatabase, at.attr("geoip_database"), math.MaxInt64, "GeoIP database")
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
		if t.TSIG != nil {
			name := normalizeName(*t.TSIG)
			for _, k := range keys {
				if k.Name == name {
					d.Transfer.TSIG = k
				}
			}
			if d.Transfer.TSIG == nil {
				l.errf(tat.attr("tsig"), "Unknown TSIG key", "No tsig_key block is named %q. Add tsig_key %q { secret = \"...\" } or fix the name.", *t.TSIG, *t.TSIG)
			}
		}
	}
	return d
}

func (l *loader) rrl(r *rawRRL) *RRL {
	at := src{r.Body, r.DefRange}
	rl := &RRL{Slip: 2, IPv4Prefix: 24, IPv6Prefix: 56, Exempt: []netip.Prefix{}}
	if at.has("responses_per_second") && l.inRange(r.ResponsesPerSecond, 1, MaxResponsesPerSecond, at.attr("responses_per_second"), "responses_per_second") {
		rl.ResponsesPerSecond = r.ResponsesPerSecond
	}
	if r.Slip != nil && l.inRange(*r.Slip, 0, MaxSlip, at.attr("slip"), "slip") {
		rl.Slip = *r.Slip
	}
	if r.IPv4Prefix != nil && l.inRange(*r.IPv4Prefix, MinIPv4Prefix, 32, at.attr("ipv4_prefix"), "ipv4_prefix") {
		rl.IPv4Prefix = *r.IPv4Prefix
	}
	if r.IPv6Prefix != nil && l.inRange(*r.IPv6Prefix, MinIPv6Prefix, 128, at.attr("ipv6_prefix"), "ipv6_prefix") {
		rl.IPv6Prefix = *r.IPv6Prefix
	}
	for i, p := range r.Exempt {
		pfx, ok := parsePrefix(p)
		if !ok {
			l.errf(at.elem("exempt", i), "Invalid prefix", "Write an address or prefix such as \"192.0.2.0/24\" or \"2001:db8::/32\"; got %q.", p)
			continue
		}
		rl.Exempt = append(rl.Exempt, pfx)
	}
	return rl
}

func (l *loader) tsigKey(r *rawTSIGKey) *TSIGKey {
	at := src{r.Body, r.DefRange}
	k := &TSIGKey{Name: normalizeName(r.Name), Algorithm: TSIGHmacSHA256, DefRange: r.DefRange}
	if !validHostname(k.Name) {
		l.errf(r.NameRange, "Invalid tsig_key name", "A TSIG key name is a domain name such as \"xfr\" or \"transfer.example.net\"; got %q.", r.Name)
	}
	if r.Algorithm != nil {
		l.enum(*r.Algorithm, tsigAlgorithms, at.attr("algorithm"), "algorithm")
		k.Algorithm = *r.Algorithm
	}
	switch {
	case r.Secret != nil && r.SecretFile != nil:
		l.errf(at.name("secret_file"), "Both secret and secret_file", "Give the key's secret either inline (secret) or in a file (secret_file), not both.")
	case r.Secret != nil:
		k.Secret = strings.TrimSpace(*r.Secret)
		if !validBase64(k.Secret) {
			l.errf(at.attr("secret"), "Invalid secret", "secret is the key in base64, as tsig-keygen or keymgr print it; this is not base64.")
		}
	case r.SecretFile != nil:
		rng := at.attr("secret_file")
		path := resolvePath(*r.SecretFile, rng)
		if *r.SecretFile == "" {
			l.errf(rng, "Empty secret_file", "Give the path of the file holding the key in base64.")
		} else if b, ok := l.readSmallFile(path, rng, "secret_file"); ok {
			k.Secret = strings.TrimSpace(string(b))
			if !validBase64(k.Secret) {
				l.errf(rng, "Invalid secret_file", "%s must hold the key in base64 (and nothing else), as tsig-keygen or keymgr print it.", path)
			}
		}
	default:
		l.errf(r.DefRange, "Missing TSIG secret", "tsig_key %q needs secret = \"BASE64\" or secret_file = \"PATH\".", r.Name)
	}
	return k
}

// validBase64 reports whether s is a non-empty standard base64 string.
func validBase64(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) > 0
}

// checkFile reports at rng when path is not a readable regular file of at
// most max bytes.
func (l *loader) checkFile(path string, rng hcl.Range, max int64, what string) bool {
	f, _, err := OpenRegularFile(path, max)
	if err != nil {
		l.fileErr(err, rng, what)
		return false
	}
	f.Close()
	return true
}

// readSmallFile reads a token, password, secret or certificate file,
// reporting at rng when it cannot.
func (l *loader) readSmallFile(path string, rng hcl.Range, what string) ([]byte, bool) {
	b, err := ReadRegularFile(path, MaxSecretFileSize)
	if err != nil {
		l.fileErr(err, rng, what)
		return nil, false
	}
	return b, true
}

// fileErr reports a file that cannot be used.
func (l *loader) fileErr(err error, rng hcl.Range, what string) {
	switch {
	case errors.Is(err, ErrNotRegular):
		l.errf(rng, "Not a regular file", "The %s must be a regular file: %v.", what, err)
	case errors.Is(err, ErrTooLarge):
		l.errf(rng, "File too large", "The %s is too large: %v.", what, err)
	default:
		l.errf(rng, "Cannot read "+what, "%v. Give the path of a readable file.", err)
	}
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
		if b, ok := l.readSmallFile(a.TokenFile, at.attr("token_file"), "token_file"); ok && strings.TrimSpace(string(b)) == "" {
			l.errf(at.attr("token_file"), "Empty token file", "%s holds no token. Write the bearer token into it.", a.TokenFile)
		}
	}
	if len(r.Compat) > 1 {
		for _, c := range r.Compat[1:] {
			l.errf(c.DefRange, "Duplicate compat block", "A compat block is already defined at %s. Merge them.", where(r.Compat[0].DefRange))
		}
	}
	if len(r.Compat) > 0 {
		c := r.Compat[0]
		a.Compat = Compat{Dyn: c.Dyn != nil && *c.Dyn, UltraDNS: c.UltraDNS != nil && *c.UltraDNS, Memset: c.Memset != nil && *c.Memset}
	}
	l.apiTLS(r, &a, at)
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

// apiTLS checks the HTTPS certificate and key: both or neither, and a pair
// that loads, as the API server will load it.
func (l *loader) apiTLS(r *rawAPI, a *API, at src) {
	cert, key := "", ""
	if r.TLSCertFile != nil {
		cert = *r.TLSCertFile
	}
	if r.TLSKeyFile != nil {
		key = *r.TLSKeyFile
	}
	switch {
	case cert == "" && key == "":
		return
	case key == "":
		l.errf(at.attr("tls_cert_file"), "Missing tls_key_file", "HTTPS needs both tls_cert_file and tls_key_file. Add the key file, or remove tls_cert_file.")
		return
	case cert == "":
		l.errf(at.attr("tls_key_file"), "Missing tls_cert_file", "HTTPS needs both tls_cert_file and tls_key_file. Add the certificate file, or remove tls_key_file.")
		return
	}
	a.TLSCertFile = resolvePath(cert, at.attr("tls_cert_file"))
	a.TLSKeyFile = resolvePath(key, at.attr("tls_key_file"))
	certPEM, ok1 := l.readCertFile(a.TLSCertFile, at.attr("tls_cert_file"), "tls_cert_file")
	keyPEM, ok2 := l.readCertFile(a.TLSKeyFile, at.attr("tls_key_file"), "tls_key_file")
	if !ok1 || !ok2 {
		return
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		l.errf(at.attr("tls_cert_file"), "Invalid TLS certificate or key", "%s and %s do not load as a certificate and its key: %v.", a.TLSCertFile, a.TLSKeyFile, err)
	}
}

// readCertFile reads a PEM certificate or key file.
func (l *loader) readCertFile(path string, rng hcl.Range, what string) ([]byte, bool) {
	b, err := ReadRegularFile(path, MaxCertFileSize)
	if err != nil {
		l.fileErr(err, rng, what)
		return nil, false
	}
	return b, true
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
		l.readSmallFile(s.PasswordFile, at.attr("password_file"), "password_file")
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
		if z.File != "" {
			l.checkFile(z.File, at.attr("file"), MaxZoneFileSize, "zone file")
		}
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
	if r.Algorithm != nil && l.enum(*r.Algorithm, DNSSECAlgorithms, at.attr("algorithm"), "algorithm") {
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
			switch {
			case v < MinSignatureLifetime:
				l.errf(at.attr("signature_lifetime"), "signature_lifetime too short", "Signatures are made again when a third of their lifetime is left, and that third must leave room for secondaries to follow: give at least %q; got %q.", MinSignatureLifetime.String(), *r.SignatureLifetime)
			case v > MaxSignatureLifetime:
				l.errf(at.attr("signature_lifetime"), "signature_lifetime too long", "A signature's validity is counted in 32-bit seconds and validators refuse far expirations: give at most %q (ten years); got %q.", MaxSignatureLifetime.String(), *r.SignatureLifetime)
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
	if v < 0 || v > MaxTTL {
		l.errf(rng, "Invalid ttl", "ttl is whole seconds from 0 to %d; got %d.", MaxTTL, v)
		return 0
	}
	return uint32(v)
}

// inRange checks that v is from lo to hi, reporting it as attr at rng.
func (l *loader) inRange(v, lo, hi int, rng hcl.Range, attr string) bool {
	if v < lo || v > hi {
		l.errf(rng, "Invalid "+attr, "%s must be from %d to %d; got %d.", attr, lo, hi, v)
		return false
	}
	return true
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
