package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
)

// STARTTLS policies of the config "smtp" block.
const (
	StartTLSNever         = "never"
	StartTLSOpportunistic = "opportunistic"
	StartTLSRequired      = "required"
)

// SMTPOptions configures the e-mail sink (the config "smtp" block).
type SMTPOptions struct {
	Server        string // host:port; port 25 when missing
	From          string
	Username      string // optional; with Password enables SMTP AUTH
	Password      string
	StartTLS      string // never | opportunistic (default) | required
	TLSSkipVerify bool   // accept any server certificate (tests)
	// Timeout bounds the dial and each SMTP command; default 15s.
	Timeout time.Duration
	// GreetingTimeout bounds the wait for the server to start its 220
	// greeting after the TCP handshake; default 10s. A server that accepts
	// connections and never greets costs each attempt no more than this.
	GreetingTimeout time.Duration
}

// DefaultGreetingTimeout is SMTPOptions.GreetingTimeout when unset.
const DefaultGreetingTimeout = 10 * time.Second

// Mail is one queued e-mail.
type Mail struct {
	To      []string
	Subject string
	Body    string
	Date    time.Time
}

// SMTP is a Sink that sends each Mail in its own SMTP session through
// github.com/wneessen/go-mail. It keeps no connection between deliveries,
// so it is safe for concurrent use: the Dispatcher runs several e-mail
// workers on one SMTP sink.
type SMTP struct {
	opts SMTPOptions
	host string
	port int
}

var _ Sink = (*SMTP)(nil)

// NewSMTP returns an SMTP sink; it connects only when delivering.
func NewSMTP(opts SMTPOptions) (*SMTP, error) {
	host, portStr, err := net.SplitHostPort(opts.Server)
	if err != nil {
		host, portStr = opts.Server, "25"
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("smtp %s: bad port %q", opts.Server, portStr)
	}
	if host == "" {
		return nil, fmt.Errorf("smtp: no server")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.GreetingTimeout <= 0 {
		opts.GreetingTimeout = DefaultGreetingTimeout
	}
	switch opts.StartTLS {
	case "":
		opts.StartTLS = StartTLSOpportunistic
	case StartTLSNever, StartTLSOpportunistic, StartTLSRequired:
	default:
		return nil, fmt.Errorf("smtp %s: unknown starttls %q", opts.Server, opts.StartTLS)
	}
	return &SMTP{opts: opts, host: host, port: port}, nil
}

// Kind implements Sink.
func (s *SMTP) Kind() string { return "email" }

// client builds a go-mail client for one delivery. go-mail honours ctx only
// while dialling; so that a server that accepts and then stalls cannot hold
// a shutdown past its deadline, the connection is closed when ctx ends and
// the session timeout never outlasts ctx's deadline. stop releases the
// close-on-cancel hook.
func (s *SMTP) client(ctx context.Context) (c *mail.Client, stop func(), err error) {
	var mu sync.Mutex
	var stops []func() bool
	stop = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range stops {
			f()
		}
	}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		stops = append(stops, context.AfterFunc(ctx, func() { conn.Close() }))
		mu.Unlock()
		by := time.Now().Add(s.opts.GreetingTimeout)
		if dl, ok := dctx.Deadline(); ok && dl.Before(by) {
			by = dl
		}
		g, err := awaitGreeting(conn, by)
		if err != nil {
			conn.Close()
			return nil, err
		}
		return g, nil
	}
	timeout := s.opts.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	c, err = s.newClient(timeout, dial)
	return c, stop, err
}

func (s *SMTP) newClient(timeout time.Duration, dial mail.DialContextFunc) (*mail.Client, error) {
	policy := mail.TLSOpportunistic
	switch s.opts.StartTLS {
	case StartTLSNever:
		policy = mail.NoTLS
	case StartTLSRequired:
		policy = mail.TLSMandatory
	}
	copts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(timeout),
		mail.WithDialContextFunc(dial),
		mail.WithTLSPolicy(policy),
		mail.WithTLSConfig(&tls.Config{
			ServerName:         s.host,
			InsecureSkipVerify: s.opts.TLSSkipVerify, //nolint:gosec // opt-in, for tests
			MinVersion:         tls.VersionTLS12,
		}),
	}
	if s.opts.Username != "" {
		mechs := []mail.SMTPAuthType{
			mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthCramMD5,
			mail.SMTPAuthPlain, mail.SMTPAuthLogin,
		}
		if s.opts.StartTLS == StartTLSNever {
			// The operator chose a clear-text session: allow clear-text auth.
			mechs = append(mechs, mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc)
		}
		copts = append(copts,
			mail.WithOpportunisticSMTPAuth(mechs...),
			mail.WithUsername(s.opts.Username),
			mail.WithPassword(s.opts.Password))
	}
	return mail.NewClient(s.host, copts...)
}

