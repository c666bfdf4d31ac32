package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
	"github.com/failoverd/failoverd/sites"
	"github.com/failoverd/failoverd/store"
)

// A deployment of several sites (docs/operations.md, "Running several
// sites") replaces the middle of the decision loop: every node publishes
// its rounds to etcd, the leader decides each of its own rounds from every
// live site's reports and commits the outcome, and every node serves what
// was committed. The committed state is a set of names under etcd's
// state/ keys:
//
//	engine          the engine's pool.State (JSON): statuses, latches, overrides
//	answer/<name>   one served name's pool.Answer (JSON)
//
// and the zones' SOA serials. A leader's commit of one decision round is
// one batch, so a follower never applies half of it.
const (
	stateEngine  = "engine"
	stateAnswer  = "answer/"
	commitWithin = 10 * time.Second // bounds one commit or delivery mark
)

// multisite is the decision loop's link to the deployment. Its fields are
// owned by the decision loop; the sites callbacks post to the loop.
type multisite struct {
	log    *zap.Logger
	s      *sites.Sites
	site   string
	quorum sites.Quorum
	freeze bool // on_partition = "freeze"

	leader      bool
	partitioned bool
	// view is the committed state as last seen (names → values) and its
	// serials; last and lastSerials what this node committed as leader.
	view        map[string][]byte
	viewSerials map[string]uint32
	last        map[string][]byte
	lastSerials map[string]uint32
	// unsent are change events a failed commit could not record; the
	// next commit carries them.
	unsent []pool.Transition
	// post runs a function on the decision loop (from another goroutine);
	// floorAsked is set while this node asks the leader for serials above
	// the ones it published alone.
	post       func(func())
	floorAsked bool
	// sfTargets maps the probe key of an sf_pool monitor to its
	// region_failure_sensitivity; perfTargets are rttm performance keys.
	sfTargets   map[string]string
	perfTargets map[string]bool
}

// maxUnsent bounds the events kept for the next commit while etcd refuses
// them.
const maxUnsent = 4096

// openSites joins the deployment of cfg.Etcd; the callbacks post to l.
func openSites(ctx context.Context, cfg *config.Config, version, digest string, l *decisionLoop, log *zap.Logger, reg prometheus.Registerer) (*multisite, error) {
	e := cfg.Etcd
	q, err := sites.ParseQuorum(e.Quorum)
	if err != nil {
		return nil, err
	}
	password := ""
	if e.PasswordFile != "" {
		b, err := config.ReadRegularFile(e.PasswordFile, config.MaxSecretFileSize)
		if err != nil {
			return nil, fmt.Errorf("etcd password_file: %w", err)
		}
		password = strings.TrimSpace(string(b))
	}
	m := &multisite{log: log.Named("sites"), site: cfg.Server.Site, quorum: q, freeze: e.OnPartition == "freeze",
		view: map[string][]byte{}, viewSerials: map[string]uint32{}}
	// post runs fn on the loop and waits for it, so that once sites sees a
	// callback return (Submit then returns), this node serves its effect.
	post := func(fn func()) {
		ran := make(chan struct{})
		select {
		case l.ops <- func() { fn(); close(ran) }:
		case <-l.done:
			return
		}
		select {
		case <-ran:
		case <-l.done:
		}
	}
	m.post = post
	m.s, err = sites.Open(ctx, sites.Options{
		Endpoints: e.Endpoints, Prefix: e.Prefix, LeaseTTL: e.LeaseTTL, DialTimeout: e.DialTimeout,
		CAFile: e.CAFile, CertFile: e.CertFile, KeyFile: e.KeyFile, Username: e.Username, Password: password,
		Site: cfg.Server.Site, Hostname: cfg.Server.Hostname, Version: version, ConfigDigest: digest,
		OnCommitted: func(c sites.Committed) { post(func() { m.committed(l, c) }) },
		OnLeader:    func(leader bool) { post(func() { m.leading(l, leader) }) },
		OnCommand: func(c sites.Command) {
			post(func() {
				if m.leader {
					m.command(context.Background(), l, c)
				}
			})
		},
		OnConnection: func(c sites.Connection) {
			post(func() { m.connection(l, c) })
		},
	}, m.log, reg)
	if err != nil {
		return nil, fmt.Errorf("joining the deployment on etcd: %w", err)
	}
	m.setPlan(l.plan)
	return m, nil
}

