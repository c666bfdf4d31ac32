package sites

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// leaderLoop campaigns with the current session; while this node leads it
// waits for the term to end (session lost, key deleted, a refused commit
// or ctx), then campaigns again.
func (s *Sites) leaderLoop(ctx context.Context) error {
	bo := newBackoff(100*time.Millisecond, s.o.LeaseTTL)
	for ctx.Err() == nil {
		ss, changed := s.sessionWatch()
		if ss == nil {
			select {
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		term, err := s.campaign(ctx, ss)
		if err != nil {
			if ctx.Err() == nil && !isDone(ss.done) {
				s.log.Warn("leader election", zap.Error(err))
				bo.wait(ctx)
			}
			continue
		}
		bo.reset()
		s.becomeLeader(term)
		reason := ""
		select {
		case <-ctx.Done():
			reason = "shutting down"
		case <-ss.done:
			reason = "the site lease was lost"
		case <-term.lost:
		}
		s.depose(term, reason)
	}
	return nil
}

// campaign blocks until this session holds the oldest election key.
func (s *Sites) campaign(ctx context.Context, ss *session) (*leadership, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel)
	defer stop()
	go func() { // a lost session ends the campaign
		select {
		case <-ss.done:
			cancel()
		case <-cctx.Done():
		}
	}()
	el := concurrency.NewElection(ss.sess, s.k.election())
	if err := el.Campaign(cctx, s.o.Site); err != nil {
		return nil, fmt.Errorf("campaign: %w", err)
	}
	// Campaign only waits for older keys to go: make sure ours did not go
	// with an expired lease meanwhile.
	resp, err := ss.sess.Client().Get(cctx, el.Key())
	if err != nil {
		return nil, fmt.Errorf("campaign: %w", err)
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != el.Rev() {
		return nil, errors.New("campaign: the election key vanished")
	}
	return &leadership{key: el.Key(), rev: el.Rev(), lost: make(chan struct{}), dispatched: map[uint64]bool{}}, nil
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (s *Sites) becomeLeader(term *leadership) {
	s.mu.Lock()
	s.lead = term
	s.mu.Unlock()
	s.m.leader.Set(1)
	s.log.Info("this node is the leader", zap.String("site", s.o.Site), zap.Int64("term", term.rev))
	if f := s.o.OnLeader; f != nil {
		s.call(func() { f(true) })
	}
	s.dispatch()
}

// depose ends term (once) and tells the daemon.
func (s *Sites) depose(term *leadership, reason string) {
	term.once.Do(func() {
		close(term.lost)
		s.mu.Lock()
		if s.lead == term {
			s.lead = nil
		}
		s.mu.Unlock()
		s.m.leader.Set(0)
		s.log.Warn("this node is no longer the leader", zap.String("site", s.o.Site), zap.String("reason", reason))
		if f := s.o.OnLeader; f != nil {
			s.call(func() { f(false) })
		}
	})
}

// dispatch hands the leader's daemon the commands it has not seen in this
// term, in submission order.
func (s *Sites) dispatch() {
	s.mu.Lock()
	term := s.lead
	var todo []Command
	if term != nil {
		for _, c := range s.v.pending() {
			if !term.dispatched[c.ID] {
				term.dispatched[c.ID] = true
				todo = append(todo, c)
			}
		}
	}
	s.mu.Unlock()
	f := s.o.OnCommand
	if f == nil || len(todo) == 0 {
		return
	}
	s.call(func() {
		for _, c := range todo {
			f(c)
		}
	})
}

// Commit commits b as the leader: every transaction is guarded by this
// node's election key, so a deposed leader's commit is refused
// (ErrNotLeader) and never half applied for a name.
func (s *Sites) Commit(ctx context.Context, b Batch) (Result, error) {
	s.mu.Lock()
	term := s.lead
	cli := s.client
	var cmdKeys map[uint64]cmdEntry
	if len(b.Done) > 0 {
		cmdKeys = make(map[uint64]cmdEntry, len(b.Done))
		for _, d := range b.Done {
			if ce, ok := s.v.cmds[d.ID]; ok {
				cmdKeys[d.ID] = ce
			}
		}
	}
	s.mu.Unlock()
	if term == nil || cli == nil || isDone(term.lost) {
		return Result{}, ErrNotLeader
	}
	if b.empty() {
		return Result{}, nil
	}
	term.mu.Lock()
	defer term.mu.Unlock()
	now := time.Now().UTC()
	var res Result
	// Events go first: a leader dying between two transactions then
	// re-decides and may send an event twice, but never loses one.
	var ops []clientv3.Op
	for _, e := range b.Events {
		term.seq++
		id := fmt.Sprintf("%016x-%08x", term.rev, term.seq)
		res.Events = append(res.Events, id)
		t := e.Time
		if t.IsZero() {
			t = now
		}
		ops = append(ops, clientv3.OpPut(s.k.event(id), encode(eventValue{V: valueVersion, Time: t.UTC(), Data: e.Data})))
	}
	for _, name := range slices.Sorted(maps.Keys(b.State)) {
		if v := b.State[name]; v == nil {
			ops = append(ops, clientv3.OpDelete(s.k.state(name)))
		} else {
			ops = append(ops, clientv3.OpPut(s.k.state(name), encode(dataValue{V: valueVersion, Data: v})))
		}
	}
	for _, zone := range slices.Sorted(maps.Keys(b.Serials)) {
		ops = append(ops, clientv3.OpPut(s.k.serial(zone), encode(serialValue{V: valueVersion, Serial: b.Serials[zone]})))
	}
	for _, d := range b.Done {
		ce, ok := cmdKeys[d.ID]
		if !ok {
			return res, fmt.Errorf("commit: command %d is not queued (already done?)", d.ID)
		}
		ops = append(ops, clientv3.OpDelete(ce.key), clientv3.OpPut(s.k.job(d.ID), encode(jobValue{V: valueVersion,
			Site: ce.cmd.Site, Data: ce.cmd.Data, Error: d.Error, Result: d.Result, Submitted: ce.cmd.Submitted, Completed: now})))
	}
	start := time.Now()
	rev, err := s.guarded(ctx, cli, term, ops)
	s.m.commitSeconds.Observe(time.Since(start).Seconds())
	res.Revision = rev
	return res, err
}

// guarded runs ops in transactions of at most MaxTxnOps operations, each
// only if term's election key is still the one this node created. A
// transaction that failed in etcd (a request timed out while etcd elected
// a new raft leader, a member went away) is tried again, up to
// commitAttempts times: every operation is a put of a whole value or a
// delete, so running one twice leaves the same state.
func (s *Sites) guarded(ctx context.Context, cli *clientv3.Client, term *leadership, ops []clientv3.Op) (int64, error) {
	guard := clientv3.Compare(clientv3.CreateRevision(term.key), "=", term.rev)
	var rev int64
	cs, marked := s.batched(ops)
	done := 0 // transactions committed
	defer func() {
		if marked && done > 0 && done < len(cs) {
			s.endBatch(cli) // failed midway: followers must not wait for the rest
		}
	}()
	for _, chunk := range cs {
		var (
			resp *clientv3.TxnResponse
			err  error
		)
		bo := newBackoff(100*time.Millisecond, time.Second)
		for attempt := 1; ; attempt++ {
			tctx, cancel := s.opCtx(ctx)
			resp, err = cli.Txn(tctx).If(guard).Then(chunk...).Commit()
			cancel()
			if err == nil || ctx.Err() != nil || attempt == commitAttempts {
				break
			}
			s.log.Warn("etcd commit failed, retrying", zap.Int("attempt", attempt), zap.Error(err))
			bo.wait(ctx)
		}
		if err != nil {
			return rev, fmt.Errorf("etcd commit: %w", err)
		}
		if !resp.Succeeded {
			s.m.commitConflicts.Inc()
			s.depose(term, "a commit found another leader key")
			return rev, ErrNotLeader
		}
		rev = resp.Header.Revision
		done++
	}
	return rev, nil
}

// batched splits ops into transactions. When they take several, the first
// puts this site's batch key (under its lease, so a leader that dies
// midway does not leave it) and the last deletes it: followers hold back
// what they see in between and apply the commit whole. marked says
// whether the batch key is used.
func (s *Sites) batched(ops []clientv3.Op) (cs [][]clientv3.Op, marked bool) {
	ss := s.currentSession()
	if s.o.MaxTxnOps < 2 || ss == nil {
		return slices.Collect(chunks(ops, s.o.MaxTxnOps)), false
	}
	cs = slices.Collect(chunks(ops, s.o.MaxTxnOps-1)) // room for a batch op in each
	if len(cs) > 1 {
		key := s.k.batch(s.o.Site)
		cs[0] = append([]clientv3.Op{clientv3.OpPut(key, encode(batchValue{V: valueVersion}), clientv3.WithLease(ss.lease))}, cs[0]...)
		cs[len(cs)-1] = append(slices.Clip(cs[len(cs)-1]), clientv3.OpDelete(key))
		marked = true
	}
	return cs, marked
}

// endBatch deletes this site's batch key after a commit failed midway
// (best effort: otherwise it goes with the lease).
func (s *Sites) endBatch(cli *clientv3.Client) {
	ctx, cancel := s.opCtx(context.Background())
	defer cancel()
	if _, err := cli.Delete(ctx, s.k.batch(s.o.Site)); err != nil {
		s.log.Warn("etcd: ending a failed commit's batch; followers wait for this site's lease", zap.Error(err))
	}
}

// opCtx bounds one etcd request: a request that takes longer than the
// lease has outlived what it was for, and a caller without a deadline
// must not hang while etcd is away.
func (s *Sites) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.o.LeaseTTL+s.o.DialTimeout)
}

// commitAttempts bounds the tries of one commit transaction.
const commitAttempts = 4

// MarkDelivered records that the events with ids were notified. Any node
// may mark; the leader is the one that sends.
func (s *Sites) MarkDelivered(ctx context.Context, ids ...string) error {
	cli := s.currentClient()
	if cli == nil {
		return ErrDisconnected
	}
	v := encode(deliveredValue{V: valueVersion, Time: time.Now().UTC()})
	ops := make([]clientv3.Op, 0, len(ids))
	for _, id := range ids {
		ops = append(ops, clientv3.OpPut(s.k.delivered(id), v))
	}
	for chunk := range chunks(ops, s.o.MaxTxnOps) {
		tctx, cancel := s.opCtx(ctx)
		_, err := cli.Txn(tctx).Then(chunk...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("etcd: mark delivered: %w", err)
		}
	}
	return nil
}

// Undelivered returns the committed events without a delivered mark, in
// commit order, read from etcd (not from the watch) so that a new leader
// sees everything the old one committed.
func (s *Sites) Undelivered(ctx context.Context) ([]Event, error) {
	cli := s.currentClient()
	if cli == nil {
		return nil, ErrDisconnected
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	resp, err := cli.Txn(ctx).Then(
		clientv3.OpGet(s.o.Prefix+kindEvents, clientv3.WithPrefix()),
		clientv3.OpGet(s.o.Prefix+kindDelivered, clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcd: read events: %w", err)
	}
	done := map[string]bool{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		done[string(kv.Key)[len(s.o.Prefix+kindDelivered):]] = true
	}
	var out []Event
	var bad []badValue
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		id := string(kv.Key)[len(s.o.Prefix+kindEvents):]
		if done[id] {
			continue
		}
		var ev eventValue
		if err := decode(kv.Value, &ev); err != nil {
			bad = append(bad, badValue{kv, err})
			continue
		}
		out = append(out, Event{ID: id, Time: ev.Time, Data: ev.Data})
	}
	s.logUnreadable(bad)
	slices.SortFunc(out, func(a, b Event) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// EventsAfter returns the committed events whose id sorts after the
// given one ("" for every one still kept), in commit order: what a node
// that joins, or resyncs after a compaction, has not seen in its watch.
func (s *Sites) EventsAfter(ctx context.Context, after string) ([]Event, error) {
	cli := s.currentClient()
	if cli == nil {
		return nil, ErrDisconnected
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	from := s.o.Prefix + kindEvents + after + "\x00"
	if after == "" {
		from = s.o.Prefix + kindEvents
	}
	resp, err := cli.Get(ctx, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(s.o.Prefix+kindEvents)))
	if err != nil {
		return nil, fmt.Errorf("etcd: read events: %w", err)
	}
	var out []Event
	var bad []badValue
	for _, kv := range resp.Kvs {
		var ev eventValue
		if err := decode(kv.Value, &ev); err != nil {
			bad = append(bad, badValue{kv, err})
			continue
		}
		out = append(out, Event{ID: string(kv.Key)[len(s.o.Prefix+kindEvents):], Time: ev.Time, Data: ev.Data})
	}
	s.logUnreadable(bad)
	slices.SortFunc(out, func(a, b Event) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// prune deletes, as the leader, delivered events and finished jobs older
// than the retention, and delivered marks whose event is gone.
func (s *Sites) prune(ctx context.Context, now time.Time) error {
	cutoff := now.Add(-s.o.Retention)
	s.mu.Lock()
	term, cli := s.lead, s.client
	var ops []clientv3.Op
	if term != nil {
		for id, e := range s.v.events {
			if e.Delivered && e.Time.Before(cutoff) {
				ops = append(ops, clientv3.OpDelete(s.k.event(id)), clientv3.OpDelete(s.k.delivered(id)))
			}
		}
		for id := range s.v.delivered {
			if _, ok := s.v.events[id]; !ok {
				ops = append(ops, clientv3.OpDelete(s.k.delivered(id)))
			}
		}
		for id, j := range s.v.jobs {
			if j.Completed.Before(cutoff) {
				ops = append(ops, clientv3.OpDelete(s.k.job(id)))
			}
		}
	}
	s.mu.Unlock()
	if term == nil || cli == nil {
		return ErrNotLeader
	}
	_, err := s.guarded(ctx, cli, term, ops)
	return err
}

// Submit queues an operator command (any node) and waits until the leader
// has committed it and this node has applied that commit (its OnCommitted
// returned). The job id is the etcd revision that queued the command, so
// ids are unique across the deployment and increase. A command the leader
// refused comes back with Job.Error set. When ctx ends first the command
// stays queued and will still be applied.
func (s *Sites) Submit(ctx context.Context, data []byte) (Job, error) {
	cli := s.currentClient()
	if cli == nil || s.Connection().Partitioned {
		return Job{}, ErrDisconnected
	}
	pctx, cancel := s.opCtx(ctx)
	resp, err := cli.Put(pctx, s.k.cmd(s.o.Site, nonce()),
		encode(cmdValue{V: valueVersion, Site: s.o.Site, Data: data, Submitted: time.Now().UTC()}))
	cancel()
	if err != nil {
		return Job{}, fmt.Errorf("etcd: queue command: %w", err)
	}
	id := uint64(resp.Header.Revision)
	w := make(chan Job, 1)
	s.mu.Lock()
	if j, ok := s.v.jobs[id]; ok && s.applied >= j.Revision {
		s.mu.Unlock()
		return j, nil
	}
	s.waiters[id] = append(s.waiters[id], w)
	s.mu.Unlock()
	select {
	case j := <-w:
		return j, nil
	case <-ctx.Done():
		s.mu.Lock()
		s.waiters[id] = slices.DeleteFunc(s.waiters[id], func(c chan Job) bool { return c == w })
		if len(s.waiters[id]) == 0 {
			delete(s.waiters, id)
		}
		s.mu.Unlock()
		return Job{ID: id}, fmt.Errorf("job %d queued but not committed yet: %w", id, ctx.Err())
	}
}

// Job returns a finished command by id, read from etcd.
func (s *Sites) Job(ctx context.Context, id uint64) (Job, bool, error) {
	cli := s.currentClient()
	if cli == nil {
		return Job{}, false, ErrDisconnected
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	resp, err := cli.Get(ctx, s.k.job(id))
	if err != nil {
		return Job{}, false, fmt.Errorf("etcd: read job %d: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return Job{}, false, nil
	}
	var jv jobValue
	if err := decode(resp.Kvs[0].Value, &jv); err != nil {
		return Job{}, false, fmt.Errorf("job %d: %w", id, err)
	}
	return Job{ID: id, Site: jv.Site, Data: jv.Data, Error: jv.Error, Result: jv.Result,
		Submitted: jv.Submitted, Completed: jv.Completed, Revision: resp.Kvs[0].ModRevision}, true, nil
}

// Claim stores value under name unless a value is already there, and
// returns the stored one: the first node's wins (DNSSEC keys generated by
// the first node are used by every node).
func (s *Sites) Claim(ctx context.Context, name string, value []byte) ([]byte, error) {
	cli := s.currentClient()
	if cli == nil {
		return nil, ErrDisconnected
	}
	key := s.k.shared(name)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, encode(dataValue{V: valueVersion, Data: value}))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcd: claim %s: %w", name, err)
	}
	if resp.Succeeded {
		return value, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, fmt.Errorf("etcd: claim %s: deleted while claiming, try again", name)
	}
	var dv dataValue
	if err := decode(kvs[0].Value, &dv); err != nil {
		return nil, fmt.Errorf("shared value %s: %w", name, err)
	}
	return dv.Data, nil
}
