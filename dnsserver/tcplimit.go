package dnsserver

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
)

// TCP is where one client can hold server resources: every connection is
// a descriptor and a goroutine. A flood of idle connections must neither
// exhaust the process's descriptors (the probes need them) nor keep other
// clients out, so the DNS listener
//   - caps connections in total and per client, closing the excess at once;
//   - closes a connection that has sent no complete query for the idle
//     timeout, measured from its last answer: empty, short or partial
//     messages do not count as activity;
//   - backs off when accept fails for want of descriptors instead of
//     spinning.

// TCPLimits bound the DNS server's TCP connections. Zero values take the
// defaults.
type TCPLimits struct {
	// MaxConns caps simultaneous connections; default: half the open-file
	// limit (see DefaultMaxTCPConns), leaving the rest to probes, the API
	// and the store.
	MaxConns int
	// MaxConnsPerClient caps one client's simultaneous connections (an IPv4
	// address, an IPv6 /64); default 32.
	MaxConnsPerClient int
	// IdleTimeout closes a connection that sends no complete query for this
	// long after connecting or after its last answer; it also bounds each
	// write. Default 10 s.
	IdleTimeout time.Duration
}

const (
	defaultTCPPerClient = 32
	defaultTCPIdle      = 10 * time.Second
	// fdReserve descriptors are never handed to DNS connections.
	fdReserve = 256
	// maxDerivedTCPConns bounds the derived cap: each connection costs a
	// goroutine, so a huge open-file limit is not a reason to hold millions.
	maxDerivedTCPConns = 65536
	// Accept back-off when the process is out of descriptors (or another
	// transient accept error): doubling from the minimum to the maximum.
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// DefaultMaxTCPConns is the connection cap used when TCPLimits.MaxConns is
// zero, derived from the soft open-file limit nofile: half of it, and never
// more than nofile minus a reserve of 256, so that probes, the API and the
// store always find descriptors.
func DefaultMaxTCPConns(nofile uint64) int {
	if nofile == 0 {
		return 512 // unknown limit: as if 1024, the usual default
	}
	n := min(nofile/2, maxDerivedTCPConns)
	if nofile > fdReserve {
		n = min(n, nofile-fdReserve)
	}
	return max(1, int(n))
}

func (l TCPLimits) withDefaults() TCPLimits {
	if l.MaxConns <= 0 {
		soft, _ := openFileLimit()
		l.MaxConns = DefaultMaxTCPConns(soft)
	}
	if l.MaxConnsPerClient <= 0 {
		l.MaxConnsPerClient = defaultTCPPerClient
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = defaultTCPIdle
	}
	return l
}

// tcpListener enforces TCPLimits on the connections it accepts.
type tcpListener struct {
	net.Listener
	lim TCPLimits
	log *zap.Logger

	mu      sync.Mutex
	total   int
	clients map[netip.Addr]int // by tcpClientKey

	closed    atomic.Bool
	done      chan struct{}
	closeOnce sync.Once

	// rejected counts connections closed at once for exceeding a cap
	// (shared by the server's listeners).
	rejected *atomic.Uint64
}

// newTCPListener limits ln's connections, counting the rejected ones in
// rejected.
func newTCPListener(ln net.Listener, lim TCPLimits, log *zap.Logger, rejected *atomic.Uint64) *tcpListener {
	return &tcpListener{Listener: ln, lim: lim.withDefaults(), log: log, clients: map[netip.Addr]int{}, done: make(chan struct{}), rejected: rejected}
}

// tcpClientKey is what the per-client cap counts by: the address, with
// IPv6 cut to its /64 (one subscriber usually holds a whole /64).
func tcpClientKey(a net.Addr) netip.Addr {
	ap, ok := addrPort(a)
	if !ok {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// Accept implements net.Listener. It returns only connections within the
// caps; the others are reset and closed here. When the process is out of
// descriptors it waits (5 ms doubling to 1 s) instead of retrying at once.
func (l *tcpListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if l.closed.Load() {
				return nil, net.ErrClosed // whatever the last attempt said
			}
			if !retryableAccept(err) {
				return nil, err
			}
			if backoff == 0 {
				backoff = acceptBackoffMin
				l.log.Warn("dns tcp accept failing; backing off", zap.Error(err))
			} else {
				backoff = min(2*backoff, acceptBackoffMax)
			}
			t := time.NewTimer(backoff)
			select {
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			continue
		}
		backoff = 0
		key := tcpClientKey(c.RemoteAddr())
		l.mu.Lock()
		ok := l.total < l.lim.MaxConns && l.clients[key] < l.lim.MaxConnsPerClient
		if ok {
			l.total++
			l.clients[key]++
		}
		l.mu.Unlock()
		if !ok {
			l.rejected.Add(1)
			if tc, isTCP := c.(*net.TCPConn); isTCP {
				tc.SetLinger(0) // reset: no TIME_WAIT kept for a flooder
			}
			c.Close()
			continue
		}
		return &tcpConn{Conn: c, l: l, key: key, last: time.Now()}, nil
	}
}

// retryableAccept reports whether accept failed for a reason that passes:
// out of descriptors or memory, or an aborted handshake.
func retryableAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne interface{ Temporary() bool }
	return errors.As(err, &ne) && ne.Temporary()
}

// Close implements net.Listener; it also wakes an Accept that is backing off.
func (l *tcpListener) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.done)
	})
	return l.Listener.Close()
}

