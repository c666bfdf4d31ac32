//go:build linux

package dnsserver

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// On Linux each UDP reader receives and answers queries in batches: one
// recvmmsg, then every query answered into its own slot of a preallocated
// buffer (fast path, or miekg/dns for the rest), then one sendmmsg. Nothing
// is allocated per packet on the fast path. Sockets bound to a wildcard
// address answer from the address each query was sent to (IP_PKTINFO /
// IPV6_PKTINFO), so clients on a multi-homed host see the right source.
//
// Why raw recvmmsg/sendmmsg (unix.RawSyscall6 inside RawConn.Read/Write
// callbacks, with the netpoller used only when the socket is empty) rather
// than net.UDPConn or x/net/ipv4 ReadBatch/WriteBatch: a plain
// ReadFrom/WriteTo loop spends its time in two system calls per query and
// in the Go scheduler (sysmon retakes the P from a goroutine inside a
// syscall and hands it to another thread); a raw syscall does not enter the
// scheduler at all. Measured with bench/udpfloor (one pre-packed answer,
// dnsperf on loopback, server pinned to one core, GOMAXPROCS=1; see
// docs/benchmarks.md, "Go UDP floor"): plain loop 9.93 µs of server CPU
// per query, x/net/ipv4 batches 8.82 µs, raw recvmmsg/sendmmsg 6.94 µs,
// gdnsd 5.57 µs on the same run. With this loop the whole server measured
// 7.88 / 7.61 µs per query (static / health-checked name) against gdnsd's
// 7.06 / 7.43.
//
// Readers now block in recvmmsg on their own locked OS thread, the socket
// taken out of the netpoller (serveUDPBlocking), as gdnsd's do: no epoll
// wake-up or futex between batches. `RUNS=3 DURATION=5 bash bench/run.sh
// --only qps` on 2026-12-06, before and after back to back, load 3-4
// (docs/benchmarks.md, History): failoverd 2.11 / 2.03 µs/q (static /
// health-checked) with netpoller readers, 1.96 / 1.92 with blocking ones;
// failoverd/gdnsd 1.16 / 1.08 before, 1.09 / 1.09 after, 0 lost. perf: 94 %
// of the blocking reader's CPU is in the kernel, Go's other threads under
// 3 %. Batches of 64, and a non-blocking recvmmsg before the blocking one,
// did not pay.
//
// The kernel's cost is per datagram (receive and copy, then the send path,
// which on loopback also delivers the answer to the client's socket), not
// per system call: this loop already makes fewer calls per query than
// gdnsd (about 0.14 against 0.17 under dnsperf) and syscall entry is under
// 1 % of a reader's CPU, so io_uring could not win much. What does cut the
// per-datagram cost is UDP GSO (coalesce): a run of same-size answers to
// one client leaves as one message with UDP_SEGMENT, so the UDP/IP send
// path, the route lookup and the device hand-off run once per run; the
// kernel cuts the datagrams apart at the end. Under dnsperf (10 client
// sockets) that halves the packets sent through the stack per query (0.95
// to 0.52) and saved 5-17 % of CPU per query in alternated runs
// (docs/benchmarks.md, History). Resolvers asking from many ports gain
// nothing and lose nothing (a batch's grouping costs under 1 % of the
// reader's CPU). SO_BUSY_POLL does nothing on loopback (no NAPI).

// reusePortSupported: several sockets share one address with SO_REUSEPORT.
const reusePortSupported = true

const (
	// batchSize is the number of datagrams per recvmmsg/sendmmsg.
	batchSize = 32
	// recvBufSize bounds a UDP query; longer datagrams get FORMERR.
	recvBufSize = 4096
	// sendBufSize is each answer's slot (answers are at most maxUDPSize).
	sendBufSize = 2048
	// oobSize holds one IP_PKTINFO or IPV6_PKTINFO control message.
	oobSize = 64
	// gctlSize holds a source control message and a UDP_SEGMENT one.
	gctlSize = oobSize + 32
	// gsoMaxSegment: answers up to this size are sent as segments of one
	// datagram (1232 + 48 bytes of IPv6 and UDP headers is IPv6's minimum
	// MTU, so a segment never exceeds a path's MTU, which the kernel
	// refuses); gsoMaxBytes bounds one send (a UDP datagram's 64 KiB).
	gsoMaxSegment = 1232
	gsoMaxBytes   = 60000
)

