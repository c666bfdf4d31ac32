//go:build !linux

package dnsserver

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// reusePortSupported: without recvmmsg/SO_REUSEPORT support here, each
// address has one socket and one reader.
const reusePortSupported = false

func udpListenConfig(bool) net.ListenConfig { return net.ListenConfig{} }

// serveUDP reads queries from pc one at a time until stopped: fast
// answers first, the full path (miekg/dns parsing and handle) for the rest.
func (s *Server) serveUDP(pc *net.UDPConn, stopping *atomic.Bool, st *readerStats) {
	buf := make([]byte, 65535)
	out := make([]byte, 0, 4096)
	for {
		n, ap, err := pc.ReadFromUDPAddrPort(buf)
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
		q := buf[:n]
		p := s.cur.Load()
		resp := s.fastAnswer(p, q, out[:0], st)
		if resp == nil && s.cookies != nil {
			resp = s.fastCookieAnswer(p, q, out[:0], st, ap.Addr(), start)
		}
		if resp != nil {
			st.latency.observe(time.Since(start), 1)
		} else {
			resp = s.slowAnswer(q, ap, out[:0], start)
		}
		if resp != nil && s.rrl != nil {
			resp = s.limitUDP(q, resp, ap.Addr(), start, out[:0])
		}
		if resp == nil {
			continue
		}
		if _, err := pc.WriteToUDPAddrPort(resp, ap); err != nil {
			s.log.Debug("dns udp write", zap.Error(err))
		}
	}
}
