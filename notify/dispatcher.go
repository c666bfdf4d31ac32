package notify

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Backoff configures retries of a failed delivery.
type Backoff struct {
	Initial     time.Duration // first wait; default 500ms
	Max         time.Duration // cap of the doubling wait; default 30s
	MaxAttempts int           // attempts per message before it is dropped; default 10
}

// Options configures a Dispatcher.
type Options struct {
	Hostname      string       // server.hostname: %hos default and syslog HOSTNAME; default os.Hostname()
	SMTP          *SMTPOptions // nil: e-mails are dropped (and counted)
	QueueSize     int          // messages per sink; default 1000
	QueueBytes    int          // bytes of queued messages per sink; default 1 MiB
	MailWorkers   int          // concurrent SMTP sessions; default 2
	Retry         Backoff
	DrainTimeout  time.Duration // how long Run keeps delivering after ctx is done; default 5s
	SendTimeout   time.Duration // bound of one delivery attempt; default 10s (syslog), 30s (e-mail)
	SyslogTimeout time.Duration // dial and write bound of a syslog attempt; default 5s
}

// Dispatcher routes events to syslog and e-mail sinks through bounded
// queues; Publish never blocks and Run delivers.
type Dispatcher struct {
	opts    Options
	log     *zap.Logger
	smtp    *SMTP
	sent    *prometheus.CounterVec
	failed  *prometheus.CounterVec
	dropped *prometheus.CounterVec

	// mu guards the sink map and the run state; Publish holds it only for
	// a map lookup and a non-blocking channel send.
	mu      sync.Mutex
	syslogs map[SyslogDest]*queue
	email   *queue
	running bool
	stopped bool
	runCtx  context.Context // done when Run's ctx is done
	sendCtx context.Context // done at the end of the drain deadline
	wg      sync.WaitGroup
	noSMTP  atomic.Bool
}

// queue is the bounded queue and delivery state of one sink.
type queue struct {
	name     string
	sink     Sink
	workers  int // goroutines delivering from ch: 1 keeps a syslog stream in order
	ch       chan Message
	bytes    atomic.Int64 // size of the messages in ch; added under Dispatcher.mu
	maxBytes int64
	dropped  atomic.Uint64 // drops since the last report
	failing  atomic.Bool   // shared by the queue's workers
}

// size is what a message costs against Options.QueueBytes.
func (m Message) size() int64 {
	n := len(m.Syslog) + len(m.Desc)
	if m.Mail != nil {
		n += len(m.Mail.Subject) + len(m.Mail.Body)
		for _, to := range m.Mail.To {
			n += len(to)
		}
	}
	return int64(n)
}

// NewDispatcher returns a Dispatcher; call Run to deliver. reg may be nil.
func NewDispatcher(opts Options, log *zap.Logger, reg prometheus.Registerer) *Dispatcher {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = 1 << 20
	}
	if opts.MailWorkers <= 0 {
		opts.MailWorkers = 2
	}
	if opts.Retry.Initial <= 0 {
		opts.Retry.Initial = 500 * time.Millisecond
	}
	if opts.Retry.Max <= 0 {
		opts.Retry.Max = 30 * time.Second
	}
	if opts.Retry.Max < opts.Retry.Initial {
		opts.Retry.Max = opts.Retry.Initial
	}
	if opts.Retry.MaxAttempts <= 0 {
		opts.Retry.MaxAttempts = 10
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	d := &Dispatcher{
		opts:    opts,
		log:     log.Named("notify"),
		syslogs: make(map[SyslogDest]*queue),
		sent: counter(reg, prometheus.CounterOpts{
			Name: "failoverd_notify_sent_total",
			Help: "Notifications delivered, by sink kind (syslog, email).",
		}),
		failed: counter(reg, prometheus.CounterOpts{
			Name: "failoverd_notify_failed_total",
			Help: "Failed notification delivery attempts (each is retried with backoff), by sink kind.",
		}),
		dropped: counter(reg, prometheus.CounterOpts{
			Name: "failoverd_notify_dropped_total",
			Help: "Notifications lost because a queue was full, retries ran out or shutdown cut the drain short, by sink kind.",
		}),
	}
	for _, kind := range []string{"syslog", "email"} {
		d.sent.WithLabelValues(kind)
		d.failed.WithLabelValues(kind)
		d.dropped.WithLabelValues(kind)
	}
	if opts.SMTP != nil {
		s, err := NewSMTP(*opts.SMTP)
		if err != nil {
			d.log.Error("e-mail notifications disabled", zap.Error(err))
		} else {
			d.smtp = s
			d.email = d.newQueue("smtp "+opts.SMTP.Server, s, opts.MailWorkers)
		}
	}
	return d
}

