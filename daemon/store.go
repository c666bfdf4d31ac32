package daemon

import (
	"sync"
	"time"

	"github.com/failoverd/failoverd/store"
)

// stateStore is what the daemon keeps in the state directory. *store.Store
// is the implementation; tests wrap it to make commits fail.
type stateStore interface {
	Commit(store.Batch) error
	EngineState() ([]byte, error)
	Serials() (map[string]uint32, error)
	Events(service string, start, end time.Time) ([]store.Event, error)
	ServedAt(service string, t time.Time) (store.ServedSnapshot, bool, error)
	Job(id uint64) (store.Job, bool, error)
	Prune(now time.Time) error
	Close() error
}

var _ stateStore = (*store.Store)(nil)

// watchedStore remembers whether the last commit failed, for /healthz and
// the status page: a daemon that cannot write its state still answers DNS
// but must say so.
type watchedStore struct {
	stateStore
	onCommit func(error) // the metric
	mu       sync.Mutex  // guards lastErr, read by API handlers
	lastErr  error
}

// Commit implements stateStore.
func (w *watchedStore) Commit(b store.Batch) error {
	err := w.stateStore.Commit(b)
	w.mu.Lock()
	w.lastErr = err
	w.mu.Unlock()
	if w.onCommit != nil {
		w.onCommit(err)
	}
	return err
}

// Health is nil while the last commit succeeded, else its error.
func (w *watchedStore) Health() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}
