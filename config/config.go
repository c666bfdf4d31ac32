// Package config loads and validates failoverd's HCL configuration.
//
// Load parses one file or a directory of *.hcl files (in parallel, large
// files in chunks), decodes them with gohcl's rules and diagnostics, applies
// every default of the configuration reference and checks every rule,
// returning all problems as hcl.Diagnostics with file, line and column.
// WriteDiagnostics renders them in the `failoverd validate` format.
//
// The Config it returns is plain data: names are normalised (absolute,
// lower-case, trailing dot), durations are time.Duration, relative file paths
// are absolute. No runtime package imports config; the daemon translates it
// into each package's own options.
package config

import (
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Bounds of the numeric attributes, checked by Load; the control API
// checks the values it accepts against the same bounds.
const (
	// MaxTTL is the largest ttl (RFC 2181: 2^31 - 1 seconds); the smallest
	// is 0.
	MaxTTL = 1<<31 - 1
	// MaxPort is the largest port (monitor, syslog, real_service); the
	// smallest is 1.
	MaxPort = 65535
	// MaxPoolWeight is the largest gslb and rttm pool weight; the smallest
	// is 1.
	MaxPoolWeight = 15
	// MaxRealServiceWeight is the largest cluster real_service weight: it
	// is served as the SRV weight, a 16-bit field. The smallest is 0 (no
	// new traffic).
	MaxRealServiceWeight = 65535
	// MaxRegionCount bounds serve_count (at least 1), min_healthy, ep,
	// apmc and epmc (at least 0): more records than fit one UDP answer.
	MaxRegionCount = 64
	// MaxRetries bounds monitor retries; the smallest is 0.
	MaxRetries = 10
	// MaxRecoveryDelay bounds recovery_delay, in monitoring rounds; the
	// smallest is 0.
	MaxRecoveryDelay = 1000
	// MaxResponsesPerSecond bounds dns.rrl.responses_per_second; the
	// smallest is 1.
	MaxResponsesPerSecond = 1_000_000
	// MaxSlip bounds dns.rrl.slip; the smallest is 0 (drop every limited
	// response).
	MaxSlip = 10
	// MinIPv4Prefix and MinIPv6Prefix are the shortest dns.rrl client
	// prefixes; the longest are 32 and 128.
	MinIPv4Prefix = 8
	MinIPv6Prefix = 16
)

// Config is a complete, validated failoverd configuration.
type Config struct {
	// Dir is the absolute directory of the configuration (the directory given
	// to Load, or the directory holding the file given to Load).
	Dir string
	// Files lists the absolute paths of the files that were loaded, sorted.
	Files []string

	// Server holds the daemon settings (server block).
	Server Server
	// TSIGKeys are the tsig_key blocks in configuration order.
	TSIGKeys []*TSIGKey
	// DNS holds the DNS server settings (dns block).
	DNS DNS
	// API holds the control API settings (api block).
	API API
	// SMTP is nil when no smtp block is configured.
	SMTP *SMTP
	// Contacts maps a contact nickname to the contact.
	Contacts map[string]*Contact

	// Zones, services and clusters, each in configuration order (files in
	// name order, blocks in file order).
	Zones           []*Zone
	ActiveFailovers []*ActiveFailover
	GSLBs           []*GSLB
	RTTMs           []*RTTM
	SFPools         []*SFPool
	Clusters        []*Cluster

	// Etcd is nil without an etcd block: a single node.
	Etcd *Etcd
}

// Server holds the daemon settings of the server block.
type Server struct {
	// Hostname renders as %hos and is the SOA mname, without a trailing dot;
	// default os.Hostname().
	Hostname string
	// Site is the code of this monitoring site (%sit); default "local".
	Site string
	// StateDir is the absolute state directory; default "./state", resolved
	// against the current working directory.
	StateDir string
	// LogLevel is one of debug, info, warn, error; default "info".
	LogLevel string
	// LogFormat is json or console; default "json".
	LogFormat string
	// HistoryRetention is how long events are kept; default 720h.
	HistoryRetention time.Duration
	// ManagedDir is the absolute directory of the API-managed services, one
	// <fqdn>.hcl.json file each; default StateDir/managed.
	ManagedDir string
	// StateDirRange is where state_dir is set (zero without a server block).
	StateDirRange hcl.Range
	// ProbeSource is the source address of every outgoing probe; the zero
	// Addr (IsValid false) when unset.
	ProbeSource netip.Addr
}

// DNS holds the settings of the dns block.
type DNS struct {
	// Listen lists host:port addresses, each served over UDP and TCP;
	// default ["127.0.0.1:5353"].
	Listen []string
	// ECS enables EDNS Client Subnet for region selection; default true.
	ECS bool
	// RegionMap maps a region code to the client prefixes in that region.
	RegionMap map[string][]netip.Prefix
	// GeoIPDatabase is the absolute path of a MaxMind database, or "".
	GeoIPDatabase string
	// Transfer is nil when zone transfers are disabled.
	Transfer *Transfer
	// ListenRanges are where each Listen element is written (zero ranges
	// for the default).
	ListenRanges []hcl.Range
	// GeoIPDatabaseRange and RegionMapRange are where geoip_database and
	// region_map are set.
	GeoIPDatabaseRange, RegionMapRange hcl.Range
	// RRL is nil when response rate limiting is off.
	RRL *RRL
	// Cookies enables DNS Cookies (RFC 7873) on UDP; default true.
	Cookies bool
	// HideIdentity refuses version.bind and id.server queries; default
	// false.
	HideIdentity bool
}

// Transfer configures AXFR/IXFR and NOTIFY.
type Transfer struct {
	// Allow lists the prefixes that may transfer zones.
	Allow []netip.Prefix
	// Notify lists host:port addresses of secondaries (port 53 when omitted).
	Notify []string
	// TSIG is the key transfer requests must be signed with, and NOTIFY is
	// signed with; nil when transfers are not signed. It is one of
	// Config.TSIGKeys.
	TSIG *TSIGKey
}

// RRL configures response rate limiting (dns.rrl).
type RRL struct {
	// ResponsesPerSecond is the limit per client prefix and response kind.
	ResponsesPerSecond int
	// Slip: every Slip-th limited UDP response is sent truncated instead of
	// dropped; 0 drops them all. Default 2.
	Slip int
	// IPv4Prefix and IPv6Prefix are the lengths of the client prefixes
	// counted together; default 24 and 56.
	IPv4Prefix int
	IPv6Prefix int
	// Exempt lists the client prefixes never limited.
	Exempt []netip.Prefix
}

// TSIG algorithms (RFC 8945), as written in the configuration.
const (
	TSIGHmacSHA256 = "hmac-sha256"
	TSIGHmacSHA512 = "hmac-sha512"
	TSIGHmacSHA1   = "hmac-sha1"
)

// TSIGKey is a tsig_key block.
type TSIGKey struct {
	// Name is the key name: absolute, lower-case, with a trailing dot.
	Name string
	// Algorithm is TSIGHmacSHA256, TSIGHmacSHA512 or TSIGHmacSHA1; default
	// TSIGHmacSHA256.
	Algorithm string
	// Secret is the base64 secret, from the secret attribute or read from
	// secret_file (white space around it removed).
	Secret string
	// DefRange is where the tsig_key block is defined.
	DefRange hcl.Range
}

// API holds the settings of the api block.
type API struct {
	// Listen is the host:port of the control API; default "127.0.0.1:8053".
	Listen string
	// TokenFile is the absolute path of the bearer token file, or "".
	TokenFile string
	// ListenRange and TokenFileRange are where listen and token_file are
	// set (zero without an api block).
	ListenRange, TokenFileRange hcl.Range
	// TLSCertFile and TLSKeyFile are the absolute paths of the HTTPS
	// certificate and key (both checked to load as a pair), or both "".
	TLSCertFile string
	TLSKeyFile  string
	// Compat switches on the hosted products' own APIs (api.compat).
	Compat Compat
}

// Compat says which hosted products' APIs are served beside the native one
// (docs/api.md); each is off by default.
type Compat struct {
	// Dyn serves the Dyn REST API under /REST/.
	Dyn bool
	// UltraDNS serves the UltraDNS REST API under /v1/authorization/token
	// and /v1/zones/ (and the same paths without /v1).
	UltraDNS bool
	// Memset serves Memset's API under /v1/json/ and /v1/xmlrpc/.
	Memset bool
}

// SMTP configures the e-mail sender.
type SMTP struct {
	// Server is host:port (port 25 when omitted).
	Server string
	// From is the envelope and header sender.
	From string
	// Username is optional; used with PasswordFile.
	Username string
	// PasswordFile is the absolute path of the password file, or "".
	PasswordFile string
	// StartTLS is never, opportunistic or required; default "opportunistic".
	StartTLS string
	// PasswordFileRange is where password_file is set.
	PasswordFileRange hcl.Range
}

// Etcd joins the node to a multi-site deployment (docs/operations.md,
// "Running several sites").
type Etcd struct {
	// Endpoints are http:// or https:// URLs of etcd members; required.
	Endpoints []string
	// Prefix holds every key; default "/failoverd/".
	Prefix string
	// LeaseTTL is how long a silent site keeps its votes; default 5s, at
	// least 2s.
	LeaseTTL time.Duration
	// DialTimeout bounds a connection attempt; default 2s.
	DialTimeout time.Duration
	// CAFile, CertFile and KeyFile are absolute paths, or "".
	CAFile, CertFile, KeyFile string
	// Username logs in with the password in PasswordFile (absolute path).
	Username     string
	PasswordFile string
	// Quorum is "majority", "any", "all" or a decimal number >= 1;
	// default "majority".
	Quorum string
	// OnPartition is "local" or "freeze"; default "local".
	OnPartition string
}

// Contact is a named list of e-mail addresses.
type Contact struct {
	// Name is the nickname services refer to with contact_nickname.
	Name string
	// Email lists the addresses notified.
	Email []string
}

// Zone is an authoritatively served zone.
type Zone struct {
	// Name is absolute, lower-case, with a trailing dot.
	Name string
	// File is the absolute path of an RFC 1035 master file, or "".
	File string
	// TTL is the default TTL of inline records; default 3600.
	TTL uint32
	// NS lists absolute name server names; empty means the DNS server
	// applies its own default (server.hostname) unless the file has NS.
	NS []string
	// Records are the inline record blocks.
	Records []*Record
	// DNSSEC is nil when the zone is served unsigned.
	DNSSEC *DNSSEC
	// DefRange is where the zone block is defined.
	DefRange hcl.Range
	// FileRange is where file is set.
	FileRange hcl.Range
}

// DNSSEC is a zone's online signing (docs/operations.md, "Signing a zone").
type DNSSEC struct {
	// Algorithm is DNSSECAlgorithmECDSAP256 or DNSSECAlgorithmED25519.
	Algorithm string
	// AlgorithmSet says algorithm was written: a key_file must then be of
	// that algorithm (otherwise the key's own is used).
	AlgorithmSet bool
	// KeyFile is the absolute path of a BIND-format public key file
	// (K<zone>+<alg>+<tag>.key, its .private beside it), or "" for a key
	// generated and kept under server.state_dir.
	KeyFile string
	// SignatureLifetime is how long a signature is valid from its making;
	// signatures are made again when a third of it is left.
	SignatureLifetime time.Duration
	// InceptionOffset backdates every signature's inception (clock skew).
	InceptionOffset time.Duration
	// DefRange is where the dnssec block is defined; the others where each
	// attribute is set (DefRange when it is not).
	DefRange, AlgorithmRange, KeyFileRange, SignatureLifetimeRange hcl.Range
}

// DNSSEC signing algorithms.
const (
	DNSSECAlgorithmECDSAP256 = "ECDSAP256SHA256"
	DNSSECAlgorithmED25519   = "ED25519"
)

// DNSSECAlgorithms are the accepted dnssec.algorithm values (dnsserver
// signs with each).
var DNSSECAlgorithms = []string{DNSSECAlgorithmECDSAP256, DNSSECAlgorithmED25519}

// MinSignatureLifetime is the shortest signature_lifetime accepted: a
// signature is made again when a third of its lifetime is left, and that
// third must leave room for the new signatures to reach every secondary.
const MinSignatureLifetime = 15 * time.Second

// MaxSignatureLifetime is the longest signature_lifetime accepted (BIND's
// bound, ten years).
const MaxSignatureLifetime = 3660 * 24 * time.Hour

// Record is one inline static resource record set.
type Record struct {
	// Name is the absolute, lower-case owner name with a trailing dot.
	Name string
	// Type is the upper-case record type, e.g. "A".
	Type string
	// TTL defaults to the zone's TTL.
	TTL uint32
	// RData holds the record data in presentation format, one per record.
	RData []string
	// DefRange is where the record block is defined.
	DefRange hcl.Range
	// TypeRange is where type is set; RDataRanges where each RData
	// element is written.
	TypeRange   hcl.Range
	RDataRanges []hcl.Range
}

// Monitor protocols.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	ProtocolPING  = "PING"
	ProtocolSMTP  = "SMTP"
	ProtocolTCP   = "TCP"
	ProtocolNONE  = "NONE"
)

