package daemon

import (
	"time"

	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
)

// The decision loop has two ends, kept small so that a multi-site daemon
// can replace what sits between them ("local observations → local engine"
// becomes "every site's observations → the leader's committed state")
// without touching the publisher or the API.

// observationSource delivers the rounds the decision loop decides on. The
// local scheduler (localObservations) is the one source today.
type observationSource interface {
	Observations() <-chan probe.Result
}

// decidedState is the state a Decision refers to: what every name answers
// and what is persisted. *pool.Engine is the local one.
type decidedState interface {
	Answers() []pool.Answer
	AnswersOf(fqdn string) []pool.Answer
	State() *pool.State
}

var _ decidedState = (*pool.Engine)(nil)

// Decision is what one turn of the decision loop settled; the publisher
// applies it to DNS, the store and the notifiers.
type Decision struct {
	Time        time.Time
	Transitions []pool.Transition
	// Full republishes every name (start-up, reload, operator command);
	// otherwise only the services of the transitions that changed a
	// served set or status.
	Full bool
	// Readdressed are services whose served set changed with no
	// transition saying so (a host-name entry resolved differently).
	Readdressed []string
	// Recorded says that the engine state, events and job of this decision
	// are already committed (operator commands commit first).
	Recorded bool
}

// localObservations are the rounds of this site's probe scheduler.
type localObservations struct {
	ch   chan probe.Result
	done <-chan struct{} // closed when the decision loop has returned
}

func newLocalObservations(done <-chan struct{}) *localObservations {
	// The buffer absorbs a burst of rounds that complete together (a
	// shared outage) while the loop publishes.
	return &localObservations{ch: make(chan probe.Result, 4096), done: done}
}

// Observations implements observationSource.
func (l *localObservations) Observations() <-chan probe.Result { return l.ch }

// onResult is the scheduler's OnResult: it hands a round to the decision
// loop from a scheduler goroutine; once the loop is gone it is dropped.
func (l *localObservations) onResult(r probe.Result) {
	select {
	case l.ch <- r:
	case <-l.done:
	}
}
