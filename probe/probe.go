// Package probe checks the health of targets over HTTP, HTTPS, PING, SMTP
// and TCP, and schedules one probe round per distinct target per interval.
//
// Each protocol lives in its own file and implements Func: one attempt,
// bounded by the context's deadline, reporting its outcome as a Result whose
// Message says why a target is down ("connection refused", "HTTP 503",
// "timeout after 2s", "expected string not found"). A probe that could not
// run for a reason on this host (out of descriptors, a source address that
// is not local) is Local: its target's status is unknown, not down. Round
// adds the retries, and Scheduler spreads rounds of many targets over
// their intervals and watches the targets that ask for it.
package probe

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Protocol is the kind of probe run against a target.
type Protocol string

// The protocols a monitor block can name.
const (
	HTTP  Protocol = "HTTP"
	HTTPS Protocol = "HTTPS"
	PING  Protocol = "PING"
	SMTP  Protocol = "SMTP"
	TCP   Protocol = "TCP"
	NONE  Protocol = "NONE"
)

// StatusRule says which HTTP status codes count as up.
type StatusRule int

const (
	// AnyResponse accepts any HTTP response, including 3xx, 4xx and 5xx (the
	// GSLB rule when path, expected and header are all unset).
	AnyResponse StatusRule = iota
	// Require2xx accepts only 2xx responses.
	Require2xx
	// Require2xx3xx accepts 2xx and 3xx responses (the sf_pool rule).
	Require2xx3xx
)

// String returns the rule's name.
func (r StatusRule) String() string {
	switch r {
	case AnyResponse:
		return "any"
	case Require2xx:
		return "2xx"
	case Require2xx3xx:
		return "2xx3xx"
	}
	return "StatusRule(" + strconv.Itoa(int(r)) + ")"
}

// Default timing values, used when a Target leaves them zero.
const (
	DefaultInterval = time.Minute
	DefaultTimeout  = 10 * time.Second
	// MaxBodyBytes is how much of an HTTP(S) body is read and searched.
	MaxBodyBytes = 64 << 10
	// maxBannerBytes bounds an SMTP banner, all lines together.
	maxBannerBytes = 64 << 10
)

// Target is one thing to probe: a protocol, an address and port, and every
// probe option. Two targets with the same Key are probed once.
type Target struct {
	Protocol Protocol
	// Address is an IPv4 or IPv6 address, or an FQDN resolved at every round.
	Address string
	// Port defaults to 80 for HTTP and TCP, 443 for HTTPS, 25 for SMTP.
	Port int
	// Method is GET (the default) or POST; HTTP(S) only.
	Method string
	// Path is the request path, relative to "/"; HTTP(S) only.
	Path string
	// Host is the Host header and TLS server name; HTTP(S) only.
	Host string
	// Header holds extra request header lines, each "Name: value".
	Header []string
	// Expected is a case-sensitive substring the HTTP(S) body or the SMTP
	// banner must contain.
	Expected string
	// Body is the POST body; HTTP(S) only.
	Body string
	// TLSSkipVerify accepts any server certificate; HTTPS only.
	TLSSkipVerify bool
	// StatusRule says which HTTP status codes are up; HTTP(S) only.
	StatusRule StatusRule
	// Watch keeps one idle TCP connection to the target between rounds and
	// runs a round at once when the target closes or resets it (monitor
	// watch); HTTP, HTTPS, TCP and SMTP only. See Scheduler.
	Watch bool
	// Interval is the time between rounds; Timeout bounds each attempt
	// (default min(10s, Interval/2)); Retries is the number of retries
	// after a failed attempt.
	Interval, Timeout time.Duration
	Retries           int
}

// DefaultPort returns the port a protocol uses when none is set.
func DefaultPort(p Protocol) int {
	switch p {
	case HTTP, TCP:
		return 80
	case HTTPS:
		return 443
	case SMTP:
		return 25
	}
	return 0
}

