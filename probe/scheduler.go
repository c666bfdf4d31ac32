package probe

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// SchedulerOptions configures a Scheduler.
type SchedulerOptions struct {
	// MaxInFlight bounds the rounds running at once; default 1024.
	MaxInFlight int
	// Site is the monitoring site code put in every Result.
	Site string
	// Version goes into the HTTP User-Agent: failoverd/<version>.
	Version string
	// StartupWindow is the window, after start or after a target is added,
	// within which its first round runs (spread by hash); default 5s.
	StartupWindow time.Duration
	// OnResult receives every completed round. It is called from the
	// scheduler's goroutines, one round of a target at a time, and must not
	// block long: a slow OnResult holds a round slot.
	OnResult func(Result)
	// Source is the source address of every outgoing probe and watch
	// connection (server probe_source; see ProberOptions.Source); the zero
	// Addr lets the system choose.
	Source netip.Addr
	// Probers overrides the probe functions; nil uses
	// Probers(ProberOptions{Version: Version, Source: Source}).
	Probers map[Protocol]Func
}

// TargetStatus is the scheduler's view of one target.
type TargetStatus struct {
	Target  Target
	Key     string
	Next    time.Time // next scheduled round; zero while one runs
	Running bool
	Last    Result // zero until the first round completes
	HasLast bool
}

// Scheduler probes each distinct target once per interval. Rounds of
// different targets are spread over the interval by a stable hash of their
// key; a min-heap on the next due time and one dispatch goroutine drive
// them (no goroutine sleeps per target) on a pool of workers, and at most
// MaxInFlight rounds run at once.
//
// A target with Watch set also has a watcher: after an up round it holds
// one idle TCP connection to the target (plain TCP, also for HTTPS) and,
// when the target closes or resets it, asks for a round at once; the round
// decides, as any other. A process that dies is then seen in milliseconds,
// a rebooted host's RST within the keep-alive idle time, while a black hole
// still takes the interval. A target that closes idle connections by
// policy costs one extra (up) round per close, and the watcher waits before
// it reconnects, from 1 s doubling up to the interval, until a round is
// down again.
type Scheduler struct {
	opts    SchedulerOptions
	log     *zap.Logger
	m       *metrics
	probers map[Protocol]Func
	// own is the options of the scheduler's own probers (nil when
	// SchedulerOptions.Probers overrides them): it binds an HTTP(S)
	// target's request to its entry, built once instead of every round.
	own *ProberOptions
	// watchDialer opens watch connections (from Source, with keep-alive).
	watchDialer *net.Dialer
	// watchers counts watcher goroutines; Run waits for them.
	watchers sync.WaitGroup
	// epoch anchors the hash phases (monotonic clock).
	epoch time.Time

	mu      sync.Mutex
	entries map[string]*entry
	// localLogged is when a local failure was last logged; localQuiet
	// counts those not logged since (one line a minute at most: when the
	// host runs out of descriptors, every target fails at once).
	localLogged time.Time
	localQuiet  int
	queue       entryHeap
	wake        chan struct{} // capacity 1: "the heap's head may have changed"
}

// entry is one distinct target. Guarded by Scheduler.mu.
type entry struct {
	target Target
	key    string
	// probe runs one attempt of target; nil for a protocol with no prober.
	// Like target and key, never written after the entry is created.
	probe   Func
	frac    float64 // stable hash of the key in [0, 1)
	due     time.Time
	index   int // position in the heap; -1 while running or removed
	running bool
	removed bool
	last    lastRound
	hasLast bool
	// down: counted in the down gauge (the last decided round was down).
	down bool

	// Watch state (Target.Watch only). stopWatch ends the watcher (nil
	// until it starts); armed says "a round was up: hold a connection";
	// backoff is the wait before the next hold; rerun asks for another
	// round as soon as the running one ends.
	stopWatch context.CancelFunc
	armed     chan struct{}
	backoff   time.Duration
	rerun     bool
}

