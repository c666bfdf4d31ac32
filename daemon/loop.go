package daemon

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
)

// errShuttingDown answers calls that arrive after the decision loop ended.
var errShuttingDown = errors.New("failoverd is shutting down")

// decisionLoop is the one goroutine that owns the decided state (the pool
// engine) and the publisher. Observations, operator commands and reloads
// arrive as messages; every turn's Decision goes to the publisher.
type decisionLoop struct {
	log     *zap.Logger
	metrics *metrics
	in      observationSource
	store   stateStore
	// ops carries work (operator commands, reloads, views) that must run
	// on the loop.
	ops chan func()
	// done is closed when the loop has returned.
	done chan struct{}

	// Owned by the loop.
	plan   *plan
	engine *pool.Engine
	pub    *publisher
	// ms is the deployment on etcd; nil for a single node.
	ms *multisite
}

// maxCoalesced bounds how many queued probe rounds one publish covers, so a
// burst never delays DNS by more than a batch.
const maxCoalesced = 256

// retryInterval is how often a publish that could not save its serial is
// tried again when nothing else happens.
const retryInterval = time.Second

// Run decides until ctx is done.
func (l *decisionLoop) Run(ctx context.Context) error {
	defer close(l.done)
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	retry := time.NewTicker(retryInterval)
	defer retry.Stop()
	in := l.in.Observations()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-in:
			// Rounds that completed together (a shared outage) are decided
			// one by one but published and persisted once.
			trs := l.observe(r, nil)
		drain:
			for range maxCoalesced {
				select {
				case r := <-in:
					trs = l.observe(r, trs)
				default:
					break drain
				}
			}
			l.decided(ctx, Decision{Time: time.Now(), Transitions: trs, Readdressed: l.engine.TakeReaddressed()})
		case op := <-l.ops:
			op()
		case now := <-retry.C:
			if l.pub.pending && (l.ms == nil || l.ms.deciding()) {
				l.decided(ctx, Decision{Time: now, Full: true})
			} else if l.pub.pending {
				l.ms.serve(l)
			}
			if l.pub.refreshSignatures(now) {
				// No answer changed: the serial moves with the signatures.
				l.pub.publish(now, []string{}, l.engine)
			}
		case now := <-prune.C:
			if err := l.store.Prune(now); err != nil {
				l.log.Error("pruning history", zap.Error(err))
			}
		}
	}
}

// observe feeds one completed round to the engine and appends its
// transitions to trs.
func (l *decisionLoop) observe(r probe.Result, trs []pool.Transition) []pool.Transition {
	if !l.plan.targetKeys[r.Key] {
		return trs // a round that was running when a reload removed its target
	}
	var addrs []string
	if len(r.Addresses) > 0 && !r.Local {
		addrs = make([]string, len(r.Addresses))
		for i, a := range r.Addresses {
			addrs[i] = a.String()
		}
	}
	o := pool.Observation{
		Target:    r.Key,
		Up:        r.Up,
		Unknown:   r.Local,
		RTT:       r.RTT,
		Message:   r.Message,
		Site:      r.Site,
		Time:      r.Time,
		Addresses: addrs,
	}
	if l.ms != nil {
		var deciding bool
		if o, deciding = l.ms.observe(r, o); !deciding {
			return trs // a follower serves what the leader committed
		}
	}
	return append(trs, l.engine.Observe(o)...)
}

// decided settles one Decision: published, persisted and announced, and
// in a deployment committed to etcd first.
func (l *decisionLoop) decided(ctx context.Context, dec Decision) {
	if l.ms != nil {
		l.ms.decided(ctx, l, dec)
		return
	}
	l.pub.apply(dec, l.engine)
}

// call runs fn on the loop and waits for it, or until ctx is done (a client
// that went away). fn is skipped when ctx ended before the loop got to it.
func (l *decisionLoop) call(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	op := func() {
		if err := ctx.Err(); err != nil {
			done <- err
			return
		}
		done <- fn()
	}
	select {
	case l.ops <- op:
	case <-l.done:
		return errShuttingDown
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
