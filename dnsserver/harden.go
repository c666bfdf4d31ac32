package dnsserver

import (
	"fmt"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// harden sets up what the server needs on the open internet from its
// options: TSIG keys, DNS Cookies and response rate limiting (TCP limits
// are applied per listener in Run).
func (s *Server) harden(reg prometheus.Registerer) error {
	o := s.opts
	if reg != nil {
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "failoverd_dns_tcp_rejected_total",
			Help: "TCP connections to the DNS port closed at once for exceeding the total or per-client cap.",
		}, func() float64 { return float64(s.tcpRejected.Load()) })); err != nil {
			return fmt.Errorf("dns metrics: %w", err)
		}
	}
	if len(o.TSIGKeys) > 0 {
		ring, err := newTSIGKeyring(o.TSIGKeys)
		if err != nil {
			return err
		}
		s.tsig = ring
	}
	if o.TransferTSIG != "" {
		s.xfrKey = s.tsig[dns.CanonicalName(o.TransferTSIG)]
		if s.xfrKey == nil {
			return fmt.Errorf("transfer tsig: no tsig key %q", o.TransferTSIG)
		}
	}
	if o.Cookies {
		j, err := newCookieJar(o.CookieSecret)
		if err != nil {
			return err
		}
		s.cookies = j
	}
	if o.RRL != nil {
		l, err := newRateLimiter(*o.RRL)
		if err != nil {
			return err
		}
		s.rrl = l
		if reg != nil {
			for _, c := range l.collectors() {
				if err := reg.Register(c); err != nil {
					return fmt.Errorf("dns metrics: %w", err)
				}
			}
		}
	}
	return nil
}
