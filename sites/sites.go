package sites

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Sites is this node's membership in a multi-site deployment. Create it
// with Open, drive it with Run, and Close it after Run returns.
type Sites struct {
	o        Options
	log      *zap.Logger
	m        metrics
	k        keys
	tls      *tls.Config
	instance string

	// base outlives Open's context: leases are kept alive under it until
	// Close.
	base       context.Context
	cancelBase context.CancelFunc
	bg         sync.WaitGroup // goroutines started outside Run (keep-alive readers)

	// calls serialises every callback on one goroutine, in the order the
	// changes happened, so the daemon never sees them reordered. It is
	// unbounded so that a callback may call back into Sites (Commit from
	// OnCommand) without waiting for itself.
	calls callQueue
	// relist asks the watch to list the prefix afresh (after a lost lease).
	relist chan struct{}

	pub publisher

	mu          sync.Mutex
	client      *clientv3.Client
	sess        *session
	sessChanged chan struct{} // closed and replaced whenever sess changes
	lastAck     time.Time
	conn        Connection
	v           *view
	loaded      bool  // v holds a complete list of the prefix
	applied     int64 // revision whose callbacks have all run
	lead        *leadership
	waiters     map[uint64][]chan Job
	held        *Committed       // committed changes held until a batch ends (holdForBatch)
	unreadable  map[string]int64 // key → mod revision already logged
	digest      string           // this node's configuration digest (SetConfigDigest)
	registered  siteValue        // this site's registration as last written
	digestWarn  string           // leader digest already logged as differing
	closeOnce   sync.Once
}

// session is one lease of this site: its registration, observations and
// election key live under it and vanish with it.
type session struct {
	sess   *concurrency.Session
	lease  clientv3.LeaseID
	done   <-chan struct{}
	cancel context.CancelFunc
}

// leadership is one term of this node as leader.
type leadership struct {
	key        string // the election key whose creation revision guards commits
	rev        int64
	lost       chan struct{}
	once       sync.Once
	mu         sync.Mutex // serialises commits of this term (event ids)
	seq        uint32
	dispatched map[uint64]bool // commands handed to OnCommand in this term
}

// Open connects to etcd, registers this node's site under a lease and
// reads the committed state (Snapshot). A wrong configuration (options,
// TLS files or certificates, credentials, permissions on the prefix) and a
// site held by another running node are errors. An unreachable etcd is
// not: it is logged, the node starts disconnected, and Run keeps trying.
func Open(ctx context.Context, o Options, log *zap.Logger, reg prometheus.Registerer) (*Sites, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Sites{
		o: o, log: log, m: m, k: keys{prefix: o.Prefix}, tls: tlsCfg, instance: nonce(),
		base: base, cancelBase: cancel,
		relist:      make(chan struct{}, 1),
		sessChanged: make(chan struct{}),
		v:           newView(),
		waiters:     map[uint64][]chan Job{},
		unreadable:  map[string]int64{},
		conn:        Connection{Since: time.Now()},
		digest:      o.ConfigDigest,
	}
	s.pub.init()
	s.calls.wake = make(chan struct{}, 1)
	if err := s.connect(ctx, true); err != nil {
		if tlsErr := s.diagnoseTLS(ctx); tlsErr != nil {
			err = tlsErr // gRPC only says "deadline exceeded"
		}
		if fatal(err) {
			s.Close()
			return nil, err
		}
		s.log.Error("etcd unreachable at start: serving the local state and retrying",
			zap.Strings("endpoints", o.Endpoints), zap.Error(err))
	}
	s.checkConnection(time.Now())
	return s, nil
}

// connect makes the client and registers the site, and with list reads
// the prefix (at Open; afterwards the watch owns the view), as far as etcd
// lets it; each step is bounded by dial_timeout.
func (s *Sites) connect(ctx context.Context, list bool) error {
	cli, err := s.ensureClient(ctx)
	if err != nil {
		return err
	}
	if s.currentSession() == nil {
		if err := s.register(ctx, cli); err != nil {
			return err
		}
	}
	if list {
		return s.resync(ctx, cli, false)
	}
	return nil
}

