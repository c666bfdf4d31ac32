//go:build linux

package dnsserver

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"
)

// queuedAnswer is one answer a test puts in a batch's send queue.
type queuedAnswer struct {
	port uint16 // the client's port on 127.0.0.1
	size int
	dst  byte // with pktinfo: last octet of the query's destination 127.0.0.x
}

// queueAnswers fills b's send queue as answerBatch would: answer j (its
// bytes all j) to received datagram j.
func queueAnswers(b *udpBatch, answers []queuedAnswer) {
	b.n, b.nsend = len(answers), 0
	for i, a := range answers {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], a.port)
		b.rhdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
		if b.pktinfo {
			n := putControl(b.roob[i*oobSize:], unix.IPPROTO_IP, unix.IP_PKTINFO, unix.Inet4Pktinfo{Addr: [4]byte{127, 0, 0, a.dst}})
			b.rhdrs[i].Hdr.SetControllen(n)
		}
		resp := b.out[i*sendBufSize : i*sendBufSize+a.size]
		for k := range resp {
			resp[k] = byte(i)
		}
		b.queue(i, resp)
	}
}

// wireGroup is one message coalesce left to send: the answers it carries
// (by index) and its UDP_SEGMENT size (0: none).
type wireGroup struct {
	answers []int
	segment int
}

// wireGroups reads back the messages b will send.
func wireGroups(t *testing.T, b *udpBatch) []wireGroup {
	t.Helper()
	var gs []wireGroup
	for j := range b.nsend {
		h := &b.wire[j].Hdr
		var g wireGroup
		for _, v := range unsafe.Slice(h.Iov, h.Iovlen) {
			i := int(*v.Base)
			if int(v.Len) != 0 && unsafe.Pointer(v.Base) != unsafe.Pointer(&b.out[i*sendBufSize]) {
				t.Fatalf("message %d carries bytes that are no answer", j)
			}
			g.answers = append(g.answers, i)
		}
		if h.Controllen > 0 {
			msgs, err := unix.ParseSocketControlMessage(unsafe.Slice(h.Control, h.Controllen))
			if err != nil {
				t.Fatalf("message %d: control: %v", j, err)
			}
			for _, m := range msgs {
				if m.Header.Level == unix.IPPROTO_UDP && m.Header.Type == unix.UDP_SEGMENT {
					g.segment = int(*(*uint16)(unsafe.Pointer(&m.Data[0])))
				}
			}
		}
		gs = append(gs, g)
	}
	return gs
}

// TestCoalesceCutsRunsOfSameSizeAnswersToOneClient: with GSO, answers of
// one size (at most gsoMaxSegment bytes) to one client from one source
// address leave as one message with a UDP_SEGMENT of that size; every
// other answer leaves alone, without one; no answer is lost or doubled.
func TestCoalesceCutsRunsOfSameSizeAnswersToOneClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gso     bool
		pktinfo bool
		answers []queuedAnswer
		want    []wireGroup
	}{
		{"SameClientSameSizeOneMessage", true, false,
			[]queuedAnswer{{port: 1, size: 50}, {port: 1, size: 50}, {port: 1, size: 50}},
			[]wireGroup{{[]int{0, 1, 2}, 50}}},
		{"InterleavedClientsOneMessageEach", true, false,
			[]queuedAnswer{{port: 1, size: 50}, {port: 2, size: 50}, {port: 1, size: 50}, {port: 2, size: 50}, {port: 1, size: 50}},
			[]wireGroup{{[]int{0, 2, 4}, 50}, {[]int{1, 3}, 50}}},
		{"OtherSizeAlone", true, false,
			[]queuedAnswer{{port: 1, size: 50}, {port: 1, size: 60}, {port: 1, size: 50}},
			[]wireGroup{{[]int{0, 2}, 50}, {[]int{1}, 0}}},
		{"OtherPortAlone", true, false,
			[]queuedAnswer{{port: 1, size: 50}, {port: 2, size: 50}},
			[]wireGroup{{[]int{0}, 0}, {[]int{1}, 0}}},
		{"LargerThanASegmentAlone", true, false,
			[]queuedAnswer{{port: 1, size: gsoMaxSegment + 1}, {port: 1, size: gsoMaxSegment + 1}, {port: 1, size: gsoMaxSegment}, {port: 1, size: gsoMaxSegment}},
			[]wireGroup{{[]int{0}, 0}, {[]int{1}, 0}, {[]int{2, 3}, gsoMaxSegment}}},
		{"OtherSourceAddressAlone", true, true,
			[]queuedAnswer{{port: 1, size: 50, dst: 1}, {port: 1, size: 50, dst: 2}, {port: 1, size: 50, dst: 1}},
			[]wireGroup{{[]int{0, 2}, 50}, {[]int{1}, 0}}},
		{"WithoutGSOEachAlone", false, false,
			[]queuedAnswer{{port: 1, size: 50}, {port: 1, size: 50}},
			[]wireGroup{{[]int{0}, 0}, {[]int{1}, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newUDPBatch(tc.pktinfo)
			if tc.gso {
				b.gso = true
				b.ghdrs = make([]unix.Mmsghdr, batchSize)
				b.giov = make([]unix.Iovec, batchSize)
				b.gctl = make([]byte, batchSize*gctlSize)
				b.split = make([]unix.Mmsghdr, batchSize)
			}
			queueAnswers(b, tc.answers)
			b.coalesce()
			got := wireGroups(t, b)
			if len(got) != len(tc.want) {
				t.Fatalf("messages %v, want %v", got, tc.want)
			}
			for j := range got {
				if !slices.Equal(got[j].answers, tc.want[j].answers) || got[j].segment != tc.want[j].segment {
					t.Fatalf("messages %v, want %v", got, tc.want)
				}
			}
			if tc.pktinfo {
				// Each message still leaves from its queries' destination.
				for j := range b.nsend {
					h := &b.wire[j].Hdr
					msgs, err := unix.ParseSocketControlMessage(unsafe.Slice(h.Control, h.Controllen))
					if err != nil || len(msgs) == 0 || msgs[0].Header.Type != unix.IP_PKTINFO {
						t.Fatalf("message %d: no source control message (%v)", j, err)
					}
					pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&msgs[0].Data[0]))
					if want := tc.answers[got[j].answers[0]].dst; pi.Spec_dst != [4]byte{127, 0, 0, want} {
						t.Fatalf("message %d leaves from %v, want 127.0.0.%d", j, pi.Spec_dst, want)
					}
				}
			}
		})
	}
}