// NewScheduler returns a scheduler with no targets; call SetTargets and Run.
func NewScheduler(opts SchedulerOptions, log *zap.Logger, reg prometheus.Registerer) *Scheduler {
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1024
	}
	if opts.StartupWindow <= 0 {
		opts.StartupWindow = 5 * time.Second
	}
	if log == nil {
		log = zap.NewNop()
	}
	p := opts.Probers
	var own *ProberOptions
	if p == nil {
		po := ProberOptions{Version: opts.Version, Source: opts.Source}.withDefaults()
		p, own = po.probers(), &po
	}
	wd := ProberOptions{Source: opts.Source}.dialer()
	wd.KeepAliveConfig = watchKeepAlive
	return &Scheduler{
		opts:        opts,
		log:         log,
		m:           newMetrics(reg, log),
		probers:     p,
		own:         own,
		watchDialer: wd,
		epoch:       time.Now(),
		entries:     map[string]*entry{},
		wake:        make(chan struct{}, 1),
	}
}

// SetTargets replaces the set of targets (at start-up and on reload).
// Targets with equal keys are probed once. Unchanged keys keep their timing
// and last result; new ones get a first round within StartupWindow; removed
// ones are no longer probed, and a round of theirs still running is
// discarded. Safe from any goroutine.
func (s *Scheduler) SetTargets(ts []Target) {
	now := time.Now()
	s.mu.Lock()
	keep := make(map[string]bool, len(ts))
	added := 0
	for _, t := range ts {
		t = t.WithDefaults()
		k := t.Key()
		if keep[k] {
			continue
		}
		keep[k] = true
		if _, ok := s.entries[k]; ok {
			continue
		}
		e := &entry{target: t, key: k, probe: s.proberFor(t), frac: hashFrac(k), index: -1}
		window := min(s.opts.StartupWindow, t.Interval)
		e.due = now.Add(time.Duration(e.frac * float64(window)))
		s.entries[k] = e
		s.push(e)
		added++
	}
	removed := 0
	for k, e := range s.entries {
		if keep[k] {
			continue
		}
		if e.index >= 0 {
			heap.Remove(&s.queue, e.index)
		}
		if e.stopWatch != nil {
			e.stopWatch()
		}
		if e.down {
			s.m.down.WithLabelValues(string(e.target.Protocol)).Dec()
		}
		e.removed = true
		delete(s.entries, k)
		removed++
	}
	n := len(s.entries)
	s.mu.Unlock()
	s.m.targets.Set(float64(n))
	s.log.Info("probe targets set", zap.Int("targets", n), zap.Int("added", added), zap.Int("removed", removed))
	s.signal()
}

// Status returns the state of every target, in no particular order.
func (s *Scheduler) Status() []TargetStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TargetStatus, 0, len(s.entries))
	for _, e := range s.entries {
		st := TargetStatus{Target: e.target, Key: e.key, Running: e.running, Last: e.lastResult(), HasLast: e.hasLast}
		if !e.running {
			st.Next = e.due
		}
		out = append(out, st)
	}
	return out
}

// Last returns the last completed round of the target with the given key.
func (s *Scheduler) Last(key string) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || !e.hasLast {
		return Result{}, false
	}
	return e.lastResult(), true
}