// Monitor is a health monitor of an active_failover, gslb, rttm or cluster
// service.
type Monitor struct {
	// Protocol is one of HTTP, HTTPS, PING, SMTP, TCP, NONE.
	Protocol string
	// Interval is at least one second.
	Interval time.Duration
	// Retries after a failed attempt; 0..10, default 1.
	Retries int
	// Timeout per attempt; default min(10s, Interval/2).
	Timeout time.Duration
	// Port defaults by protocol: 80 HTTP and TCP, 443 HTTPS, 25 SMTP, 0 PING
	// and NONE. In cluster services 0 means each real service's own port.
	Port int
	// Path is the HTTP(S) path, starting with "/" when set.
	Path string
	// Host is the HTTP(S) Host header and TLS server name.
	Host string
	// Header lists extra HTTP(S) header lines ("Name: value").
	Header []string
	// Expected is the substring the body (HTTP(S)) or banner (SMTP) must hold.
	Expected string
	// TLSSkipVerify accepts any certificate (HTTPS).
	TLSSkipVerify bool
	// Watch keeps an idle connection to the target between rounds and
	// probes again at once when the target closes it (HTTP, HTTPS, TCP,
	// SMTP); default false.
	Watch bool
	// DefRange is where the monitor block is defined.
	DefRange hcl.Range
}

