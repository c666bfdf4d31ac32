package daemon

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/notify"
)

// A reload is all or nothing: its steps build everything the new
// configuration needs, any of them may fail, and only then is it swapped in
// in one step on the decision loop, which cannot fail. Until the swap the
// running configuration keeps deciding and DNS keeps answering it.

// reloadStep is one named step of a reload. Steps that touch what the
// decision loop owns run on it (onLoop); they follow the others.
type reloadStep struct {
	name   string
	onLoop bool
	run    func(*reloadTxn) error
}

// reloadTxn is one reload under way: what its steps have built so far.
type reloadTxn struct {
	cfg      *config.Config
	now      time.Time
	prepared *Prepared
	// notifier is the new dispatcher, nil when the notification settings
	// did not change.
	notifier *notify.Dispatcher
	zones    *zoneSet
	// record, when set, commits the reload's job and events on the loop
	// after every step and before the swap; its failure refuses the
	// reload.
	record func(*reloadTxn) error
}

// diagnosticsError is a configuration with problems, as diagnostics.
type diagnosticsError struct{ diags config.Diagnostics }

func (e *diagnosticsError) Error() string {
	var msgs []string
	for _, d := range e.diags {
		msgs = append(msgs, d.Error())
	}
	return strings.Join(msgs, "; ")
}

// reloadSteps are the steps of every reload.
func (d *Daemon) reloadSteps() []reloadStep {
	return []reloadStep{
		{name: "prepare", run: func(t *reloadTxn) error {
			p, diags := Prepare(t.cfg)
			if diags.HasErrors() {
				return &diagnosticsError{diags}
			}
			t.prepared = p
			return nil
		}},
		{name: "keys", run: func(t *reloadTxn) error {
			return loadKeys(t.cfg, t.prepared.plan, d.keys, d.log)
		}},
		{name: "notifier", onLoop: true, run: func(t *reloadTxn) error {
			if !reflect.DeepEqual(t.prepared.notify, d.notifiers.opts) {
				t.notifier = notify.NewDispatcher(t.prepared.notify, d.log.Named("notify"), d.reg)
			}
			return nil
		}},
		{name: "zones", onLoop: true, run: func(t *reloadTxn) error {
			t.zones = d.loop.pub.nextZones(t.prepared.plan, t.now)
			return nil
		}},
		{name: "serials", onLoop: true, run: func(t *reloadTxn) error {
			return d.loop.pub.reserveFor(t.zones, t.now)
		}},
	}
}

// ReloadFromDisk re-reads the configuration file(s) and applies them, by
// the same path as POST /v1/reload (a job, config events); on any error
// the running configuration stays and the problems are logged.
func (d *Daemon) ReloadFromDisk(ctx context.Context) {
	if _, err := d.reloadJob(ctx, "SIGHUP"); err != nil {
		return // logged by reloadJob
	}
	// Parsing a large configuration allocates several times what the
	// running daemon keeps; hand that back to the OS now rather than
	// leaving RSS at the reload's high-water mark.
	debug.FreeOSMemory()
}

// Reload applies a loaded configuration. Every step runs before anything is
// swapped; on an error the running configuration is untouched. Unchanged
// targets keep their status and history, and DNS keeps answering
// throughout.
func (d *Daemon) Reload(ctx context.Context, cfg *config.Config) error {
	return d.reloadWith(ctx, &reloadTxn{cfg: cfg, now: time.Now()})
}

// reloadWith runs the steps of t, records it (t.record) and swaps it in.
func (d *Daemon) reloadWith(ctx context.Context, t *reloadTxn) error {
	steps := d.reload
	i := 0
	for ; i < len(steps) && !steps[i].onLoop; i++ {
		if err := steps[i].run(t); err != nil {
			return fmt.Errorf("reload: %s: %w", steps[i].name, err)
		}
	}
	return d.loop.call(ctx, func() error {
		for _, s := range steps[i:] {
			if err := s.run(t); err != nil {
				return fmt.Errorf("reload: %s: %w", s.name, err)
			}
		}
		if t.record != nil {
			if err := t.record(t); err != nil {
				return fmt.Errorf("reload: %w", err)
			}
		}
		d.swap(t)
		return nil
	})
}

// swap makes a prepared reload current. It runs on the decision loop and
// cannot fail.
func (d *Daemon) swap(t *reloadTxn) {
	l := d.loop
	next := t.prepared.plan
	if restartOnlyChanged(l.plan.cfg, t.cfg) {
		d.log.Warn("reload: changes to the dns and api blocks, tsig_key blocks, server.state_dir, server.probe_source, the etcd block and the DNS server's own hostname (CH TXT id.server) take effect at the next restart")
	}
	if t.notifier != nil {
		// The new dispatcher takes over; the old one delivers what it has
		// queued and stops.
		d.notifiers.replace(t.notifier, t.prepared.notify)
	}
	d.metrics.forget(l.plan, next)
	l.plan = next
	trs := l.engine.Reconfigure(next.spec, t.now)
	d.sched.SetTargets(next.targets)
	l.pub.swap(next, t.zones, t.notifier)
	if m := l.ms; m != nil {
		m.setPlan(next)
		digest := configDigest(next)
		go func() { // an etcd write: not on the decision loop
			ctx, cancel := context.WithTimeout(context.Background(), commitWithin)
			defer cancel()
			if err := m.s.SetConfigDigest(ctx, digest); err != nil {
				m.log.Warn("publishing the reloaded configuration's digest", zap.Error(err))
			}
		}()
		if !m.deciding() {
			m.serve(l) // the committed state, not this node's engine
		} else {
			m.decided(context.Background(), l, Decision{Time: t.now, Transitions: trs, Full: true})
		}
	} else {
		l.pub.apply(Decision{Time: t.now, Transitions: trs, Full: true}, l.engine)
	}
	d.log.Info("configuration reloaded", zap.Int("services", len(next.spec.Services)), zap.Int("targets", len(next.targets)))
}

// restartOnlyChanged reports whether b changes settings that a reload does
// not apply: the dns and api blocks, server.state_dir and server.hostname.
func restartOnlyChanged(a, b *config.Config) bool {
	da, db := a.DNS, b.DNS
	da.ListenRanges, db.ListenRanges = nil, nil
	da.GeoIPDatabaseRange, db.GeoIPDatabaseRange = config.Range{}, config.Range{}
	da.RegionMapRange, db.RegionMapRange = config.Range{}, config.Range{}
	return !reflect.DeepEqual(da, db) || a.API.Listen != b.API.Listen || a.API.TokenFile != b.API.TokenFile ||
		a.API.TLSCertFile != b.API.TLSCertFile || a.API.TLSKeyFile != b.API.TLSKeyFile ||
		!slices.EqualFunc(a.TSIGKeys, b.TSIGKeys, func(x, y *config.TSIGKey) bool {
			return x.Name == y.Name && x.Algorithm == y.Algorithm && x.Secret == y.Secret
		}) ||
		a.Server.StateDir != b.Server.StateDir || a.Server.Hostname != b.Server.Hostname ||
		a.Server.ProbeSource != b.Server.ProbeSource || !reflect.DeepEqual(a.Etcd, b.Etcd)
}