// setPlan reads which targets are sf_pool monitors and rttm performance
// monitors, whose decided rounds keep the engine's own site.
func (m *multisite) setPlan(p *plan) {
	m.sfTargets, m.perfTargets = map[string]string{}, map[string]bool{}
	for _, s := range p.spec.Services {
		if s.Kind == pool.KindSFPool && s.Target != "" {
			m.sfTargets[s.Target] = s.Sensitivity
		}
		for _, r := range s.Regions {
			for _, e := range r.Entries {
				if e.PerfTarget != "" {
					m.perfTargets[e.PerfTarget] = true
				}
			}
		}
	}
}

// deciding says whether this node's engine decides: as leader, or alone
// while partitioned with on_partition = "local".
func (m *multisite) deciding() bool { return m.leader || m.alone() }

func (m *multisite) alone() bool { return m.partitioned && !m.freeze && !m.leader }

// observe publishes one local round (o, as a single node would observe
// it) and returns what the engine decides on, if this node decides: the
// deployment's verdict as leader, the local round while deciding alone.
func (m *multisite) observe(r probe.Result, o pool.Observation) (pool.Observation, bool) {
	st := localStatus(r)
	m.s.Publish(sites.Observation{Target: r.Key, Status: st, Message: r.Message, RTT: r.RTT, Time: r.Time})
	switch {
	case m.alone():
		return o, true
	case !m.leader:
		return o, false
	}
	// The leader's own report may not have reached etcd yet: its round
	// stands in for it.
	reports := slices.DeleteFunc(m.s.Reports(r.Key), func(rp sites.Report) bool { return rp.Site == m.site })
	reports = append(reports, sites.Report{Site: m.site, Status: st, Message: r.Message, RTT: r.RTT, Time: r.Time})
	q := m.quorum
	if sens, ok := m.sfTargets[r.Key]; ok {
		if sq, err := sites.SensitivityQuorum(sens); err == nil {
			q = sq
		}
	}
	d := sites.Decide(q, reports)
	o.Up, o.Unknown = d.Status == sites.StatusUp, d.Status == sites.StatusUnknown
	if d.Message != "" {
		o.Message = d.Message
	}
	if rtt, ok := sites.MedianRTT(reports); ok {
		o.RTT = rtt
	}
	// An sf_pool counts sites and a performance window is kept per site
	// in the engine: the deployment's verdict is this site's there.
	if _, sf := m.sfTargets[r.Key]; !sf && !m.perfTargets[r.Key] && len(d.Sites) > 0 {
		o.Site = strings.Join(d.Sites, ",")
	} else {
		o.Site = ""
	}
	return o, true
}

func localStatus(r probe.Result) sites.Status {
	switch {
	case r.Local:
		return sites.StatusUnknown
	case r.Up:
		return sites.StatusUp
	}
	return sites.StatusDown
}