// Syslog configures syslog notifications of a service.
type Syslog struct {
	// Server is a host name or IP address.
	Server string
	// Port defaults to 514.
	Port int
	// Transport is udp or tcp; default "udp".
	Transport string
	// Protocol is rfc3164 or rfc5424; default "rfc3164".
	Protocol string
	// Ident defaults to "dynect".
	Ident string
	// Facility is a syslog facility name; default "daemon".
	Facility string
	// Delivery is change or all; default "change".
	Delivery string
	// ProbeFmt defaults to DefaultProbeFmt.
	ProbeFmt string
	// StatusFmt defaults to DefaultStatusFmt.
	StatusFmt string
	// RTTMFmt defaults to DefaultRTTMFmt (rttm services only; "" elsewhere).
	RTTMFmt string
}

// Documented default syslog formats.
const (
	DefaultProbeFmt  = "%hos probe %tim: %sit %sta %rti%msg%adr"
	DefaultStatusFmt = "%hos status %tim: %reg %sta %ser %rda"
	DefaultRTTMFmt   = "%hos rttm %tim: %reg %sta %med %rts"
)

// Service holds the options shared by active_failover, gslb and rttm.
type Service struct {
	// FQDN is absolute, lower-case, with a trailing dot.
	FQDN string
	// TTL of served records; default min(30, Monitor.Interval/2 seconds).
	TTL uint32
	// NotifyEvents is a subset of ip, svc, nosrv; default ["svc"].
	NotifyEvents []string
	// ContactNickname names a Contact, or "".
	ContactNickname string
	// Active is false when the service is not monitored; default true.
	Active bool
	// AutoRecover leaves failover as soon as the condition clears; default true.
	AutoRecover bool
	// RecoveryDelay is the number of extra up rounds before recovery; default 0.
	RecoveryDelay int
	// Monitor is the health monitor (never nil in a loaded Config).
	Monitor *Monitor
	// Syslog is nil when the service has no syslog block.
	Syslog *Syslog
	// DefRange is where the service block is defined.
	DefRange hcl.Range
}