// udpListenConfig sets SO_REUSEPORT when reuse is true.
func udpListenConfig(reuse bool) net.ListenConfig {
	if !reuse {
		return net.ListenConfig{}
	}
	return net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		if serr != nil {
			return os.NewSyscallError("setsockopt SO_REUSEPORT", serr)
		}
		return nil
	}}
}

// udpBatch is one reader's receive and send state, allocated once.
type udpBatch struct {
	rhdrs []unix.Mmsghdr
	riov  []unix.Iovec
	names []unix.RawSockaddrInet6 // peer addresses, also the reply targets
	in    []byte
	roob  []byte
	shdrs []unix.Mmsghdr
	siov  []unix.Iovec
	soob  []byte
	out   []byte

	pktinfo bool // wildcard socket: echo the query's destination as source

	// UDP GSO: answers of one size to one client in a batch leave in one
	// message, the kernel cutting it into datagrams (coalesce).
	gso    bool
	ghdrs  []unix.Mmsghdr // one per group of answers
	giov   []unix.Iovec   // the answers, grouped
	gctl   []byte         // per group: source control, then UDP_SEGMENT
	split  []unix.Mmsghdr // a refused group's answers, one message each
	wire   []unix.Mmsghdr // what send sends: shdrs, or ghdrs after coalesce
	gsoErr error          // why the kernel refused a group (GSO is off then)

	n           int   // datagrams received
	err         error // recvmmsg error
	nsend, sent int
	werr        error // last sendmmsg error of this batch
	recv, send  func(fd uintptr) bool
}

func newUDPBatch(pktinfo bool) *udpBatch {
	b := &udpBatch{
		rhdrs:   make([]unix.Mmsghdr, batchSize),
		riov:    make([]unix.Iovec, batchSize),
		names:   make([]unix.RawSockaddrInet6, batchSize),
		in:      make([]byte, batchSize*recvBufSize),
		shdrs:   make([]unix.Mmsghdr, batchSize),
		siov:    make([]unix.Iovec, batchSize),
		out:     make([]byte, batchSize*sendBufSize),
		pktinfo: pktinfo,
	}
	b.wire = b.shdrs
	if pktinfo {
		b.roob = make([]byte, batchSize*oobSize)
		b.soob = make([]byte, batchSize*oobSize)
	}
	for i := range batchSize {
		b.riov[i].Base = &b.in[i*recvBufSize]
		b.riov[i].SetLen(recvBufSize)
		h := &b.rhdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.riov[i]
		h.SetIovlen(1)
		if pktinfo {
			h.Control = &b.roob[i*oobSize]
		}
		sh := &b.shdrs[i].Hdr
		sh.Iov = &b.siov[i]
		sh.SetIovlen(1)
	}
	// Built once: RawConn.Read/Write take these without allocating.
	b.recv = func(fd uintptr) bool {
		b.resetRecv()
		for {
			n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rhdrs[0])), batchSize, unix.MSG_WAITFORONE, 0, 0)
			switch e {
			case 0:
				b.n, b.err = int(n), nil
				return true
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			b.n, b.err = 0, os.NewSyscallError("recvmmsg", e)
			return true
		}
	}
	b.send = func(fd uintptr) bool {
		for b.sent < b.nsend {
			n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.wire[b.sent])), uintptr(b.nsend-b.sent), 0, 0, 0)
			switch {
			case e == unix.EINTR:
			case e == unix.EAGAIN:
				return false
			case e != 0 || n == 0:
				// The first unsent message failed (its peer, say): skip it.
				b.sendFailed(fd, e)
				b.sent++
			default:
				b.sent += int(n)
			}
		}
		return true
	}
	return b
}

