// Package dnsserver is failoverd's authoritative DNS server: it answers
// from an immutable Snapshot of zones and service answers (swapped
// atomically by Publish), picks weighted records per query and per client
// region (EDNS Client Subnet, region_map, GeoIP), serves AXFR/IXFR to
// allowed secondaries and sends them NOTIFY on every serial change.
//
// On the open internet it caps and times out TCP connections
// (tcplimit.go), rate-limits UDP responses (rrl.go), answers DNS Cookies
// (cookie.go), checks and signs TSIG (tsig.go) and can hide its identity;
// docs/hardening.md says what each does for an operator.
//
// For the same zone files it answers as Knot does, apart from the
// differences listed, with their reasons, in
// testdata/knotdiff/accepted.txt; TestKnotDifferential checks that.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Options configures a Server.
type Options struct {
	// Listen lists host:port addresses; each serves UDP and TCP.
	Listen []string
	// ECS enables EDNS Client Subnet for region selection.
	ECS bool
	// RegionMap maps region codes to client prefixes (longest match wins).
	RegionMap map[string][]netip.Prefix
	// GeoIPDatabase is an optional MaxMind DB file path.
	GeoIPDatabase string
	// TransferAllow lists who may AXFR/IXFR; empty: nobody.
	TransferAllow []netip.Prefix
	// Notify lists host:port secondaries sent NOTIFY on serial changes.
	Notify []string
	// Hostname and Version answer CH TXT id.server./hostname.bind. and version.bind.
	Hostname, Version string
	// HideIdentity answers those CH TXT queries REFUSED instead.
	HideIdentity bool

	// TCP bounds TCP connections (zero values: defaults).
	TCP TCPLimits
	// RRL limits UDP responses per client prefix; nil: no limit.
	RRL *RRL
	// Cookies answers DNS Cookies (RFC 7873); CookieSecret is the 16-byte
	// server secret (empty: random per start; servers behind one name
	// share it so that each accepts the others' cookies).
	Cookies      bool
	CookieSecret []byte
	// TSIGKeys are the keys signed requests may use; TransferTSIG names
	// the one AXFR/IXFR must be signed with and NOTIFY is signed with
	// (empty: none required).
	TSIGKeys     []TSIGKey
	TransferTSIG string
}

// maxUDPSize is the largest UDP response we send and the EDNS buffer size
// we advertise (the DNS flag day 2020 value, which avoids fragmentation).
const maxUDPSize = 1232

// udpReadBuffer is the receive buffer asked for each UDP socket.
const udpReadBuffer = 4 << 20

// Server is the authoritative DNS server.
type Server struct {
	opts    Options
	log     *zap.Logger
	regions *regionMapper
	geo     *maxminddb.Reader
	metrics *metrics

	// cur is read by every query without locks; Publish swaps it whole.
	cur atomic.Pointer[published]

	ready     chan struct{}
	readyOnce sync.Once

	mu      sync.Mutex
	addrs   []net.Addr
	serials map[string]uint32
	// notifiers are per-secondary queues; created in NewServer so Publish
	// before Run loses nothing.
	notifiers []*notifier

	tsig    tsigKeyring // nil: no keys
	xfrKey  *tsigKey    // required for transfers, signs NOTIFY
	cookies *cookieJar  // nil: cookies off
	rrl     *rateLimiter
	// tcpRejected counts TCP connections closed at once over a cap.
	tcpRejected atomic.Uint64
}