// decided settles a leader's Decision: served locally, committed to etcd,
// then announced and marked delivered. Alone, it is a single node's.
func (m *multisite) decided(ctx context.Context, l *decisionLoop, dec Decision) {
	if !m.leader {
		l.pub.apply(dec, l.engine)
		return
	}
	l.pub.settle(dec, l.engine)
	if !dec.Full && len(dec.Readdressed) == 0 && len(m.unsent) == 0 && !slices.ContainsFunc(dec.Transitions, func(t pool.Transition) bool { return isChange(t.Kind) }) {
		for _, t := range dec.Transitions {
			l.pub.announce(t) // rounds change nothing to commit
		}
		return
	}
	changes := append(m.unsent, slices.DeleteFunc(slices.Clone(dec.Transitions), func(t pool.Transition) bool { return !isChange(t.Kind) })...)
	ids, err := m.commit(ctx, l, changes)
	if err != nil {
		m.log.Error("committing a decision to etcd", zap.Error(err))
		if errors.Is(err, sites.ErrNotLeader) {
			m.unsent = nil // the next leader decides again
			return
		}
		m.unsent = changes[max(0, len(changes)-maxUnsent):]
		for _, t := range dec.Transitions {
			if !isChange(t.Kind) {
				l.pub.announce(t)
			}
		}
		return
	}
	m.unsent = nil
	for _, t := range m.unsentBefore(changes, dec.Transitions) {
		l.pub.announce(t)
	}
	for _, t := range dec.Transitions {
		l.pub.announce(t)
	}
	m.markDelivered(ctx, ids)
}

// unsentBefore are the events of an earlier failed commit, which changes
// starts with.
func (m *multisite) unsentBefore(changes, trs []pool.Transition) []pool.Transition {
	n := 0
	for _, t := range trs {
		if isChange(t.Kind) {
			n++
		}
	}
	return changes[:len(changes)-n]
}

// commit writes what changed since the last commit: the engine state,
// every served name, the zones' serials and the events.
func (m *multisite) commit(ctx context.Context, l *decisionLoop, events []pool.Transition) ([]string, error) {
	return m.commitDone(ctx, l, events, nil)
}

// commitDone is commit that also finishes operator commands.
func (m *multisite) commitDone(ctx context.Context, l *decisionLoop, events []pool.Transition, done []sites.Done) ([]string, error) {
	state := map[string][]byte{}
	if b := engineState(l.engine); !bytes.Equal(b, m.last[stateEngine]) {
		state[stateEngine] = b
	}
	seen := map[string]bool{}
	for _, a := range l.engine.Answers() {
		k := stateAnswer + a.Name
		seen[k] = true
		b, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(b, m.last[k]) {
			state[k] = b
		}
	}
	for k := range m.last {
		if strings.HasPrefix(k, stateAnswer) && !seen[k] {
			state[k] = nil
		}
	}
	serials := map[string]uint32{}
	for origin, z := range l.pub.zones {
		if s, ok := m.lastSerials[origin]; !ok || s != z.serial {
			serials[origin] = z.serial
		}
	}
	b := sites.Batch{State: state, Serials: serials, Done: done}
	for _, t := range events {
		data, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		b.Events = append(b.Events, sites.EventData{Time: t.Time, Data: data})
	}
	cctx, cancel := context.WithTimeout(ctx, commitWithin)
	defer cancel()
	res, err := m.s.Commit(cctx, b)
	if err != nil {
		return nil, err
	}
	for k, v := range state {
		if v == nil {
			delete(m.last, k)
		} else {
			m.last[k] = v
		}
	}
	maps.Copy(m.lastSerials, serials)
	return res.Events, nil
}

func (m *multisite) markDelivered(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, commitWithin)
	defer cancel()
	if err := m.s.MarkDelivered(cctx, ids...); err != nil {
		m.log.Warn("marking events delivered; the next leader may send them again", zap.Error(err))
	}
}

// committed applies a committed change. The leader serves its own
// decisions already.
func (m *multisite) committed(l *decisionLoop, c sites.Committed) {
	if c.Full {
		m.view, m.viewSerials = map[string][]byte{}, map[string]uint32{}
	}
	for k, v := range c.State {
		if v == nil {
			delete(m.view, k)
		} else {
			m.view[k] = v
		}
	}
	maps.Copy(m.viewSerials, c.Serials)
	if m.leader || m.alone() {
		return
	}
	if !c.Full {
		m.recordEvents(l, c.Events)
	}
	m.serve(l)
}

