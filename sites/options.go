package sites

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults of the etcd block.
const (
	DefaultPrefix      = "/failoverd/"
	DefaultLeaseTTL    = 5 * time.Second
	DefaultDialTimeout = 2 * time.Second
	MinLeaseTTL        = 2 * time.Second

	// DefaultRTTChange and DefaultRTTRefresh throttle response-time
	// updates: see Options.
	DefaultRTTChange  = 0.2
	DefaultRTTRefresh = 30 * time.Second

	// DefaultMaxTxnOps is etcd's default --max-txn-ops.
	DefaultMaxTxnOps = 128

	// DefaultRetention is how long delivered events and finished jobs stay
	// in etcd.
	DefaultRetention = time.Hour
)

// Options mirror the etcd block plus what the node says about itself.
type Options struct {
	Endpoints   []string      // http:// or https:// URLs; required
	Prefix      string        // every key lives under it; default DefaultPrefix
	LeaseTTL    time.Duration // default DefaultLeaseTTL, at least MinLeaseTTL; rounded up to whole seconds (etcd leases are in seconds)
	DialTimeout time.Duration // default DefaultDialTimeout
	CAFile      string        // optional TLS: CA bundle
	CertFile    string        // optional client certificate and key
	KeyFile     string
	Username    string // optional etcd auth
	Password    string // read by the caller from password_file

	Site         string // server.site: unique per node; required
	Hostname     string // server.hostname, shown to a node refused for a duplicate site
	Version      string // the failoverd version, shown in GET /v1/sites
	ConfigDigest string // digest of the services and zones; differing from the leader's is logged as an error

	// RTTChange and RTTRefresh throttle response-time writes: a changed
	// RTT alone (same status and message) is written when it moved by more
	// than RTTChange (a fraction of the last written one) and the target's
	// last write is at least RTTRefresh old. Defaults DefaultRTTChange and
	// DefaultRTTRefresh.
	RTTChange  float64
	RTTRefresh time.Duration

	// MaxTxnOps bounds the operations of one etcd transaction (the
	// server's --max-txn-ops); default DefaultMaxTxnOps.
	MaxTxnOps int
	// Retention is how long delivered events and finished jobs are kept;
	// default DefaultRetention.
	Retention time.Duration

	// Callbacks, each optional. They are called one at a time from the
	// package's goroutines, must not block for long, and must not call
	// Submit (which waits for those goroutines).
	//
	// OnReports is called with every live site's reports on each target
	// one of whose reports changed (a site publishing, a site's lease
	// expiring); an empty list means no live site reports on it any more.
	OnReports func(changed map[string][]Report)
	// OnSites is called when the live sites or the leader change.
	OnSites func(SitesView)
	// OnCommitted is called with every committed change, in revision
	// order, also the leader's own commits; Full marks a complete state
	// (the first one and after a resync) that replaces everything held.
	OnCommitted func(Committed)
	// OnLeader is called when this node becomes leader (true) and when it
	// stops being leader (false).
	OnLeader func(bool)
	// OnCommand is called on the leader with each operator command not
	// yet committed, in submission order; the leader applies it and
	// commits a Done for it.
	OnCommand func(Command)
	// OnConnection is called when the connection state changes.
	OnConnection func(Connection)
}

// Connection is the node's link to etcd.
type Connection struct {
	// Connected is false when etcd has not answered a lease keep-alive
	// for a third of lease_ttl plus dial_timeout.
	Connected bool
	// Partitioned is true once the node has been disconnected for longer
	// than lease_ttl: the other sites no longer count its votes, so
	// etcd.on_partition applies.
	Partitioned bool
	// Since is when Connected last changed.
	Since time.Time
}

// withDefaults fills zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if len(o.Endpoints) == 0 {
		errs = append(errs, errors.New("no endpoints"))
	}
	for _, ep := range o.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoint %q: want http://host:port or https://host:port", ep))
		}
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(o.Prefix, "/") || !strings.HasSuffix(o.Prefix, "/") {
		errs = append(errs, fmt.Errorf("prefix %q: must start and end with /", o.Prefix))
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.LeaseTTL < MinLeaseTTL {
		errs = append(errs, fmt.Errorf("lease_ttl %s: at least %s", o.LeaseTTL, MinLeaseTTL))
	}
	if r := o.LeaseTTL % time.Second; r != 0 {
		o.LeaseTTL += time.Second - r
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.Site == "" || strings.Contains(o.Site, "/") {
		errs = append(errs, fmt.Errorf("site %q: want a non-empty code without /", o.Site))
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, errors.New("cert_file and key_file go together"))
	}
	if o.Username == "" && o.Password != "" {
		errs = append(errs, errors.New("a password without a username"))
	}
	if o.RTTChange <= 0 {
		o.RTTChange = DefaultRTTChange
	}
	if o.RTTRefresh <= 0 {
		o.RTTRefresh = DefaultRTTRefresh
	}
	if o.MaxTxnOps <= 0 {
		o.MaxTxnOps = DefaultMaxTxnOps
	}
	if o.MaxTxnOps < 4 {
		errs = append(errs, fmt.Errorf("max txn ops %d: at least 4", o.MaxTxnOps))
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	return o, errors.Join(errs...)
}

// tlsConfig builds the client TLS configuration, nil for plain http
// endpoints without TLS files.
func (o Options) tlsConfig() (*tls.Config, error) {
	https := false
	for _, ep := range o.Endpoints {
		https = https || strings.HasPrefix(ep, "https://")
	}
	if !https && o.CAFile == "" && o.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