// NewServer builds a server. It binds nothing; it opens the GeoIP database.
func NewServer(opts Options, log *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{opts: opts, log: log, ready: make(chan struct{}), serials: map[string]uint32{}}
	if opts.GeoIPDatabase != "" {
		geo, err := maxminddb.Open(opts.GeoIPDatabase)
		if err != nil {
			return nil, fmt.Errorf("geoip database %s: %w", opts.GeoIPDatabase, err)
		}
		s.geo = geo
	}
	rm, err := newRegionMapper(opts.RegionMap, s.geo)
	if err != nil {
		s.closeGeo()
		return nil, fmt.Errorf("region_map: %w", err)
	}
	s.regions = rm
	if err := s.harden(reg); err != nil {
		s.closeGeo()
		return nil, err
	}
	for _, addr := range opts.Notify {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			s.closeGeo()
			return nil, fmt.Errorf("notify %q: %w", addr, err)
		}
		s.notifiers = append(s.notifiers, newNotifier(addr, s.tsig, s.xfrKey))
	}
	m, err := newMetrics(reg)
	if err != nil {
		s.closeGeo()
		return nil, err
	}
	s.metrics = m
	s.cur.Store(prepare(&Snapshot{}))
	return s, nil
}

// CheckGeoIP opens the GeoIP database at path and closes it again: the
// daemon's pre-flight check, so a missing or unreadable database is
// reported before anything runs.
func CheckGeoIP(path string) error {
	geo, err := maxminddb.Open(path)
	if err != nil {
		return fmt.Errorf("geoip database %s: %w", path, err)
	}
	return geo.Close()
}

func (s *Server) closeGeo() {
	if s.geo != nil {
		s.geo.Close()
	}
}

// Publish makes snap the answered data (an atomic swap: queries see the old
// or the new snapshot, never a mix). Zones whose serial changed since the
// last Publish (or appear for the first time) are announced with NOTIFY to
// Options.Notify, asynchronously and with retries.
func (s *Server) Publish(snap *Snapshot) {
	// Publish is called by one goroutine (the daemon's decision loop), so
	// the current snapshot is the previous one to build on.
	prev := s.cur.Load()
	p := prepareFrom(snap, prev)
	s.buildFast(p, prev)
	s.cur.Store(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range p.order {
		if old, ok := s.serials[z.origin]; ok && old == z.serial {
			continue
		}
		s.serials[z.origin] = z.serial
		for _, n := range s.notifiers {
			n.enqueue(z.origin, z.serial)
		}
	}
}

// Ready returns a channel closed once every listener is bound.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the bound addresses: for each Listen entry its UDP socket
// then its TCP socket, which share one port.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs...)
}

