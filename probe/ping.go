package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	probing "github.com/prometheus-community/pro-bing"
	"golang.org/x/net/icmp"
)

// CheckPing reports whether PING probes can run: nil when privileged ICMP
// (root or CAP_NET_RAW) or unprivileged ICMP datagram sockets
// (net.ipv4.ping_group_range) work, else an error naming both fixes.
func CheckPing() error {
	_, err := pingMode()
	return err
}

// pingMode finds how this process can send ICMP echo requests: privileged
// raw sockets (true) or unprivileged datagram sockets (false).
func pingMode() (privileged bool, err error) {
	c, rawErr := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if rawErr == nil {
		_ = c.Close()
		return true, nil
	}
	c, udpErr := icmp.ListenPacket("udp4", "0.0.0.0")
	if udpErr == nil {
		_ = c.Close()
		return false, nil
	}
	return false, fmt.Errorf("PING probes cannot open an ICMP socket (raw: %v; datagram: %v): "+
		"run failoverd as root or grant it CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW), "+
		"or allow unprivileged ping for its group with sysctl net.ipv4.ping_group_range (for example \"0 2147483647\")",
		rawErr, udpErr)
}

// probePing sends one ICMP echo request (IPv4 or IPv6) and is up when the
// reply arrives before the context's deadline.
func (o ProberOptions) probePing(ctx context.Context, t Target) Result {
	t = t.WithDefaults()
	start := time.Now()
	ip, err := o.resolve(ctx, t.Address)
	if err != nil {
		return failure(ctx, t, start, err)
	}
	wait := t.Timeout
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if wait <= 0 {
		return Result{Target: t, Message: timeoutMessage(t), Time: time.Now()}
	}
	p := probing.New("")
	p.SetIPAddr(&net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()})
	p.SetPrivileged(!o.PingUnprivileged)
	if src := o.Source.Unmap(); src.IsValid() && src.Is4() == ip.Is4() {
		p.Source = src.String() // the ICMP socket is bound to it
	}
	p.SetLogger(probing.NoopLogger{})
	p.Count = 1
	p.Timeout = wait
	p.Interval = wait // one echo request per attempt; retries send more
	start = time.Now()
	runErr := p.RunWithContext(ctx)
	st := p.Statistics()
	if st.PacketsRecv > 0 {
		rtt := st.MinRtt
		if len(st.Rtts) > 0 {
			rtt = st.Rtts[0]
		}
		return Result{Target: t, Up: true, RTT: rtt, Time: time.Now()}
	}
	if runErr != nil && !errors.Is(runErr, context.DeadlineExceeded) && !errors.Is(runErr, context.Canceled) {
		return failure(ctx, t, start, runErr)
	}
	return Result{Target: t, RTT: time.Since(start), Message: timeoutMessage(t), Time: time.Now()}
}

// resolve returns the target's address, resolving an FQDN now.
func (o ProberOptions) resolve(ctx context.Context, addr string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(addr); err == nil {
		return ip, nil
	}
	ips, err := o.Resolver.LookupNetIP(ctx, "ip", addr)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
	}
	return ips[0].Unmap(), nil
}
