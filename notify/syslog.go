package notify

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Syslog protocol, transport and delivery values of the config "syslog" block.
const (
	ProtocolRFC3164 = "rfc3164"
	ProtocolRFC5424 = "rfc5424"
	TransportUDP    = "udp"
	TransportTCP    = "tcp"
	DeliveryChange  = "change"
	DeliveryAll     = "all"
	DefaultIdent    = "dynect"
	DefaultFacility = "daemon"
	DefaultPort     = 514
)

// Severity codes (RFC 5424 section 6.2.1) used by Severity.
const (
	SeverityErr     = 3
	SeverityWarning = 4
	SeverityNotice  = 5
	SeverityInfo    = 6
)

// facilities maps the config facility names to their RFC 5424 codes.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5,
	"lpr": 6, "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"ntp": 12, "security": 13, "console": 14,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Facility returns the RFC 5424 code of a facility name (kern, user, mail,
// daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, security,
// console, local0..local7) and whether the name is known.
func Facility(name string) (int, bool) {
	code, ok := facilities[strings.ToLower(name)]
	return code, ok
}

// FacilityNames are the facility names Facility knows, sorted.
func FacilityNames() []string {
	return slices.Sorted(maps.Keys(facilities))
}

// Severity returns the syslog severity of a status: info (6) for up and
// ok/OK, warning (4) for trouble and unk, err (3) for down, failover and
// CRITICAL, notice (5) for MANUAL (sf_pool: backup served on purpose) and
// for any other status.
func Severity(status string) int {
	switch strings.ToLower(status) {
	case "up", "ok":
		return SeverityInfo
	case "trouble", "unk", "unknown":
		return SeverityWarning
	case "down", "failover", "critical":
		return SeverityErr
	}
	return SeverityNotice
}

// FrameOptions are the header fields of one syslog message.
type FrameOptions struct {
	Protocol string // rfc3164 (default) or rfc5424
	Facility int    // RFC 5424 facility code
	Severity int    // RFC 5424 severity code
	Hostname string // HOSTNAME field
	Ident    string // RFC 3164 TAG / RFC 5424 APP-NAME
	Time     time.Time
}

// headerToken makes s usable as a space-separated header field: printable
// ASCII without spaces, at most max bytes, "-" when empty.
func headerToken(s string, max int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			c = '_'
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// Frame returns msg framed as RFC 3164
// `<PRI>Mmm dd hh:mm:ss HOSTNAME IDENT: MSG` (timestamp in local time, day
// space-padded) or RFC 5424 `<PRI>1 TIMESTAMP HOSTNAME IDENT - - - MSG`
// (timestamp RFC 3339 in UTC with microseconds), PRI = facility*8 + severity.
func Frame(o FrameOptions, msg string) []byte {
	pri := o.Facility*8 + o.Severity
	var b []byte
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(pri), 10)
	b = append(b, '>')
	if o.Protocol == ProtocolRFC5424 {
		b = append(b, "1 "...)
		b = o.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
		b = append(b, ' ')
		b = append(b, headerToken(o.Hostname, 255)...)
		b = append(b, ' ')
		b = append(b, headerToken(o.Ident, 48)...)
		b = append(b, " - - - "...)
	} else {
		b = o.Time.Local().AppendFormat(b, time.Stamp)
		b = append(b, ' ')
		b = append(b, headerToken(o.Hostname, 255)...)
		b = append(b, ' ')
		b = append(b, headerToken(o.Ident, 32)...)
		b = append(b, ": "...)
	}
	b = append(b, msg...)
	return b
}

// SyslogDest identifies one syslog receiver; each distinct destination has
// its own sink and queue.
type SyslogDest struct {
	Server    string
	Port      int
	Transport string // udp | tcp
	Protocol  string // rfc3164 | rfc5424
}

// Address returns the dialable host:port of the destination.
func (d SyslogDest) Address() string {
	return net.JoinHostPort(d.Server, strconv.Itoa(d.Port))
}

// Syslog is a Sink that sends framed messages to one syslog receiver over
// UDP (one datagram per message) or TCP (RFC 6587 octet counting),
// reconnecting after errors. It is used by one goroutine at a time.
type Syslog struct {
	dest    SyslogDest
	timeout time.Duration
	conn    net.Conn
}

var _ Sink = (*Syslog)(nil)

// NewSyslog returns a Syslog sink for dest; it dials lazily on the first
// Deliver. timeout bounds each dial and write (default 5s).
func NewSyslog(dest SyslogDest, timeout time.Duration) *Syslog {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Syslog{dest: dest, timeout: timeout}
}

// Kind implements Sink.
func (s *Syslog) Kind() string { return "syslog" }

// maxDatagram keeps a UDP datagram within what every receiver accepts.
const maxDatagram = 8192

// Deliver implements Sink: it writes one framed message.
func (s *Syslog) Deliver(ctx context.Context, m Message) error {
	if s.conn != nil && s.dest.Transport == TransportTCP && peerClosed(s.conn) {
		// The receiver closed or restarted: writing would vanish into a
		// dead connection, so reconnect first.
		s.closeConn()
	}
	if s.conn == nil {
		d := net.Dialer{Timeout: s.timeout}
		network := "udp"
		if s.dest.Transport == TransportTCP {
			network = "tcp"
		}
		c, err := d.DialContext(ctx, network, s.dest.Address())
		if err != nil {
			return fmt.Errorf("syslog %s/%s: %w", network, s.dest.Address(), err)
		}
		s.conn = c
	}
	payload := m.Syslog
	if s.dest.Transport == TransportTCP {
		payload = append(strconv.AppendInt(make([]byte, 0, len(payload)+8), int64(len(payload)), 10), ' ')
		payload = append(payload, m.Syslog...)
	} else if len(payload) > maxDatagram {
		payload = payload[:maxDatagram]
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = s.conn.SetWriteDeadline(deadline)
	// A write stuck on a receiver that stopped reading ends when ctx does.
	conn := s.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Now()) })
	_, err := s.conn.Write(payload)
	stop()
	if err != nil {
		s.closeConn()
		return fmt.Errorf("syslog %s/%s: write: %w", s.dest.Transport, s.dest.Address(), err)
	}
	return nil
}

func (s *Syslog) closeConn() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// Close implements Sink.
func (s *Syslog) Close() error {
	s.closeConn()
	return nil
}
