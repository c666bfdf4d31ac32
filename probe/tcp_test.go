package probe

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
)

func TestTCPAcceptedConnectionIsUp(t *testing.T) {
	checkLeaks(t)
	p := Probers(ProberOptions{})[TCP]
	v4 := startRaw(t, "tcp4", "127.0.0.1:0", stall)
	v6 := startRaw(t, "tcp6", "[::1]:0", stall)
	_, p4 := v4.addr(t)
	_, p6 := v6.addr(t)
	stalled := startRaw(t, "tcp4", "127.0.0.1:0", stall)
	_, ps := stalled.addr(t)
	tests := []struct {
		name string
		tg   Target
		up   bool
		msg  string
	}{
		{"ipv4", Target{Protocol: TCP, Address: "127.0.0.1", Port: p4}, true, ""},
		{"ipv6", Target{Protocol: TCP, Address: "::1", Port: p6}, true, ""},
		{"fqdn", Target{Protocol: TCP, Address: "localhost", Port: p4}, true, ""},
		{"server that never answers is still up", Target{Protocol: TCP, Address: "127.0.0.1", Port: ps}, true, ""},
		{"refused", Target{Protocol: TCP, Address: "127.0.0.1", Port: testutil.FreePort(t, "127.0.0.1")}, false, "connection refused"},
		{"refused ipv6", Target{Protocol: TCP, Address: "::1", Port: testutil.FreePort(t, "::1")}, false, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tg.Interval, tt.tg.Timeout = time.Minute, 2*time.Second
			r := Round(t.Context(), tt.tg, p)
			if r.Up != tt.up || r.Message != tt.msg {
				t.Errorf("up=%v msg=%q, want %v %q", r.Up, r.Message, tt.up, tt.msg)
			}
			if tt.up && r.RTT <= 0 {
				t.Errorf("RTT %v", r.RTT)
			}
		})
	}
}

func TestTCPRetriesEachAttempt(t *testing.T) {
	checkLeaks(t)
	port := testutil.FreePort(t, "127.0.0.1")
	r := Round(t.Context(), Target{Protocol: TCP, Address: "127.0.0.1", Port: port, Interval: time.Minute, Timeout: time.Second, Retries: 2}, Probers(ProberOptions{})[TCP])
	if r.Up || r.Attempts != 3 || r.Message != "connection refused" {
		t.Errorf("got %+v", r)
	}
}

func TestUnresolvableNameIsDown(t *testing.T) {
	checkLeaks(t)
	dns := startNXDomain(t)
	res := &net.Resolver{PreferGo: true, Dial: func(ctx contextT, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}
	probers := Probers(ProberOptions{Resolver: res})
	for _, proto := range []Protocol{TCP, HTTP, HTTPS, SMTP, PING} {
		t.Run(string(proto), func(t *testing.T) {
			r := Round(t.Context(), Target{Protocol: proto, Address: "nothing.example.invalid", Interval: time.Minute, Timeout: 2 * time.Second}, probers[proto])
			if r.Up || !strings.Contains(r.Message, "no such host") || !strings.Contains(r.Message, "nothing.example.invalid") {
				t.Errorf("up=%v msg=%q, want the resolver's no such host", r.Up, r.Message)
			}
		})
	}
}

// An FQDN target that is up reports the addresses its name resolves to: a
// host-name pool entry is served with them.
func TestUpFQDNRoundReportsResolvedAddresses(t *testing.T) {
	checkLeaks(t)
	p := Probers(ProberOptions{})[TCP]
	srv := startRaw(t, "tcp4", "127.0.0.1:0", stall)
	_, port := srv.addr(t)
	refused := testutil.FreePort(t, "127.0.0.1")
	tests := []struct {
		name string
		tg   Target
		want string
	}{
		{"fqdn up reports its addresses", Target{Protocol: TCP, Address: "localhost", Port: port}, "[127.0.0.1]"},
		{"ip target reports none", Target{Protocol: TCP, Address: "127.0.0.1", Port: port}, "[]"},
		{"fqdn down reports none", Target{Protocol: TCP, Address: "localhost", Port: refused}, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tg.Interval, tt.tg.Timeout = time.Minute, 2*time.Second
			r := Round(t.Context(), tt.tg, p)
			if got := fmt.Sprint(r.Addresses); got != tt.want {
				t.Errorf("addresses %s, want %s (up=%v %q)", got, tt.want, r.Up, r.Message)
			}
		})
	}
}