// Run dispatches rounds until ctx is done, then cancels the rounds in
// flight (their results are discarded) and the watchers, and waits for
// them to end.
//
// Rounds run on workers, started as rounds overlap (at most MaxInFlight)
// and ended with Run. A due round goes to the worker that became idle
// last, so the few that a steady load needs stay warm: a worker keeps its
// grown stack and its context across rounds, where a goroutine per round
// grew a new stack and registered each round's context with Run's, under
// one lock for all rounds in flight.
func (s *Scheduler) Run(ctx context.Context) error {
	// slots bounds the rounds in flight; a full channel makes dispatch wait,
	// which shows up as lateness.
	slots := make(chan struct{}, s.opts.MaxInFlight)
	pool := &workerPool{slots: slots}
	// Deferred calls run last first: rounds (which start watchers) end
	// before the watchers are waited for.
	defer s.watchers.Wait()
	defer pool.wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		e, wait := s.next(time.Now())
		if e != nil {
			if w := pool.idleWorker(); w != nil {
				w.next <- e // capacity 1, and an idle worker holds none
			} else {
				pool.wg.Add(1)
				go s.work(ctx, pool, e)
			}
			continue
		}
		<-slots
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// workerPool is Run's workers: the idle ones, last idle on top.
type workerPool struct {
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	idle  []*worker
}

// worker is one worker's mailbox.
type worker struct {
	next chan *entry // capacity 1
}

// idleWorker pops the worker that became idle last, or returns nil.
func (p *workerPool) idleWorker() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	w := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return w
}

// work runs rounds, first e's, until ctx is done. Each round holds a slot
// that Run took.
func (s *Scheduler) work(ctx context.Context, p *workerPool, e *entry) {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &worker{next: make(chan *entry, 1)}
	for {
		s.round(ctx, e)
		// Idle before the slot is free: Run, once it has the slot, finds
		// this worker rather than starting another, so there are never
		// more workers than slots.
		p.mu.Lock()
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		<-p.slots
		select {
		case e = <-w.next:
		case <-ctx.Done():
			return
		}
	}
}

// next pops the entry due at now, or says how long to wait for one.
func (s *Scheduler) next(now time.Time) (*entry, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil, time.Hour
	}
	head := s.queue[0].e
	if wait := head.due.Sub(now); wait > 0 {
		return nil, wait
	}
	heap.Pop(&s.queue)
	head.running = true
	return head, 0
}

