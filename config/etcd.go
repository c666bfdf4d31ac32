package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults and bounds of the etcd block.
const (
	DefaultEtcdPrefix      = "/failoverd/"
	DefaultEtcdLeaseTTL    = 5 * time.Second
	MinEtcdLeaseTTL        = 2 * time.Second
	DefaultEtcdDialTimeout = 2 * time.Second
)

func (l *loader) etcd(r *rawEtcd) *Etcd {
	at := src{r.Body, r.DefRange}
	e := &Etcd{
		Endpoints:   r.Endpoints,
		Prefix:      DefaultEtcdPrefix,
		LeaseTTL:    DefaultEtcdLeaseTTL,
		DialTimeout: DefaultEtcdDialTimeout,
		Quorum:      "majority",
		OnPartition: "local",
	}
	if at.has("endpoints") && len(r.Endpoints) == 0 {
		l.errf(at.attr("endpoints"), "Missing etcd endpoints", "endpoints lists the etcd members, such as [\"https://10.0.0.1:2379\"].")
	}
	for i, ep := range r.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			l.errf(at.elem("endpoints", i), "Invalid etcd endpoint", "An endpoint is http://HOST:PORT or https://HOST:PORT, such as \"https://10.0.0.1:2379\"; got %q.", ep)
		}
	}
	if r.Prefix != nil {
		e.Prefix = *r.Prefix
		if !strings.HasPrefix(e.Prefix, "/") || !strings.HasSuffix(e.Prefix, "/") || len(e.Prefix) < 1 {
			l.errf(at.attr("prefix"), "Invalid prefix", "prefix starts and ends with \"/\", such as \"/failoverd/\"; got %q.", e.Prefix)
		}
	}
	if r.LeaseTTL != nil {
		if d, ok := l.duration(*r.LeaseTTL, at.attr("lease_ttl"), "lease_ttl"); ok {
			e.LeaseTTL = d
			if d < MinEtcdLeaseTTL {
				l.errf(at.attr("lease_ttl"), "Invalid lease_ttl", "lease_ttl is at least %q; got %q.", MinEtcdLeaseTTL.String(), *r.LeaseTTL)
			}
		}
	}
	if r.DialTimeout != nil {
		if d, ok := l.duration(*r.DialTimeout, at.attr("dial_timeout"), "dial_timeout"); ok {
			e.DialTimeout = d
			if d <= 0 {
				l.errf(at.attr("dial_timeout"), "Invalid dial_timeout", "dial_timeout is a positive duration such as \"2s\"; got %q.", *r.DialTimeout)
			}
		}
	}
	e.CAFile = l.etcdFile(r.CAFile, at, "ca_file")
	e.CertFile = l.etcdFile(r.CertFile, at, "cert_file")
	e.KeyFile = l.etcdFile(r.KeyFile, at, "key_file")
	switch {
	case e.CertFile != "" && e.KeyFile == "":
		l.errf(at.attr("cert_file"), "Missing key_file", "A client certificate needs its key: set key_file too, or remove cert_file.")
	case e.KeyFile != "" && e.CertFile == "":
		l.errf(at.attr("key_file"), "Missing cert_file", "A client key needs its certificate: set cert_file too, or remove key_file.")
	}
	if r.Username != nil {
		e.Username = *r.Username
	}
	if r.PasswordFile != nil && *r.PasswordFile != "" {
		e.PasswordFile = resolvePath(*r.PasswordFile, at.attr("password_file"))
		if _, ok := l.readSmallFile(e.PasswordFile, at.attr("password_file"), "password_file"); ok && e.Username == "" {
			l.errf(at.attr("password_file"), "Missing username", "password_file logs in to etcd with username: set username too, or remove password_file.")
		}
	}
	if r.Quorum != nil {
		e.Quorum = strings.TrimSpace(*r.Quorum)
		if !ValidQuorum(e.Quorum) {
			l.errf(at.attr("quorum"), "Invalid quorum", "quorum is \"majority\", \"any\", \"all\" or a number of sites of at least 1; got %q.", *r.Quorum)
		}
	}
	if r.OnPartition != nil {
		l.enum(*r.OnPartition, partitionModes, at.attr("on_partition"), "on_partition")
		e.OnPartition = *r.OnPartition
	}
	return e
}

// etcdFile resolves a TLS file of the etcd block and checks that it is a
// readable regular file; "" when unset.
func (l *loader) etcdFile(p *string, at src, attr string) string {
	if p == nil || *p == "" {
		return ""
	}
	path := resolvePath(*p, at.attr(attr))
	l.readCertFile(path, at.attr(attr), attr)
	return path
}

// ValidQuorum reports whether q is a quorum the etcd block accepts:
// majority, any, all or a decimal number of sites >= 1.
func ValidQuorum(q string) bool {
	switch q {
	case "majority", "any", "all":
		return true
	}
	n, err := strconv.Atoi(q)
	return err == nil && n >= 1 && q == strconv.Itoa(n)
}