func (l *tcpListener) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.clients[key] <= 1 {
		delete(l.clients, key)
	} else {
		l.clients[key]--
	}
}

// open returns the number of connections held.
func (l *tcpListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// tcpConn is an accepted connection that counts against the caps until it
// is closed, with the idle clock of its last answer.
type tcpConn struct {
	net.Conn
	l   *tcpListener
	key netip.Addr

	// mu orders our read deadline against the shutdown's: miekg/dns
	// unblocks reads on shutdown by moving the deadline into the past, and
	// a deadline set after that must not move it back.
	mu       sync.Mutex
	last     time.Time // connected, or last answer written
	answered bool      // a query was read since last was set

	closeOnce sync.Once
}

// Close implements net.Conn.
func (c *tcpConn) Close() error {
	c.closeOnce.Do(func() { c.l.release(c.key) })
	return c.Conn.Close()
}

// SetReadDeadline implements net.Conn.
func (c *tcpConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// Write implements net.Conn; each write must finish within the idle
// timeout, so a client that does not read cannot hold the connection.
func (c *tcpConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.l.lim.IdleTimeout))
	return c.Conn.Write(b)
}

// armIdle sets the read deadline to the idle timeout after the last
// answer (or the connection's start) and returns false once the listener
// is closed.
func (c *tcpConn) armIdle(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.l.closed.Load() {
		return false
	}
	if c.answered {
		// miekg/dns reads the next query only once the last is answered.
		c.last, c.answered = now, false
	}
	c.Conn.SetReadDeadline(c.last.Add(c.l.lim.IdleTimeout))
	return true
}

// errShortMessage closes a connection that sent a length shorter than a
// DNS header: no query is that short, and an empty message must not keep
// a connection alive.
var errShortMessage = errors.New("dns tcp: message shorter than a header")

// tcpReader reads queries from tcpConns under the idle rule; it replaces
// miekg/dns's reader, whose deadline restarts with every message read.
type tcpReader struct{ dns.Reader }

// ReadTCP implements dns.Reader.
func (r tcpReader) ReadTCP(conn net.Conn, timeout time.Duration) ([]byte, error) {
	c, ok := conn.(*tcpConn)
	if !ok {
		return r.Reader.ReadTCP(conn, timeout)
	}
	if !c.armIdle(time.Now()) {
		return nil, net.ErrClosed
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c.Conn, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n < 12 {
		return nil, errShortMessage
	}
	m := make([]byte, n)
	if _, err := io.ReadFull(c.Conn, m); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
	return m, nil
}

// server returns a miekg/dns server answering with h on l's connections
// under l's limits.
func (l *tcpListener) server(h dns.Handler) *dns.Server {
	return &dns.Server{
		Listener:       l,
		Handler:        h,
		DecorateReader: func(r dns.Reader) dns.Reader { return tcpReader{r} },
	}
}