// counter creates and registers a CounterVec labelled by sink kind; when an
// identical collector is already registered (a reload), that one is reused.
func counter(reg prometheus.Registerer, o prometheus.CounterOpts) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(o, []string{"sink"})
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return old
			}
		}
		panic(err) // a metric name clash is a bug
	}
	return c
}

func (d *Dispatcher) newQueue(name string, s Sink, workers int) *queue {
	return &queue{name: name, sink: s, workers: workers, ch: make(chan Message, d.opts.QueueSize), maxBytes: int64(d.opts.QueueBytes)}
}

// Publish applies docs/behaviour.md section 8 to ev under route r — which
// syslog message for its Kind and delivery, whether it is e-mailed — then
// formats and enqueues the messages. It never blocks: a message whose
// queue is full is dropped, counted and logged.
func (d *Dispatcher) Publish(ev Event, r Route) {
	if ev.Vars.Time.IsZero() {
		ev.Vars.Time = time.Now()
	}
	if ev.Vars.Hostname == "" {
		ev.Vars.Hostname = d.opts.Hostname
	}
	if r.Syslog != nil && r.Syslog.Server != "" {
		sr := r.Syslog.WithDefaults()
		if text, ok := SyslogText(ev, sr); ok {
			fac, known := Facility(sr.Facility)
			if !known {
				fac, _ = Facility(DefaultFacility)
			}
			status := eventVars(ev).Status
			frame := Frame(FrameOptions{
				Protocol: sr.Protocol,
				Facility: fac,
				Severity: Severity(status),
				Hostname: d.opts.Hostname,
				Ident:    sr.Ident,
				Time:     ev.Vars.Time,
			}, text)
			d.enqueueSyslog(sr.Dest(), Message{Syslog: frame, Desc: ev.Service + " " + ev.Kind})
		}
	}
	if WantsMail(ev, r) {
		m := Message{Mail: composeMail(withEventFields(ev), r.Emails), Desc: ev.Service + " " + ev.Kind}
		d.enqueueMail(m)
	}
}

// withEventFields fills Event fields from Vars and back so a mail has both.
func withEventFields(ev Event) Event {
	v := eventVars(ev)
	ev.Vars = v
	if ev.NewStatus == "" {
		ev.NewStatus = v.Status
	}
	if ev.Region == "" {
		ev.Region = v.Region
	}
	if ev.Address == "" {
		ev.Address = v.Address
	}
	return ev
}

func (d *Dispatcher) enqueueSyslog(dest SyslogDest, m Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.syslogs[dest]
	if q == nil {
		q = d.newQueue("syslog "+dest.Transport+"/"+dest.Address(), NewSyslog(dest, d.opts.SyslogTimeout), 1)
		d.syslogs[dest] = q
		if d.running && !d.stopped {
			d.start(q)
		}
	}
	d.enqueueLocked(q, m)
}

