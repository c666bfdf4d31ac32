// Package pool is failoverd's decision engine: it turns probe rounds into
// address, region and service statuses, served sets, failover chains,
// latches and events, following docs/behaviour.md sections 2-6.
//
// The package is pure: no goroutines, no I/O, no logger and no clock.
// Every input carries its own time, and the single owner of an Engine (the
// daemon's decision loop) serialises calls, so nothing here locks.
package pool

import (
	"errors"
	"time"
)

// Kind is a service kind.
type Kind string

// Service kinds. KindCluster only appears in transitions and views of
// cluster real services; a Service never has it.
const (
	KindActiveFailover Kind = "active_failover"
	KindGSLB           Kind = "gslb"
	KindRTTM           Kind = "rttm"
	KindSFPool         Kind = "sf_pool"
	KindCluster        Kind = "cluster"
)

// Status is the status of an address, a region, a service or an sf_pool.
type Status string

// Address statuses (docs/behaviour.md section 2).
const (
	StatusUnk  Status = "unk"
	StatusUp   Status = "up"
	StatusDown Status = "down"
)

// Region and service statuses of gslb, rttm and active_failover
// (docs/behaviour.md sections 3 and 4). StatusUnk is shared with addresses.
const (
	StatusOK       Status = "ok"
	StatusTrouble  Status = "trouble"
	StatusFailover Status = "failover"
)

// sf_pool statuses (docs/behaviour.md section 5).
const (
	SFStatusOK       Status = "OK"
	SFStatusCritical Status = "CRITICAL"
	SFStatusManual   Status = "MANUAL"
)

// ServeMode says when a pool entry is served.
type ServeMode string

// Serve modes of a pool entry (docs/behaviour.md section 2).
const (
	ServeAlways ServeMode = "always"
	ServeObey   ServeMode = "obey"
	ServeRemove ServeMode = "remove"
	ServeNo     ServeMode = "no"
)

// FailoverMode says what a region or an active_failover service serves in
// failover.
type FailoverMode string

// Failover modes of a region or an active_failover service.
const (
	FailoverIP     FailoverMode = "ip"
	FailoverCNAME  FailoverMode = "cname"
	FailoverRegion FailoverMode = "region"
	FailoverGlobal FailoverMode = "global"
)

// sf_pool live record states and region failure sensitivities.
const (
	LiveNotForced      = "NOT_FORCED"
	LiveForcedInactive = "FORCED_INACTIVE"
	SensitivityLow     = "LOW"
	SensitivityHigh    = "HIGH"
)

// GlobalRegion is the region code every gslb and rttm service has, and the
// only region of active_failover, sf_pool and cluster answers.
const GlobalRegion = "global"

// EventKind is the kind of a Transition.
type EventKind string

// Transition kinds.
const (
	// EventIP: an address (pool entry, active_failover primary, sf_pool
	// site result or cluster real service) changed status.
	EventIP EventKind = "ip"
	// EventSvc: a region's status changed (sf_pool: the pool's status).
	EventSvc EventKind = "svc"
	// EventNoSrv: an address with serve_mode "no" changed status.
	EventNoSrv EventKind = "nosrv"
	// EventRound: a completed probe round that changed no address status
	// (for syslog delivery = "all").
	EventRound EventKind = "round"
	// EventEP: a rttm region's eligibility pool changed.
	EventEP EventKind = "ep"
	// EventPerf: a completed rttm performance round.
	EventPerf EventKind = "perf"
)

// Errors returned (wrapped) by operator commands.
var (
	// ErrNotFound reports an unknown service, address, cluster, cluster
	// service or real service.
	ErrNotFound = errors.New("does not exist")
	// ErrPrecondition reports a command that does not apply: force on a
	// service that is not an sf_pool, a second fallback, a disabled
	// server as fallback, a negative weight.
	ErrPrecondition = errors.New("precondition failed")
)

// Spec is the engine's configuration, built by the daemon from config.Config
// with every default already applied.
type Spec struct {
	// Sites are the monitoring sites (server.site of every node); one for
	// a single node. sf_pool region_failure_sensitivity counts over them.
	Sites    []string
	Services []Service
	Clusters []Cluster
}

// Service is one active_failover, gslb, rttm or sf_pool service.
type Service struct {
	FQDN          string
	Kind          Kind
	TTL           uint32
	Active        bool
	AutoRecover   bool
	RecoveryDelay int
	NotifyEvents  []string

	// Address is the active_failover primary: an IP, or an FQDN served as
	// a CNAME.
	Address string
	// Target is the probe key of the service's monitor (active_failover
	// and sf_pool); "" means protocol NONE: always up.
	Target string
	// FailoverMode is "ip" (default) or "cname" for active_failover.
	FailoverMode FailoverMode
	// FailoverData is the backup IP or CNAME target of active_failover.
	FailoverData string

	// Regions are the gslb and rttm regions; one must be "global".
	Regions []Region

	// RRType is the sf_pool record type, "A" or "AAAA".
	RRType string
	// LiveRData is the sf_pool live record.
	LiveRData string
	// BackupRData is the sf_pool backup record; "" makes a Simple Monitor.
	BackupRData string
	// LiveRecordState is NOT_FORCED or FORCED_INACTIVE.
	LiveRecordState string
	// Sensitivity is the sf_pool region_failure_sensitivity, LOW or HIGH.
	Sensitivity string
}