// ActiveFailover is an active_failover service.
type ActiveFailover struct {
	Service
	// Address is the monitored primary: a canonical IP address, or an
	// absolute lower-case FQDN (served as a CNAME).
	Address string
	// FailoverMode is ip or cname; default "ip".
	FailoverMode string
	// FailoverData is the backup IP (ip) or absolute CNAME target (cname).
	FailoverData string
}

// AddressIsName reports whether Address is an FQDN rather than an IP.
func (a *ActiveFailover) AddressIsName() bool { return strings.HasSuffix(a.Address, ".") }

// GSLB is a gslb service.
type GSLB struct {
	Service
	// Regions in configuration order; one has Code "global".
	Regions []*Region
}

// RTTM is an rttm service.
type RTTM struct {
	Service
	// PerformanceMonitor measures response times for the eligibility pool;
	// nil when not configured.
	PerformanceMonitor *Monitor
	// Regions in configuration order; one has Code "global".
	Regions []*Region
}

// Region is a region of a gslb or rttm service.
type Region struct {
	// Code is a built-in region code or a dns.region_map key.
	Code string
	// ServeCount is the number of records per answer; default 1.
	ServeCount int
	// MinHealthy: failover when fewer healthy addresses (gslb); default 1.
	MinHealthy int
	// FailoverMode is ip, cname, region or global; default "global".
	FailoverMode string
	// FailoverData: an IP (ip), absolute CNAME target (cname), region code
	// (region), or "" (global).
	FailoverData string
	// Autopopulate (rttm): Pool holds copies of the global region's entries.
	Autopopulate bool
	// EP (rttm) is the eligibility pool size; 0 means all.
	EP int
	// APMC (rttm): failover when fewer addresses are up; default 1
	// (min_healthy, when given in an rttm region, sets it).
	APMC int
	// EPMC (rttm): failover when fewer addresses are in the EP; default 1.
	EPMC int
	// Pool lists the region's addresses.
	Pool []*PoolEntry
	// DefRange is where the region block is defined.
	DefRange hcl.Range
}