// Run binds every Listen address on UDP and TCP and serves until ctx is
// done, then stops accepting, drains in-flight queries and returns.
func (s *Server) Run(ctx context.Context) error {
	defer s.closeGeo()
	// UDP: one socket per reader (SO_REUSEPORT when there are several),
	// one reader goroutine per core, each with its own buffers and
	// counters so the hot path shares nothing.
	readers := max(1, runtime.GOMAXPROCS(0))
	if !reusePortSupported {
		readers = 1
	}
	var (
		pcs [][]*net.UDPConn
		lns []net.Listener
	)
	closeAll := func() {
		for _, group := range pcs {
			for _, pc := range group {
				pc.Close()
			}
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	var addrs []net.Addr
	for _, a := range s.opts.Listen {
		group, ln, err := listenBoth(a, readers)
		if err != nil {
			closeAll()
			return fmt.Errorf("dns listen %s: %w", a, err)
		}
		for _, pc := range group {
			// Room for bursts while the reader is off its core (the
			// kernel caps this at net.core.rmem_max).
			if err := pc.SetReadBuffer(udpReadBuffer); err != nil {
				s.log.Debug("dns udp receive buffer", zap.Error(err))
			}
		}
		pcs, lns = append(pcs, group), append(lns, ln)
		addrs = append(addrs, group[0].LocalAddr(), ln.Addr())
	}
	s.mu.Lock()
	s.addrs = addrs
	s.mu.Unlock()

	var (
		wg      sync.WaitGroup
		servers []*dns.Server
		errc    = make(chan error, len(lns))
		started sync.WaitGroup
	)
	serve := func(srv *dns.Server) {
		started.Add(1)
		var once sync.Once
		done := func() { once.Do(started.Done) }
		srv.NotifyStartedFunc = done
		servers = append(servers, srv)
		wg.Go(func() {
			err := srv.ActivateAndServe()
			done()
			if err != nil {
				errc <- err
			}
		})
	}
	for i := range lns {
		srv := newTCPListener(lns[i], s.opts.TCP, s.log, &s.tcpRejected).server(s)
		srv.MsgAcceptFunc = acceptMsg
		if s.tsig != nil {
			srv.TsigProvider = s.tsig
		}
		serve(srv)
	}
	// UDP: our own read loops (fast path, then miekg/dns).
	var (
		stopping atomic.Bool
		uwg      sync.WaitGroup
	)
	for _, group := range pcs {
		for _, pc := range group {
			st := s.metrics.newReader()
			uwg.Go(func() { s.serveUDP(pc, &stopping, st) })
		}
	}
	started.Wait()
	nctx, cancelNotify := context.WithCancel(context.Background())
	var nwg sync.WaitGroup
	for _, n := range s.notifiers {
		nwg.Go(func() { n.run(nctx, s.log, s.metrics) })
	}
	s.readyOnce.Do(func() { close(s.ready) })
	s.log.Info("dns listening", zap.Strings("listen", s.opts.Listen))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	// Stop reading; each reader finishes the query it holds.
	stopping.Store(true)
	for _, group := range pcs {
		for _, pc := range group {
			pc.SetReadDeadline(time.Unix(1, 0))
		}
	}
	uwg.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	for _, srv := range servers {
		if err := srv.ShutdownContext(sctx); err != nil && runErr == nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Debug("dns shutdown", zap.Error(err))
		}
	}
	cancel()
	wg.Wait()
	cancelNotify()
	nwg.Wait()
	closeAll()
	if runErr != nil {
		return fmt.Errorf("dns serve: %w", runErr)
	}
	return nil
}

// listenBoth binds n UDP sockets (SO_REUSEPORT when n > 1) and a TCP
// listener on one address; with port 0 they all get the same port. The
// TCP listener does not share its port, so a second server on the same
// address fails to start instead of splitting the queries.
func listenBoth(addr string, n int) ([]*net.UDPConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	lc := udpListenConfig(n > 1)
	for attempt := 0; ; attempt++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			return nil, nil, err
		}
		group := []*net.UDPConn{pc.(*net.UDPConn)}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		bound := net.JoinHostPort(host, strconv.Itoa(p))
		ln, err := net.Listen("tcp", bound)
		if err != nil {
			pc.Close()
			if port != "0" || attempt >= 20 {
				return nil, nil, err
			}
			continue
		}
		for len(group) < n {
			more, err := lc.ListenPacket(context.Background(), "udp", bound)
			if err != nil {
				for _, c := range group {
					c.Close()
				}
				ln.Close()
				return nil, nil, err
			}
			group = append(group, more.(*net.UDPConn))
		}
		return group, ln, nil
	}
}

