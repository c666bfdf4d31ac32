package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
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
// was committed. The committed state is one name per unit (a service, or
// the cluster services at one FQDN) under etcd's state/ keys:
//
//	svc/<fqdn>      the unit's pool.StateOf (statuses, removed addresses,
//	                latches, overrides) and the pool.Answer of every name
//	                it serves, as one JSON value (unitValue)
//
// and the zones' SOA serials. One value per unit means a decision about
// one service writes one value, whatever the number of services, no value
// grows with the deployment (etcd refuses requests over 1.5 MiB), and a
// follower never serves half of one service's decision: its state and its
// answers are one value. A large batch spans transactions (sites commits
// at most Options.MaxTxnOps operations in one); sites hands it to the
// followers whole all the same.
//
// Versions before this layout kept the whole pool.State in state/engine
// and each answer in state/answer/<name>. A follower of this version
// serves those while no unit is committed (a leader of the earlier version
// during a rolling upgrade), and a leader of this version deletes them
// when it first commits; a follower of the earlier version cannot read
// units, so the leader is upgraded last (docs/operations.md).
const (
	stateUnit    = "svc/"
	legacyEngine = "engine"
	legacyAnswer = "answer/"
	commitWithin = 10 * time.Second // bounds one commit or delivery mark
)

// unitValue is the committed value of one unit.
type unitValue struct {
	State   *pool.State   `json:"state"`
	Answers []pool.Answer `json:"answers,omitempty"`
}

// multisite is the decision loop's link to the deployment. Its fields are
// owned by the decision loop; the sites callbacks post to the loop.
type multisite struct {
	loop   *decisionLoop // the loop this deployment feeds (its engine is the loop's)
	log    *zap.Logger
	s      *sites.Sites
	site   string
	quorum sites.Quorum
	freeze bool // on_partition = "freeze"

	leader      bool
	partitioned bool
	// view is the committed state as last seen (names → values, decoded
	// when used: 100,000 decoded units would cost far more memory) and its
	// serials; units counts the unit names in it. last holds a digest of
	// each value this node committed as leader, lastSerials its serials.
	view        map[string][]byte
	viewSerials map[string]uint32
	units       int
	last        map[string]valueDigest
	lastSerials map[string]uint32
	// savedSerials are the served serials last kept in the store.
	savedSerials map[string]store.ServedSerial
	// eventMark is the id of the last committed event this node's history
	// holds.
	eventMark string
	// unsent are change events a failed commit could not record; the
	// next commit carries them.
	unsent []pool.Transition
	// post runs a function on the decision loop (from another goroutine);
	// floorAsked is set while this node asks the leader for serials above
	// the ones it published alone, held while it keeps its own answers
	// meanwhile (the next serve is then of every unit).
	post       func(func())
	floorAsked bool
	held       bool
	// sfTargets maps the probe key of an sf_pool monitor to its
	// region_failure_sensitivity; perfTargets are rttm performance keys.
	sfTargets   map[string]string
	perfTargets map[string]bool
	// verdicts are the deployment's last verdict per target fed to the
	// engine (see reports).
	verdicts map[string]sites.Status
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
	m := &multisite{loop: l, log: log.Named("sites"), site: cfg.Server.Site, quorum: q, freeze: e.OnPartition == "freeze",
		view: map[string][]byte{}, viewSerials: map[string]uint32{}, verdicts: map[string]sites.Status{}}
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
		OnReports: func(changed map[string][]sites.Report) {
			post(func() { m.reports(l, changed) })
		},
	}, m.log, reg)
	if err != nil {
		return nil, fmt.Errorf("joining the deployment on etcd: %w", err)
	}
	m.setPlan(l.plan)
	m.resumeServedSerials(l)
	if es, ok := l.store.(eventMarkStore); ok {
		if m.eventMark, err = es.EventMark(); err != nil {
			m.log.Warn("reading the event mark; the committed events may be recorded again", zap.Error(err))
		}
	}
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
	maps.DeleteFunc(m.verdicts, func(target string, _ sites.Status) bool { return !p.targetKeys[target] })
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
	m.s.Publish(sites.Observation{Target: r.Key, Status: st, Message: r.Message, RTT: r.RTT, TrackRTT: m.perfTargets[r.Key], Time: r.Time})
	if m.alone() {
		return o, true
	}
	// This node's own report may not have reached etcd yet: its round
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
	m.verdicts[r.Key] = d.Status
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
	if !m.leader {
		m.mirror(o)
		return o, false
	}
	return o, true
}