// TestGSORunArrivesAsOneDatagramPerAnswer: a run of same-size answers to
// one client socket, sent on a real loopback socket as one message, is
// received as one datagram per answer, each its query's answer. When the
// kernel refuses the message (SO_NO_CHECK forbids UDP_SEGMENT), the
// answers are sent one by one and GSO stays off for that reader.
func TestGSORunArrivesAsOneDatagramPerAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refused bool
	}{
		{"KernelCutsTheRun", false},
		{"RefusedRunSentOneByOne", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewServer(Options{}, zaptest.NewLogger(t), prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			s.Publish(testSnapshot(t))
			server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { server.Close() })
			client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close() })
			rc, err := server.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			b := newUDPBatch(false)
			rc.Control(b.enableGSO)
			if !b.gso {
				t.Skip("this kernel has no UDP GSO")
			}
			if tc.refused {
				var serr error
				rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1) })
				if serr != nil {
					t.Fatal(serr)
				}
			}

			// Ten queries from the client, as recvmmsg would return them.
			const n = 10
			var pkts []batchPacket
			for i := range n {
				m := new(dns.Msg)
				m.SetQuestion("static.example.com.", dns.TypeA)
				m.Id = uint16(100 + i)
				raw, err := m.Pack()
				if err != nil {
					t.Fatal(err)
				}
				pkts = append(pkts, batchPacket{raw: raw})
			}
			fillBatch(b, pkts)
			from := client.LocalAddr().(*net.UDPAddr).AddrPort()
			for i := range n {
				sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
				binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], from.Port())
			}
			if got := s.answerBatch(b, s.metrics.newReader(), time.Now()); got != n {
				t.Fatalf("%d fast answers, want %d", got, n)
			}
			b.coalesce()
			if b.nsend != 1 {
				t.Fatalf("%d messages to send, want the run in one", b.nsend)
			}
			b.sent = 0
			if err := rc.Write(b.send); err != nil {
				t.Fatal(err)
			}
			if b.gso == tc.refused || (b.gsoErr != nil) != tc.refused {
				t.Fatalf("after sending: gso %v, refusal %v", b.gso, b.gsoErr)
			}
			if b.werr != nil {
				t.Fatalf("send: %v", b.werr)
			}

			// Whatever arrives must be one answer per datagram; a
			// missing one ends the wait at the deadline.
			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			var ids []int
			buf := make([]byte, 65536)
			for range n {
				k, src, err := client.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("after %d answers: %v", len(ids), err)
				}
				if src != server.LocalAddr().(*net.UDPAddr).AddrPort() {
					t.Fatalf("answer from %v", src)
				}
				m := new(dns.Msg)
				if err := m.Unpack(buf[:k]); err != nil {
					t.Fatalf("datagram of %d bytes is not one answer: %v", k, err)
				}
				if !m.Response || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.80" {
					t.Fatalf("answer %v", m)
				}
				ids = append(ids, int(m.Id))
			}
			slices.Sort(ids)
			for i, id := range ids {
				if id != 100+i {
					t.Fatalf("answer IDs %v, want 100..%d once each", ids, 100+n-1)
				}
			}
		})
	}
}

// TestCoalesceDoesNotAllocate: grouping a full batch of answers keeps the
// fast path free of allocations.
func TestCoalesceDoesNotAllocate(t *testing.T) {
	b := newUDPBatch(true)
	b.gso = true
	b.ghdrs = make([]unix.Mmsghdr, batchSize)
	b.giov = make([]unix.Iovec, batchSize)
	b.gctl = make([]byte, batchSize*gctlSize)
	b.split = make([]unix.Mmsghdr, batchSize)
	answers := make([]queuedAnswer, batchSize)
	for i := range answers {
		answers[i] = queuedAnswer{port: uint16(1 + i%4), size: 50 + i/4%2, dst: 1}
	}
	if allocs := testing.AllocsPerRun(100, func() {
		queueAnswers(b, answers)
		b.coalesce()
	}); allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
	if b.nsend != 8 {
		t.Fatalf("%d messages, want 8 (4 clients x 2 sizes)", b.nsend)
	}
}