// round runs one round of e and schedules its next one.
func (s *Scheduler) round(ctx context.Context, e *entry) {
	// e.target, e.key and e.due are not written while e is running.
	t, due := e.target, e.due
	start := time.Now()
	s.m.lateness.Observe(max(0, start.Sub(due).Seconds()))
	s.m.inFlight.Inc()
	var r Result
	if e.probe != nil {
		r = round(ctx, t, e.key, e.probe)
	} else {
		r = Result{Target: t, Key: e.key, Message: "unsupported protocol " + string(t.Protocol), Time: time.Now(), Attempts: 1}
	}
	s.m.inFlight.Dec()
	if ctx.Err() != nil || expired(ctx) {
		// Shutting down: a canceled round says nothing about the target.
		// Run's deadline can have passed before its context says so, and
		// the attempts it cut short look like timeouts of their targets.
		return
	}
	r.Site, r.Scheduled, r.Lateness = s.opts.Site, due, start.Sub(due)
	proto := string(t.Protocol)
	s.m.rounds.WithLabelValues(proto).Inc()
	switch {
	case r.Local:
		s.m.local.WithLabelValues(proto).Inc()
	case !r.Up:
		s.m.failures.WithLabelValues(proto).Inc()
	}
	s.m.duration.WithLabelValues(proto).Observe(time.Since(start).Seconds())

	s.mu.Lock()
	if r.Local {
		s.logLocal(r)
	}
	gone := e.removed
	if !gone {
		e.last, e.hasLast = keepLast(r), true
		if !r.Local && e.down == r.Up {
			e.down = !r.Up
			if e.down {
				s.m.down.WithLabelValues(proto).Inc()
			} else {
				s.m.down.WithLabelValues(proto).Dec()
			}
		}
		if e.down {
			e.backoff = 0 // a real failure: watch again at once when it is back
		}
	}
	s.mu.Unlock()
	if gone {
		return
	}
	if s.opts.OnResult != nil {
		s.opts.OnResult(r)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if e.removed {
		return
	}
	now := time.Now()
	e.due = s.aligned(due.Add(t.Interval/2), t.Interval, e.frac)
	if now.Sub(e.due) >= t.Interval {
		// The round overran by more than an interval: skip the missed
		// rounds rather than firing them back to back.
		s.m.skipped.Add(float64(now.Sub(e.due) / t.Interval))
		e.due = s.aligned(now, t.Interval, e.frac)
	}
	if e.rerun {
		// The watch connection ended while this round ran: it may have
		// started before, so run another.
		e.rerun, e.due = false, now
	}
	e.running = false
	s.push(e)
	if e.index == 0 {
		s.signal()
	}
	if t.Watch && r.Up {
		s.arm(ctx, e)
	}
}

// lastResult is e's last round, zero until it has one. Called with s.mu
// held.
func (e *entry) lastResult() Result {
	if !e.hasLast {
		return Result{}
	}
	return e.last.result(e.target)
}

// lastRound is a Result kept without its Target, which its entry holds
// already: a Result's Target is more than half of it, and 100,000 entries
// kept a second copy of theirs.
type lastRound struct {
	key             string
	up, local       bool
	rtt, lateness   time.Duration
	message, site   string
	time, scheduled time.Time
	addresses       []netip.Addr
	attempts        int
}

// keepLast returns r without its Target.
func keepLast(r Result) lastRound {
	return lastRound{key: r.Key, up: r.Up, local: r.Local, rtt: r.RTT, lateness: r.Lateness,
		message: r.Message, site: r.Site, time: r.Time, scheduled: r.Scheduled,
		addresses: r.Addresses, attempts: r.Attempts}
}

// result returns the kept Result, with t as its Target.
func (l lastRound) result(t Target) Result {
	return Result{Target: t, Key: l.key, Up: l.up, Local: l.local, RTT: l.rtt, Lateness: l.lateness,
		Message: l.message, Site: l.site, Time: l.time, Scheduled: l.scheduled,
		Addresses: l.addresses, Attempts: l.attempts}
}

// proberFor returns the probe function of t (after WithDefaults).
func (s *Scheduler) proberFor(t Target) Func {
	if s.own != nil && (t.Protocol == HTTP || t.Protocol == HTTPS) {
		return s.own.boundHTTP(t)
	}
	return s.probers[t.Protocol]
}

// logLocal logs a round that failed locally, at most once a minute, with
// the number of others since. Called with s.mu held.
func (s *Scheduler) logLocal(r Result) {
	now := time.Now()
	if now.Sub(s.localLogged) < time.Minute {
		s.localQuiet++
		return
	}
	s.log.Warn("probe could not run on this host; the target's status is unknown, not down",
		zap.String("target", r.Key), zap.String("message", r.Message), zap.Int("others_since_last_logged", s.localQuiet))
	s.localLogged, s.localQuiet = now, 0
}

// watchKeepAlive probes an idle watch connection, so that a rebooted host
// (which answers with RST) or a vanished one is noticed: after 5 s idle,
// every 5 s, 3 times. Each costs one empty segment each way.
var watchKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}

// watchMinBackoff is the first wait before a watcher reconnects after its
// connection ended and the round it asked for was up.
const watchMinBackoff = time.Second

// maxWatchBytes bounds what a watch connection reads (an SMTP banner, say)
// before it is treated as ended: a chatty target cannot make a watcher spin.
const maxWatchBytes = 64 << 10

// arm tells e's watcher that a round was up, starting the watcher first if
// it has none. Called with s.mu held.
func (s *Scheduler) arm(ctx context.Context, e *entry) {
	if e.stopWatch == nil {
		wctx, cancel := context.WithCancel(ctx)
		e.stopWatch, e.armed = cancel, make(chan struct{}, 1)
		s.watchers.Add(1)
		go s.watch(wctx, e)
	}
	select {
	case e.armed <- struct{}{}:
	default: // already armed
	}
}