// recordEvents keeps the leader's committed events in this node's history
// (GET .../log answers the same on every node).
func (m *multisite) recordEvents(l *decisionLoop, evs []sites.Event) {
	var b store.Batch
	for _, ev := range evs {
		var t pool.Transition
		if err := json.Unmarshal(ev.Data, &t); err != nil {
			m.log.Warn("committed event unreadable", zap.String("id", ev.ID), zap.Error(err))
			continue
		}
		if t.Kind != pool.EventEP {
			b.Events = append(b.Events, storeEvent(t))
		}
	}
	if len(b.Events) == 0 {
		return
	}
	if err := l.store.Commit(b); err != nil {
		m.log.Error("recording committed events", zap.Error(err))
	}
}

// serve publishes the committed state with the committed serials,
// replaces the engine's state with it (the API's views) and keeps it in
// the store for a start without etcd. While this node has published a
// serial above a committed one (it decided alone), it keeps serving its
// own answers and asks the leader for serials above its own first: a
// serial never goes back, also not for a secondary of this node.
func (m *multisite) serve(l *decisionLoop) {
	if _, ok := m.view[stateEngine]; !ok {
		return // nothing committed yet: the local state stands
	}
	if ahead := m.aheadOfCommitted(l); len(ahead) > 0 {
		m.askFloor(ahead)
		return
	}
	l.pub.committed = maps.Clone(m.viewSerials)
	m.load(l)
}

// aheadOfCommitted returns the zones this node serves with a serial above
// the committed one, and those serials.
func (m *multisite) aheadOfCommitted(l *decisionLoop) map[string]uint32 {
	var ahead map[string]uint32
	for origin, committed := range m.viewSerials {
		if z := l.pub.zones[origin]; z != nil && z.published && z.serial > committed {
			if ahead == nil {
				ahead = map[string]uint32{}
			}
			ahead[origin] = z.serial
		}
	}
	return ahead
}

// askFloor queues a serialFloor command for the leader, once at a time;
// the commit that answers it brings serials above ahead, and serve then
// adopts the committed state. A failure asks again at the next commit.
func (m *multisite) askFloor(ahead map[string]uint32) {
	if m.floorAsked {
		return
	}
	m.floorAsked = true
	data, err := json.Marshal(opCommand{Action: serialFloor, Serials: ahead})
	if err != nil {
		panic(err) // plain data: a failure is a bug
	}
	m.log.Info("serving this node's own answers until the deployment's serials pass the ones it published alone", zap.Any("serials", ahead))
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), commitWithin)
		defer cancel()
		_, err := m.s.Submit(ctx, data)
		m.post(func() {
			m.floorAsked = false
			if err != nil {
				m.log.Warn("asking the leader for serials above this node's", zap.Error(err))
			}
		})
	}()
}

// raiseSerials answers a serialFloor command as the leader: every zone it
// names gets a serial above the one given, committed with the command.
func (m *multisite) raiseSerials(ctx context.Context, l *decisionLoop, cmd sites.Command, serials map[string]uint32) {
	if l.pub.floor == nil {
		l.pub.floor = map[string]uint32{}
	}
	for origin, s := range serials {
		l.pub.floor[origin] = max(l.pub.floor[origin], s)
	}
	l.pub.settle(Decision{Time: time.Now(), Full: true}, l.engine)
	if _, err := m.commitDone(ctx, l, nil, []sites.Done{{ID: cmd.ID}}); err != nil {
		m.log.Error("committing serials above a node's", zap.Uint64("job", cmd.ID), zap.Error(err))
		return
	}
	m.log.Info("serials raised above a node's", zap.String("site", cmd.Site), zap.Any("serials", serials))
}

