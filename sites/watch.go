package sites

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// resync lists the whole prefix at the current revision and replaces the
// view with it. With deliver, the callbacks get the complete state (Full)
// and every target whose reports may have changed.
func (s *Sites) resync(ctx context.Context, cli *clientv3.Client, deliver bool) error {
	lctx, cancel := context.WithTimeout(ctx, s.o.DialTimeout+s.o.LeaseTTL)
	resp, err := cli.Get(lctx, s.o.Prefix, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("etcd: list %s: %w", s.o.Prefix, err)
	}
	now := time.Now()
	s.log.Debug("listed the prefix", zap.Int64("revision", resp.Header.Revision), zap.Int("keys", len(resp.Kvs)))
	nv := newView()
	nv.rev = resp.Header.Revision
	ch := newChanges(nv.rev)
	var bad []badValue
	for _, kv := range resp.Kvs {
		if err := nv.apply(s.k, kv, false, now, ch); err != nil {
			bad = append(bad, badValue{kv, err})
		}
	}
	s.mu.Lock()
	old := s.v
	s.v = nv
	s.loaded = true
	s.mu.Unlock()
	s.logUnreadable(bad)
	if !deliver {
		return nil
	}
	full := newChanges(nv.rev)
	full.sites = true
	for t := range old.reports {
		full.targets[t] = true
	}
	for t := range nv.reports {
		full.targets[t] = true
	}
	full.cmds = true
	full.committed = nv.full()
	// An election key that vanished while the watch was down deposes us
	// as surely as a delete event.
	for k := range old.candidates {
		if _, ok := nv.candidates[k]; !ok {
			full.deleted[k] = true
		}
	}
	s.deliver(full)
	return nil
}

type badValue struct {
	kv  *mvccpb.KeyValue
	err error
}

// logUnreadable logs each unreadable value once per revision of it and
// counts it: a value written by another version is skipped, never fatal.
func (s *Sites) logUnreadable(bad []badValue) {
	for _, b := range bad {
		key := string(b.kv.Key)
		s.mu.Lock()
		seen := s.unreadable[key] == b.kv.ModRevision
		s.unreadable[key] = b.kv.ModRevision
		s.mu.Unlock()
		if seen {
			continue
		}
		s.m.unreadable.Inc()
		s.log.Error("skipping a value under the etcd prefix that this version cannot read",
			zap.String("key", key), zap.Int64("mod_revision", b.kv.ModRevision), zap.Error(b.err))
	}
}

// watchLoop keeps the view current: one watch on the whole prefix, resumed
// after the last revision seen, and a fresh list when etcd has compacted
// the revisions the watch still needed.
func (s *Sites) watchLoop(ctx context.Context) error {
	bo := newBackoff(100*time.Millisecond, s.o.LeaseTTL)
	first := true
	for ctx.Err() == nil {
		cli := s.currentClient()
		s.mu.Lock()
		loaded := s.loaded
		s.mu.Unlock()
		if cli == nil || !loaded || first {
			if cli == nil {
				bo.wait(ctx)
				continue
			}
			// The first pass delivers the state Open read (or lists it
			// now), so the daemon gets one complete picture before the
			// changes.
			var err error
			if !loaded {
				err = s.resync(ctx, cli, true)
			} else {
				s.mu.Lock()
				ch := s.wholeViewChanges()
				s.mu.Unlock()
				s.deliver(ch)
			}
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("etcd: reading the deployment state", zap.Error(err))
					bo.wait(ctx)
				}
				continue
			}
			first = false
		}
		// Every end of the watch (compaction, a lost lease, no etcd leader,
		// a broken stream) is followed by a fresh list rather than a
		// resumed watch: see errRelist.
		if err := s.watch(ctx, cli); err != nil && ctx.Err() == nil {
			s.m.resyncs.Inc()
			s.log.Warn("etcd watch ended: re-reading the deployment state", zap.Error(err))
			if err := s.resync(ctx, cli, true); err != nil {
				s.log.Warn("etcd: re-reading the deployment state", zap.Error(err))
				s.mu.Lock()
				s.loaded = false
				s.mu.Unlock()
				bo.wait(ctx)
				continue
			}
		}
		bo.reset()
	}
	return nil
}

// wholeViewChanges describes the current view as one complete change.
// s.mu is held.
func (s *Sites) wholeViewChanges() *changes {
	ch := newChanges(s.v.rev)
	ch.sites, ch.cmds = true, true
	for t := range s.v.reports {
		ch.targets[t] = true
	}
	ch.committed = s.v.full()
	return ch
}

// watch follows the prefix from the view's revision until the watch
// fails or ctx ends. It requires an etcd leader so that a member cut off
// from its cluster ends the watch instead of going silent.
func (s *Sites) watch(ctx context.Context, cli *clientv3.Client) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	s.mu.Lock()
	from := s.v.rev + 1
	s.mu.Unlock()
	wch := cli.Watch(wctx, s.o.Prefix, clientv3.WithPrefix(), clientv3.WithRev(from))
	for {
		select {
		case <-s.relist:
			return errRelist
		case resp, ok := <-wch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("watch channel closed")
			}
			if resp.CompactRevision != 0 {
				return fmt.Errorf("watch from revision %d: %w", from, rpctypes.ErrCompacted)
			}
			if err := resp.Err(); err != nil {
				return err
			}
			if len(resp.Events) > 0 {
				s.applyEvents(resp.Events)
			}
		}
	}
}