// Serve modes of a pool entry.
const (
	ServeAlways = "always"
	ServeObey   = "obey"
	ServeRemove = "remove"
	ServeNo     = "no"
)

// PoolEntry is one address of a region pool.
type PoolEntry struct {
	// Address is a canonical IP address.
	Address string
	// Label is a free description.
	Label string
	// Weight is 1..MaxPoolWeight; default 1.
	Weight int
	// ServeMode is always, obey, remove or no; default "obey".
	ServeMode string
	// DefRange is where the pool block is defined.
	DefRange hcl.Range
}

// SFPool is a Simple Monitor / Simple Failover pool.
type SFPool struct {
	// FQDN is absolute, lower-case, with a trailing dot.
	FQDN string
	// RRType is A or AAAA; default "A".
	RRType string
	// TTL defaults to 300.
	TTL uint32
	// RData is the live record: a canonical address of RRType's family.
	RData                 string
	PoolDescription       string
	LiveRecordDescription string
	// LiveRecordState is NOT_FORCED or FORCED_INACTIVE; default NOT_FORCED.
	LiveRecordState string
	// RegionFailureSensitivity is LOW or HIGH; default "HIGH".
	RegionFailureSensitivity string
	// ContactNickname names a Contact, or "".
	ContactNickname string
	// Monitor is the HTTP(S) monitor (never nil in a loaded Config).
	Monitor *SFMonitor
	// Backup is nil for a Simple Monitor (never fails over).
	Backup *BackupRecord
	// DefRange is where the sf_pool block is defined.
	DefRange hcl.Range
}

