package probe

import (
	"context"
	"net"
	"testing"
)

type contextT = context.Context

// startNXDomain runs a loopback UDP DNS server that answers every query with
// NXDOMAIN, and returns its address.
func startNXDomain(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			resp[2] = 0x80 | (buf[2] & 0x79) // QR, keep opcode and RD
			resp[3] = 0x80 | 3               // RA, rcode NXDOMAIN
			// Keep the question, drop answer/authority/additional (EDNS).
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			qend := 12
			for qend < n && resp[qend] != 0 {
				qend += int(resp[qend]) + 1
			}
			qend += 5
			if qend > n {
				continue
			}
			_, _ = pc.WriteTo(resp[:qend], from)
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-done
	})
	return pc.LocalAddr().String()
}
