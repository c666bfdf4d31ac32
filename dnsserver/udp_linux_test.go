//go:build linux

package dnsserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"
)

// batchPacket is one datagram put into a udpBatch by a test.
type batchPacket struct {
	name  string
	raw   []byte
	trunc bool // as if longer than the receive buffer
	// want: the rcode answered, or -1 for no answer at all.
	want int
	// req, when set, is the parsed query; the answer must equal the
	// full path's answer to it.
	req *dns.Msg
}

// fillBatch loads pkts into b as if recvmmsg had received them, datagram i
// from 127.0.0.1 port 10000+i.
func fillBatch(b *udpBatch, pkts []batchPacket) {
	for i, p := range pkts {
		copy(b.in[i*recvBufSize:], p.raw)
		b.rhdrs[i].Len = uint32(min(len(p.raw), recvBufSize))
		b.rhdrs[i].Hdr.Flags = 0
		if p.trunc {
			b.rhdrs[i].Hdr.Flags = unix.MSG_TRUNC
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
		port := (*[2]byte)(unsafe.Pointer(&sa.Port))
		port[0], port[1] = byte((10000+i)>>8), byte(10000+i)
		b.rhdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	b.n = len(pkts)
}

// sentAnswers returns the queued answers of b by the index of the datagram
// they answer (found through the reply address).
func sentAnswers(t *testing.T, b *udpBatch) map[int][]byte {
	t.Helper()
	got := map[int][]byte{}
	for j := range b.nsend {
		sh := &b.shdrs[j].Hdr
		i := -1
		for k := range b.n {
			if sh.Name == (*byte)(unsafe.Pointer(&b.names[k])) {
				i = k
			}
		}
		if i < 0 || sh.Namelen != unix.SizeofSockaddrInet4 {
			t.Fatalf("answer %d goes to no received address", j)
		}
		if _, dup := got[i]; dup {
			t.Fatalf("datagram %d answered twice", i)
		}
		got[i] = unsafe.Slice(b.siov[j].Base, b.siov[j].Len)
		if b.peer(i) != netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(10000+i)) {
			t.Fatalf("datagram %d: peer %v", i, b.peer(i))
		}
	}
	return got
}

// TestBatchAnswersEachDatagramToItsSender: one batch mixing fast-path
// queries, full-path queries and malformed datagrams gets exactly one
// answer per answerable datagram, sent to that datagram's source, equal
// to the full path's answer; responses and runt datagrams get none.
func TestBatchAnswersEachDatagramToItsSender(t *testing.T) {
	s, err := NewServer(Options{ECS: true, Hostname: "ns1.test"}, zaptest.NewLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.Publish(testSnapshot(t))
	query := func(name string, qt uint16, id uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		m.Id = id
		return m
	}
	pack := func(m *dns.Msg) []byte {
		raw, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	ok := func(name string, m *dns.Msg, rcode int) batchPacket {
		return batchPacket{name: name, raw: pack(m), want: rcode, req: m}
	}
	chaos := query("id.server.", dns.TypeTXT, 7)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	ecs := query("app.example.com.", dns.TypeA, 8)
	ecs.SetEdns0(1232, false)
	ecs.IsEdns0().Option = append(ecs.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(192, 0, 2, 0)})
	edns := query("static.example.com.", dns.TypeA, 9)
	edns.SetEdns0(4096, true)
	response := query("static.example.com.", dns.TypeA, 10)
	response.Response = true
	garbage := []byte{0, 11, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	longQuery := append(pack(query("static.example.com.", dns.TypeA, 12)), make([]byte, recvBufSize)...)
	pkts := []batchPacket{
		ok("FastStatic", query("static.example.com.", dns.TypeA, 1), dns.RcodeSuccess),
		ok("FastNXDOMAIN", query("nope.example.com.", dns.TypeA, 2), dns.RcodeNameError),
		ok("FastNODATA", query("static.example.com.", dns.TypeMX, 3), dns.RcodeSuccess),
		ok("FullCNAME", query("alias.example.com.", dns.TypeA, 4), dns.RcodeSuccess),
		ok("FullANY", query("static.example.com.", dns.TypeANY, 5), dns.RcodeSuccess),
		ok("FullRefused", query("example.org.", dns.TypeA, 6), dns.RcodeRefused),
		ok("FullChaos", chaos, dns.RcodeSuccess),
		ok("FullECS", ecs, dns.RcodeSuccess),
		ok("FastEDNS", edns, dns.RcodeSuccess),
		{name: "Response", raw: pack(response), want: -1},
		{name: "Runt", raw: []byte{0, 1, 2, 3, 4}, want: -1},
		{name: "Garbage", raw: garbage, want: dns.RcodeFormatError},
		{name: "Cut", raw: longQuery[:recvBufSize], trunc: true, want: dns.RcodeFormatError},
		ok("FastWeighted", query("v4only.example.com.", dns.TypeA, 13), dns.RcodeSuccess),
		ok("FastAfterGarbage", query("static.example.com.", dns.TypeAAAA, 14), dns.RcodeSuccess),
	}
	b := newUDPBatch(false)
	fillBatch(b, pkts)
	nfast := s.answerBatch(b, s.metrics.newReader(), time.Now())
	if nfast < 5 {
		t.Errorf("only %d fast answers", nfast)
	}
	got := sentAnswers(t, b)
	remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10000}
	for i, p := range pkts {
		raw, answered := got[i]
		if p.want < 0 {
			if answered {
				t.Errorf("%s: answered, want silence", p.name)
			}
			continue
		}
		if !answered {
			t.Errorf("%s: no answer", p.name)
			continue
		}
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil {
			t.Errorf("%s: answer does not parse: %v", p.name, err)
			continue
		}
		if m.Id != uint16(raw[0])<<8|uint16(raw[1]) || m.Id != uint16(p.raw[0])<<8|uint16(p.raw[1]) || !m.Response || m.Rcode != p.want {
			t.Errorf("%s: id %d rcode %s, want id %d rcode %s", p.name, m.Id, dns.RcodeToString[m.Rcode], uint16(p.raw[0])<<8|uint16(p.raw[1]), dns.RcodeToString[p.want])
		}
		if p.req == nil {
			continue
		}
		want, _, _ := s.handle(remote, p.req)
		if m.MsgHdr != want.MsgHdr || len(m.Question) != 1 || m.Question[0] != p.req.Question[0] {
			t.Errorf("%s: header/question %+v %v, want %+v", p.name, m.MsgHdr, m.Question, want.MsgHdr)
		}
		if !sameRRs(m.Answer, want.Answer) || !sameRRs(m.Ns, want.Ns) || !sameRRs(m.Extra, want.Extra) {
			t.Errorf("%s:\nbatch %v\nfull %v", p.name, m, want)
		}
	}
}

// BenchmarkAnswerBatch is one full batch of fast-path queries answered
// into the send slots (no sockets); it must not allocate.
func BenchmarkAnswerBatch(b *testing.B) {
	s, err := NewServer(Options{}, nil, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	s.Publish(testSnapshot(b))
	var pkts []batchPacket
	names := []string{"static.example.com.", "v4only.example.com.", "nope.example.net.", "StAtIc.example.com."}
	for i := range batchSize {
		m := new(dns.Msg)
		m.SetQuestion(names[i%len(names)], dns.TypeA)
		raw, _ := m.Pack()
		pkts = append(pkts, batchPacket{raw: raw})
	}
	bt := newUDPBatch(false)
	st := s.metrics.newReader()
	fillBatch(bt, pkts)
	b.ReportAllocs()
	for b.Loop() {
		if s.answerBatch(bt, st, time.Time{}) != batchSize {
			b.Fatal("not all fast")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/query")
}

// TestUDPManyClientsOverReusePortSockets: with four readers (four
// SO_REUSEPORT sockets), sixteen client sockets sending bursts of mixed
// queries at once each get every answer, matching its question; scrapes
// running meanwhile see the query count grow to exactly the queries sent.
func TestUDPManyClientsOverReusePortSockets(t *testing.T) {
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	s, addr := startServer(t, Options{}, testSnapshot(t))
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.metrics.queries, s.metrics.latency)
	scraped := func() (queries, answers float64) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				switch mf.GetName() {
				case "failoverd_dns_queries_total":
					queries += m.GetCounter().GetValue()
				case "failoverd_dns_answer_duration_seconds":
					answers += float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
		return queries, answers
	}
	stopScrape := make(chan struct{})
	scrapeDone := make(chan struct{})
	go func() {
		defer close(scrapeDone)
		last := 0.0
		for {
			select {
			case <-stopScrape:
				return
			case <-time.After(time.Millisecond):
			}
			if q, _ := scraped(); q < last {
				t.Errorf("queries_total went back from %v to %v", last, q)
			} else {
				last = q
			}
		}
	}()
	type qa struct {
		name  string
		qt    uint16
		rcode int
		first string // the first answer record's data, or ""
	}
	qs := []qa{
		{"static.example.com.", dns.TypeA, dns.RcodeSuccess, ""},
		{"v4only.example.com.", dns.TypeA, dns.RcodeSuccess, "192.0.2.12"},
		{"nope.example.com.", dns.TypeA, dns.RcodeNameError, ""},
		{"alias.example.com.", dns.TypeA, dns.RcodeSuccess, "static.example.com."},
		{"example.org.", dns.TypeA, dns.RcodeRefused, ""},
		{"txt.example.com.", dns.TypeTXT, dns.RcodeSuccess, "\"hello world\""},
	}
	const clients, bursts, burst = 16, 10, 8
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			conn, err := net.Dial("udp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			buf := make([]byte, 4096)
			for r := range bursts {
				sent := map[uint16]qa{}
				for k := range burst {
					q := qs[(c+r+k)%len(qs)]
					m := new(dns.Msg)
					m.SetQuestion(q.name, q.qt)
					m.Id = uint16(c<<10 | r<<4 | k)
					raw, _ := m.Pack()
					if _, err := conn.Write(raw); err != nil {
						errs <- err
						return
					}
					sent[m.Id] = q
				}
				for range burst {
					conn.SetReadDeadline(time.Now().Add(10 * time.Second))
					n, err := conn.Read(buf)
					if err != nil {
						errs <- fmt.Errorf("client %d burst %d: %v (%d unanswered)", c, r, err, len(sent))
						return
					}
					m := new(dns.Msg)
					if err := m.Unpack(buf[:n]); err != nil {
						errs <- err
						return
					}
					q, ok := sent[m.Id]
					if !ok {
						errs <- fmt.Errorf("client %d: unexpected answer id %d", c, m.Id)
						return
					}
					delete(sent, m.Id)
					if len(m.Question) != 1 || m.Question[0].Name != q.name || m.Question[0].Qtype != q.qt || m.Rcode != q.rcode {
						errs <- fmt.Errorf("client %d: answer %v to %s", c, m, q.name)
						return
					}
					if q.first != "" && (len(m.Answer) == 0 || !strings.HasSuffix(m.Answer[0].String(), "\t"+q.first)) {
						errs <- fmt.Errorf("client %d: answer %v to %s", c, m.Answer, q.name)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(stopScrape)
	<-scrapeDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A batch's duration is observed just after its answers are sent, so
	// the last ones may still be on their way to the histogram.
	testutil.Eventually(t, 10*time.Second, "every answer counted and timed", func() (bool, string) {
		q, a := scraped()
		return q == clients*bursts*burst && a == q, fmt.Sprintf("queries_total %v, answer durations %v; want %d", q, a, clients*bursts*burst)
	})
}

// TestListenBothSharesOnePort: several UDP sockets and the TCP listener
// get one port, and a second server cannot bind that address.
func TestListenBothSharesOnePort(t *testing.T) {
	group, ln, err := listenBoth("127.0.0.1:0", 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pc := range group {
			pc.Close()
		}
		ln.Close()
	})
	if len(group) != 3 {
		t.Fatalf("%d sockets, want 3", len(group))
	}
	port := ln.Addr().(*net.TCPAddr).Port
	for _, pc := range group {
		if p := pc.LocalAddr().(*net.UDPAddr).Port; p != port {
			t.Errorf("udp port %d, tcp port %d", p, port)
		}
	}
	if g2, ln2, err := listenBoth(fmt.Sprintf("127.0.0.1:%d", port), 2); err == nil {
		for _, pc := range g2 {
			pc.Close()
		}
		ln2.Close()
		t.Error("a second server bound the same address")
	}
}

// TestWildcardAnswersFromQueryDestination: a server on 0.0.0.0 and [::]
// answers each query from the address it was sent to (a connected client
// accepts nothing else). It runs in a network namespace of its own, where
// only loopback exists, so the wildcard binds expose nothing.
func TestWildcardAnswersFromQueryDestination(t *testing.T) {
	if os.Getenv("FAILOVERD_DNS_NETNS_CHILD") == "1" {
		wildcardChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWildcardAnswersFromQueryDestination$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "FAILOVERD_DNS_NETNS_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "SETUP:") {
		t.Skipf("cannot set up a network namespace here: %s", out)
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestWildcardAnswersFromQueryDestination") {
		t.Fatalf("child did not pass:\n%s", out)
	}
}

func wildcardChild(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal("SETUP: socket:", err)
	}
	ifr, err := unix.NewIfreq("lo")
	if err == nil {
		err = unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr)
	}
	if err == nil {
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		err = unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	}
	unix.Close(fd)
	if err != nil {
		t.Fatal("SETUP: lo up:", err)
	}
	for _, listen := range []string{"0.0.0.0:0", "[::]:0"} {
		t.Run(listen, func(t *testing.T) {
			s, err := NewServer(Options{Listen: []string{listen}}, zaptest.NewLogger(t), prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			s.Publish(testSnapshot(t))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			select {
			case <-s.Ready():
			case err := <-done:
				t.Fatalf("Run: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("not ready")
			}
			port := s.Addrs()[0].(*net.UDPAddr).Port
			dsts := []string{"127.0.0.1", "127.0.0.2", "127.1.2.3"}
			if listen == "[::]:0" {
				dsts = append(dsts, "::1")
			}
			for _, dst := range dsts {
				for _, name := range []string{"static.example.com.", "alias.example.com."} { // fast and full path
					conn, err := net.Dial("udp", net.JoinHostPort(dst, fmt.Sprint(port)))
					if err != nil {
						t.Fatal(err)
					}
					m := new(dns.Msg)
					m.SetQuestion(name, dns.TypeA)
					raw, _ := m.Pack()
					conn.Write(raw)
					conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					buf := make([]byte, 4096)
					n, err := conn.Read(buf)
					conn.Close()
					if err != nil {
						t.Errorf("%s via %s: %v", name, dst, err)
						continue
					}
					r := new(dns.Msg)
					if err := r.Unpack(buf[:n]); err != nil || r.Id != m.Id || len(r.Answer) == 0 {
						t.Errorf("%s via %s: %v %v", name, dst, r, err)
					}
				}
			}
		})
	}
}

// FuzzAnswerBatch feeds arbitrary datagrams, two per batch, through the
// batched UDP path: it must never panic; every answer carries its query's
// ID, fits the client's UDP limit and parses; and an answer taken from
// the pre-packed table is, byte for byte, the full path's answer to the
// same datagram (apart from weighted picks).
func FuzzAnswerBatch(f *testing.F) {
	s := fuzzServer(f)
	seeds := seedQueries()
	for i, a := range seeds {
		f.Add(a, seeds[(i+1)%len(seeds)])
	}
	simple := func(name string, qt uint16) []byte {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		raw, _ := m.Pack()
		return raw
	}
	f.Add(simple("static.example.com.", dns.TypeA), simple("StAtIc.example.com.", dns.TypeMX))
	f.Add(simple("nope.example.net.", dns.TypeA), simple("v4only.example.com.", dns.TypeAAAA))
	b := newUDPBatch(false)
	st := s.metrics.newReader()
	f.Fuzz(func(t *testing.T, q1, q2 []byte) {
		if len(q1) > recvBufSize || len(q2) > recvBufSize {
			return
		}
		pkts := []batchPacket{{raw: q1}, {raw: q2}}
		fillBatch(b, pkts)
		s.answerBatch(b, st, time.Now())
		for i, raw := range sentAnswers(t, b) {
			q := pkts[i].raw
			if len(q) < 12 || len(raw) < 12 || raw[0] != q[0] || raw[1] != q[1] || raw[2]&0x80 == 0 {
				t.Fatalf("datagram %d: answer %x to %x", i, raw, q)
			}
			got := new(dns.Msg)
			if err := got.Unpack(raw); err != nil {
				t.Fatalf("datagram %d: answer does not parse: %v", i, err)
			}
			req := new(dns.Msg)
			if req.Unpack(q) != nil {
				if got.Rcode != dns.RcodeFormatError {
					t.Fatalf("datagram %d: unparsable query answered %s", i, dns.RcodeToString[got.Rcode])
				}
				continue
			}
			limit := dns.MinMsgSize
			if opt := req.IsEdns0(); opt != nil {
				limit = max(limit, min(int(opt.UDPSize()), maxUDPSize))
			}
			if len(raw) > limit {
				t.Fatalf("datagram %d: %d bytes > %d", i, len(raw), limit)
			}
			fast := s.fastAnswer(s.cur.Load(), q, nil, st)
			if fast == nil {
				continue
			}
			q0 := req.Question[0]
			if dynamicPick(strings.ToLower(q0.Name), q0.Qtype) {
				continue // a weighted pick: random
			}
			full := s.slowAnswer(q, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 10000+uint16(i)), nil, time.Now())
			if len(full) >= 2 {
				full[0], full[1] = fast[0], fast[1] // the ID
			}
			if !bytes.Equal(fast, full) {
				t.Fatalf("datagram %d: fast and full answers differ\nfast %x\nfull %x", i, fast, full)
			}
		}
	})
}