// reports lets the leader decide at once when another site's report
// turns a target's verdict down, instead of at its own next round of the
// target (up to an interval later). Only turns to down are taken early:
// an early up verdict would count one more up round towards
// recovery_delay than the leader's own rounds give. sf_pool monitors and
// rttm performance targets keep their per-site state in the engine and
// are decided on the leader's rounds only.
func (m *multisite) reports(l *decisionLoop, changed map[string][]sites.Report) {
	if !m.leader || m.alone() {
		return
	}
	now := time.Now()
	var trs []pool.Transition
	for _, o := range m.earlyDown(l.plan.targetKeys, changed, now) {
		trs = append(trs, l.engine.Observe(o)...)
	}
	if len(trs) > 0 {
		l.decided(context.Background(), Decision{Time: now, Transitions: trs, Readdressed: l.engine.TakeReaddressed()})
	}
}

// earlyDown are the down verdicts that changed reports give on targets
// whose last verdict was not down, in target order.
func (m *multisite) earlyDown(targetKeys map[string]bool, changed map[string][]sites.Report, now time.Time) []pool.Observation {
	var out []pool.Observation
	for _, target := range slices.Sorted(maps.Keys(changed)) {
		if _, sf := m.sfTargets[target]; sf || m.perfTargets[target] || !targetKeys[target] {
			continue
		}
		last, seen := m.verdicts[target]
		if !seen || last == sites.StatusDown {
			continue // the leader's own first round decides a new target
		}
		d := sites.Decide(m.quorum, changed[target])
		if d.Status != sites.StatusDown {
			continue
		}
		m.verdicts[target] = d.Status
		out = append(out, pool.Observation{Target: target, Message: d.Message, Site: strings.Join(d.Sites, ","), Time: now})
	}
	return out
}