// errRelist ends the watch after a lost lease, which it may have been
// silently resumed across: the client resumes a watch after a lost
// connection on its own, but etcd before 3.4.34 and 3.5.15 drops a delete
// whose revision is exactly the compaction revision from such a resumed
// watch (etcd issue 18089), so the state is listed afresh instead.
var errRelist = errors.New("re-listing after a lost lease")

// applyEvents applies one watch response (whole revisions: etcd does not
// split a revision across responses) and delivers its changes.
func (s *Sites) applyEvents(evs []*clientv3.Event) {
	now := time.Now()
	var bad []badValue
	s.mu.Lock()
	rev := s.v.rev
	for _, ev := range evs {
		rev = max(rev, ev.Kv.ModRevision)
	}
	ch := newChanges(rev)
	for _, ev := range evs {
		if err := s.v.apply(s.k, ev.Kv, ev.Type == clientv3.EventTypeDelete, now, ch); err != nil {
			bad = append(bad, badValue{ev.Kv, err})
		}
	}
	s.v.rev = rev
	s.mu.Unlock()
	s.logUnreadable(bad)
	s.deliver(ch)
}

// deliver turns changes into callbacks (in the order sites, reports,
// committed state, commands) and leadership consequences.
func (s *Sites) deliver(ch *changes) {
	s.mu.Lock()
	var sv SitesView
	if ch.sites {
		sv = s.sitesViewLocked()
		s.m.sitesLive.Set(float64(len(s.v.sites)))
		s.checkDigestLocked(sv)
	}
	var reports map[string][]Report
	if len(ch.targets) > 0 {
		reports = make(map[string][]Report, len(ch.targets))
		for t := range ch.targets {
			reports[t] = s.v.targetReports(t)
		}
	}
	lead := s.lead
	var deposed bool
	if lead != nil && ch.deleted[lead.key] {
		deposed = true
	}
	s.mu.Unlock()

	if deposed {
		s.depose(lead, "the leader key was deleted")
	}
	if f := s.o.OnSites; f != nil && ch.sites {
		s.call(func() { f(sv) })
	}
	if f := s.o.OnReports; f != nil && reports != nil {
		s.call(func() { f(reports) })
	}
	c, deliver := s.holdForBatch(ch)
	if deliver {
		f := s.o.OnCommitted
		s.call(func() {
			if f != nil {
				f(c)
			}
			s.appliedUpTo(c)
		})
	}
	if ch.cmds {
		s.dispatch()
	}
}

// holdForBatch returns the committed change to deliver for ch, if any. A
// change made while a commit of several transactions is under way is held
// back and delivered with the rest of that commit once its last
// transaction (or the end of its leader's lease) is seen, so a follower
// applies a leader's commit whole however many transactions it took.
func (s *Sites) holdForBatch(ch *changes) (Committed, bool) {
	c := ch.committed
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case c.Full:
		s.held = nil // the whole state supersedes what was held
		return c, true
	case !ch.committedChanged() && !(ch.batchEnded && s.held != nil):
		return c, false
	case len(s.v.batches) > 0:
		s.held = mergeCommitted(s.held, c)
		return c, false
	case s.held != nil:
		c = *mergeCommitted(s.held, c)
		s.held = nil
	}
	return c, true
}

// mergeCommitted adds the later change c to held (nil: none yet).
func mergeCommitted(held *Committed, c Committed) *Committed {
	if held == nil {
		return &c
	}
	held.Revision = max(held.Revision, c.Revision)
	if held.State == nil {
		held.State = map[string][]byte{}
	}
	if held.Serials == nil {
		held.Serials = map[string]uint32{}
	}
	maps.Copy(held.State, c.State)
	maps.Copy(held.Serials, c.Serials)
	held.Events = append(held.Events, c.Events...)
	held.Jobs = append(held.Jobs, c.Jobs...)
	return held
}

// appliedUpTo records that the callbacks for c ran and wakes the
// submitters of the jobs it finished. It runs on the callback goroutine.
func (s *Sites) appliedUpTo(c Committed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied = max(s.applied, c.Revision)
	for _, j := range c.Jobs {
		for _, w := range s.waiters[j.ID] {
			w <- j // buffered, one send per waiter
		}
		delete(s.waiters, j.ID)
	}
}

// checkDigestLocked logs, once per leader configuration, that this node's
// configuration differs from the leader's. s.mu is held.
func (s *Sites) checkDigestLocked(sv SitesView) {
	var leader SiteInfo
	for _, si := range sv.Sites {
		if si.Leader {
			leader = si
		}
	}
	if leader.Site == "" || leader.Site == s.o.Site || leader.ConfigDigest == s.digest {
		s.digestWarn = ""
		return
	}
	if s.digestWarn == leader.Site+"\x00"+leader.ConfigDigest {
		return
	}
	s.digestWarn = leader.Site + "\x00" + leader.ConfigDigest
	s.log.Error("this node's services and zones differ from the leader's; serving the committed answers regardless",
		zap.String("leader", leader.Site), zap.String("leader_hostname", leader.Hostname),
		zap.String("leader_config_digest", leader.ConfigDigest), zap.String("config_digest", s.digest))
}