// acceptMsg lets every query through to handle, which answers odd ones
// as the UDP path does (miekg/dns's default answers other opcodes and
// section counts itself, without the query's OPT). Responses are dropped.
func acceptMsg(h dns.Header) dns.MsgAcceptAction {
	if h.Bits&(1<<15) != 0 {
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	start := time.Now()
	if req.IsTsig() != nil {
		status := w.TsigStatus() // miekg/dns verified it with s.tsig
		if s.tsig == nil {
			status = dns.ErrSecret
		}
		if status != nil {
			m := tsigRefusal(req, status, start)
			if err := writeRefusal(w, m); err != nil {
				s.log.Debug("dns write", zap.Error(err))
			}
			s.metrics.observe("", req, m.Rcode, start)
			return
		}
	}
	m, zone, xfr := s.handle(w.RemoteAddr(), req)
	if req.IsTsig() != nil && xfr == nil {
		signWith(m, req, start)
	}
	if xfr != nil {
		s.writeTransfer(w, req, xfr)
		s.metrics.observe(zone, req, dns.RcodeSuccess, start)
		return
	}
	if err := s.write(w, m, req); err != nil {
		s.log.Debug("dns write", zap.Error(err))
	}
	s.metrics.observe(zone, req, m.Rcode, start)
}

// write sends m, the answer to req. A query with a TSIG record is answered
// through WriteMsg, which signs; other answers are packed here so that
// names compress against the question whatever its case (see packReply).
func (s *Server) write(w dns.ResponseWriter, m, req *dns.Msg) error {
	if req.IsTsig() != nil {
		return w.WriteMsg(m)
	}
	resp, err := packReply(m, req, nil)
	if err != nil {
		return err
	}
	_, err = w.Write(resp)
	return err
}

// packReply packs m, the answer to req, into buf's storage when it fits.
// miekg/dns compresses names case-sensitively, so m is packed with the
// question in lower case (as the zone's names are), then the question's
// octets are overwritten with req's spelling: the answer echoes the
// query's case, and owner names pointing to the question show it too (as
// Knot's do, and as the fast path's pre-packed answers do).
func packReply(m, req *dns.Msg, buf []byte) ([]byte, error) {
	if len(m.Question) != 1 || len(req.Question) != 1 {
		return m.PackBuffer(buf)
	}
	asked := req.Question[0].Name
	restore := lowerQuestion(m)
	packed := m.Question[0].Name
	out, err := m.PackBuffer(buf)
	restore()
	if err != nil || packed == asked {
		return out, err
	}
	// Only letters' case differs, so the name has the same length.
	if _, err := dns.PackDomainName(asked, out, headerLen, nil, false); err != nil {
		return nil, err
	}
	return out, nil
}

// lowerQuestion puts m's question name in lower case and returns the
// function that restores it.
func lowerQuestion(m *dns.Msg) (restore func()) {
	q := m.Question[0].Name
	m.Question[0].Name = strings.ToLower(q)
	return func() { m.Question[0].Name = q }
}

// handle builds the response to req from remote. A non-nil zone in the
// third result means: stream that zone (an allowed AXFR/IXFR over TCP)
// instead of writing the message.
func (s *Server) handle(remote net.Addr, req *dns.Msg) (*dns.Msg, string, *pubZone) {
	tcp := isTCP(remote)
	m := new(dns.Msg)
	m.SetReply(req)
	// Compressed like every other server's answers: uncompressed, a few
	// thousand records pass 64 KiB and cannot be sent even over TCP.
	m.Compress = true
	// RFC 1035 4.1.1: RD is copied whatever the opcode (SetReply copies
	// it for QUERY only).
	m.RecursionDesired = req.RecursionDesired
	if req.Response || len(req.Question) != 1 || !wellPlacedOPT(req) {
		m.Question = nil
		m.Rcode = dns.RcodeFormatError
		return m, "", nil
	}
	opt := req.IsEdns0()
	// withOPT adds the answer's OPT RR, last in the additional section as
	// the fast path writes it. RFC 6891 7: every answer to an EDNS query
	// has one, whatever its rcode; RFC 3225: DO is copied.
	withOPT := func() {
		if opt != nil {
			m.SetEdns0(maxUDPSize, opt.Do())
		}
	}
	if opt != nil && opt.Version() != 0 {
		m.Rcode = dns.RcodeBadVers
		withOPT()
		return m, "", nil
	}
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		withOPT()
		return m, "", nil
	}
	q := req.Question[0]
	c := client{srcBits: -1, regions: s.regions}
	if ap, ok := addrPort(remote); ok {
		c.addr = ap.Addr().Unmap()
	}
	size := dns.MinMsgSize
	var (
		ecs    *dns.EDNS0_SUBNET
		cookie *dns.EDNS0_COOKIE // to answer with
	)
	if opt != nil {
		size = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
		if s.cookies != nil {
			// Before ECS: the cookie is the source address's.
			state, co := s.cookies.queryCookie(req, c.addr, time.Now())
			if state == cookieMalformed {
				m.Rcode = dns.RcodeFormatError
				withOPT()
				return m, "", nil
			}
			cookie = co
		}
		if s.opts.ECS {
			sub, ok := clientSubnet(opt)
			if !ok {
				m.Rcode = dns.RcodeFormatError
				withOPT()
				return m, "", nil
			}
			if sub != nil {
				a, bits, _ := ecsAddr(sub)
				ecs, c.srcBits = sub, bits
				if bits > 0 {
					c.addr = a
				}
			}
		}
	}
	zone := ""
	switch {
	case q.Qclass == dns.ClassCHAOS:
		s.chaos(m, q)
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		m.Rcode = dns.RcodeRefused
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		p := s.cur.Load()
		z := p.zones[strings.ToLower(q.Name)]
		if z != nil {
			zone = z.origin
		}
		if s.transfer(remote, req, m, z, tcp) {
			return nil, zone, z
		}
	default:
		p := s.cur.Load()
		qname := strings.ToLower(q.Name) // from the wire: canonical but for case
		z := p.findZone(qname)
		if z == nil {
			m.Rcode = dns.RcodeRefused
			break
		}
		zone = z.origin
		c.do = opt != nil && opt.Do()
		answerQuery(p, z, m, qname, q.Qtype, &c)
		if c.do && p.signed {
			signSections(p, m, &c)
		}
	}
	withOPT()
	if ecs != nil {
		o := m.IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_SUBNET{
			Code:          dns.EDNS0SUBNET,
			Family:        ecs.Family,
			SourceNetmask: ecs.SourceNetmask,
			SourceScope:   c.scopeUsed(),
			Address:       ecs.Address,
		})
	}
	if cookie != nil {
		o := m.IsEdns0()
		o.Option = append(o.Option, cookie)
	}
	if !tcp {
		truncateUDP(m, size)
	}
	return m, zone, nil
}