func (d *Dispatcher) enqueueMail(m Message) {
	if d.email == nil {
		d.dropped.WithLabelValues("email").Inc()
		if !d.noSMTP.Swap(true) {
			d.log.Warn("e-mail notification dropped: no usable smtp block", zap.String("event", m.Desc))
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.enqueueLocked(d.email, m)
}

// enqueueLocked puts m on q without blocking; d.mu is held.
func (d *Dispatcher) enqueueLocked(q *queue, m Message) {
	if d.stopped {
		d.drop(q, m, "dispatcher stopped")
		return
	}
	size := m.size()
	if q.bytes.Load()+size > q.maxBytes {
		d.drop(q, m, "queue bytes full")
		return
	}
	q.bytes.Add(size)
	select {
	case q.ch <- m:
	default:
		q.bytes.Add(-size)
		d.drop(q, m, "queue full")
	}
}

// dequeued releases m's bytes once a worker took it off q.
func (q *queue) dequeued(m Message) Message {
	q.bytes.Add(-m.size())
	return m
}

// drop counts a lost message; the first loss of an outage is logged at
// once, the rest are summed up when the sink works again.
func (d *Dispatcher) drop(q *queue, m Message, why string) {
	d.dropped.WithLabelValues(q.sink.Kind()).Inc()
	if q.dropped.Add(1) == 1 {
		d.log.Warn("notification dropped", zap.String("sink", q.name), zap.String("reason", why), zap.String("event", m.Desc))
	}
}

// start runs q's workers; d.mu is held.
func (d *Dispatcher) start(q *queue) {
	for range q.workers {
		d.wg.Add(1)
		go d.work(q)
	}
}

// Run delivers queued messages until ctx is done, then keeps delivering
// what is queued for at most Options.DrainTimeout, closes the sinks and
// returns nil. It may be called once.
func (d *Dispatcher) Run(ctx context.Context) error {
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("notify: Run called twice")
	}
	d.running = true
	d.runCtx, d.sendCtx = ctx, sendCtx
	if d.email != nil {
		d.start(d.email)
	}
	for _, q := range d.syslogs {
		d.start(q)
	}
	d.mu.Unlock()

	<-ctx.Done()
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()

	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	t := time.NewTimer(d.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		cancelSend()
		<-done
	}

	// Whatever is still queued (published while the workers were exiting)
	// is lost; count it, then release connections.
	d.mu.Lock()
	queues := make([]*queue, 0, len(d.syslogs)+1)
	for _, q := range d.syslogs {
		queues = append(queues, q)
	}
	if d.email != nil {
		queues = append(queues, d.email)
	}
	d.mu.Unlock()
	for _, q := range queues {
		for n := len(q.ch); n > 0; n-- {
			d.drop(q, q.dequeued(<-q.ch), "shutdown")
		}
		_ = q.sink.Close()
	}
	return nil
}

// work delivers q's messages until Run's ctx is done and the queue is
// empty; with one worker per queue, in order.
func (d *Dispatcher) work(q *queue) {
	defer d.wg.Done()
	for {
		select {
		case m := <-q.ch:
			d.deliver(q, q.dequeued(m))
		case <-d.runCtx.Done():
			for {
				select {
				case m := <-q.ch:
					d.deliver(q, q.dequeued(m))
				default:
					return
				}
			}
		}
	}
}

// deliver sends m with retry and exponential backoff, dropping it after
// Retry.MaxAttempts or when the drain deadline passes.
func (d *Dispatcher) deliver(q *queue, m Message) {
	kind := q.sink.Kind()
	timeout := d.opts.SendTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
		if kind == "email" {
			timeout = 30 * time.Second
		}
	}
	wait := d.opts.Retry.Initial
	for attempt := 1; ; attempt++ {
		if d.sendCtx.Err() != nil {
			d.drop(q, m, "shutdown deadline")
			return
		}
		ctx, cancel := context.WithTimeout(d.sendCtx, timeout)
		err := q.sink.Deliver(ctx, m)
		cancel()
		if err == nil {
			d.sent.WithLabelValues(kind).Inc()
			if q.failing.Swap(false) {
				d.log.Info("notification sink recovered", zap.String("sink", q.name))
			}
			if n := q.dropped.Swap(0); n > 0 {
				d.log.Warn("notifications were dropped", zap.String("sink", q.name), zap.Uint64("count", n))
			}
			return
		}
		d.failed.WithLabelValues(kind).Inc()
		if !q.failing.Swap(true) {
			d.log.Warn("notification delivery failed; retrying", zap.String("sink", q.name), zap.Error(err))
		} else {
			d.log.Debug("notification delivery failed", zap.String("sink", q.name), zap.Int("attempt", attempt), zap.Error(err))
		}
		if attempt >= d.opts.Retry.MaxAttempts {
			d.dropped.WithLabelValues(kind).Inc()
			d.log.Warn("notification dropped after retries", zap.String("sink", q.name),
				zap.Int("attempts", attempt), zap.String("event", m.Desc), zap.Error(err))
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.sendCtx.Done():
			t.Stop()
		}
		wait = min(wait*2, d.opts.Retry.Max)
	}
}
