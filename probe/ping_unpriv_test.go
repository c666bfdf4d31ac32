package probe

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPingUnprivilegedDatagramSockets runs a child of this test binary in a
// network namespace of its own, where it allows unprivileged ping for user
// nobody (ping_group_range is per namespace), drops to nobody and pings
// 127.0.0.1 and ::1 over ICMP datagram sockets. The host's settings are not
// touched.
func TestPingUnprivilegedDatagramSockets(t *testing.T) {
	if os.Getenv("FAILOVERD_PROBE_UNPRIV_CHILD") == "1" {
		unprivilegedChild()
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPingUnprivilegedDatagramSockets$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FAILOVERD_PROBE_UNPRIV_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	s := string(out)
	if err != nil && strings.Contains(s, "SETUP:") {
		t.Skipf("cannot set up a network namespace here: %s", s)
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, s)
	}
	t.Logf("child said: %s", s)
	for _, want := range []string{"MODE: unprivileged", "127.0.0.1: up", "::1: up",
		"127.0.0.1 from 127.0.0.11: up", "127.0.0.1 from 192.0.2.250: local cannot probe: cannot assign requested address"} {
		if !strings.Contains(s, want) {
			t.Errorf("child output lacks %q", want)
		}
	}
}

// unprivilegedChild runs inside the new network namespace.
func unprivilegedChild() {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		fmt.Println("SETUP: socket:", err)
		os.Exit(1)
	}
	ifr, err := unix.NewIfreq("lo")
	if err == nil {
		err = unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr)
	}
	if err == nil {
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		err = unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	}
	_ = unix.Close(fd)
	if err != nil {
		fmt.Println("SETUP: lo up:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("65534 65534"), 0o644); err != nil {
		fmt.Println("SETUP: ping_group_range:", err)
		os.Exit(1)
	}
	if err := syscall.Setgroups(nil); err == nil {
		err = syscall.Setgid(65534)
		if err == nil {
			err = syscall.Setuid(65534)
		}
	}
	privileged, err := pingMode()
	if err != nil {
		fmt.Println("MODE error:", err)
		return
	}
	if privileged {
		fmt.Println("MODE: privileged (still root?)")
		return
	}
	fmt.Println("MODE: unprivileged")
	p := Probers(ProberOptions{})[PING]
	for _, addr := range []string{"127.0.0.1", "::1"} {
		r := Round(context.Background(), Target{Protocol: PING, Address: addr, Interval: time.Minute, Timeout: 3 * time.Second}, p)
		state := "down " + r.Message
		if r.Up {
			state = "up"
		}
		fmt.Printf("%s: %s\n", addr, state)
	}
	// The datagram socket is bound to the source: a local one works, one
	// this host does not have fails locally.
	for _, src := range []string{"127.0.0.11", "192.0.2.250"} {
		p := Probers(ProberOptions{Source: netip.MustParseAddr(src)})[PING]
		r := Round(context.Background(), Target{Protocol: PING, Address: "127.0.0.1", Interval: time.Minute, Timeout: 3 * time.Second}, p)
		state := "down " + r.Message
		switch {
		case r.Up:
			state = "up"
		case r.Local:
			state = "local " + r.Message
		}
		fmt.Printf("127.0.0.1 from %s: %s\n", src, state)
	}
}