// WithDefaults returns t with its protocol upper-cased, unset options filled
// with their defaults and options that its protocol ignores cleared, so that
// two targets that probe the same way compare equal.
func (t Target) WithDefaults() Target {
	t.Protocol = Protocol(strings.ToUpper(string(t.Protocol)))
	t.Address = strings.TrimSuffix(strings.TrimPrefix(t.Address, "["), "]")
	if t.Port == 0 {
		t.Port = DefaultPort(t.Protocol)
	}
	if t.Interval <= 0 {
		t.Interval = DefaultInterval
	}
	if t.Timeout <= 0 {
		t.Timeout = min(DefaultTimeout, t.Interval/2)
	}
	if t.Retries < 0 {
		t.Retries = 0
	}
	switch t.Protocol {
	case HTTP, HTTPS:
		t.Method = strings.ToUpper(t.Method)
		if t.Method == "" {
			t.Method = "GET"
		}
		if t.Path == "" {
			t.Path = "/"
		} else if !strings.HasPrefix(t.Path, "/") {
			t.Path = "/" + t.Path
		}
		if t.Protocol == HTTP {
			t.TLSSkipVerify = false
		}
		if len(t.Header) == 0 {
			t.Header = nil
		}
	default:
		keep := t.Expected
		if t.Protocol != SMTP {
			keep = ""
		}
		t = Target{Protocol: t.Protocol, Address: t.Address, Port: t.Port, Expected: keep,
			Interval: t.Interval, Timeout: t.Timeout, Retries: t.Retries, Watch: t.Watch}
		if t.Protocol == PING || t.Protocol == NONE {
			t.Port, t.Watch = 0, false
		}
	}
	return t
}

// Key returns a stable identity over every field of the target (after
// WithDefaults): equal keys are probed once. It starts with a readable
// "PROTOCOL address:port" and ends with a hash of the options.
func (t Target) Key() string {
	t = t.WithDefaults()
	// encoding/json writes struct fields in declaration order: deterministic.
	b, err := json.Marshal(t)
	if err != nil {
		panic("probe: marshal target: " + err.Error()) // plain data cannot fail
	}
	sum := sha256.Sum256(b)
	return string(t.Protocol) + " " + hostPort(t.Address, t.Port) + " " + hex.EncodeToString(sum[:8])
}

// Result is the outcome of one attempt or one round.
type Result struct {
	Target Target
	Key    string
	Up     bool
	// Local marks a round that failed for a reason on this host, not the
	// target's: no file descriptors, buffers or memory, or a source
	// address that is not local (see localErrnos). Up is false and Message
	// says what failed, but the round says nothing about the target, whose
	// status must not change: its outcome is unknown, not down.
	Local bool
	// RTT is the response time of the attempt that decided the result.
	RTT time.Duration
	// Message says why the target is down ("connection refused",
	// "HTTP 503"), or gives detail for an up target ("HTTP 200").
	Message string
	// Time is when the deciding attempt ended.
	Time time.Time
	// Addresses are, for an FQDN target whose round was up, the addresses
	// the name resolved to after the attempt (sorted); nil for an IP
	// target, or when the name did not resolve. A host-name pool entry
	// is served with them (docs/behaviour.md section 3).
	Addresses []netip.Addr
	// Site is the monitoring site that probed (set by the Scheduler).
	Site string
	// Attempts is how many attempts the round made.
	Attempts int
	// Scheduled is when the Scheduler meant the round to start, and
	// Lateness how long after that it started (set by the Scheduler).
	Scheduled time.Time
	Lateness  time.Duration
}

// Func runs one probe attempt. The context carries the attempt's deadline;
// a Func never outlives it and leaves no goroutine or descriptor behind.
type Func func(ctx context.Context, t Target) Result

// Round runs one probe round: an attempt plus up to t.Retries retries, each
// bounded by t.Timeout. It is up when any attempt succeeds; otherwise down
// with the last attempt's message, or Local when any attempt failed for a
// local reason (an attempt that could not run leaves the round undecided,
// whatever the others said).
func Round(ctx context.Context, t Target, p Func) Result {
	t = t.WithDefaults()
	return round(ctx, t, t.Key(), p)
}

