package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/notify"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
	"github.com/failoverd/failoverd/store"
)

// Options are what cmd/failoverd hands to Main.
type Options struct {
	// ConfigPath is reloaded on SIGHUP.
	ConfigPath string
	// Prepared is the configuration at ConfigPath, checked by Prepare.
	Prepared *Prepared
	Version  string
	// Stderr receives the log.
	Stderr io.Writer
	// Reloads delivers SIGHUP. The caller installs the handler before it
	// loads the configuration, so a signal sent during start-up is queued
	// here and applied once the daemon runs, instead of killing it.
	Reloads <-chan os.Signal

	// wrapStore, when set, wraps the opened store (tests make it fail).
	wrapStore func(stateStore) stateStore
}

// Daemon is one running failoverd: the composition root that builds every
// part from a prepared configuration, runs them and stops them in order.
// The jobs are elsewhere: the decision loop (loop.go) owns the engine, the
// publisher (publish.go) applies decisions to DNS, the store and the
// notifiers, the controller (controller.go) serves the API, reloads
// (reload.go) are all or nothing, and metrics.go owns the daemon's series.
type Daemon struct {
	log        *zap.Logger
	reg        *prometheus.Registry
	version    string
	configPath string
	// configMu serialises reloads and changes of managed services, so that
	// each checks the configuration it replaces.
	configMu sync.Mutex

	store     stateStore
	sched     *probe.Scheduler
	dns       *dnsserver.Server
	api       *api.Server
	metrics   *metrics
	notifiers *notifiers
	loop      *decisionLoop
	// keys keeps the generated DNSSEC keys of signed zones.
	keys keyStore
	// reload are the steps of every reload (tests wrap them to fail).
	reload []reloadStep
	// startServed are the served sets of the first snapshot, which Run
	// records.
	startServed map[string]store.ServedSnapshot
}

// Main runs failoverd until ctx is done (SIGTERM) and reloads whenever
// opts.Reloads delivers.
func Main(ctx context.Context, opts Options) error {
	cfg := opts.Prepared.cfg
	log, err := newLogger(cfg.Server.LogLevel, cfg.Server.LogFormat, opts.Stderr)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit

	d, err := New(opts, log)
	if err != nil {
		return err
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-opts.Reloads:
				d.ReloadFromDisk(ctx)
			}
		}
	}()
	return d.Run(ctx)
}

// New builds every part of the daemon from opts.Prepared and publishes the
// first DNS snapshot. It binds nothing.
func New(opts Options, log *zap.Logger) (*Daemon, error) {
	p := opts.Prepared
	cfg := p.cfg
	d := &Daemon{
		log:        log,
		reg:        prometheus.NewRegistry(),
		version:    opts.Version,
		configPath: opts.ConfigPath,
	}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.metrics = newMetrics(d.reg, opts.Version)

	st, err := store.Open(cfg.Server.StateDir, store.Options{Retention: cfg.Server.HistoryRetention, Registerer: d.reg})
	if err != nil {
		return nil, err
	}
	d.store = st
	if opts.wrapStore != nil {
		d.store = opts.wrapStore(st)
	}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()

	var state *pool.State
	if b, err := st.EngineState(); err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	} else if len(b) > 0 {
		state = new(pool.State)
		if err := json.Unmarshal(b, state); err != nil {
			log.Warn("state directory holds an unreadable engine state; starting fresh", zap.Error(err))
			state = nil
		}
	}
	marks, err := st.Serials()
	if err != nil {
		return nil, fmt.Errorf("reading zone serials: %w", err)
	}

	// Probes, the API and the store need descriptors that a TCP flood
	// must not take: the DNS server's TCP cap is half of what this allows.
	if nofile, err := dnsserver.RaiseOpenFileLimit(); err != nil {
		log.Warn("cannot raise the open-file limit", zap.Error(err))
	} else {
		log.Debug("open-file limit", zap.Uint64("nofile", nofile))
	}
	d.dns, err = dnsserver.NewServer(dnsOptions(cfg, opts.Version), log.Named("dns"), d.reg)
	if err != nil {
		return nil, err
	}

	d.notifiers = &notifiers{
		log:  log.Named("notify"),
		opts: p.notify,
		cur:  notify.NewDispatcher(p.notify, log.Named("notify"), d.reg),
	}
	d.loop = &decisionLoop{
		log:     log,
		metrics: d.metrics,
		store:   d.store,
		ops:     make(chan func()),
		done:    make(chan struct{}),
		plan:    p.plan,
		engine:  pool.New(p.plan.spec, state),
	}
	obs := newLocalObservations(d.loop.done)
	d.loop.in = obs
	d.loop.pub = &publisher{
		log:      log,
		metrics:  d.metrics,
		dns:      d.dns,
		store:    d.store,
		serials:  &serials{store: d.store, hw: marks},
		answered: map[string]*atomic.Uint64{},
	}

	if cfg.Etcd != nil {
		d.loop.ms, err = openSites(context.Background(), cfg, opts.Version, configDigest(p.plan), d.loop, log, d.reg)
		if err != nil {
			return nil, err
		}
		defer func() {
			if !ok {
				d.loop.ms.s.Close()
			}
		}()
	}

	aopts := apiOptions(p)
	aopts.Metrics = promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg})
	aopts.Registerer = d.reg
	aopts.StoreHealth = st.Health
	aopts.Compat.Version = opts.Version
	d.api, err = api.NewServer(aopts, &controller{log: log, loop: d.loop, store: d.store, daemon: d}, log.Named("api"))
	if err != nil {
		return nil, err
	}

	d.sched = probe.NewScheduler(probe.SchedulerOptions{
		Site:     cfg.Server.Site,
		Source:   cfg.Server.ProbeSource,
		Version:  opts.Version,
		OnResult: obs.onResult,
	}, log.Named("probe"), d.reg)
	d.sched.SetTargets(p.plan.targets)

	d.keys = newStateDirKeys(cfg.Server.StateDir)
	if d.loop.ms != nil {
		d.keys = sharedKeys{local: newStateDirKeys(cfg.Server.StateDir), sites: d.loop.ms.s, log: log}
	}
	if err := loadKeys(cfg, p.plan, d.keys, log); err != nil {
		return nil, err
	}
	now := time.Now()
	zones := d.loop.pub.nextZones(p.plan, now)
	if err := d.loop.pub.reserveFor(zones, now); err != nil {
		return nil, err
	}
	d.loop.pub.swap(p.plan, zones, d.notifiers.cur)
	// What is served from the start is recorded (by Run), so the rrset
	// report at any time after start shows names whose served set never
	// changes.
	d.startServed = d.loop.pub.publish(now, nil, d.loop.engine)
	d.reload = d.reloadSteps()
	ok = true
	debug.FreeOSMemory() // see ReloadFromDisk: parsing garbage goes back to the OS
	return d, nil
}