// mirror runs a follower's engine on the deployment's verdict, as the
// leader's does, so that its service detail has the same round history,
// last results and RTTs; the units the round touched then take the
// committed state back, so statuses, latches and served sets stay the
// leader's. Its transitions are the leader's to announce.
func (m *multisite) mirror(o pool.Observation) {
	e := m.loop.engine
	seen := map[string]bool{}
	for _, t := range e.Observe(o) {
		// A round that changed no status leaves the committed state as it
		// was: only a change is taken back.
		if !isChange(t.Kind) || seen[t.Service] {
			continue
		}
		seen[t.Service] = true
		if u := m.unit(t.Service); u != nil {
			e.Restore(t.Service, u.State)
		}
	}
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
// then announced and marked delivered. Alone, it is a single node's; a
// follower serves only what is committed.
func (m *multisite) decided(ctx context.Context, l *decisionLoop, dec Decision) {
	if !m.leader {
		if m.alone() {
			l.pub.apply(dec, l.engine)
		}
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
	ids, err := m.commit(ctx, l, decisionUnits(dec, changes), changes)
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

// decisionUnits are the units dec (with the events of earlier failed
// commits) may have changed; nil means every unit.
func decisionUnits(dec Decision, events []pool.Transition) []string {
	if dec.Full {
		return nil
	}
	units := append(make([]string, 0, len(dec.Readdressed)+len(dec.Transitions)+len(events)), dec.Readdressed...)
	for _, t := range dec.Transitions {
		units = append(units, t.Service)
	}
	for _, t := range events {
		units = append(units, t.Service)
	}
	slices.Sort(units)
	return slices.Compact(units)
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

// commit writes what changed since the last commit: the values of units
// (nil: of every unit, deleting the names of units that are gone), the
// zones' serials and the events.
func (m *multisite) commit(ctx context.Context, l *decisionLoop, units []string, events []pool.Transition) ([]string, error) {
	return m.commitDone(ctx, l, units, events, nil)
}

// commitDone is commit that also finishes operator commands. Only the
// named units are marshalled and compared with what was last committed,
// so a round about one service costs one value whatever the deployment's
// size.
func (m *multisite) commitDone(ctx context.Context, l *decisionLoop, units []string, events []pool.Transition, done []sites.Done) ([]string, error) {
	state := map[string][]byte{}
	all := units == nil
	if all {
		units = l.engine.Units()
	}
	seen := make(map[string]bool, len(units))
	for _, u := range units {
		k := stateUnit + u
		seen[k] = true
		b, err := unitOf(l.engine, u)
		if err != nil {
			return nil, err
		}
		if b == nil {
			if _, ok := m.last[k]; ok {
				state[k] = nil // no longer configured
			}
			continue
		}
		if d, ok := m.last[k]; !ok || d != digest(b) {
			state[k] = b
		}
	}
	if all {
		for k := range m.last {
			if !seen[k] {
				state[k] = nil // gone, or a key of the layout before units
			}
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
	// A commit of many units is many transactions, each bounded by sites:
	// the whole is given commitWithin per transaction's worth of values.
	cctx, cancel := context.WithTimeout(ctx, commitWithin*time.Duration(1+len(state)/sites.DefaultMaxTxnOps))
	defer cancel()
	res, err := m.s.Commit(cctx, b)
	if err != nil {
		return nil, err
	}
	for k, v := range state {
		if v == nil {
			delete(m.last, k)
		} else {
			m.last[k] = digest(v)
		}
	}
	maps.Copy(m.lastSerials, serials)
	m.keepServedSerials(l)
	if len(res.Events) > 0 {
		// The leader's history holds its own events already (the
		// publisher recorded them): only the mark moves.
		m.saveEventMark(l, store.Batch{EventMark: slices.Max(res.Events)})
	}
	return res.Events, nil
}

// valueDigest identifies a committed value: the leader compares digests,
// not values, with what it committed.
type valueDigest [sha256.Size]byte

func digest(b []byte) valueDigest { return sha256.Sum256(b) }

// unit is the committed value of unit fqdn, decoded; nil when there is
// none or it is unreadable (logged).
func (m *multisite) unit(fqdn string) *unitValue {
	b, ok := m.view[stateUnit+fqdn]
	if !ok {
		return nil
	}
	u := new(unitValue)
	if err := json.Unmarshal(b, u); err != nil {
		m.log.Error("committed state unreadable; serving the last one", zap.String("name", fqdn), zap.Error(err))
		return nil
	}
	return u
}

// unitOf is the committed value of unit fqdn in e, nil when e has no such
// unit.
func unitOf(e *pool.Engine, fqdn string) ([]byte, error) {
	u := unitValue{State: e.StateOf(fqdn), Answers: e.AnswersOf(fqdn)}
	if len(u.Answers) == 0 && reflect.ValueOf(*u.State).IsZero() {
		return nil, nil
	}
	return json.Marshal(u)
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
	var changed []string // units; nil with c.Full: every one
	legacy := false      // a name of the layout before units changed
	if c.Full {
		m.view, m.viewSerials, m.units = map[string][]byte{}, map[string]uint32{}, 0
	}
	for k, v := range c.State {
		fqdn, isUnit := strings.CutPrefix(k, stateUnit)
		_, had := m.view[k]
		if v == nil {
			delete(m.view, k)
		} else {
			m.view[k] = v
		}
		if !isUnit {
			legacy = legacy || k == legacyEngine || strings.HasPrefix(k, legacyAnswer)
			continue
		}
		switch {
		case v == nil && had:
			m.units--
		case v != nil && !had:
			m.units++
		}
		if !c.Full {
			changed = append(changed, fqdn)
		}
	}
	maps.Copy(m.viewSerials, c.Serials)
	m.recordJobs(l, c.Jobs)
	if m.leader || m.alone() {
		return
	}
	if c.Full {
		m.catchUpEvents(l) // committed while this node was away
	} else {
		m.recordEvents(l, c.Events)
	}
	switch {
	case c.Full, m.units == 0 && (legacy || len(c.Serials) > 0):
		m.serve(l)
	case len(changed) > 0:
		m.serveUnits(l, changed)
	case len(c.Serials) > 0 && m.units > 0:
		if m.holdBack(l) {
			return
		}
		if m.held {
			m.serve(l)
			return
		}
		// Serials alone (a signed zone's new signatures on the leader).
		l.pub.committed = maps.Clone(m.viewSerials)
		l.pub.publish(time.Now(), []string{}, &committedState{engine: l.engine, m: m})
		m.keepServedSerials(l)
	}
}

// recordEvents keeps the leader's committed events in this node's history
// (GET .../log answers the same on every node).
func (m *multisite) recordEvents(l *decisionLoop, evs []sites.Event) {
	var b store.Batch
	for _, ev := range evs {
		if ev.ID <= m.eventMark {
			continue // in this node's history already
		}
		b.EventMark = max(b.EventMark, ev.ID)
		var t pool.Transition
		if err := json.Unmarshal(ev.Data, &t); err != nil {
			m.log.Warn("committed event unreadable", zap.String("id", ev.ID), zap.Error(err))
			continue
		}
		if t.Kind != pool.EventEP {
			b.Events = append(b.Events, storeEvent(t))
		}
	}
	if b.EventMark != "" {
		m.saveEventMark(l, b)
	}
}

// saveEventMark commits b, which records events up to b.EventMark, and
// then keeps the mark.
func (m *multisite) saveEventMark(l *decisionLoop, b store.Batch) {
	if err := l.store.Commit(b); err != nil {
		m.log.Error("recording committed events", zap.Error(err))
		return
	}
	m.eventMark = b.EventMark
}

// catchUpEvents records the committed events after this node's mark: on
// joining (or rejoining) a deployment the watch hands over the state, not
// the events that led to it, and the log report should still be the same
// on every node.
func (m *multisite) catchUpEvents(l *decisionLoop) {
	ctx, cancel := context.WithTimeout(context.Background(), commitWithin)
	defer cancel()
	evs, err := m.s.EventsAfter(ctx, m.eventMark)
	if err != nil {
		m.log.Warn("reading the committed events this node has not recorded", zap.Error(err))
		return
	}
	m.recordEvents(l, evs)
}

// eventMarkStore keeps the id of the last deployment event recorded (the
// state directory's store; a test's wrapped store may not).
type eventMarkStore interface {
	EventMark() (string, error)
}

// recordJobs keeps the deployment's finished operator commands that
// changed something in this node's job history, as a single node keeps its
// own, so the per-service job history (the Dyn log report's operator
// rows) is the same on every node.
func (m *multisite) recordJobs(l *decisionLoop, jobs []sites.Job) {
	for _, j := range jobs {
		if j.Error != "" || string(j.Result) == doneUnchanged {
			continue // refused or unchanged: a single node keeps no job either
		}
		var oc opCommand
		if err := json.Unmarshal(j.Data, &oc); err != nil {
			m.log.Warn("committed job unreadable", zap.Uint64("job", j.ID), zap.Error(err))
			continue
		}
		sj := store.Job{ID: j.ID, Action: oc.Action, Target: oc.target(), Created: j.Submitted, Actor: oc.Actor}
		if old, ok, err := l.store.Job(j.ID); err == nil && ok {
			if old.Action != sj.Action || old.Target != sj.Target {
				// A job of this node alone (a reload) took the id: keep it.
				m.log.Warn("a local job holds the id of a committed one; not recorded here", zap.Uint64("job", j.ID))
			}
			continue // kept already (a resync hands every retained job again)
		}
		if err := l.store.Commit(store.Batch{Job: &sj}); err != nil {
			m.log.Error("recording a committed job", zap.Uint64("job", j.ID), zap.Error(err))
		}
	}
}

// serve publishes the whole committed state: every unit's answers, its
// state adopted by the engine (the API's views, keeping this node's round
// history) and kept in the store for a start without etcd.
func (m *multisite) serve(l *decisionLoop) { m.serveUnits(l, nil) }

// serveUnits publishes the committed state of units (nil: of every unit),
// in time proportional to their number.
func (m *multisite) serveUnits(l *decisionLoop, units []string) {
	if m.units == 0 {
		if b, ok := m.view[legacyEngine]; ok {
			m.serveLegacy(l, b)
		}
		return // nothing committed yet: the local state stands
	}
	if m.holdBack(l) {
		return
	}
	if m.held {
		m.held, units = false, nil // units held back meanwhile: all of them
	}
	full := units == nil
	if full {
		units = l.engine.Units()
	}
	for _, u := range units {
		if v := m.unit(u); v != nil {
			l.engine.Restore(u, v.State)
		}
	}
	if !m.leader {
		l.pub.committed = maps.Clone(m.viewSerials)
	}
	dec := Decision{Time: time.Now(), Full: full}
	if !full {
		dec.Readdressed = units
	}
	l.pub.settle(dec, &committedState{engine: l.engine, m: m})
	m.keepServedSerials(l)
}

// serveLegacy serves a state committed in the layout before units (one
// engine value and one value per answer), as a leader of the earlier
// version commits it during a rolling upgrade: the whole state at each
// change, as that version did.
func (m *multisite) serveLegacy(l *decisionLoop, b []byte) {
	st := new(pool.State)
	if err := json.Unmarshal(b, st); err != nil {
		m.log.Error("committed engine state unreadable; serving the last one", zap.Error(err))
		return
	}
	ls := &legacyState{engine: l.engine, answers: map[string]pool.Answer{}}
	for k, v := range m.view {
		name, ok := strings.CutPrefix(k, legacyAnswer)
		if !ok {
			continue
		}
		var a pool.Answer
		if err := json.Unmarshal(v, &a); err != nil {
			m.log.Error("committed answer unreadable", zap.String("name", name), zap.Error(err))
			continue
		}
		ls.answers[name] = a
	}
	for _, u := range l.engine.Units() {
		l.engine.Restore(u, st) // Restore reads the unit's part of the whole state
	}
	l.pub.committed = maps.Clone(m.viewSerials)
	l.pub.settle(Decision{Time: time.Now(), Full: true}, ls)
	m.keepServedSerials(l)
}

// legacyState is a state committed in the layout before units.
type legacyState struct {
	engine  *pool.Engine
	answers map[string]pool.Answer
}

func (c *legacyState) Answers() []pool.Answer {
	out := make([]pool.Answer, 0, len(c.answers))
	for _, name := range slices.Sorted(maps.Keys(c.answers)) {
		out = append(out, c.answers[name])
	}
	return out
}

func (c *legacyState) AnswersOf(fqdn string) []pool.Answer {
	if a, ok := c.answers[fqdn]; ok {
		return []pool.Answer{a}
	}
	return nil
}

func (c *legacyState) State() *pool.State { return c.engine.State() }

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
	// Adopt what the previous leader committed under this node's own
	// serials: at or above the committed ones, and above any it published
	// deciding alone.
	m.leader = true
	m.committed(l, snap)
	m.ownSerials(l)
	m.serve(l)
	m.last, m.lastSerials = make(map[string]valueDigest, len(m.view)), maps.Clone(m.viewSerials)
	for k, v := range m.view {
		m.last[k] = digest(v)
	}
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
	// The whole state at once, so that a fresh deployment has one (and
	// names of an older layout go).
	if _, err := m.commit(ctx, l, nil, nil); err != nil {
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
		m.ownSerials(l)
	case was && !m.alone():
		m.log.Info("etcd is back: serving the committed state")
		m.serve(l)
	case c.Partitioned && m.freeze:
		m.log.Warn("cut off from etcd: no decisions until it is back (on_partition = freeze)")
	}
}

// holdBack says whether this follower keeps serving its own answers
// because it has published a serial above a committed one (it decided
// alone): it asks the leader for serials above its own first, so that a
// serial never goes back, also not for a secondary of this node.
func (m *multisite) holdBack(l *decisionLoop) bool {
	if m.leader {
		return false
	}
	var ahead map[string]uint32
	for origin, committed := range m.viewSerials {
		if z := l.pub.zones[origin]; z != nil && z.published && z.serial > committed {
			if ahead == nil {
				ahead = map[string]uint32{}
			}
			ahead[origin] = z.serial
		}
	}
	if ahead == nil {
		return false
	}
	m.held = true
	m.askFloor(ahead)
	return true
}

// askFloor queues a serialFloor command for the leader, once at a time;
// the commit that answers it brings serials above ahead, and the node
// then adopts the committed state. A failure asks again at the next
// commit.
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
	if l.pub.above == nil {
		l.pub.above = map[string]uint32{}
	}
	for origin, s := range serials {
		l.pub.above[origin] = max(l.pub.above[origin], s)
	}
	l.pub.settle(Decision{Time: time.Now(), Full: true}, l.engine)
	if _, err := m.commitDone(ctx, l, []string{}, nil, []sites.Done{{ID: cmd.ID}}); err != nil {
		m.log.Error("committing serials above a node's", zap.Uint64("job", cmd.ID), zap.Error(err))
		return
	}
	m.log.Info("serials raised above a node's", zap.String("site", cmd.Site), zap.Any("serials", serials))
}

// ownSerials ends serving committed serials: this node's next serial of a
// zone is above every serial it may have published (its high-water mark),
// as the committed serials it served may be below serials it published
// for other content while it decided alone.
func (m *multisite) ownSerials(l *decisionLoop) {
	l.pub.committed = nil
	l.pub.floor = maps.Clone(l.pub.serials.hw)
}

// servedSerialsStore keeps the served serials for a restart (the state
// directory's store; a test's wrapped store may not).
type servedSerialsStore interface {
	SaveServedSerials(map[string]store.ServedSerial) error
	ServedSerials() (map[string]store.ServedSerial, error)
}

// keepServedSerials saves, when they changed, the serial every unsigned
// zone is served with and the fingerprint of its content, so that a
// restart without etcd that serves the same content serves the same
// serial as the rest of the deployment (docs/operations.md).
func (m *multisite) keepServedSerials(l *decisionLoop) {
	ss, ok := l.store.(servedSerialsStore)
	if !ok || l.pub.pending {
		return
	}
	cur := make(map[string]store.ServedSerial, len(l.pub.zones))
	for origin, z := range l.pub.zones {
		if z.signer == nil && z.published {
			cur[origin] = store.ServedSerial{Serial: z.serial, Fingerprint: z.lastFP}
		}
	}
	if maps.Equal(cur, m.savedSerials) {
		return
	}
	if err := ss.SaveServedSerials(cur); err != nil {
		m.log.Warn("keeping the served serials; a restart without etcd serves new ones", zap.Error(err))
		return
	}
	m.savedSerials = cur
}

// resumeServedSerials makes the first publish of a starting node serve a
// zone with the serial it served before, when what it is about to serve
// (its engine's answers, restored from the store) is the content it
// served under that serial. Signed zones get new serials: their
// signatures are new.
func (m *multisite) resumeServedSerials(l *decisionLoop) {
	ss, ok := l.store.(servedSerialsStore)
	if !ok {
		return
	}
	saved, err := ss.ServedSerials()
	if err != nil || len(saved) == 0 {
		if err != nil {
			m.log.Warn("reading the served serials; serving new ones", zap.Error(err))
		}
		return
	}
	m.savedSerials = saved
	zones := &publisher{zones: map[string]*zoneState{}}
	for _, zd := range l.plan.zones {
		if !signedZone(l.plan.cfg, zd.Origin()) {
			zones.zones[zd.Origin()] = &zoneState{base: staticFingerprint(zd)}
		}
	}
	for _, a := range l.engine.Answers() {
		if z := zones.zoneOf(a.Name); z != nil {
			z.dyn ^= nameHash(a.Name, fingerprint(a))
		}
	}
	resume := map[string]uint32{}
	for origin, z := range zones.zones {
		if s, ok := saved[origin]; ok && s.Fingerprint == z.base^z.dyn {
			resume[origin] = s.Serial
		}
	}
	if len(resume) > 0 {
		l.pub.committed = resume
		m.log.Info("serving the serials served before the restart", zap.Any("serials", resume))
	}
}

func signedZone(cfg *config.Config, origin string) bool {
	for _, z := range cfg.Zones {
		if z.Name == origin {
			return z.DNSSEC != nil
		}
	}
	return false
}

// committedState is the decided state read from etcd: the answers as the
// leader computed them (decoded from the view when asked for), and the
// engine that adopted the committed units (its State is the committed
// state).
type committedState struct {
	engine *pool.Engine
	m      *multisite
}

var _ decidedState = (*committedState)(nil)

func (c *committedState) Answers() []pool.Answer {
	var out []pool.Answer
	for k := range c.m.view {
		if fqdn, ok := strings.CutPrefix(k, stateUnit); ok {
			out = append(out, c.AnswersOf(fqdn)...)
		}
	}
	slices.SortFunc(out, func(a, b pool.Answer) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (c *committedState) AnswersOf(fqdn string) []pool.Answer {
	if u := c.m.unit(fqdn); u != nil {
		return u.Answers
	}
	return nil
}

func (c *committedState) State() *pool.State { return c.engine.State() }

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