// round is Round for a target already with its defaults and its key.
func round(ctx context.Context, t Target, key string, p Func) Result {
	var r, local Result
	for attempt := 1; attempt <= t.Retries+1; attempt++ {
		actx, cancel := context.WithTimeout(ctx, t.Timeout)
		r = p(actx, t)
		if !r.Up && !r.Local && expired(actx) && ctx.Err() == nil {
			r.Message = timeoutMessage(t)
		}
		cancel()
		r.Target, r.Key, r.Attempts = t, key, attempt
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		if r.Local {
			local = r
		}
		if r.Up || ctx.Err() != nil {
			break
		}
	}
	switch {
	case r.Up:
	case ctx.Err() != nil:
		r.Message, r.Local = "canceled", false
	case local.Local:
		local.Attempts = r.Attempts
		r = local
	}
	return r
}

// ProberOptions configures the probers returned by Probers.
type ProberOptions struct {
	// Version goes into the User-Agent header: failoverd/<version>.
	Version string
	// Resolver resolves FQDN targets; nil uses net.DefaultResolver.
	Resolver *net.Resolver
	// RootCAs verifies HTTPS certificates; nil uses the system roots.
	RootCAs *x509.CertPool
	// PingUnprivileged sends PING over unprivileged ICMP datagram sockets
	// (net.ipv4.ping_group_range) instead of raw sockets. Left false,
	// Probers picks what works, as CheckPing does.
	PingUnprivileged bool
	// Source is the source address of every outgoing probe (server
	// probe_source); the zero Addr lets the system choose. It applies to
	// targets of its own address family: the other family's targets are
	// probed from the system's choice, as there is no address to use. A
	// source that is not local makes every probe fail locally (Local).
	Source netip.Addr

	// tcpDialer is dialer(), made once by withDefaults and shared by all
	// rounds (a Dialer is safe for concurrent use once configured).
	tcpDialer *net.Dialer
}

// Probers returns the probe function of every protocol.
func Probers(o ProberOptions) map[Protocol]Func {
	return o.withDefaults().probers()
}

// withDefaults fills o's unset options as Probers does.
func (o ProberOptions) withDefaults() ProberOptions {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if !o.PingUnprivileged {
		if m, err := pingMode(); err == nil && !m {
			o.PingUnprivileged = true
		}
	}
	o.tcpDialer = o.dialer()
	return o
}

// probers returns the probe function of every protocol (o after
// withDefaults).
func (o ProberOptions) probers() map[Protocol]Func {
	return map[Protocol]Func{
		HTTP:  o.withAddresses(o.probeHTTP),
		HTTPS: o.withAddresses(o.probeHTTP),
		PING:  o.withAddresses(o.probePing),
		SMTP:  o.withAddresses(o.probeSMTP),
		TCP:   o.withAddresses(o.probeTCP),
		NONE:  probeNone,
	}
}

// withAddresses makes f report, for an FQDN target that is up, the
// addresses the name resolves to now. The lookup comes after the attempt so
// that the attempt's own resolution and its messages stay as they are; it
// shares the attempt's deadline, and a lookup that fails leaves Addresses
// nil (the consumer keeps the addresses it knew).
func (o ProberOptions) withAddresses(f Func) Func {
	return func(ctx context.Context, t Target) Result {
		r := f(ctx, t)
		if !r.Up {
			return r
		}
		if _, err := netip.ParseAddr(t.Address); err == nil {
			return r
		}
		ips, err := o.Resolver.LookupNetIP(ctx, "ip", t.Address)
		if err != nil || len(ips) == 0 {
			return r
		}
		for i := range ips {
			ips[i] = ips[i].Unmap()
		}
		slices.SortFunc(ips, netip.Addr.Compare)
		r.Addresses = slices.Compact(ips)
		return r
	}
}

// probeNone never probes: the target is always up.
func probeNone(_ context.Context, t Target) Result {
	return Result{Target: t, Up: true, Time: time.Now()}
}

// hostPort joins an address and a port, bracketing IPv6 addresses.
func hostPort(addr string, port int) string {
	if port == 0 {
		return addr
	}
	return net.JoinHostPort(addr, strconv.Itoa(port))
}

// dial opens a TCP connection to the target, resolving an FQDN now. The
// connection's deadline is the context's, and it is closed when the context
// ends, so no I/O on it can outlive the attempt.
func (o ProberOptions) dial(ctx context.Context, t Target) (net.Conn, error) {
	d := o.tcpDialer
	if d == nil {
		d = o.dialer()
	}
	conn, err := d.DialContext(ctx, "tcp", hostPort(t.Address, t.Port))
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Closing on cancellation covers contexts without a deadline too.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	return &ctxConn{Conn: conn, stop: stop}, nil
}