// load replaces the engine's state with the committed one and publishes
// it (with the serials l.pub.committed says).
func (m *multisite) load(l *decisionLoop) {
	b, ok := m.view[stateEngine]
	if !ok {
		return // nothing committed yet: the local state stands
	}
	st := new(pool.State)
	if err := json.Unmarshal(b, st); err != nil {
		m.log.Error("committed engine state unreadable; serving the last one", zap.Error(err))
		return
	}
	cs := &committedState{state: st, answers: map[string]pool.Answer{}}
	for k, v := range m.view {
		name, ok := strings.CutPrefix(k, stateAnswer)
		if !ok {
			continue
		}
		var a pool.Answer
		if err := json.Unmarshal(v, &a); err != nil {
			m.log.Error("committed answer unreadable", zap.String("name", name), zap.Error(err))
			continue
		}
		cs.answers[name] = a
	}
	l.engine = pool.New(l.plan.spec, st)
	l.pub.settle(Decision{Time: time.Now(), Full: true}, cs)
}

// leading starts or ends this node's term as leader.
func (m *multisite) leading(l *decisionLoop, leader bool) {
	if !leader {
		if m.leader {
			m.log.Info("no longer the leader")
		}
		m.leader = false
		m.serve(l)
		return
	}
	m.log.Info("leader: deciding for the deployment")
	snap := m.s.Snapshot()
	// Adopt what the previous leader committed, under this node's own
	// serials: at or above the committed ones, and above any it published
	// deciding alone.
	m.leader = true
	m.committed(l, snap)
	l.pub.committed = nil
	m.load(l)
	m.last, m.lastSerials = maps.Clone(m.view), maps.Clone(m.viewSerials)
	ctx, cancel := context.WithTimeout(context.Background(), commitWithin)
	defer cancel()
	if evs, err := m.s.Undelivered(ctx); err != nil {
		m.log.Warn("reading undelivered events", zap.Error(err))
	} else {
		var ids []string
		for _, ev := range evs {
			var t pool.Transition
			if err := json.Unmarshal(ev.Data, &t); err != nil {
				m.log.Warn("undelivered event unreadable", zap.String("id", ev.ID), zap.Error(err))
				continue
			}
			l.pub.announce(t)
			ids = append(ids, ev.ID)
		}
		m.markDelivered(ctx, ids)
	}
	// The whole state at once, so that a fresh deployment has one.
	if _, err := m.commit(ctx, l, nil); err != nil {
		m.log.Error("committing the state as new leader", zap.Error(err))
	}
}

// connection applies on_partition.
func (m *multisite) connection(l *decisionLoop, c sites.Connection) {
	was := m.alone()
	m.partitioned = c.Partitioned
	switch {
	case m.alone() && !was:
		m.log.Warn("cut off from etcd: deciding alone from this site's probes (on_partition = local)")
		l.pub.committed = nil
	case was && !m.alone():
		m.log.Info("etcd is back: serving the committed state")
		m.serve(l)
	case c.Partitioned && m.freeze:
		m.log.Warn("cut off from etcd: no decisions until it is back (on_partition = freeze)")
	}
}

// committedState is a decided state read from etcd: the answers as the
// leader computed them.
type committedState struct {
	state   *pool.State
	answers map[string]pool.Answer
}

var _ decidedState = (*committedState)(nil)

func (c *committedState) Answers() []pool.Answer {
	out := make([]pool.Answer, 0, len(c.answers))
	for _, name := range slices.Sorted(maps.Keys(c.answers)) {
		out = append(out, c.answers[name])
	}
	return out
}

func (c *committedState) AnswersOf(fqdn string) []pool.Answer {
	if a, ok := c.answers[fqdn]; ok {
		return []pool.Answer{a}
	}
	return nil
}

func (c *committedState) State() *pool.State { return c.state }

// configDigest identifies the services and zones of p, which every node of
// a deployment must share (server blocks may differ).
func configDigest(p *plan) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(p.spec.Services) // plain data: encoding cannot fail
	_ = enc.Encode(p.spec.Clusters)
	// Zone origins only: a synthesized SOA names this node's hostname.
	for _, z := range p.zones {
		h.Write([]byte(z.Origin() + "\n"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
