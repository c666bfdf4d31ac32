package daemon

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/notify"
)

// notifiers runs the notification dispatcher of the current configuration
// and lets the ones a reload replaced deliver what they have queued.
type notifiers struct {
	log  *zap.Logger
	opts notify.Options // of the current dispatcher
	cur  *notify.Dispatcher
	// ctx is the context of every dispatcher (set by start); stopCur ends
	// the current one; wg tracks every dispatcher still draining.
	ctx     context.Context
	stopCur context.CancelFunc
	wg      sync.WaitGroup
}

// start runs the current dispatcher; the returned stop ends every
// dispatcher and waits until each has delivered its queue (within its
// deadline).
func (n *notifiers) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	n.ctx = ctx
	n.run(n.cur)
	return func() {
		cancel()
		n.wg.Wait()
	}
}

// replace makes d, built from opts, the current dispatcher; the old one
// drains and stops. It runs on the decision loop, after start.
func (n *notifiers) replace(d *notify.Dispatcher, opts notify.Options) {
	n.stopCur()
	n.cur, n.opts = d, opts
	n.run(d)
}

func (n *notifiers) run(d *notify.Dispatcher) {
	ctx, cancel := context.WithCancel(n.ctx)
	n.stopCur = cancel
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("notifier", zap.Error(err))
		}
	}()
}