// resetRecv readies the receive headers for the next recvmmsg.
func (b *udpBatch) resetRecv() {
	for i := range b.rhdrs {
		h := &b.rhdrs[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		if b.pktinfo {
			h.SetControllen(oobSize)
		}
		h.Flags = 0
	}
}

// udpSocketSetup reports whether pc is bound to a wildcard address and,
// if so, asks the kernel for each query's destination address.
func (s *Server) udpSocketSetup(pc *net.UDPConn, rc syscall.RawConn) bool {
	la, ok := pc.LocalAddr().(*net.UDPAddr)
	if !ok || !la.IP.IsUnspecified() {
		return false
	}
	var serr error
	err := rc.Control(func(fd uintptr) {
		dom, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		if err != nil {
			serr = err
			return
		}
		if dom == unix.AF_INET6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		s.log.Warn("dns udp: cannot learn query destinations; answers use the kernel's source address", zap.Stringer("addr", la), zap.Error(err))
		return false
	}
	return true
}

// serveUDP answers the queries arriving on pc, a batch at a time, until
// stopping is set (stopc is closed at the same time, to wake a blocking
// reader).
func (s *Server) serveUDP(pc *net.UDPConn, stopping *atomic.Bool, stopc <-chan struct{}, st *readerStats) {
	rc, err := pc.SyscallConn()
	if err != nil {
		s.log.Error("dns udp", zap.Error(err))
		return
	}
	b := newUDPBatch(s.udpSocketSetup(pc, rc))
	if udpGSO {
		rc.Control(b.enableGSO)
	}
	if udpBlockingReaders {
		fd, err := detachBlocking(pc, rc)
		if err == nil {
			s.serveUDPBlocking(fd, b, stopping, stopc, st)
			return
		}
		// pc is still open and in the netpoller: serve it from there.
		s.log.Warn("dns udp: no blocking reader; using the netpoller", zap.Error(err))
	}
	for {
		err := rc.Read(b.recv)
		if err == nil {
			err = b.err
		}
		if err != nil {
			if stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			s.log.Debug("dns udp read", zap.Error(err))
			continue
		}
		start := time.Now()
		nfast := s.answerBatch(b, st, start)
		if b.nsend > 0 {
			b.coalesce()
			b.sent = 0
			if err := rc.Write(b.send); err != nil {
				s.log.Debug("dns udp write", zap.Error(err))
			}
			s.logSendErrors(b)
		}
		if nfast > 0 {
			// Each fast answer took at most the batch's time from
			// receipt to the last answer written; one observation covers
			// them all (the full path observed its own).
			st.latency.observe(time.Since(start), uint64(nfast))
		}
	}
}

// udpGSO: readers send runs of same-size answers to one client as one
// message cut by the kernel (see coalesce). A variable to compare.
var udpGSO = true

// udpBlockingReaders: each reader blocks in recvmmsg on its own locked OS
// thread, its socket taken out of the netpoller (see serveUDPBlocking).
// False serves through the netpoller (serveUDP's loop), kept to compare.
var udpBlockingReaders = true

// blockingTick bounds how long a blocking reader waits in recvmmsg before
// looking at stopping again, should the wake-up by shutdown(2) not reach
// it. A variable so a test can show the wake-up alone suffices.
var blockingTick = 200 * time.Millisecond

// detachBlocking takes pc's socket out of the netpoller: it duplicates the
// descriptor, closes pc (which removes it from epoll; the socket lives on
// in the duplicate, still in its SO_REUSEPORT group) and puts the socket
// in blocking mode with a receive timeout of blockingTick. The caller owns
// the returned descriptor.
func detachBlocking(pc *net.UDPConn, rc syscall.RawConn) (int, error) {
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("dup", derr)
	}
	tv := unix.NsecToTimeval(blockingTick.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setsockopt SO_RCVTIMEO", err)
	}
	// Close before clearing O_NONBLOCK: the flag belongs to the socket,
	// which pc shares until then.
	pc.Close()
	if err := unix.SetNonblock(fd, false); err != nil {
		// Non-blocking still works, as a busy loop; better to stop.
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl O_NONBLOCK", err)
	}
	return fd, nil
}

// serveUDPBlocking is serveUDP's loop on a blocking socket, outside the
// netpoller, as gdnsd's readers are: recvmmsg(MSG_WAITFORONE) sleeps in
// the kernel until a query arrives (no epoll wake-up, no futex between
// batches), then the batch is answered and sent with one sendmmsg. The
// goroutine keeps its OS thread, and the blocking call goes through
// unix.Syscall6 so the runtime hands the P to other goroutines meanwhile.
// When stopc closes, shutdown(2) wakes the reader from recvmmsg (the
// receive timeout, blockingTick, is the fallback); it closes fd on its way
// out.
func (s *Server) serveUDPBlocking(fd int, b *udpBatch, stopping *atomic.Bool, stopc <-chan struct{}, st *readerStats) {
	exited := make(chan struct{})
	woken := make(chan struct{})
	go func() {
		defer close(woken)
		select {
		case <-stopc:
			// ENOTCONN on an unconnected socket, but it still marks
			// the socket shut for reading and wakes its sleepers.
			unix.Shutdown(fd, unix.SHUT_RD)
		case <-exited:
		}
	}()
	defer func() {
		close(exited)
		<-woken // fd stays open until the waker is done with it
		unix.Close(fd)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for !stopping.Load() {
		if err := b.recvBlocking(fd); err != 0 {
			if err != unix.EAGAIN && err != unix.EINTR {
				s.log.Debug("dns udp read", zap.Error(os.NewSyscallError("recvmmsg", err)))
			}
			continue
		}
		start := time.Now()
		nfast := s.answerBatch(b, st, start)
		if b.nsend > 0 {
			b.coalesce()
			b.sendBlocking(fd)
			s.logSendErrors(b)
		}
		if nfast > 0 {
			st.latency.observe(time.Since(start), uint64(nfast))
		}
	}
}

// recvBlocking fills b from the blocking socket fd, waiting at most
// blockingTick for the first datagram (EAGAIN then).
func (b *udpBatch) recvBlocking(fd int) syscall.Errno {
	b.resetRecv()
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.rhdrs[0])), batchSize, unix.MSG_WAITFORONE, 0, 0)
	if e != 0 {
		b.n = 0
		return e
	}
	b.n = int(n)
	return 0
}

