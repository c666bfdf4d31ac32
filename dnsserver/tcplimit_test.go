package dnsserver

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap/zaptest"
)

// echoHandler answers every query with NOERROR.
type echoHandler struct{}

func (echoHandler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	w.WriteMsg(m)
}

// startLimitedTCP serves echoHandler over TCP on 127.0.0.1:0 behind the
// limits and returns the listener and its address.
func startLimitedTCP(t *testing.T, lim TCPLimits) (*tcpListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newTCPListener(ln, lim, zaptest.NewLogger(t), new(atomic.Uint64))
	srv := l.server(echoHandler{})
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	t.Cleanup(func() {
		srv.Shutdown()
		<-done
	})
	<-started
	return l, ln.Addr().String()
}

// dialFrom connects to addr from the loopback address src (127.0.0.0/8
// gives each test client its own address).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tcpQueryFrom connects from src and sends one query; an error means the
// connection was refused, reset (possibly while connecting) or closed.
func tcpQueryFrom(t *testing.T, src, addr string) error {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	t.Cleanup(func() { c.Close() })
	return tcpQuery(c)
}

// tcpQuery sends one query on c and reports whether an answer came back.
func tcpQuery(c net.Conn) error {
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeA)
	dc := &dns.Conn{Conn: c}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := dc.WriteMsg(m); err != nil {
		return err
	}
	r, err := dc.ReadMsg()
	if err != nil {
		return err
	}
	if r.Id != m.Id {
		return errors.New("answer to another query")
	}
	return nil
}

// waitOpen waits (bounded) until l holds want connections.
func waitOpen(t *testing.T, l *tcpListener, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.open() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections held, want %d", l.open(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTCPConnectionCaps(t *testing.T) {
	cases := []struct {
		name      string
		lim       TCPLimits
		first     []string // clients holding connections, in order
		next      string   // the client that connects next
		nextAdmit bool
	}{
		{"PerClientCapRefusesTheNextFromThatClient", TCPLimits{MaxConns: 100, MaxConnsPerClient: 3},
			[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, "127.0.0.1", false},
		{"PerClientCapAdmitsAnotherClient", TCPLimits{MaxConns: 100, MaxConnsPerClient: 3},
			[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, "127.0.0.2", true},
		{"GlobalCapRefusesEveryClient", TCPLimits{MaxConns: 2, MaxConnsPerClient: 10},
			[]string{"127.0.0.1", "127.0.0.2"}, "127.0.0.3", false},
		{"BelowTheCapsAdmits", TCPLimits{MaxConns: 3, MaxConnsPerClient: 3},
			[]string{"127.0.0.1", "127.0.0.1"}, "127.0.0.1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, addr := startLimitedTCP(t, tc.lim)
			for i, src := range tc.first {
				if err := tcpQuery(dialFrom(t, src, addr)); err != nil {
					t.Fatalf("connection %d from %s: %v", i+1, src, err)
				}
			}
			waitOpen(t, l, len(tc.first))
			err := tcpQueryFrom(t, tc.next, addr)
			if tc.nextAdmit && err != nil {
				t.Fatalf("connection from %s refused: %v", tc.next, err)
			}
			if !tc.nextAdmit && err == nil {
				t.Fatalf("connection from %s answered over the cap", tc.next)
			}
			if !tc.nextAdmit && l.rejected.Load() != 1 {
				t.Fatalf("rejected %d, want 1", l.rejected.Load())
			}
		})
	}
}

func TestTCPClosedConnectionFreesItsSlot(t *testing.T) {
	l, addr := startLimitedTCP(t, TCPLimits{MaxConns: 100, MaxConnsPerClient: 1})
	c := dialFrom(t, "127.0.0.1", addr)
	if err := tcpQuery(c); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitOpen(t, l, 0)
	if err := tcpQuery(dialFrom(t, "127.0.0.1", addr)); err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
}

// waitClosed reports whether the server closes c within limit (reads
// return EOF or a reset), sending keep(c) every interval meanwhile.
func waitClosed(c net.Conn, limit, interval time.Duration, keep func(net.Conn) error) bool {
	deadline := time.Now().Add(limit)
	buf := make([]byte, 512)
	for time.Now().Before(deadline) {
		if keep != nil {
			if err := keep(c); err != nil {
				return true // written into a reset connection
			}
		}
		c.SetReadDeadline(time.Now().Add(interval))
		_, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
		}
	}
	return false
}

