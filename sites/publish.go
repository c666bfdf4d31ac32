package sites

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// publisher holds this site's observations: what was last handed to etcd
// per target, and the writes still to do. Writes coalesce: a target that
// changes twice before the writer runs is written once, with its latest
// view.
type publisher struct {
	mu      sync.Mutex
	written map[string]pubEntry     // target → the view written (or queued)
	pending map[string]*Observation // target → view to write; nil deletes
	lease   clientv3.LeaseID        // lease the written views live under
	wake    chan struct{}
}

type pubEntry struct {
	obs Observation
	at  time.Time // round time of the last write, for the RTT throttle
}

func (p *publisher) init() {
	p.written = map[string]pubEntry{}
	p.pending = map[string]*Observation{}
	p.wake = make(chan struct{}, 1)
}

// Publish records this site's view of a target after a probe round. It
// never blocks on etcd: a write is queued only when the view changed:
// another status or message, or, for a TrackRTT target with the same
// status and message, an RTT that moved by more than Options.RTTChange
// when the target's last write is at least Options.RTTRefresh old (by
// round times). Steady targets cost no writes at all.
func (s *Sites) Publish(o Observation) {
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	p := &s.pub
	p.mu.Lock()
	last, ok := p.written[o.Target]
	if ok && last.obs.Status == o.Status && last.obs.Message == o.Message &&
		(!o.TrackRTT || !rttMoved(last.obs.RTT, o.RTT, s.o.RTTChange) || o.Time.Sub(last.at) < s.o.RTTRefresh) {
		p.mu.Unlock()
		return
	}
	p.written[o.Target] = pubEntry{obs: o, at: o.Time}
	p.pending[o.Target] = &o
	p.mu.Unlock()
	p.poke()
}

// Forget withdraws this site's views of targets no longer probed.
func (s *Sites) Forget(targets ...string) {
	p := &s.pub
	p.mu.Lock()
	for _, t := range targets {
		delete(p.written, t)
		p.pending[t] = nil
	}
	p.mu.Unlock()
	p.poke()
}

func (p *publisher) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// rttMoved says whether an RTT changed by more than the fraction frac of
// the last one written.
func rttMoved(last, now time.Duration, frac float64) bool {
	if last == 0 || now == 0 {
		return last != now
	}
	d := now - last
	if d < 0 {
		d = -d
	}
	return float64(d) > frac*float64(last)
}

// publishLoop writes queued views under the current lease. A new lease
// (after a lost one) rewrites every view: the old ones died with the old
// lease.
func (s *Sites) publishLoop(ctx context.Context) error {
	p := &s.pub
	bo := newBackoff(100*time.Millisecond, s.o.LeaseTTL)
	for {
		ss, changed := s.sessionWatch()
		if ss != nil {
			if err := s.flush(ctx, ss); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("etcd: publishing observations, retrying", zap.Error(err))
				bo.wait(ctx)
				continue
			}
			bo.reset()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-changed:
		}
	}
}

// flush writes the pending views in transactions of at most MaxTxnOps
// operations. What could not be written is queued again unless a newer
// view replaced it meanwhile.
func (s *Sites) flush(ctx context.Context, ss *session) error {
	p := &s.pub
	p.mu.Lock()
	if p.lease != ss.lease {
		p.lease = ss.lease
		for t, e := range p.written {
			if _, queued := p.pending[t]; !queued {
				o := e.obs
				p.pending[t] = &o
			}
		}
	}
	todo := p.pending
	p.pending = map[string]*Observation{}
	p.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	cli := ss.sess.Client()
	targets := slices.Sorted(maps.Keys(todo))
	for chunk := range slices.Chunk(targets, s.o.MaxTxnOps) {
		ops := make([]clientv3.Op, 0, len(chunk))
		puts := 0
		for _, t := range chunk {
			key := s.k.obs(s.o.Site, t)
			if o := todo[t]; o == nil {
				ops = append(ops, clientv3.OpDelete(key))
			} else {
				puts++
				ops = append(ops, clientv3.OpPut(key, encode(obsValue{V: valueVersion, Status: o.Status,
					Message: o.Message, RTTSeconds: seconds(o.RTT), Time: o.Time.UTC()}), clientv3.WithLease(ss.lease)))
			}
		}
		// Bounded by the lease: a write slower than that has lost the lease
		// anyway; a shorter bound would only repeat writes etcd is still
		// applying.
		tctx, cancel := context.WithTimeout(ctx, s.o.LeaseTTL)
		_, err := cli.Txn(tctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			p.mu.Lock()
			for t, o := range todo { // the chunks written so far are gone from todo
				if _, newer := p.pending[t]; !newer {
					p.pending[t] = o
				}
			}
			p.mu.Unlock()
			return err
		}
		s.m.published.Add(float64(puts))
		for _, t := range chunk {
			delete(todo, t)
		}
	}
	return nil
}