// sendBlocking sends b's queued answers on the blocking socket fd. The
// first try does not wait and stays out of the scheduler (a UDP send
// buffer is almost never full); only a full buffer waits, as an ordinary
// blocking call.
func (b *udpBatch) sendBlocking(fd int) {
	b.sent = 0
	for b.sent < b.nsend {
		hdrs, left := uintptr(unsafe.Pointer(&b.wire[b.sent])), uintptr(b.nsend-b.sent)
		n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), hdrs, left, unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EAGAIN {
			n, _, e = unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), hdrs, left, 0, 0, 0)
		}
		switch {
		case e == unix.EINTR || e == unix.EAGAIN:
		case e != 0 || n == 0:
			b.sendFailed(uintptr(fd), e)
			b.sent++
		default:
			b.sent += int(n)
		}
	}
}

// logSendErrors logs what went wrong sending b's answers, once.
func (s *Server) logSendErrors(b *udpBatch) {
	if b.werr != nil {
		s.log.Debug("dns udp write", zap.Error(b.werr))
		b.werr = nil
	}
	if b.gsoErr != nil {
		s.log.Info("dns udp: the kernel refused an answer batch cut by UDP GSO; this reader sends each answer alone from now on", zap.Error(b.gsoErr))
		b.gsoErr = nil
	}
}

// answerBatch answers the b.n received queries into b's send slots and
// returns how many took the fast path.
func (s *Server) answerBatch(b *udpBatch, st *readerStats, start time.Time) int {
	p := s.cur.Load()
	nfast := 0
	b.nsend = 0
	for i := range b.n {
		h := &b.rhdrs[i]
		q := b.in[i*recvBufSize : i*recvBufSize+int(h.Len)]
		out := b.out[i*sendBufSize : i*sendBufSize : (i+1)*sendBufSize]
		var resp []byte
		switch {
		case h.Hdr.Flags&unix.MSG_TRUNC != 0:
			// Longer than any sensible query; what we hold is cut.
			if len(q) >= 12 && q[2]&0x80 == 0 {
				resp = s.formErr(q, out, start)
			}
		case len(q) >= 17:
			if resp = s.fastAnswer(p, q, out, st); resp != nil {
				nfast++
				break
			}
			if s.cookies != nil {
				if resp = s.fastCookieAnswer(p, q, out, st, b.srcAddr(i), start); resp != nil {
					nfast++
					break
				}
			}
			fallthrough
		default:
			resp = s.slowAnswer(q, b.peer(i), out, start)
		}
		if len(resp) > 0 && s.rrl != nil {
			resp = s.limitUDP(q, resp, b.srcAddr(i), start, out)
		}
		if len(resp) > 0 {
			b.queue(i, resp)
		}
	}
	return nfast
}

// enableGSO lets b send answers of one size to one client as one message
// cut by the kernel (UDP_SEGMENT, Linux 4.18), if fd's kernel knows it.
func (b *udpBatch) enableGSO(fd uintptr) {
	if _, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT); err != nil {
		return
	}
	b.gso = true
	b.ghdrs = make([]unix.Mmsghdr, batchSize)
	b.giov = make([]unix.Iovec, batchSize)
	b.gctl = make([]byte, batchSize*gctlSize)
	b.split = make([]unix.Mmsghdr, batchSize)
}