// Region is one region of a gslb or rttm service.
type Region struct {
	Code string
	// ServeCount is the number of records per answer; 0 = all.
	ServeCount int
	// MinHealthy is the gslb failover threshold.
	MinHealthy int
	// FailoverMode is ip, cname, region or global ("" = global).
	FailoverMode FailoverMode
	FailoverData string
	// EP is the rttm eligibility pool size; 0 = every healthy candidate.
	EP int
	// APMC and EPMC are the rttm failover thresholds on healthy
	// candidates and on the eligibility pool.
	APMC, EPMC int
	// Autopopulate copies the global region (entries and options).
	Autopopulate bool
	Entries      []Entry
}

// Entry is one pool address of a region.
type Entry struct {
	// Address is an IP address, or an absolute host name: served as a
	// CNAME when it is the only entry of a served set, otherwise as the
	// addresses its monitor rounds last resolved it to.
	Address string
	Label   string
	// Weight is the relative serving weight (values below 1 count as 1).
	Weight    int
	ServeMode ServeMode
	// Target is the probe key of the monitor round for this address; ""
	// means protocol NONE: always up.
	Target string
	// PerfTarget is the probe key of the rttm performance monitor round.
	PerfTarget string
}

// Cluster is one load-balancer cluster.
type Cluster struct {
	Name     string
	Services []ClusterService
}

// ClusterService is one service of a cluster, answered at FQDN (A/AAAA) and
// at _<Name>._<Protocol>.<FQDN> (SRV).
type ClusterService struct {
	Name, FQDN, Protocol string
	TTL                  uint32
	Reals                []Real
}

// Real is one real service (server) of a cluster service.
type Real struct {
	Name, IP string
	Port     int
	Weight   int
	Enabled  bool
	Fallback bool
	// Target is the probe key of its monitor round; "" = always up.
	Target string
}

// Observation is one completed probe round of one target, from one site.
// For sf_pool the latest round of each site counts (region failure
// sensitivity); everywhere else every observation is one round of the
// address's hysteresis, whatever its site (Site is carried into the
// transitions for %sit). Rounds of targets nothing refers to are ignored.
type Observation struct {
	// Target is the probe key (Entry.Target, Entry.PerfTarget,
	// Service.Target or Real.Target).
	Target string
	Up     bool
	// Unknown marks a round that could not tell: the probe failed for a
	// reason on the probing host (no descriptors, buffers or memory, a
	// source address that is not local). It is no observation: statuses,
	// hysteresis counters and histories stay as they were, so it never
	// fails a service over; the round's transitions only carry Message.
	Unknown bool
	RTT     time.Duration
	Message string
	// Site is the monitoring site; "" means the first of Spec.Sites.
	Site string
	Time time.Time
	// Addresses are the IP addresses a host-name target resolved to in
	// this round; empty keeps the addresses last resolved.
	Addresses []string
}

// Answer is what DNS serves at one name.
type Answer struct {
	Name string
	TTL  uint32
	// Regions maps a region code to its served set; it always has
	// "global".
	Regions map[string]Served
}

// Served is the served set of one region, as seen by a client of that
// region: ServeCount is the client region's own serve_count even when the
// records come from the region it failed over to.
type Served struct {
	// ServeCount is how many records each answer carries; 0 = all.
	ServeCount int
	Records    []Record
}

// Record is one servable record.
type Record struct {
	// Type is "A", "AAAA", "CNAME" or "SRV".
	Type string
	// Data is the IP, the CNAME target or the SRV target.
	Data     string
	Weight   int
	Port     int
	Priority int
	// Entry is, for an address a host-name pool entry resolved to, that
	// host name; "" otherwise.
	Entry string `json:"entry,omitempty"`
}

// Transition is one event. Each observation produces, for every region
// entry (or sf_pool site, or cluster real) it feeds, exactly one of
// ip/nosrv (status changed) or round (unchanged); performance rounds give
// perf; then svc for every region whose status changed and ep for every
// rttm region whose eligibility pool changed.
type Transition struct {
	Kind        EventKind
	Service     string
	ServiceKind Kind
	// Region is the region code ("global" for active_failover, sf_pool and
	// clusters).
	Region string
	// Address is the probed address (empty for svc and ep).
	Address string
	// Label is the entry label, or the real service name for clusters.
	Label string
	// Old and New are address statuses (ip, nosrv, round) or region /
	// sf_pool statuses (svc, ep, perf).
	Old, New Status
	Time     time.Time
	Site     string
	RTT      time.Duration
	HasRTT   bool
	Message  string
	// Served is the region's served rdata after the change.
	Served []string
	// Median and RTTs: for perf and rttm probe transitions, the median of
	// the entry's window (the last 5 successful performance rounds of
	// every site) and that window; for ep, the EP members' medians in EP
	// order and their median.
	Median    time.Duration
	HasMedian bool
	RTTs      []time.Duration
}