// wellPlacedOPT reports whether req has at most one OPT RR, in the
// additional section (RFC 6891 6.1.1: anything else is FORMERR).
func wellPlacedOPT(req *dns.Msg) bool {
	n := 0
	for _, sec := range [][]dns.RR{req.Answer, req.Ns, req.Extra} {
		for _, rr := range sec {
			if rr.Header().Rrtype == dns.TypeOPT {
				n++
			}
		}
	}
	if n == 0 {
		return true
	}
	return n == 1 && req.IsEdns0() != nil
}

// truncateUDP makes m fit size bytes. Additional records are optional
// (RFC 2181 9): whole RRsets of them are left out, from the first that
// does not fit, without TC. If the answer and authority sections do not
// fit either, all three sections go and TC is set (as Knot does: no
// partial RRsets, and a truncated answer stays small).
func truncateUDP(m *dns.Msg, size int) {
	if len(m.Question) == 1 {
		defer lowerQuestion(m)() // sized as packReply packs it
	}
	if m.Len() <= size {
		return
	}
	opt := m.IsEdns0()
	extra := slices.DeleteFunc(slices.Clone(m.Extra), func(rr dns.RR) bool { return rr == dns.RR(opt) })
	// withOPT is the additional section holding extra[:n], then the OPT.
	withOPT := func(n int) []dns.RR {
		if opt == nil {
			return extra[:n]
		}
		return append(slices.Clip(extra[:n]), opt)
	}
	m.Extra = withOPT(0)
	if m.Len() > size {
		m.Answer, m.Ns = nil, nil
		m.Truncated = true
		return
	}
	for n := 0; n < len(extra); {
		next := n + 1
		for next < len(extra) && sameRRset(extra[next], extra[n]) {
			next++
		}
		m.Extra = withOPT(next)
		if m.Len() > size {
			m.Extra = withOPT(n)
			return
		}
		n = next
	}
}

