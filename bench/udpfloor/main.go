// Command udpfloor is the cheapest possible Go UDP DNS responder, used by
// bench/run.sh (section "floor") to show what the Go runtime and the system
// calls alone cost per query on this machine, separately from failoverd's
// answer logic. Every query gets the same pre-packed A answer (192.0.2.1)
// with the query's ID and question copied in.
//
//	udpfloor -listen 127.0.0.1:5307 -mode plain|batch|raw
//
// Modes:
//
//	plain  one ReadFromUDPAddrPort and one WriteToUDPAddrPort per query
//	       (what dnsserver's fast path does today)
//	batch  golang.org/x/net/ipv4 ReadBatch/WriteBatch: recvmmsg/sendmmsg,
//	       up to -batch packets per system call, through the Go scheduler
//	raw    recvmmsg/sendmmsg with MSG_DONTWAIT as raw system calls inside
//	       syscall.RawConn callbacks: no entersyscall/exitsyscall, so sysmon
//	       never hands the P to another thread; the netpoller is used only
//	       when the socket is empty
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5307", "UDP address to answer on")
	mode := flag.String("mode", "plain", "plain | batch | raw")
	batch := flag.Int("batch", 32, "packets per system call (batch, raw)")
	flag.Parse()
	pc, err := net.ListenPacket("udp4", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpfloor:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { <-ctx.Done(); _ = pc.Close() }()
	c := pc.(*net.UDPConn)
	switch *mode {
	case "plain":
		err = servePlain(c)
	case "batch":
		err = serveBatch(c, *batch)
	case "raw":
		err = serveRaw(c, *batch)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "udpfloor:", err)
		os.Exit(1)
	}
}

// answer writes the response to query q into out and returns its length
// (0: drop). The answer RR points at the question name (0xC00C).
func answer(q, out []byte) int {
	if len(q) < 12 || q[2]&0x80 != 0 {
		return 0
	}
	off := 12
	for off < len(q) && q[off] != 0 {
		if q[off]&0xC0 != 0 {
			return 0
		}
		off += 1 + int(q[off])
	}
	off += 5 // root label, QTYPE, QCLASS
	if off > len(q) || off+16 > len(out) {
		return 0
	}
	n := copy(out, q[:off])
	out[2] = 0x84 | q[2]&0x01 // QR, AA, RD copied
	out[3] = 0
	binary.BigEndian.PutUint16(out[6:], 1)  // ANCOUNT
	binary.BigEndian.PutUint16(out[8:], 0)  // NSCOUNT
	binary.BigEndian.PutUint16(out[10:], 0) // ARCOUNT (EDNS dropped)
	rr := [16]byte{0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4, 192, 0, 2, 1}
	n += copy(out[n:], rr[:])
	return n
}

func servePlain(c *net.UDPConn) error {
	buf := make([]byte, 65535)
	out := make([]byte, 4096)
	for {
		n, ap, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		if m := answer(buf[:n], out); m > 0 {
			_, _ = c.WriteToUDPAddrPort(out[:m], ap)
		}
	}
}

func serveBatch(c *net.UDPConn, size int) error {
	p := ipv4.NewPacketConn(c)
	in := make([]ipv4.Message, size)
	outs := make([]ipv4.Message, size)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 4096)}
		outs[i].Buffers = [][]byte{make([]byte, 4096)}
	}
	for {
		n, err := p.ReadBatch(in, 0)
		if err != nil {
			return err
		}
		k := 0
		for i := range n {
			if m := answer(in[i].Buffers[0][:in[i].N], outs[k].Buffers[0][:cap(outs[k].Buffers[0])]); m > 0 {
				outs[k].Buffers[0] = outs[k].Buffers[0][:m]
				outs[k].Addr = in[i].Addr
				k++
			}
		}
		for sent := 0; sent < k; {
			w, err := p.WriteBatch(outs[sent:k], 0)
			if err != nil {
				break
			}
			sent += w
		}
	}
}

// mmsghdr is struct mmsghdr from <sys/socket.h> (linux).
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
}

func serveRaw(c *net.UDPConn, size int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	type slot struct {
		in, out   []byte
		name      syscall.RawSockaddrAny
		iin, iout syscall.Iovec
	}
	slots := make([]slot, size)
	rh := make([]mmsghdr, size)
	wh := make([]mmsghdr, size)
	for i := range slots {
		s := &slots[i]
		s.in, s.out = make([]byte, 4096), make([]byte, 4096)
		s.iin = syscall.Iovec{Base: &s.in[0], Len: uint64(len(s.in))}
		s.iout = syscall.Iovec{Base: &s.out[0]}
	}
	for {
		for i := range rh {
			s := &slots[i]
			rh[i] = mmsghdr{hdr: syscall.Msghdr{Name: (*byte)(unsafe.Pointer(&s.name)), Namelen: syscall.SizeofSockaddrAny, Iov: &s.iin, Iovlen: 1}}
		}
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			r, _, e := syscall.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&rh[0])), uintptr(size), syscall.MSG_DONTWAIT, 0, 0)
			if e == syscall.EAGAIN {
				return false // wait in the netpoller
			}
			if e != 0 {
				rerr = e
			}
			n = int(r)
			return true
		})
		if err != nil {
			return err
		}
		if rerr != nil {
			continue
		}
		k := 0
		for i := range n {
			s := &slots[i]
			m := answer(s.in[:rh[i].len], s.out)
			if m == 0 {
				continue
			}
			s.iout.Len = uint64(m)
			wh[k] = mmsghdr{hdr: syscall.Msghdr{Name: (*byte)(unsafe.Pointer(&s.name)), Namelen: rh[i].hdr.Namelen, Iov: &s.iout, Iovlen: 1}}
			k++
		}
		for sent := 0; sent < k; {
			var werr error
			err := rc.Write(func(fd uintptr) bool {
				r, _, e := syscall.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&wh[sent])), uintptr(k-sent), syscall.MSG_DONTWAIT, 0, 0)
				if e == syscall.EAGAIN {
					return false
				}
				if e != 0 {
					werr = e
					return true
				}
				sent += int(r)
				return true
			})
			if err != nil {
				return err
			}
			if werr != nil {
				break
			}
		}
	}
}