func transferAllow(cfg *config.Config) []netip.Prefix {
	if cfg.DNS.Transfer == nil {
		return nil
	}
	return cfg.DNS.Transfer.Allow
}

func transferNotify(cfg *config.Config) []string {
	if cfg.DNS.Transfer == nil {
		return nil
	}
	return cfg.DNS.Transfer.Notify
}

// Run runs every part until ctx is done or one fails, then shuts down in
// order: probing and the API stop, the decision loop ends, DNS drains
// in-flight queries, queued notifications are delivered within their
// deadline, and the store is closed.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	// start runs part in its own context, so that parts stop one by one;
	// a part that fails stops the daemon.
	start := func(part func(context.Context) error) (stop func()) {
		pctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := part(pctx); err != nil && !errors.Is(err, context.Canceled) {
				fail(err)
			}
		}()
		return func() {
			cancel()
			<-done
		}
	}
	// Counted before the loop runs: the plan is the loop's from then on.
	services, targets := len(d.loop.plan.spec.Services), len(d.loop.plan.targets)
	stopNotify := d.notifiers.start()
	stopDNS := start(d.dns.Run)
	// DNS answers the first snapshot while its served sets are recorded
	// (100,000 of them take a second or more); the API, which reports them,
	// and the decision loop, which records later ones, start after.
	if len(d.startServed) > 0 {
		if err := d.store.Commit(store.Batch{Served: d.startServed}); err != nil {
			d.log.Error("persisting the served sets", zap.Error(err))
		}
		d.startServed = nil
	}
	// And the commit's garbage too (see ReloadFromDisk), while DNS answers.
	debug.FreeOSMemory()
	stopSites := func() {}
	if d.loop.ms != nil {
		stopSites = start(d.loop.ms.s.Run)
	}
	stopLoop := start(d.loop.Run)
	stopAPI := start(d.api.Run)
	stopProbes := start(d.sched.Run)
	stopReady := start(func(ctx context.Context) error { return d.announceReady(ctx, services, targets) })

	<-ctx.Done()
	stopReady()
	stopProbes()
	stopAPI()
	stopLoop()
	stopSites()
	if d.loop.ms != nil {
		d.loop.ms.s.Close()
	}
	stopDNS()
	stopNotify()
	closeErr := d.store.Close()

	err := context.Cause(ctx)
	if errors.Is(err, context.Canceled) {
		err = closeErr
	}
	d.log.Info("failoverd stopped", zap.Error(err))
	return err
}

// announceReady tells the log and systemd once DNS and the API listen, and
// systemd again when the daemon stops.
func (d *Daemon) announceReady(ctx context.Context, services, targets int) error {
	for _, ready := range []<-chan struct{}{d.dns.Ready(), d.api.Ready()} {
		select {
		case <-ready:
		case <-ctx.Done():
			return nil
		}
	}
	d.log.Info("failoverd ready",
		zap.String("version", d.version),
		zap.Strings("dns", addrStrings(d.dns.Addrs())),
		zap.String("api", d.api.Addr().String()),
		zap.Int("services", services),
		zap.Int("targets", targets))
	if _, err := sdnotify.SdNotify(false, sdnotify.SdNotifyReady); err != nil {
		d.log.Warn("systemd notify", zap.Error(err))
	}
	<-ctx.Done()
	sdnotify.SdNotify(false, sdnotify.SdNotifyStopping) //nolint:errcheck // best effort at shutdown
	return nil
}

// addrStrings names each listening address with its network ("udp
// 127.0.0.1:53", "tcp 127.0.0.1:53"): every DNS address is bound twice.
func addrStrings(as []net.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Network() + " " + a.String()
	}
	return out
}