// coalesce readies b's queued answers for sending. With GSO, answers of
// the same size (at most gsoMaxSegment) to the same address from the same
// source go in one message whose UDP_SEGMENT control message has the
// kernel cut it into one datagram per answer: one trip through the UDP
// and IP send path, the route lookup and the loopback or driver hand-off
// instead of one per answer. A resolver or a load generator asking the
// same question many times from one port is what makes such runs; other
// answers go alone, as without GSO. Order between clients is not kept
// (UDP promises none).
func (b *udpBatch) coalesce() {
	b.wire = b.shdrs
	if !b.gso || b.nsend < 2 {
		return
	}
	// One pass assigns each answer a group, found through a small hash
	// table of (client, size); a second lays the groups' answers out
	// contiguously. Both are linear: a quadratic scan of the batch showed
	// in profiles.
	var (
		slots  [2 * batchSize]uint8 // group+1 by hash; 0: free
		group  [batchSize]uint8     // answer j's group
		lead   [batchSize]uint8     // a group's first answer
		count  [batchSize]uint8     // a group's answers
		offset [batchSize]uint8     // a group's first slot in giov
	)
	ng := 0
	for j := range b.nsend {
		size := b.siov[j].Len
		g := -1
		if size <= gsoMaxSegment {
			for h := b.flowHash(j) % uint32(len(slots)); ; h = (h + 1) % uint32(len(slots)) {
				if slots[h] == 0 {
					slots[h] = uint8(ng + 1)
					break
				}
				c := int(slots[h] - 1)
				l := int(lead[c])
				if b.siov[l].Len == size && (int(count[c])+1)*int(size) <= gsoMaxBytes && b.sameFlow(l, j) {
					g = c
					break
				}
			}
		}
		if g < 0 {
			g = ng
			lead[g], count[g] = uint8(j), 0
			ng++
		}
		group[j] = uint8(g)
		count[g]++
	}
	nio := 0
	for g := range ng {
		offset[g] = uint8(nio)
		first := &b.shdrs[lead[g]].Hdr
		gh := &b.ghdrs[g].Hdr
		*gh = *first
		gh.Iov = &b.giov[nio]
		gh.SetIovlen(int(count[g]))
		if count[g] > 1 {
			ctl := b.gctl[g*gctlSize : (g+1)*gctlSize]
			n := copy(ctl, unsafe.Slice(first.Control, int(first.Controllen)))
			n += putSegment(ctl[n:], uint16(b.siov[lead[g]].Len))
			gh.Control = &ctl[0]
			gh.SetControllen(n)
		}
		nio += int(count[g])
	}
	for j := range b.nsend {
		g := group[j]
		b.giov[offset[g]] = b.siov[j]
		offset[g]++
	}
	b.wire = b.ghdrs
	b.nsend = ng
}

// flowHash hashes the address and size of queued answer j.
func (b *udpBatch) flowHash(j int) uint32 {
	w := (*[4]uint32)(unsafe.Pointer(b.shdrs[j].Hdr.Name)) // family and port, then IPv4 address or IPv6 flow label and address
	h := (w[0] ^ w[1]*0x9E3779B1 ^ w[2] ^ w[3]*0x85EBCA77 ^ uint32(b.siov[j].Len)) * 0xC2B2AE3D
	return h ^ h>>15
}

// sameFlow reports whether queued answers j and k go to the same address
// from the same source (their control messages, when any, are equal).
func (b *udpBatch) sameFlow(j, k int) bool {
	a, c := &b.shdrs[j].Hdr, &b.shdrs[k].Hdr
	if a.Namelen != c.Namelen || a.Controllen != c.Controllen {
		return false
	}
	// Word compares: this runs for most pairs of a batch. (The names are
	// 4-byte aligned; the kernel zeroes sin_zero.)
	switch a.Namelen {
	case unix.SizeofSockaddrInet4:
		if *(*[4]uint32)(unsafe.Pointer(a.Name)) != *(*[4]uint32)(unsafe.Pointer(c.Name)) {
			return false
		}
	case unix.SizeofSockaddrInet6:
		if *(*[7]uint32)(unsafe.Pointer(a.Name)) != *(*[7]uint32)(unsafe.Pointer(c.Name)) {
			return false
		}
	default:
		return false
	}
	return a.Controllen == 0 || string(unsafe.Slice(a.Control, a.Controllen)) == string(unsafe.Slice(c.Control, c.Controllen))
}

// putSegment writes a UDP_SEGMENT control message for segments of size
// bytes into dst and returns its space.
func putSegment(dst []byte, size uint16) int {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&dst[unix.CmsgLen(0)])) = size
	return unix.CmsgSpace(2)
}

