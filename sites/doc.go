// Package sites makes several failoverd nodes one deployment on etcd v3,
// without a consensus protocol of our own. It is the one owner of the etcd
// client (go.etcd.io/etcd/client/v3, pinned in go.mod and tested against
// the etcd server Debian ships, 3.4): site membership under leases,
// publishing and watching observations, leader election, the committed
// state, the operator command queue and notification delivery marks.
// It imports no other package of failoverd; the daemon wires it and keeps
// every policy (what the state bytes mean, on_partition, when to commit).
//
// # Who does what
//
// Every node probes and publishes its own view of each target (Publish).
// Every node watches the whole prefix, so it knows every live site's
// reports (Reports, OnReports), the live sites and the leader (Sites,
// OnSites), and the committed state (Snapshot, OnCommitted). One node, the
// leader (etcd's concurrency election), turns the reports into decisions
// (Decide applies etcd.quorum; SensitivityQuorum gives sf_pool's LOW and
// HIGH; MedianRTT combines rttm response times) and commits them (Commit).
// A report is a site's current view, not one round: a steady view is not
// rewritten, so the leader decides each of its rounds from the latest
// reports.
// Every node, the leader included, serves what OnCommitted hands it, so
// answers and SOA serials are the same everywhere.
//
// # Keys under the prefix (default /failoverd/)
//
//	sites/<site>                  registration: hostname, version, config digest, instance   site lease
//	obs/<site>/<target>           the site's view of a target: status, message, rtt, time     site lease
//	election/<lease hex>          etcd concurrency election; the value is the site            site lease
//	state/<name>                  committed decided state, one opaque value per name          leader
//	serial/<zone>                 committed SOA serial                                        leader
//	events/<term>-<seq>           committed event, opaque bytes                               leader
//	delivered/<event id>          the event was notified                                      leader
//	cmd/<site>/<nonce>            queued operator command; its create revision is the job id  any node
//	jobs/<job id, 20 digits>      finished command: result or error                           leader
//	shared/<name>                 first-writer-wins values (DNSSEC keys)                      any node
//	batch/<site>                  a commit of several transactions is under way               leader's site lease
//
// Target, name and zone segments are URL path-escaped. Every value except
// the election's is JSON with a version field "v" (now 1); a value this
// version cannot read (another version, not JSON, a key of an unknown
// kind) is skipped, logged once per revision and counted in
// failoverd_etcd_unreadable_values_total, never fatal.
//
// # What is written when
//
//   - At start and after a lost lease: one lease of lease_ttl (whole
//     seconds), the site key under it (a running node with the same site is
//     refused with its hostname; one with this node's hostname is waited
//     for, once, as it may be this node's killed predecessor), and every
//     observation again.
//   - Observations only on change: another status or message. An RTT
//     alone is written only for a target whose RTT feeds a decision
//     (Observation.TrackRTT: rttm performance targets), when it moved by
//     more than Options.RTTChange (20 %) and the target's last write is at
//     least Options.RTTRefresh (30 s) old by round times. So a steady
//     target costs nothing however often it is probed, and rttm medians
//     are refreshed at most twice a minute; any other target's published
//     RTT is the one of its last status or message change.
//     Pending writes coalesce (a target's latest view wins) and go out in
//     transactions of up to Options.MaxTxnOps puts.
//   - The leader's Commit: one etcd transaction per Options.MaxTxnOps
//     operations, each guarded by the leader's election key (its creation
//     revision), so a deposed leader's commit is refused by etcd
//     (ErrNotLeader). Events go first, then state, serials and finished
//     commands. A name's value is always whole. A commit that takes
//     several transactions puts batch/<site> in its first and deletes it in
//     its last (or after failing midway; otherwise it goes with the lease):
//     every node holds back the committed changes it sees while a batch
//     key stands and hands them to OnCommitted together once none does, so
//     a follower applies a commit whole.
//   - Submit (any node): one put under cmd/; the leader gets it through
//     OnCommand, applies it and commits a Done, which deletes the command
//     and writes jobs/<id> in the same transaction; Submit returns once this
//     node has applied that revision. A leader that dies first leaves the
//     command queued for the next one.
//   - MarkDelivered after a notification is sent; Undelivered (read from
//     etcd) is what a new leader sends. Delivered events and finished jobs
//     are pruned by the leader after Options.Retention.
//
// # Faults
//
// An unreachable etcd at Open is logged and the node starts disconnected
// (the daemon serves its local state); Run keeps trying. Wrong options,
// TLS files, a server certificate the CA does not vouch for, wrong
// credentials and a prefix the user may not touch are errors at Open.
// Connection reports Connected from the lease keep-alives and Partitioned
// once disconnected for longer than lease_ttl (the other sites no longer
// count this one's votes): the daemon applies etcd.on_partition. A lost
// lease deposes the leader and re-registers; the state is then listed
// afresh, as it is whenever the watch ends (its revision compacted, no
// etcd leader, a broken stream): an etcd before 3.4.34 can drop a delete
// at exactly the compaction revision from a resumed watch, so a resumed
// watch is not trusted.
// A commit that fails inside etcd (a raft election, a lost member) is
// tried again; each of its operations leaves the same state when run
// twice.
package sites