// SFMonitor is the HTTP(S) monitor of an sf_pool.
type SFMonitor struct {
	// Method is GET or POST; default "GET".
	Method string
	// URL is an absolute http or https URL.
	URL string
	// TransmittedData is the POST body.
	TransmittedData string
	// SearchString must be in the body when set.
	SearchString string
	// Interval defaults to 1m.
	Interval time.Duration
	// Timeout defaults to min(10s, Interval/2).
	Timeout time.Duration
	// Retries defaults to 1.
	Retries int
}

// BackupRecord is the failover record of an sf_pool.
type BackupRecord struct {
	// RData is a canonical address of the pool's RRType family.
	RData string
	// Description is free text, shorter than 255 characters.
	Description string
}

// Cluster is a load-balancer cluster.
type Cluster struct {
	// Name is 1-64 of A-Z a-z 0-9 - . _.
	Name string
	// Services are the cluster's services in configuration order.
	Services []*ClusterService
	// DefRange is where the cluster block is defined.
	DefRange hcl.Range
}

// ClusterService is a service of a cluster.
type ClusterService struct {
	// Name is the SRV service label (_<name>._<protocol>.<fqdn>).
	Name string
	// FQDN is absolute, lower-case, with a trailing dot.
	FQDN string
	// Protocol is the SRV protocol label; default "tcp".
	Protocol string
	// TTL of served records; default min(30, Monitor.Interval/2 seconds).
	TTL uint32
	// Monitor is the health monitor (never nil in a loaded Config); Port 0
	// means each real service's own port.
	Monitor *Monitor
	// RealServices are the service's servers in configuration order.
	RealServices []*RealService
	// DefRange is where the service block is defined.
	DefRange hcl.Range
}

// RealService is one server of a cluster service.
type RealService struct {
	// Name is a DNS label; the SRV target is <Name>.<service FQDN>.
	Name string
	// IPAddress is a canonical IP address.
	IPAddress string
	// Port is 1..65535.
	Port int
	// Weight is 0..MaxRealServiceWeight (the SRV weight); 0 means no new
	// traffic. Default 1.
	Weight int
	// Enabled defaults to true.
	Enabled bool
	// Fallback marks the server served only when no other is up.
	Fallback bool
	// DefRange is where the real_service block is defined.
	DefRange hcl.Range
}

// ZoneFor returns the configured zone that is the longest suffix of fqdn, or
// nil when fqdn lies outside every zone.
func (c *Config) ZoneFor(fqdn string) *Zone {
	return zoneFor(c.Zones, normalizeName(fqdn))
}

func zoneFor(zones []*Zone, name string) *Zone {
	var best *Zone
	for _, z := range zones {
		if inZone(name, z.Name) && (best == nil || len(z.Name) > len(best.Name)) {
			best = z
		}
	}
	return best
}

// inZone reports whether the absolute name lies at or below the absolute zone.
func inZone(name, zone string) bool {
	if zone == "." {
		return true
	}
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// normalizeName returns name lower-cased with a trailing dot.
func normalizeName(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