// sendFailed handles the refusal e of the first unsent message. A group
// cut by GSO that the kernel refused (a device that cannot segment, a
// path MTU below a segment) is sent again as one message per answer, and
// GSO stays off on this socket; a single answer is dropped.
func (b *udpBatch) sendFailed(fd uintptr, e syscall.Errno) {
	h := &b.wire[b.sent].Hdr
	if h.Iovlen <= 1 {
		b.werr = os.NewSyscallError("sendmmsg", e)
		return
	}
	b.gso = false
	b.gsoErr = os.NewSyscallError("sendmmsg with UDP_SEGMENT", e)
	iov := unsafe.Slice(h.Iov, h.Iovlen)
	for i := range iov {
		sh := &b.split[i].Hdr
		*sh = *h
		sh.Iov = &iov[i]
		sh.SetIovlen(1)
		sh.SetControllen(int(h.Controllen) - unix.CmsgSpace(2)) // the segment size was last
		if sh.Controllen == 0 {
			sh.Control = nil
		}
	}
	for sent := 0; sent < len(iov); {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.split[sent])), uintptr(len(iov)-sent), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case e == unix.EINTR:
		case e != 0 || n == 0:
			// A full buffer (EAGAIN) too: this rare path drops rather
			// than waits.
			b.werr = os.NewSyscallError("sendmmsg", e)
			sent++
		default:
			sent += int(n)
		}
	}
}

// queue adds resp, the answer to received datagram i, to the send batch.
func (b *udpBatch) queue(i int, resp []byte) {
	j := b.nsend
	sh := &b.shdrs[j].Hdr
	sh.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	sh.Namelen = b.rhdrs[i].Hdr.Namelen
	b.siov[j].Base = &resp[0]
	b.siov[j].SetLen(len(resp))
	sh.Control = nil
	sh.SetControllen(0)
	if b.pktinfo {
		ctl := b.soob[j*oobSize : (j+1)*oobSize]
		if n := b.sourceControl(i, ctl); n > 0 {
			sh.Control = &ctl[0]
			sh.SetControllen(n)
		}
	}
	b.nsend++
}

// sourceControl writes into dst a control message making the answer to
// datagram i leave from the address the query was sent to, and returns
// its length (0: no destination was received).
func (b *udpBatch) sourceControl(i int, dst []byte) int {
	oob := b.roob[i*oobSize : i*oobSize+min(int(b.rhdrs[i].Hdr.Controllen), oobSize)]
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return 0
		}
		oob = rest
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			in := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			return putControl(dst, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.Inet4Pktinfo{Spec_dst: in.Addr})
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			in := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			pi := unix.Inet6Pktinfo{Addr: in.Addr}
			if netip.AddrFrom16(in.Addr).IsLinkLocalUnicast() {
				pi.Ifindex = in.Ifindex // a link-local source needs its link
			}
			return putControl(dst, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pi)
		}
	}
	return 0
}

// putControl writes one control message holding v into dst and returns
// its space. (unix.PktInfo4/6 would allocate the message per answer.)
func putControl[T unix.Inet4Pktinfo | unix.Inet6Pktinfo](dst []byte, level, typ int32, v T) int {
	size := int(unsafe.Sizeof(v))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(size))
	*(*T)(unsafe.Pointer(&dst[unix.CmsgLen(0)])) = v
	return unix.CmsgSpace(size)
}

// srcAddr returns the source address of datagram i, without its zone
// (cheaper than peer; rate limiting needs no more).
func (b *udpBatch) srcAddr(i int) netip.Addr {
	sa := &b.names[i]
	switch sa.Family {
	case unix.AF_INET:
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(sa)).Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16(sa.Addr)
	}
	return netip.Addr{}
}

// peer returns the source of datagram i (the full path needs it for
// regions and transfer ACLs).
func (b *udpBatch) peer(i int) netip.AddrPort {
	sa := &b.names[i]
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(port[0])<<8|uint16(port[1]))
	case unix.AF_INET6:
		port := (*[2]byte)(unsafe.Pointer(&sa.Port))
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			zone := strconv.FormatUint(uint64(sa.Scope_id), 10)
			if ifi, err := net.InterfaceByIndex(int(sa.Scope_id)); err == nil {
				zone = ifi.Name
			}
			a = a.WithZone(zone)
		}
		return netip.AddrPortFrom(a, uint16(port[0])<<8|uint16(port[1]))
	}
	return netip.AddrPort{}
}
