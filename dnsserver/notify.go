package dnsserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
)

// notifier sends NOTIFY to one secondary. Pending serials are coalesced per
// zone so a secondary that is down never makes work pile up.
type notifier struct {
	addr string
	// key signs each NOTIFY (from ring) when set.
	ring tsigKeyring
	key  *tsigKey

	mu      sync.Mutex
	pending map[string]uint32
	kick    chan struct{}
}

func newNotifier(addr string, ring tsigKeyring, key *tsigKey) *notifier {
	return &notifier{addr: addr, ring: ring, key: key, pending: map[string]uint32{}, kick: make(chan struct{}, 1)}
}

func (n *notifier) enqueue(zone string, serial uint32) {
	n.mu.Lock()
	n.pending[zone] = serial
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

const (
	notifyAttempts = 3
	notifyTimeout  = 2 * time.Second
	notifyBackoff  = time.Second
)

func (n *notifier) run(ctx context.Context, log *zap.Logger, m *metrics) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		n.mu.Lock()
		batch := n.pending
		n.pending = map[string]uint32{}
		n.mu.Unlock()
		for zone, serial := range batch {
			err := n.send(ctx, zone, serial)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				m.notifies.WithLabelValues("error").Inc()
				log.Warn("dns notify failed", zap.String("zone", zone), zap.Uint32("serial", serial), zap.String("secondary", n.addr), zap.Error(err))
				continue
			}
			m.notifies.WithLabelValues("ok").Inc()
			log.Debug("dns notify sent", zap.String("zone", zone), zap.Uint32("serial", serial), zap.String("secondary", n.addr))
		}
	}
}

// send delivers one NOTIFY with retries; it succeeds on any answer with
// rcode NOERROR (whose signature verifies, when the NOTIFY is signed).
func (n *notifier) send(ctx context.Context, zone string, serial uint32) error {
	m := new(dns.Msg)
	m.SetNotify(zone)
	m.Authoritative = true
	m.Answer = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Ns: ".", Mbox: ".", Serial: serial}}
	c := &dns.Client{Net: "udp", Timeout: notifyTimeout}
	if n.key != nil {
		c.TsigProvider = n.ring
	}
	var err error
	for attempt := range notifyAttempts {
		if attempt > 0 {
			t := time.NewTimer(notifyBackoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if n.key != nil {
			m.Extra = nil
			m.SetTsig(n.key.name, n.key.alg, tsigFudge, time.Now().Unix())
		}
		var r *dns.Msg
		r, _, err = c.ExchangeContext(ctx, m, n.addr)
		if err != nil {
			continue
		}
		if r.Rcode != dns.RcodeSuccess {
			err = fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
			continue
		}
		return nil
	}
	return fmt.Errorf("notify %s %s: %w", n.addr, zone, err)
}