// dialer returns the dialer of TCP probes: it resolves with o.Resolver and
// binds o.Source to the connections of its address family. Keep-alive is
// off: a probe connection lives one attempt, shorter than any keep-alive
// idle time, and turning it on costs four system calls per connection.
func (o ProberOptions) dialer() *net.Dialer {
	d := &net.Dialer{Resolver: o.Resolver, KeepAlive: -1}
	if o.Source.IsValid() {
		d.ControlContext = o.bindSource
	}
	return d
}

// bindSource binds a socket about to connect to o.Source when the families
// match. It is a dialer Control hook rather than Dialer.LocalAddr so that
// an FQDN's addresses of the other family are still dialed, and so that
// IP_BIND_ADDRESS_NO_PORT can leave the port to connect: a port reserved
// at bind would be unique across all destinations, and 10,000 targets'
// TIME_WAIT sockets would exhaust the ephemeral range.
func (o ProberOptions) bindSource(_ context.Context, network, _ string, c syscall.RawConn) error {
	src := o.Source.Unmap()
	var sa unix.Sockaddr
	switch {
	case network == "tcp4" && src.Is4():
		sa = &unix.SockaddrInet4{Addr: src.As4()}
	case network == "tcp6" && src.Is6():
		sa6 := &unix.SockaddrInet6{Addr: src.As16()}
		if z := src.Zone(); z != "" { // a link-local source names its interface
			ifi, err := net.InterfaceByName(z)
			if err != nil {
				return err
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	default:
		return nil
	}
	var err error
	ctlErr := c.Control(func(fd uintptr) {
		// Linux >= 4.2; older kernels bind the port at once, which works.
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		err = unix.Bind(int(fd), sa)
	})
	if ctlErr != nil {
		return ctlErr
	}
	return os.NewSyscallError("bind", err)
}

// ctxConn unregisters its close-on-cancel hook when closed.
type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c *ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// expired reports whether ctx's deadline has passed. A connection deadline
// set to the same instant can fire a moment before the context's own timer,
// so the clock is checked too.
func expired(ctx context.Context) bool {
	if ctx.Err() == context.DeadlineExceeded {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// timeoutMessage is the message of an attempt that ran out of time.
func timeoutMessage(t Target) string {
	return "timeout after " + t.Timeout.String()
}

// failure builds the Result of an attempt that failed with err: down, or
// Local when err is a local failure.
func failure(ctx context.Context, t Target, start time.Time, err error) Result {
	r := Result{Target: t, RTT: time.Since(start), Message: errMessage(ctx, t, err), Time: time.Now()}
	if !expired(ctx) && ctx.Err() == nil && isLocal(err) {
		r.Local, r.Message = true, "cannot probe: "+r.Message
	}
	return r
}

// localErrnos are the errors of a probe that could not run because of this
// host: out of descriptors (EMFILE, ENFILE), socket buffers (ENOBUFS) or
// memory (ENOMEM), or an address it cannot use (EADDRNOTAVAIL: a source
// address that is not local, or no ephemeral port left). ENETUNREACH and
// EHOSTUNREACH are not here: a router on the way reports them too, for a
// target that is really unreachable.
var localErrnos = []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRNOTAVAIL}

// isLocal reports whether err is a local failure (see localErrnos).
func isLocal(err error) bool {
	for _, errno := range localErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// errMessage turns an attempt's error into a short message.
func errMessage(ctx context.Context, t Target, err error) string {
	var dnsErr *net.DNSError
	var errno syscall.Errno
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	switch {
	case expired(ctx) || errors.Is(err, context.DeadlineExceeded):
		return timeoutMessage(t)
	case ctx.Err() != nil:
		return "canceled"
	case errors.As(err, &dnsErr):
		return dnsErr.Error()
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return timeoutMessage(t)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by peer"
	case errors.As(err, &unknownCA):
		return "tls: " + unknownCA.Error()
	case errors.As(err, &badHost):
		return "tls: " + badHost.Error()
	case errors.As(err, &badCert):
		return "tls: " + badCert.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}