func sameRRset(a, b dns.RR) bool {
	ha, hb := a.Header(), b.Header()
	return ha.Rrtype == hb.Rrtype && ha.Class == hb.Class && strings.EqualFold(ha.Name, hb.Name)
}

// clientSubnet returns the query's ECS option (nil: none), or false when
// it is malformed (RFC 7871 7.1.2: FORMERR).
func clientSubnet(opt *dns.OPT) (*dns.EDNS0_SUBNET, bool) {
	var (
		sub    *dns.EDNS0_SUBNET
		others []dns.EDNS0
	)
	for _, o := range opt.Option {
		if e, ok := o.(*dns.EDNS0_SUBNET); ok && sub == nil {
			sub = e
			continue
		}
		others = append(others, o)
	}
	if sub == nil {
		return nil, true
	}
	masked, _, ok := ecsAddr(sub)
	if !ok {
		return nil, false
	}
	// RFC 7871 6: no address bits set past SOURCE PREFIX-LENGTH.
	raw := sub.Address.To16()
	if sub.Family == 1 {
		raw = sub.Address.To4()
	}
	if a, _ := netip.AddrFromSlice(raw); a != masked {
		return nil, false
	}
	// miekg/dns pads the address to 4 or 16 octets when it reads it, so
	// the octets sent are what the option's length leaves: RDLENGTH (as
	// read from the wire; 0 for a message built in memory, which has
	// none to check) minus the other options. RFC 7871 6: exactly
	// ceil(SOURCE PREFIX-LENGTH / 8) of them.
	if opt.Hdr.Rdlength == 0 {
		return sub, true
	}
	rest := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}, Option: others}
	var buf [dns.MaxMsgSize]byte
	off, err := dns.PackRR(rest, buf[:], 0, nil, false)
	if err != nil {
		return nil, false
	}
	const optHeader = 11 // root name, type, class, TTL, RDLENGTH
	octets := int(opt.Hdr.Rdlength) - (off - optHeader) - 8
	return sub, octets == (int(sub.SourceNetmask)+7)/8
}

// ecsAddr validates an ECS option and returns its masked address.
func ecsAddr(sub *dns.EDNS0_SUBNET) (netip.Addr, int, bool) {
	if sub.SourceScope != 0 {
		return netip.Addr{}, 0, false
	}
	bits := int(sub.SourceNetmask)
	switch sub.Family {
	case 1:
		a, ok := netip.AddrFromSlice(sub.Address.To4())
		if !ok || bits > 32 {
			return netip.Addr{}, 0, false
		}
		p, _ := a.Prefix(bits)
		return p.Addr(), bits, true
	case 2:
		a, ok := netip.AddrFromSlice(sub.Address.To16())
		if !ok || bits > 128 {
			return netip.Addr{}, 0, false
		}
		p, _ := a.Prefix(bits)
		return p.Addr(), bits, true
	}
	return netip.Addr{}, 0, false
}

// chaos answers CH TXT id.server., hostname.bind. and version.bind.
func (s *Server) chaos(m *dns.Msg, q dns.Question) {
	if s.opts.HideIdentity {
		m.Rcode = dns.RcodeRefused
		return
	}
	var txt string
	switch strings.ToLower(q.Name) {
	case "id.server.", "hostname.bind.":
		txt = s.opts.Hostname
	case "version.bind.", "version.server.":
		txt = s.opts.Version
	default:
		m.Rcode = dns.RcodeRefused
		return
	}
	m.Authoritative = true
	if q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY {
		return
	}
	m.Answer = append(m.Answer, &dns.TXT{
		Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS, Ttl: 0},
		Txt: []string{txt},
	})
}