// watch is e's watcher: armed by an up round, it waits out the back-off,
// holds one connection until the target ends it, and asks for a round. It
// ends with ctx (Run's, or the target's removal). One goroutine per watched
// target, blocked in a read: the cost the watch option buys.
func (s *Scheduler) watch(ctx context.Context, e *entry) {
	defer s.watchers.Done()
	defer func() {
		s.mu.Lock()
		e.stopWatch = nil // a later Run starts a new watcher
		s.mu.Unlock()
	}()
	t := e.target // never written after the entry is created
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.armed:
		}
		s.mu.Lock()
		wait := e.backoff
		s.mu.Unlock()
		if wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		}
		held := s.hold(ctx, t)
		if ctx.Err() != nil {
			return
		}
		if !held {
			continue // no connection: the rounds decide, and the next up one re-arms
		}
		select {
		case <-e.armed: // from rounds during the hold; the round asked for now re-arms
		default:
		}
		s.mu.Lock()
		e.backoff = min(max(2*e.backoff, watchMinBackoff), t.Interval)
		s.mu.Unlock()
		s.probeNow(e)
	}
}

// hold connects to t and returns when the target closes or resets the
// connection (or ctx ends), reporting whether it connected at all.
func (s *Scheduler) hold(ctx context.Context, t Target) bool {
	dctx, cancel := context.WithTimeout(ctx, t.Timeout)
	conn, err := s.watchDialer.DialContext(dctx, "tcp", hostPort(t.Address, t.Port))
	cancel()
	if err != nil {
		return false
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer func() {
		stop()
		_ = conn.Close()
	}()
	// Whatever the target sends (a banner) is read and dropped; the read
	// returns on EOF, a reset, a keep-alive timeout, or ctx closing conn.
	_, _ = io.CopyN(io.Discard, conn, maxWatchBytes)
	return true
}

// probeNow asks for a round of e at once (or right after the running one).
func (s *Scheduler) probeNow(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case e.removed:
		return
	case e.running:
		e.rerun = true
		return
	}
	e.due = time.Now()
	s.queue[e.index].at = e.due.Sub(s.epoch)
	heap.Fix(&s.queue, e.index)
	s.signal()
}

// aligned returns the first time at or after t that lies on the target's
// phase: epoch + frac*interval + k*interval.
func (s *Scheduler) aligned(t time.Time, interval time.Duration, frac float64) time.Time {
	off := time.Duration(frac * float64(interval))
	n := t.Sub(s.epoch) - off
	k := n / interval
	if n > k*interval {
		k++
	}
	return s.epoch.Add(k*interval + off)
}

// signal wakes Run without blocking.
func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// hashFrac maps a key to a stable fraction in [0, 1).
func hashFrac(key string) float64 {
	sum := sha256.Sum256([]byte(key))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// push queues e at its due time. Called with s.mu held.
func (s *Scheduler) push(e *entry) {
	// heap.Push with the append done here: passing a queued as an any
	// would allocate it.
	e.index = len(s.queue)
	s.queue = append(s.queue, queued{at: e.due.Sub(s.epoch), e: e})
	heap.Fix(&s.queue, e.index)
}

// queued is an entry in the queue with its due time beside it (on the
// monotonic clock, from the epoch): ordering 100,000 entries compares
// times in the queue's own array instead of reaching into two entries
// scattered in memory for every comparison.
type queued struct {
	at time.Duration
	e  *entry
}

// entryHeap orders entries by due time; it implements heap.Interface.
type entryHeap []queued

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].e.index, h[j].e.index = i, j
}

// Push implements heap.Interface.
func (h *entryHeap) Push(x any) {
	q := x.(queued)
	q.e.index = len(*h)
	*h = append(*h, q)
}

// Pop implements heap.Interface. It returns nil: the callers have the
// entry already, and returning it as an any would allocate.
func (h *entryHeap) Pop() any {
	old := *h
	old[len(old)-1].e.index = -1
	old[len(old)-1] = queued{}
	*h = old[:len(old)-1]
	return nil
}