func TestTCPIdleTimeout(t *testing.T) {
	cases := []struct {
		name string
		idle time.Duration
		keep func(net.Conn) error // sent every 50 ms
	}{
		{"SilentConnectionIsClosed", 300 * time.Millisecond, nil},
		// The idle timeout is long here: the connection must close because
		// of what it sent, not because it went quiet.
		{"EmptyMessageClosesTheConnection", time.Minute, func(c net.Conn) error {
			_, err := c.Write([]byte{0, 0})
			return err
		}},
		{"MessageShorterThanAHeaderClosesTheConnection", time.Minute, func(c net.Conn) error {
			_, err := c.Write([]byte{0, 2, 0, 0})
			return err
		}},
		{"PartialMessageDoesNotResetTheIdleTimer", 300 * time.Millisecond, func() func(net.Conn) error {
			first := true
			return func(c net.Conn) error {
				b := []byte{0}
				if first {
					first = false
					b = []byte{0x01, 0x00, 0, 1} // a 256-byte message, then a byte at a time
				}
				_, err := c.Write(b)
				return err
			}
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, addr := startLimitedTCP(t, TCPLimits{MaxConns: 10, MaxConnsPerClient: 10, IdleTimeout: tc.idle})
			c := dialFrom(t, "127.0.0.1", addr)
			// Bounded at ten times the short idle timeout; the partial
			// message would complete only after 255 x 50 ms.
			if !waitClosed(c, 3*time.Second, 50*time.Millisecond, tc.keep) {
				t.Fatal("connection still open")
			}
			waitOpen(t, l, 0)
		})
	}
}

func TestTCPAnsweredQueriesKeepTheConnection(t *testing.T) {
	_, addr := startLimitedTCP(t, TCPLimits{IdleTimeout: 5 * time.Second})
	c := dialFrom(t, "127.0.0.1", addr)
	for i := range 20 {
		if err := tcpQuery(c); err != nil {
			t.Fatalf("query %d: %v", i+1, err)
		}
	}
}

// failingListener fails every Accept with EMFILE, as a process out of
// descriptors does, and counts the calls.
type failingListener struct {
	net.Listener
	calls atomic.Int64
}

func (f *failingListener) Accept() (net.Conn, error) {
	f.calls.Add(1)
	return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
}

func TestTCPAcceptBacksOffWhenOutOfDescriptors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &failingListener{Listener: ln}
	l := newTCPListener(f, TCPLimits{}, zaptest.NewLogger(t), new(atomic.Uint64))
	var wg sync.WaitGroup
	var acceptErr error
	wg.Go(func() { _, acceptErr = l.Accept() })
	time.Sleep(300 * time.Millisecond)
	l.Close()
	wg.Wait()
	if !errors.Is(acceptErr, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", acceptErr)
	}
	// 5+10+20+40+80+160 ms: at most 7 attempts fit in 300 ms; a loop
	// without back-off makes millions.
	if n := f.calls.Load(); n > 8 {
		t.Fatalf("%d accept attempts in 300 ms", n)
	}
}

func TestDefaultMaxTCPConnsLeavesAReserve(t *testing.T) {
	cases := []struct {
		name   string
		nofile uint64
		want   int
	}{
		{"UnknownLimit", 0, 512},
		{"TinyLimitHalf", 64, 32},
		{"DebianDefaultHalf", 1024, 512},
		{"ReserveWinsNearIt", 400, 144},
		{"SystemdLimitHalf", 524288, 65536},
		{"HugeLimitBounded", 1 << 20, 65536},
		{"OneDescriptor", 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := DefaultMaxTCPConns(tc.nofile)
			if got != tc.want {
				t.Fatalf("DefaultMaxTCPConns(%d) = %d, want %d", tc.nofile, got, tc.want)
			}
			if tc.nofile > fdReserve && uint64(got)+fdReserve > tc.nofile {
				t.Fatalf("cap %d leaves fewer than %d of %d descriptors", got, fdReserve, tc.nofile)
			}
		})
	}
}

func TestTCPClientKeyIsTheAddressOrIPv6Slash64(t *testing.T) {
	key := func(s string) netip.Addr {
		return tcpClientKey(net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)))
	}
	cases := []struct {
		name string
		a, b string
		same bool
	}{
		{"IPv4PortsDoNotMatter", "192.0.2.1:1000", "192.0.2.1:2000", true},
		{"IPv4AddressesDiffer", "192.0.2.1:1000", "192.0.2.2:1000", false},
		{"IPv4MappedIsIPv4", "[::ffff:192.0.2.1]:1000", "192.0.2.1:1000", true},
		{"IPv6SameSlash64", "[2001:db8:0:1::1]:1000", "[2001:db8:0:1:ffff::2]:1000", true},
		{"IPv6OtherSlash64", "[2001:db8:0:1::1]:1000", "[2001:db8:0:2::1]:1000", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := key(tc.a) == key(tc.b); got != tc.same {
				t.Fatalf("%s and %s: same client %v", tc.a, tc.b, got)
			}
		})
	}
}
