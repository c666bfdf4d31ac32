package sites

import (
	"errors"
	"time"
)

// ErrNotLeader is returned by Commit on a node that is not (or no longer)
// the leader: etcd refused the transaction because the leader key is not
// this node's.
var ErrNotLeader = errors.New("not the leader")

// ErrDisconnected is returned by calls that need etcd while this node
// cannot reach it.
var ErrDisconnected = errors.New("etcd not connected")

// ErrSiteTaken is wrapped by the error Open and Run return when another
// running node holds this node's server.site.
var ErrSiteTaken = errors.New("site held by another node")

// Observation is this site's view of one probed target.
type Observation struct {
	// Target names the probed target; the daemon chooses it (one per
	// target, however many services share it).
	Target  string
	Status  Status
	Message string
	// RTT is the site's response time for the target (for performance
	// targets, the site's own median over its rounds); 0 when none.
	RTT time.Duration
	// TrackRTT marks a target whose RTT feeds a decision (an rttm
	// performance target): a moved RTT alone is then written (throttled).
	// Any other target's RTT is written only with a status or message
	// change, since loopback-class RTTs move by more than any fraction
	// every few rounds and would rewrite every target twice a minute.
	TrackRTT bool
	// Time is when the round that produced this view completed.
	Time time.Time
}

// Report is one live site's published observation: its current view of
// the target, valid until it publishes another (steady views are not
// rewritten, so a report stands for every round since Time).
type Report struct {
	Site    string
	Status  Status
	Message string
	RTT     time.Duration
	Time    time.Time // the round that last changed the view (or refreshed its RTT)
}

// SiteInfo is one live site.
type SiteInfo struct {
	Site         string
	Hostname     string
	Version      string
	ConfigDigest string
	Leader       bool
	Started      time.Time
	// LastSeen is when the site was last known alive: its last write
	// (registration or observation) seen by this node, or later, this
	// node's last answered lease keep-alive (etcd held every listed
	// site's lease then).
	LastSeen time.Time
}

// SitesView is the deployment as this node sees it (GET /v1/sites).
type SitesView struct {
	Leader    string // the leader's site, "" while there is none
	Connected bool
	Revision  int64 // etcd revision of the last change applied
	Sites     []SiteInfo
}

// Batch is one commit of the leader: a turn of the decision loop or one
// operator command. Everything in it is committed before Commit returns;
// a batch with more operations than Options.MaxTxnOps is committed in
// several transactions (events first, then state, serials and finished
// commands), each of which is complete for every value it holds.
type Batch struct {
	// State sets one opaque value per name (a service's decided state,
	// or any name the daemon chooses); a nil value deletes the name.
	State map[string][]byte
	// Serials sets the SOA serial of each zone.
	Serials map[string]uint32
	// Events are committed before they are notified; Commit returns their
	// ids for MarkDelivered.
	Events []EventData
	// Done finishes operator commands.
	Done []Done
}

func (b Batch) empty() bool {
	return len(b.State) == 0 && len(b.Serials) == 0 && len(b.Events) == 0 && len(b.Done) == 0
}

// EventData is an event to commit.
type EventData struct {
	Time time.Time
	Data []byte
}

// Done finishes one operator command.
type Done struct {
	ID     uint64 // Command.ID
	Error  string // non-empty when the command was refused
	Result []byte
}

// Result is what Commit committed.
type Result struct {
	Revision int64    // etcd revision of the last transaction
	Events   []string // ids of Batch.Events, in order
}

// Event is a committed event.
type Event struct {
	ID        string // sortable: commit order
	Time      time.Time
	Data      []byte
	Delivered bool
}

// Command is an operator command waiting for the leader.
type Command struct {
	ID        uint64 // the job id: the etcd revision that queued it, unique across the deployment
	Site      string // where it was submitted
	Data      []byte
	Submitted time.Time
}

// Job is a finished operator command.
type Job struct {
	ID        uint64
	Site      string
	Data      []byte
	Error     string
	Result    []byte
	Submitted time.Time
	Completed time.Time
	Revision  int64 // the revision that committed it
}

// Committed is a change of the committed state, or all of it when Full.
type Committed struct {
	Revision int64
	// Full marks the whole committed state: State and Serials then hold
	// every name and zone, and whatever is not in them no longer exists.
	Full bool
	// State holds changed names; a nil value is a deleted name.
	State   map[string][]byte
	Serials map[string]uint32
	// Events are newly committed events.
	Events []Event
	// Jobs are newly finished commands.
	Jobs []Job
}
