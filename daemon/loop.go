package daemon

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/notify"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
	"github.com/failoverd/failoverd/store"
)

// loop is the decision loop: the one goroutine that owns the engine. Probe
// results, operator commands and reloads arrive as messages; transitions go
// to notify and the store, and what DNS answers is republished.
func (d *Daemon) loop(ctx context.Context) error {
	defer close(d.loopDone)
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-d.results:
			// Rounds that completed together (a shared outage) are decided
			// one by one but published and persisted once.
			trs := d.observe(r, nil)
		drain:
			for range maxCoalesced {
				select {
				case r := <-d.results:
					trs = d.observe(r, trs)
				default:
					break drain
				}
			}
			d.apply(trs, time.Now(), false)
		case op := <-d.ops:
			op()
		case now := <-prune.C:
			if err := d.store.Prune(now); err != nil {
				d.log.Error("pruning history", zap.Error(err))
			}
		}
	}
}

// maxCoalesced bounds how many queued probe rounds one publish covers, so a
// burst never delays DNS by more than a batch.
const maxCoalesced = 256

// observe feeds one completed round to the engine and appends its
// transitions to trs.
func (d *Daemon) observe(r probe.Result, trs []pool.Transition) []pool.Transition {
	if !d.plan.targetKeys[r.Key] {
		return trs // a round that was running when a reload removed its target
	}
	d.metrics.observeRound(r)
	return append(trs, d.engine.Observe(pool.Observation{
		Target:  r.Key,
		Up:      r.Up,
		Unknown: r.Local,
		RTT:     r.RTT,
		Message: r.Message,
		Site:    r.Site,
		Time:    r.Time,
	})...)
}

// apply handles the transitions of one input: it republishes DNS when a
// served set changed (bumping that zone's serial), logs and announces every
// change, and persists the engine state, events and served sets in one
// synced store commit. force republishes even when nothing changed (start-up,
// reload).
func (d *Daemon) apply(trs []pool.Transition, now time.Time, force bool) {
	changed := force
	for _, t := range trs {
		if isChange(t.Kind) {
			changed = true
			break
		}
	}
	if !changed {
		for _, t := range trs {
			d.announce(t)
		}
		return
	}
	var services []string // nil: every name
	if !force {
		for _, t := range trs {
			if isChange(t.Kind) {
				services = append(services, t.Service)
			}
		}
	}
	served := d.publish(now, services)
	batch := store.Batch{Serials: map[string]uint32{}, Served: served}
	for _, t := range trs {
		d.announce(t)
		if isChange(t.Kind) && t.Kind != pool.EventEP {
			batch.Events = append(batch.Events, store.Event{
				Time: t.Time, Service: t.Service, Kind: t.Kind, Region: t.Region,
				Address: t.Address, OldStatus: t.Old, NewStatus: t.New, Message: t.Message,
			})
		}
	}
	for origin, z := range d.zones {
		batch.Serials[origin] = z.serial
	}
	d.persist(batch)
}

// persist writes batch together with the engine's current state.
func (d *Daemon) persist(batch store.Batch) {
	b, err := json.Marshal(d.engine.State())
	if err != nil {
		panic(err) // plain data: a failure is a bug
	}
	batch.EngineState = b
	if err := d.store.Commit(batch); err != nil {
		d.log.Error("persisting state", zap.Error(err))
	}
}

func isChange(kind string) bool {
	switch kind {
	case pool.EventIP, pool.EventSvc, pool.EventNoSrv, pool.EventEP:
		return true
	}
	return false
}

// announce logs a change once and hands every transition to the notifier,
// which decides from the service's route what goes out.
func (d *Daemon) announce(t pool.Transition) {
	d.metrics.observeTransition(t)
	if isChange(t.Kind) {
		d.log.Info("state change",
			zap.String("event", t.Kind), zap.String("service", t.Service), zap.String("region", t.Region),
			zap.String("address", t.Address), zap.String("old", t.Old), zap.String("new", t.New),
			zap.String("reason", t.Message), zap.Strings("served", t.Served))
	}
	r, ok := d.plan.routes[t.Service]
	if !ok || (r.Syslog == nil && len(r.Emails) == 0) {
		return
	}
	d.notifier.Publish(notify.Event{
		Kind:      t.Kind,
		Service:   t.Service,
		Region:    t.Region,
		Address:   t.Address,
		OldStatus: t.Old,
		NewStatus: t.New,
		Vars: notify.Vars{
			Hostname:  d.plan.cfg.Server.Hostname,
			Time:      t.Time,
			Region:    t.Region,
			Status:    t.New,
			Serial:    d.serialOf(t.Service),
			Rdata:     t.Served,
			Site:      t.Site,
			RTT:       t.RTT,
			HasRTT:    t.HasRTT,
			Message:   t.Message,
			Address:   t.Address,
			Median:    t.Median,
			HasMedian: t.HasMedian,
			RTTs:      t.RTTs,
		},
	}, r)
}
