package probe

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// peers records the source address of every connection a test server
// accepts.
type peers struct {
	mu   sync.Mutex
	seen []string
}

func (p *peers) add(addr net.Addr) {
	host, _, _ := net.SplitHostPort(addr.String())
	p.mu.Lock()
	p.seen = append(p.seen, host)
	p.mu.Unlock()
}

func (p *peers) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestProbeSourceIsTheSourceOfEveryProbe probes loopback servers on
// 127.0.0.1 (and ::1) with ProberOptions.Source 127.0.0.11 and checks the
// address each server saw.
func TestProbeSourceIsTheSourceOfEveryProbe(t *testing.T) {
	checkLeaks(t)
	var rec peers
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(mustAddr(r.RemoteAddr))
	})
	web := httptest.NewServer(handler)
	t.Cleanup(web.Close)
	tlsWeb := httptest.NewTLSServer(handler)
	t.Cleanup(tlsWeb.Close)
	smtp := startRaw(t, "tcp4", "127.0.0.1:0", func(done <-chan struct{}, c net.Conn) {
		rec.add(c.RemoteAddr())
		smtpBanner("220 mail.example.com ESMTP\r\n")(done, c)
	})
	tcp := startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, c net.Conn) {
		rec.add(c.RemoteAddr())
		_ = c.Close()
	})
	tcp6 := startRaw(t, "tcp6", "[::1]:0", func(_ <-chan struct{}, c net.Conn) {
		rec.add(c.RemoteAddr())
		_ = c.Close()
	})
	_, smtpPort := smtp.addr(t)
	_, tcpPort := tcp.addr(t)
	_, tcp6Port := tcp6.addr(t)
	source := netip.MustParseAddr("127.0.0.11")
	probers := Probers(ProberOptions{Source: source})
	tests := []struct {
		name     string
		tg       Target
		wantPeer string
	}{
		{"TCP", Target{Protocol: TCP, Address: "127.0.0.1", Port: tcpPort}, "127.0.0.11"},
		{"TCP to an FQDN", Target{Protocol: TCP, Address: "localhost", Port: tcpPort}, "127.0.0.11"},
		{"HTTP", Target{Protocol: HTTP, Address: "127.0.0.1", Port: urlPort(web.URL)}, "127.0.0.11"},
		{"HTTPS", Target{Protocol: HTTPS, Address: "127.0.0.1", Port: urlPort(tlsWeb.URL), TLSSkipVerify: true}, "127.0.0.11"},
		{"SMTP", Target{Protocol: SMTP, Address: "127.0.0.1", Port: smtpPort}, "127.0.0.11"},
		{"other family: the system's choice", Target{Protocol: TCP, Address: "::1", Port: tcp6Port}, "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.list())
			tt.tg.Interval, tt.tg.Timeout = time.Minute, 3*time.Second
			r := Round(t.Context(), tt.tg, probers[tt.tg.Protocol])
			if !r.Up || r.Local {
				t.Fatalf("up=%v local=%v msg=%q", r.Up, r.Local, r.Message)
			}
			// The TCP servers record after accepting, maybe after the probe.
			waitFor(t, 5*time.Second, "the server to see the probe", func() bool { return len(rec.list()) > before })
			got := rec.list()[before:]
			if len(got) != 1 || got[0] != tt.wantPeer {
				t.Errorf("server saw connections from %v, want one from %s", got, tt.wantPeer)
			}
		})
	}
}

// TestProbeSourceOfPing pings 127.0.0.1 from 127.0.0.11 and checks, on a
// raw ICMP socket that sees loopback traffic, the source of the echo
// requests. Both ICMP modes bind their socket to the source.
func TestProbeSourceOfPing(t *testing.T) {
	checkLeaks(t)
	if ok, _ := pingMode(); !ok {
		t.Skip("needs raw ICMP sockets (root or CAP_NET_RAW) to watch echo requests")
	}
	modes := []struct {
		name         string
		unprivileged bool
	}{{"privileged", false}, {"unprivileged", true}}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if m.unprivileged {
				c, err := icmp.ListenPacket("udp4", "0.0.0.0")
				if err != nil {
					t.Skipf("unprivileged ping not allowed here (net.ipv4.ping_group_range): %v", err)
				}
				_ = c.Close()
			}
			sniff, err := icmp.ListenPacket("ip4:icmp", "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			defer sniff.Close()
			p := Probers(ProberOptions{Source: netip.MustParseAddr("127.0.0.11"), PingUnprivileged: m.unprivileged})[PING]
			r := Round(t.Context(), Target{Protocol: PING, Address: "127.0.0.1", Interval: time.Minute, Timeout: 3 * time.Second}, p)
			if !r.Up {
				t.Fatalf("down: %q", r.Message)
			}
			got := echoSources(t, sniff)
			if len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != "127.0.0.11" }) {
				t.Errorf("echo requests came from %v, want 127.0.0.11 only", got)
			}
		})
	}
}

// echoSources reads what sniff has queued (the echo requests and replies of
// a ping that already ended) and returns the sources of the requests.
func echoSources(t *testing.T, sniff *icmp.PacketConn) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 1500)
	for range 100 {
		_ = sniff.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, from, err := sniff.ReadFrom(buf)
		if err != nil {
			return out
		}
		msg, err := icmp.ParseMessage(1, buf[:n])
		if err == nil && msg.Type == ipv4.ICMPTypeEcho {
			out = append(out, from.String())
		}
	}
	return out
}

// TestProbeSourceNotLocalIsUnknown probes from an address this host does
// not have: every protocol fails locally (unknown), none is down.
func TestProbeSourceNotLocalIsUnknown(t *testing.T) {
	checkLeaks(t)
	srv := startRaw(t, "tcp4", "127.0.0.1:0", smtpBanner("220 mail.example.com ESMTP\r\n"))
	_, port := srv.addr(t)
	probers := Probers(ProberOptions{Source: netip.MustParseAddr("192.0.2.250")})
	protos := []Protocol{TCP, HTTP, HTTPS, SMTP}
	if ok, _ := pingMode(); ok {
		protos = append(protos, PING)
	}
	srv6 := startRaw(t, "tcp6", "[::1]:0", stall)
	_, port6 := srv6.addr(t)
	t.Run("TCP over IPv6", func(t *testing.T) {
		p := Probers(ProberOptions{Source: netip.MustParseAddr("2001:db8::250")})[TCP]
		r := Round(t.Context(), Target{Protocol: TCP, Address: "::1", Port: port6, Interval: time.Minute, Timeout: 3 * time.Second}, p)
		if r.Up || !r.Local || r.Message != "cannot probe: cannot assign requested address" {
			t.Errorf("up=%v local=%v msg=%q, want a local failure", r.Up, r.Local, r.Message)
		}
	})
	for _, proto := range protos {
		t.Run(string(proto), func(t *testing.T) {
			r := Round(t.Context(), Target{Protocol: proto, Address: "127.0.0.1", Port: port, Interval: time.Minute, Timeout: 3 * time.Second}, probers[proto])
			if r.Up || !r.Local || r.Message != "cannot probe: cannot assign requested address" {
				t.Errorf("up=%v local=%v msg=%q, want a local failure", r.Up, r.Local, r.Message)
			}
		})
	}
}

func mustAddr(hostport string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		panic(err)
	}
	return a
}

func urlPort(url string) int {
	p, _ := strconv.Atoi(url[strings.LastIndexByte(url, ':')+1:])
	return p
}
