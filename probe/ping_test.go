package probe

import (
	"testing"
	"time"

	"golang.org/x/net/icmp"
)

func TestCheckPingWorksHere(t *testing.T) {
	if err := CheckPing(); err != nil {
		t.Fatalf("CheckPing: %v", err)
	}
}

func TestPingLoopback(t *testing.T) {
	checkLeaks(t)
	if CheckPing() != nil {
		t.Skip("no ICMP socket available")
	}
	modes := []struct {
		name         string
		unprivileged bool
	}{{"privileged", false}, {"unprivileged", true}}
	for _, m := range modes {
		if m.unprivileged {
			c, err := icmp.ListenPacket("udp4", "0.0.0.0")
			if err != nil {
				t.Logf("unprivileged ping not allowed here (net.ipv4.ping_group_range): %v", err)
				continue
			}
			_ = c.Close()
		} else if ok, _ := pingMode(); !ok {
			t.Log("not privileged: skipping raw ICMP")
			continue
		}
		p := Probers(ProberOptions{PingUnprivileged: m.unprivileged})[PING]
		for _, addr := range []string{"127.0.0.1", "::1", "localhost"} {
			t.Run(m.name+"/"+addr, func(t *testing.T) {
				r := Round(t.Context(), Target{Protocol: PING, Address: addr, Interval: time.Minute, Timeout: 3 * time.Second}, p)
				if !r.Up || r.RTT <= 0 || r.Attempts != 1 {
					t.Errorf("got up=%v rtt=%v attempts=%d msg=%q", r.Up, r.RTT, r.Attempts, r.Message)
				}
			})
		}
	}
}