// diagnoseTLS finds out whether a failed start was a TLS mistake (a
// server certificate from another CA, a name mismatch): it dials each
// https endpoint and shakes hands itself. It returns nil when every
// endpoint it could reach accepted the handshake.
func (s *Sites) diagnoseTLS(ctx context.Context) error {
	if s.tls == nil {
		return nil
	}
	for _, ep := range s.o.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "https" {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, s.o.DialTimeout)
		d := tls.Dialer{Config: s.tls.Clone()}
		d.Config.ServerName = u.Hostname()
		conn, err := d.DialContext(dctx, "tcp", u.Host)
		cancel()
		if err == nil {
			conn.Close()
			continue
		}
		var (
			unknownCA x509.UnknownAuthorityError
			hostname  x509.HostnameError
			invalid   x509.CertificateInvalidError
			verify    *tls.CertificateVerificationError
			alert     tls.AlertError
		)
		if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
			errors.As(err, &verify) || errors.As(err, &alert) {
			return fmt.Errorf("etcd %s: TLS handshake: %w", ep, err)
		}
	}
	return nil
}

// fatal tells configuration mistakes, which retrying cannot fix, from an
// etcd that is down or unreachable for now.
func fatal(err error) bool {
	for _, e := range []error{ErrSiteTaken, rpctypes.ErrAuthFailed, rpctypes.ErrPermissionDenied,
		rpctypes.ErrUserEmpty, rpctypes.ErrAuthOldRevision, rpctypes.ErrInvalidAuthToken, rpctypes.ErrInvalidAuthMgmt} {
		if errors.Is(err, e) {
			return true
		}
	}
	msg := err.Error()
	for _, s := range []string{"x509:", "tls:", "authentication handshake failed", "permission denied", "authentication failed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// ensureClient returns the etcd client, creating it when there is none.
// With credentials the client authenticates while it is created, so this
// is also where wrong credentials show.
func (s *Sites) ensureClient(ctx context.Context) (*clientv3.Client, error) {
	s.mu.Lock()
	cli := s.client
	s.mu.Unlock()
	if cli != nil {
		return cli, nil
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   s.o.Endpoints,
		DialTimeout: s.o.DialTimeout,
		TLS:         s.tls,
		Username:    s.o.Username,
		Password:    s.o.Password,
		Context:     s.base,
		// The client logs every retry at warn; this package reports what
		// matters itself.
		Logger: s.log.Named("etcd").WithOptions(zap.IncreaseLevel(zap.ErrorLevel)),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(s.o.Endpoints, ","), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil { // lost a race with another caller
		cli.Close()
		return s.client, nil
	}
	s.client = cli
	return cli, nil
}

func (s *Sites) currentClient() *clientv3.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

func (s *Sites) currentSession() *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess
}

// sessionWatch returns the current session and a channel closed when it
// changes.
func (s *Sites) sessionWatch() (*session, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess, s.sessChanged
}

func (s *Sites) setSession(ss *session) {
	s.mu.Lock()
	s.sess = ss
	if ss != nil {
		s.lastAck = time.Now()
	}
	close(s.sessChanged)
	s.sessChanged = make(chan struct{})
	s.mu.Unlock()
}

// register grants a lease and claims this node's site key under it.
// A site held by a node with another hostname is refused at once; one held
// by this hostname may be this node's previous process, killed before it
// could revoke its lease, so the lease gets one lease_ttl to expire.
func (s *Sites) register(ctx context.Context, cli *clientv3.Client) error {
	ttl := int64(s.o.LeaseTTL / time.Second)
	var lease *clientv3.LeaseGrantResponse
	revoke := func() {
		rctx, cancel := context.WithTimeout(s.base, s.o.DialTimeout)
		defer cancel()
		_, _ = cli.Revoke(rctx, lease.ID)
	}
	key := s.k.site(s.o.Site)
	s.mu.Lock()
	reg := siteValue{V: valueVersion, Site: s.o.Site, Hostname: s.o.Hostname, Version: s.o.Version,
		ConfigDigest: s.digest, Instance: s.instance, Started: time.Now().UTC()}
	s.registered = reg
	s.mu.Unlock()
	val := encode(reg)
	waited := false
	for {
		gctx, cancel := context.WithTimeout(ctx, s.o.DialTimeout)
		var err error
		lease, err = cli.Grant(gctx, ttl)
		cancel()
		if err != nil {
			return fmt.Errorf("etcd: grant lease: %w", err)
		}
		tctx, cancel := context.WithTimeout(ctx, s.o.DialTimeout)
		resp, err := cli.Txn(tctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, val, clientv3.WithLease(lease.ID))).
			Else(clientv3.OpGet(key)).Commit()
		cancel()
		if err != nil {
			revoke()
			return fmt.Errorf("etcd: register site %q: %w", s.o.Site, err)
		}
		if resp.Succeeded {
			break
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			revoke()
			continue // expired between the compare and the get
		}
		var holder siteValue
		herr := decode(kvs[0].Value, &holder)
		if herr == nil && holder.Instance == s.instance {
			// Our own key from a lease this process lost: move it over.
			tctx, cancel := context.WithTimeout(ctx, s.o.DialTimeout)
			r, err := cli.Txn(tctx).
				If(clientv3.Compare(clientv3.ModRevision(key), "=", kvs[0].ModRevision)).
				Then(clientv3.OpPut(key, val, clientv3.WithLease(lease.ID))).Commit()
			cancel()
			if err != nil {
				revoke()
				return fmt.Errorf("etcd: register site %q: %w", s.o.Site, err)
			}
			if r.Succeeded {
				break
			}
			revoke()
			continue
		}
		if herr != nil || holder.Hostname != s.o.Hostname || waited {
			revoke()
			return fmt.Errorf("%w: server.site %q is held by %s (started %s, lease %x); every node needs its own site",
				ErrSiteTaken, s.o.Site, holderName(holder, herr), holder.Started.Format(time.RFC3339), kvs[0].Lease)
		}
		waited = true
		revoke() // the wait can outlast our own lease
		s.log.Warn("site held by a process on this host, waiting for its lease to expire",
			zap.String("site", s.o.Site), zap.String("hostname", holder.Hostname), zap.Duration("lease_ttl", s.o.LeaseTTL))
		if err := s.waitDeleted(ctx, cli, key, kvs[0].ModRevision); err != nil {
			return err
		}
	}
	sctx, scancel := context.WithCancel(s.base)
	sess, err := concurrency.NewSession(cli, concurrency.WithLease(lease.ID), concurrency.WithContext(sctx))
	if err != nil {
		scancel()
		revoke()
		return fmt.Errorf("etcd: session: %w", err)
	}
	acks, err := cli.KeepAlive(sctx, lease.ID)
	if err != nil {
		scancel()
		revoke()
		return fmt.Errorf("etcd: keep lease alive: %w", err)
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for range acks { // ends when the lease is lost or sctx is cancelled
			s.mu.Lock()
			s.lastAck = time.Now()
			s.mu.Unlock()
		}
	}()
	s.setSession(&session{sess: sess, lease: lease.ID, done: sess.Done(), cancel: scancel})
	s.log.Info("site registered", zap.String("site", s.o.Site), zap.String("lease", fmt.Sprintf("%x", lease.ID)))
	return nil
}

func holderName(h siteValue, err error) string {
	if err != nil {
		return fmt.Sprintf("a node whose registration this version cannot read (%v)", err)
	}
	if h.Hostname == "" {
		return "a node without a hostname"
	}
	return h.Hostname
}

// waitDeleted waits until key (last modified at rev) is deleted, for at
// most lease_ttl plus dial_timeout.
func (s *Sites) waitDeleted(ctx context.Context, cli *clientv3.Client, key string, rev int64) error {
	wctx, cancel := context.WithTimeout(ctx, s.o.LeaseTTL+s.o.DialTimeout)
	defer cancel()
	for resp := range cli.Watch(wctx, key, clientv3.WithRev(rev+1)) {
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return nil
			}
		}
		if err := resp.Err(); err != nil {
			return fmt.Errorf("etcd: watch site key: %w", err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil // timed out: the caller's retry refuses if it is still held
}

// Run keeps the site registered, publishes observations, watches the
// prefix, campaigns for leadership and keeps the connection state, until
// ctx ends (nil) or another node takes this site (ErrSiteTaken).
func (s *Sites) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.callLoop(ctx) })
	g.Go(func() error { return s.sessionLoop(ctx) })
	g.Go(func() error { return s.watchLoop(ctx) })
	g.Go(func() error { return s.publishLoop(ctx) })
	g.Go(func() error { return s.leaderLoop(ctx) })
	g.Go(func() error { return s.monitorLoop(ctx) })
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			select {
			case <-done:
			case <-time.After(s.o.DialTimeout):
				// A cancelled etcd election campaign resigns with the
				// client's own context, which waits for ever while etcd is
				// unreachable: only closing the client ends it.
				if cli := s.currentClient(); cli != nil {
					s.log.Warn("etcd unreachable at shutdown: closing the client")
					cli.Close()
				}
			}
		}
	}()
	err := g.Wait()
	close(done)
	return err
}