// Deliver implements Sink: it sends one Mail to all its recipients.
func (s *SMTP) Deliver(ctx context.Context, m Message) error {
	if m.Mail == nil {
		return nil
	}
	msg := mail.NewMsg()
	if err := msg.From(s.opts.From); err != nil {
		return fmt.Errorf("smtp %s: from %q: %w", s.opts.Server, s.opts.From, err)
	}
	if err := msg.To(m.Mail.To...); err != nil {
		return fmt.Errorf("smtp %s: to %s: %w", s.opts.Server, strings.Join(m.Mail.To, ","), err)
	}
	msg.Subject(m.Mail.Subject)
	if !m.Mail.Date.IsZero() {
		msg.SetDateWithValue(m.Mail.Date)
	} else {
		msg.SetDate()
	}
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, m.Mail.Body)
	c, stop, err := s.client(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.opts.Server, err)
	}
	defer stop()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", s.opts.Server, err)
	}
	return nil
}

// awaitGreeting waits until by for the server to send the first bytes of
// its greeting and returns conn with them put back in front. go-mail bounds
// the greeting only by the whole session's timeout; this lets a silent
// server be given up on sooner than a slow one in the middle of a session.
func awaitGreeting(conn net.Conn, by time.Time) (net.Conn, error) {
	wait := time.Until(by).Round(time.Millisecond)
	if err := conn.SetReadDeadline(by); err != nil {
		return nil, err
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no greeting from the server within %v", wait)
		}
		return nil, fmt.Errorf("waiting for the greeting: %w", err)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return &greetedConn{Conn: conn, pending: buf[:n]}, nil
}

// greetedConn is a connection whose first bytes were read by awaitGreeting.
type greetedConn struct {
	net.Conn
	pending []byte // read by awaitGreeting, not yet by go-mail
}

// Read implements net.Conn: the greeting's bytes first.
func (c *greetedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Close implements Sink.
func (s *SMTP) Close() error { return nil }

// composeMail builds the e-mail of one change event: the subject names
// the service, the region or address and the new status; the body has the
// old and new status, the time, the served records and the probe message.
// Every value is escaped (see Escape) and the probe message capped at
// MaxMessageBytes, as in syslog messages.
func composeMail(ev Event, to []string) *Mail {
	v := ev.Vars
	ev.Service, ev.Region, ev.Address = Escape(ev.Service), Escape(ev.Region), Escape(ev.Address)
	ev.OldStatus, ev.NewStatus, ev.Kind = Escape(ev.OldStatus), Escape(ev.NewStatus), Escape(ev.Kind)
	where := ev.Region
	switch ev.Kind {
	case KindIP, KindNoSrv:
		where = "address " + ev.Address
		if ev.Region != "" {
			where += " (" + ev.Region + ")"
		}
	default:
		if where == "" {
			where = "global"
		}
		where = "region " + where
	}
	subject := fmt.Sprintf("failoverd: %s %s is %s", ev.Service, where, ev.NewStatus)
	var b strings.Builder
	line := func(k, val string) {
		if val != "" {
			fmt.Fprintf(&b, "%-15s %s\r\n", k+":", val)
		}
	}
	line("Service", ev.Service)
	line("Event", ev.Kind)
	line("Region", ev.Region)
	line("Address", ev.Address)
	old := ev.OldStatus
	if old == "" {
		old = "(none)"
	}
	line("Old status", old)
	line("New status", ev.NewStatus)
	line("Time", v.Time.UTC().Format(time.RFC3339))
	rdata := Escape(strings.Join(v.Rdata, ","))
	if rdata == "" {
		rdata = "(none)"
	}
	line("Served records", rdata)
	if v.Serial != 0 {
		line("Serial", strconv.FormatUint(uint64(v.Serial), 10))
	}
	if v.HasRTT {
		line("Response time", seconds(v.RTT)+"s")
	}
	line("Probe message", escapeCapped(v.Message, MaxMessageBytes))
	line("Site", Escape(v.Site))
	line("Monitor host", Escape(v.Hostname))
	return &Mail{To: append([]string(nil), to...), Subject: subject, Body: b.String(), Date: v.Time}
}
