package daemon

import (
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
	JobsOf(target string, start, end time.Time) ([]store.Job, error)
	Prune(now time.Time) error
	Close() error
}

var _ stateStore = (*store.Store)(nil)