// Close leaves the deployment: it revokes the lease (so another node
// takes over leadership at once instead of after lease_ttl) and closes the
// client. Call it after Run has returned.
func (s *Sites) Close() error {
	s.closeOnce.Do(func() {
		if ss := s.currentSession(); ss != nil {
			ctx, cancel := context.WithTimeout(context.Background(), s.o.DialTimeout)
			_, _ = s.currentClient().Revoke(ctx, ss.lease)
			cancel()
			ss.cancel()
		}
		s.cancelBase()
		if cli := s.currentClient(); cli != nil {
			cli.Close()
		}
		s.bg.Wait()
		s.m.unregister()
	})
	return nil
}

// callQueue is a FIFO of callbacks.
type callQueue struct {
	mu   sync.Mutex
	q    []func()
	wake chan struct{}
}

// call queues a callback for the callback goroutine; it never blocks.
func (s *Sites) call(f func()) {
	c := &s.calls
	c.mu.Lock()
	c.q = append(c.q, f)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (s *Sites) callLoop(ctx context.Context) error {
	c := &s.calls
	for {
		c.mu.Lock()
		q := c.q
		c.q = nil
		c.mu.Unlock()
		for _, f := range q {
			f()
		}
		select {
		case <-c.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// sessionLoop keeps a client and a registered session, re-registering
// after a lost lease.
func (s *Sites) sessionLoop(ctx context.Context) error {
	bo := newBackoff(200*time.Millisecond, s.o.LeaseTTL)
	for ctx.Err() == nil {
		if err := s.connect(ctx, false); err != nil {
			if errors.Is(err, ErrSiteTaken) {
				s.log.Error("leaving the deployment", zap.Error(err))
				return err
			}
			if ctx.Err() == nil {
				s.log.Warn("etcd not reachable, retrying", zap.Error(err), zap.Duration("retry_in", bo.next()))
				bo.wait(ctx)
			}
			continue
		}
		bo.reset()
		ss := s.currentSession()
		select {
		case <-ctx.Done():
			return nil
		case <-ss.done:
			s.m.leaseLosses.Inc()
			s.log.Warn("site lease lost (etcd unreachable or lease expired): re-registering", zap.String("site", s.o.Site))
			ss.cancel()
			s.setSession(nil)
			select {
			case s.relist <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// monitorLoop keeps the connection state and, on the leader, prunes old
// events and jobs.
func (s *Sites) monitorLoop(ctx context.Context) error {
	t := time.NewTicker(min(250*time.Millisecond, s.o.LeaseTTL/8))
	defer t.Stop()
	prune := time.NewTicker(min(time.Minute, s.o.Retention/2))
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-prune.C:
			if err := s.prune(ctx, time.Now()); err != nil && !errors.Is(err, ErrNotLeader) {
				s.log.Warn("pruning delivered events and finished jobs", zap.Error(err))
			}
		case now := <-t.C:
			s.checkConnection(now)
		}
	}
}

// checkConnection derives Connected from the lease keep-alives: the client
// sends one every third of the lease TTL, so missing one and a dial
// timeout means etcd is not answering.
func (s *Sites) checkConnection(now time.Time) {
	s.mu.Lock()
	connected := s.sess != nil && now.Sub(s.lastAck) < s.o.LeaseTTL/3+s.o.DialTimeout
	c := s.conn
	if connected != c.Connected {
		c.Connected, c.Since = connected, now
	}
	c.Partitioned = !c.Connected && now.Sub(c.Since) >= s.o.LeaseTTL
	changed := c != s.conn
	s.conn = c
	s.mu.Unlock()
	if !changed {
		return
	}
	if c.Connected {
		s.m.connected.Set(1)
		s.log.Info("etcd connected")
	} else {
		s.m.connected.Set(0)
		s.log.Warn("etcd disconnected", zap.Bool("partitioned", c.Partitioned))
	}
	if f := s.o.OnConnection; f != nil {
		s.call(func() { f(c) })
	}
}

// SetConfigDigest publishes a new digest of this node's services and
// zones (after a reload): followers compare theirs with the leader's and
// log an error when they differ. Without a registration it is written at
// the next one.
func (s *Sites) SetConfigDigest(ctx context.Context, digest string) error {
	s.mu.Lock()
	s.digest = digest
	s.registered.ConfigDigest = digest
	reg, ss, cli := s.registered, s.sess, s.client
	s.checkDigestLocked(s.sitesViewLocked())
	s.mu.Unlock()
	if ss == nil || cli == nil {
		return nil
	}
	key := s.k.site(s.o.Site)
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	_, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.LeaseValue(key), "=", ss.lease)).
		Then(clientv3.OpPut(key, encode(reg), clientv3.WithLease(ss.lease))).Commit()
	if err != nil {
		return fmt.Errorf("etcd: publish the configuration digest: %w", err)
	}
	return nil
}

// Connection returns the node's link to etcd.
func (s *Sites) Connection() Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// IsLeader says whether this node is the leader now.
func (s *Sites) IsLeader() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lead != nil
}

// Sites returns the deployment as this node last saw it.
func (s *Sites) Sites() SitesView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sitesViewLocked()
}

func (s *Sites) sitesViewLocked() SitesView {
	leader, _ := s.v.leader()
	sv := SitesView{Leader: leader, Connected: s.conn.Connected, Revision: s.v.rev}
	for _, name := range slices.Sorted(maps.Keys(s.v.sites)) {
		si := s.v.sites[name]
		si.Leader = name == leader
		// A site listed is one whose lease etcd held when this node last
		// heard from etcd (its keep-alive answered, the watch current).
		si.LastSeen = s.v.lastSeen[name]
		if s.sess != nil && s.lastAck.After(si.LastSeen) {
			si.LastSeen = s.lastAck
		}
		sv.Sites = append(sv.Sites, si)
	}
	return sv
}

// Reports returns the live sites' reports on target, sorted by site.
func (s *Sites) Reports(target string) []Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v.targetReports(target)
}

// Snapshot returns the whole committed state as this node holds it: what
// it serves. Before the first successful list it is empty, Revision 0.
func (s *Sites) Snapshot() Committed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v.full()
}

// nonce returns 16 random hex digits.
func nonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// backoff doubles a retry delay up to a ceiling.
type backoff struct {
	first, ceil, cur time.Duration
}

func newBackoff(first, ceil time.Duration) *backoff {
	return &backoff{first: first, ceil: ceil, cur: first}
}

func (b *backoff) next() time.Duration { return b.cur }
func (b *backoff) reset()              { b.cur = b.first }

// wait sleeps the current delay (or until ctx ends) and doubles it.
func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	b.cur = min(b.cur*2, b.ceil)
}