func isTCP(a net.Addr) bool {
	_, ok := a.(*net.TCPAddr)
	return ok
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.AddrPort(), true
	case *net.TCPAddr:
		return v.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

// transferAllowed reports whether a may transfer zones.
func (s *Server) transferAllowed(a net.Addr) bool {
	ap, ok := addrPort(a)
	if !ok {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range s.opts.TransferAllow {
		if p.Contains(ip) || (p.Addr().Is4In6() && p.Contains(ap.Addr())) {
			return true
		}
	}
	return false
}

// transfer answers AXFR and IXFR (IXFR as AXFR, or the SOA alone when the
// secondary is current) in m. It returns true when the whole zone is to
// be streamed instead.
func (s *Server) transfer(remote net.Addr, req *dns.Msg, m *dns.Msg, z *pubZone, tcp bool) bool {
	if z == nil {
		m.Rcode = dns.RcodeNotAuth
		return false
	}
	if !s.transferAllowed(remote) {
		m.Rcode = dns.RcodeRefused
		return false
	}
	if !s.transferKeyOK(req) {
		m.Rcode = dns.RcodeNotAuth
		return false
	}
	q := req.Question[0]
	m.Authoritative = true
	if q.Qtype == dns.TypeIXFR {
		current := false
		for _, rr := range req.Ns {
			if soa, ok := rr.(*dns.SOA); ok && !serialLess(soa.Serial, z.serial) {
				current = true
			}
		}
		if current || !tcp {
			// Up to date, or UDP: the SOA alone (RFC 1995: retry over TCP).
			m.Answer = []dns.RR{z.soa}
			return false
		}
	}
	if !tcp {
		m.Truncated = true
		return false
	}
	return true
}

// transferChunk bounds the records of one transfer message (uncompressed
// size), well under the 64 KiB of a TCP message.
const transferChunk = 16 << 10

// writeTransfer streams zone z as the answer to req with dns.Transfer
// (which also signs each message when the query carried a verified TSIG).
func (s *Server) writeTransfer(w dns.ResponseWriter, req *dns.Msg, z *pubZone) {
	ch := make(chan *dns.Envelope)
	done := make(chan error, 1)
	go func() { done <- new(dns.Transfer).Out(compressingWriter{w}, req, ch) }()
	rrs := zoneRecords(z)
	if z.signer != nil {
		rrs = signedZoneRecords(z, rrs)
	}
	err := sendChunks(ch, done, rrs)
	close(ch)
	if err == nil {
		err = <-done
	}
	if err != nil {
		s.log.Warn("zone transfer", zap.String("zone", z.origin), zap.Stringer("client", w.RemoteAddr()), zap.Error(err))
		return
	}
	s.log.Info("zone transferred", zap.String("zone", z.origin), zap.Uint32("serial", z.serial), zap.Stringer("client", w.RemoteAddr()))
}

// sendChunks hands rrs to a dns.Transfer in messages of at most
// transferChunk bytes, or returns the error it stopped with.
func sendChunks(ch chan<- *dns.Envelope, done <-chan error, rrs []dns.RR) error {
	for len(rrs) > 0 {
		n, size := 0, 0
		for n < len(rrs) && (n == 0 || size+dns.Len(rrs[n]) <= transferChunk) {
			size += dns.Len(rrs[n])
			n++
		}
		select {
		case ch <- &dns.Envelope{RR: rrs[:n]}:
		case err := <-done:
			if err == nil {
				err = errors.New("transfer ended early")
			}
			return err
		}
		rrs = rrs[n:]
	}
	return nil
}

// compressingWriter compresses every message it writes (dns.Transfer
// leaves that to the writer).
type compressingWriter struct{ dns.ResponseWriter }

// WriteMsg implements dns.ResponseWriter.
func (c compressingWriter) WriteMsg(m *dns.Msg) error {
	m.Compress = true
	return c.ResponseWriter.WriteMsg(m)
}

// serialLess compares SOA serials with RFC 1982 arithmetic.
func serialLess(a, b uint32) bool {
	return a != b && int32(b-a) > 0
}
