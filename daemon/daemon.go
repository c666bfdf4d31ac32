package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

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
	// Config is the already validated configuration at ConfigPath.
	Config  *config.Config
	Version string
	// Stderr receives the log.
	Stderr io.Writer
}

// Daemon is one running failoverd.
type Daemon struct {
	log        *zap.Logger
	reg        *prometheus.Registry
	version    string
	configPath string
	// configMu serialises reloads and changes of managed services, so that
	// each checks the configuration it replaces.
	configMu sync.Mutex

	store    *store.Store
	sched    *probe.Scheduler
	dns      *dnsserver.Server
	notifier *notify.Dispatcher
	// notifyOpts built notifier; notifyStop ends it (a reload replaces it);
	// notifyWG tracks every notifier still draining.
	notifyOpts notify.Options
	notifyStop context.CancelFunc
	notifyWG   sync.WaitGroup
	// runCtx is Run's context, for parts a reload starts.
	runCtx  context.Context
	api     *api.Server
	metrics *metrics

	// results carries completed probe rounds to the decision loop.
	results chan probe.Result
	// ops carries work (operator commands, reloads, views) that must run on
	// the decision loop, the one owner of the engine.
	ops chan func()
	// loopDone is closed when the decision loop has returned.
	loopDone chan struct{}

	// Owned by the decision loop.
	plan      *plan
	engine    *pool.Engine
	zones     map[string]*zoneState
	zoneOrder []string // origins, sorted
	// answered counts, per cluster address name and IP, the answers the
	// DNS server gave with that address (read atomically by the API).
	answered map[string]*atomic.Uint64
}

// Main runs failoverd until ctx is done (SIGTERM) and reloads on SIGHUP.
func Main(ctx context.Context, opts Options) error {
	cfg := opts.Config
	log, err := newLogger(cfg.Server.LogLevel, cfg.Server.LogFormat, opts.Stderr)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit

	d, err := New(opts, log)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.ReloadFromDisk()
			}
		}
	}()
	return d.Run(ctx)
}

// New builds every part of the daemon from opts.Config. It binds nothing.
func New(opts Options, log *zap.Logger) (*Daemon, error) {
	cfg := opts.Config
	d := &Daemon{
		log:        log,
		reg:        prometheus.NewRegistry(),
		version:    opts.Version,
		configPath: opts.ConfigPath,
		results:    make(chan probe.Result, 4096),
		ops:        make(chan func()),
		loopDone:   make(chan struct{}),
		zones:      map[string]*zoneState{},
		answered:   map[string]*atomic.Uint64{},
	}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.metrics = newMetrics(d.reg, opts.Version)

	p, err := buildPlan(cfg)
	if err != nil {
		return nil, err
	}
	if p.pingUsed {
		if err := probe.CheckPing(); err != nil {
			return nil, err
		}
	}

	st, err := store.Open(cfg.Server.StateDir, store.Options{Retention: cfg.Server.HistoryRetention, Registerer: d.reg})
	if err != nil {
		return nil, err
	}
	d.store = st
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
	d.plan = p
	d.engine = pool.New(p.spec, state, time.Now())

	d.dns, err = dnsserver.NewServer(dnsserver.Options{
		Listen:        cfg.DNS.Listen,
		ECS:           cfg.DNS.ECS,
		RegionMap:     cfg.DNS.RegionMap,
		GeoIPDatabase: cfg.DNS.GeoIPDatabase,
		TransferAllow: transferAllow(cfg),
		Notify:        transferNotify(cfg),
		Hostname:      cfg.Server.Hostname,
		Version:       "failoverd " + opts.Version,
	}, log.Named("dns"), d.reg)
	if err != nil {
		return nil, err
	}

	nopts, err := notifyOptions(cfg)
	if err != nil {
		return nil, err
	}
	d.notifyOpts = nopts
	d.notifier = notify.NewDispatcher(nopts, log.Named("notify"), d.reg)

	token, err := readSecret(cfg.API.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("api token_file: %w", err)
	}
	d.api, err = api.NewServer(api.Options{
		Listen:     cfg.API.Listen,
		Token:      token,
		Metrics:    promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}),
		Registerer: d.reg,
	}, d, log.Named("api"))
	if err != nil {
		return nil, err
	}

	d.sched = probe.NewScheduler(probe.SchedulerOptions{
		Site:     cfg.Server.Site,
		Version:  opts.Version,
		OnResult: d.onResult,
	}, log.Named("probe"), d.reg)
	d.sched.SetTargets(p.targets)

	if err := d.initZones(time.Now()); err != nil {
		return nil, err
	}
	d.publish(time.Now(), nil)
	ok = true
	debug.FreeOSMemory() // see ReloadFromDisk: parsing garbage goes back to the OS
	return d, nil
}

// notifyOptions are the dispatcher's options from cfg; the SMTP password
// file is read here, so a reload that cannot read it is refused.
func notifyOptions(cfg *config.Config) (notify.Options, error) {
	nopts := notify.Options{Hostname: cfg.Server.Hostname}
	if s := cfg.SMTP; s != nil {
		pw, err := readSecret(s.PasswordFile)
		if err != nil {
			return nopts, fmt.Errorf("smtp password_file: %w", err)
		}
		nopts.SMTP = &notify.SMTPOptions{Server: s.Server, From: s.From, Username: s.Username, Password: pw, StartTLS: s.StartTLS}
	}
	return nopts, nil
}

// startNotifier runs n until parent ends or it is replaced by a reload; Run
// waits for every notifier to drain before the store closes.
func (d *Daemon) startNotifier(parent context.Context, n *notify.Dispatcher) {
	ctx, cancel := context.WithCancel(parent)
	d.notifyStop = cancel
	d.notifyWG.Add(1)
	go func() {
		defer d.notifyWG.Done()
		if err := n.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("notifier", zap.Error(err))
		}
	}()
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

// onResult hands a completed probe round to the decision loop. It is called
// from scheduler goroutines; once the loop is gone the round is dropped.
func (d *Daemon) onResult(r probe.Result) {
	select {
	case d.results <- r:
	case <-d.loopDone:
	}
}

// Run runs every part until ctx is done, then shuts down in order: probing
// and the API stop, DNS drains in-flight queries, queued notifications are
// delivered within their deadline, and the store is flushed and closed.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.store.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.dns.Run(gctx) })
	g.Go(func() error { return d.api.Run(gctx) })
	d.runCtx = gctx
	d.startNotifier(gctx, d.notifier)
	g.Go(func() error { return d.sched.Run(gctx) })
	g.Go(func() error { return d.loop(gctx) })
	g.Go(func() error {
		for _, ready := range []<-chan struct{}{d.dns.Ready(), d.api.Ready()} {
			select {
			case <-ready:
			case <-gctx.Done():
				return nil
			}
		}
		d.log.Info("failoverd ready",
			zap.String("version", d.version),
			zap.Strings("dns", addrStrings(d.dns.Addrs())),
			zap.String("api", d.api.Addr().String()),
			zap.Int("services", len(d.plan.spec.Services)),
			zap.Int("targets", len(d.plan.targets)))
		if _, err := sdnotify.SdNotify(false, sdnotify.SdNotifyReady); err != nil {
			d.log.Warn("systemd notify", zap.Error(err))
		}
		<-gctx.Done()
		sdnotify.SdNotify(false, sdnotify.SdNotifyStopping) //nolint:errcheck // best effort at shutdown
		return nil
	})
	err := g.Wait()
	d.notifyWG.Wait() // queued notifications drain within their deadline
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	d.log.Info("failoverd stopped", zap.Error(err))
	return err
}

// ReloadFromDisk re-reads the configuration file(s) and applies them; on any
// error the running configuration stays and the diagnostics are logged.
func (d *Daemon) ReloadFromDisk() {
	d.configMu.Lock()
	defer d.configMu.Unlock()
	cfg, files, diags := config.Load(d.configPath)
	if diags.HasErrors() {
		var b strings.Builder
		_ = config.WriteDiagnostics(&b, files, diags)
		d.metrics.reloads.WithLabelValues("failure").Inc()
		d.log.Error("reload refused: configuration has errors; keeping the running configuration",
			zap.String("config", d.configPath), zap.String("diagnostics", b.String()))
		return
	}
	if err := d.Reload(cfg); err != nil {
		d.metrics.reloads.WithLabelValues("failure").Inc()
		d.log.Error("reload refused; keeping the running configuration", zap.Error(err))
		return
	}
	d.metrics.reloads.WithLabelValues("success").Inc()
	// Parsing a large configuration allocates several times what the
	// running daemon keeps; hand that back to the OS now rather than
	// leaving RSS at the reload's high-water mark.
	debug.FreeOSMemory()
}

// Reload applies a validated configuration: the new plan is built completely
// (zone files read) before the running one is touched; unchanged targets keep
// their status and history, and DNS keeps answering throughout.
func (d *Daemon) Reload(cfg *config.Config) error {
	p, err := buildPlan(cfg)
	if err != nil {
		return err
	}
	if p.pingUsed {
		if err := probe.CheckPing(); err != nil {
			return err
		}
	}
	nopts, err := notifyOptions(cfg)
	if err != nil {
		return err
	}
	return d.call(func() error {
		old := d.plan.cfg
		if !reflect.DeepEqual(old.DNS, cfg.DNS) || old.API != cfg.API ||
			old.Server.StateDir != cfg.Server.StateDir || old.Server.Hostname != cfg.Server.Hostname {
			d.log.Warn("reload: changes to the dns and api blocks, server.state_dir and the DNS server's own hostname (CH TXT id.server) take effect at the next restart")
		}
		if !reflect.DeepEqual(nopts, d.notifyOpts) {
			// New notification settings: a new dispatcher takes over, the
			// old one delivers what it has queued and stops.
			n := notify.NewDispatcher(nopts, d.log.Named("notify"), d.reg)
			d.notifyStop()
			d.startNotifier(d.runCtx, n)
			d.notifier, d.notifyOpts = n, nopts
		}
		now := time.Now()
		d.metrics.forget(d.plan, p)
		d.plan = p
		trs := d.engine.Reconfigure(p.spec, now)
		d.sched.SetTargets(p.targets)
		if err := d.initZones(now); err != nil {
			return err
		}
		d.apply(trs, now, true)
		d.log.Info("configuration reloaded", zap.Int("services", len(p.spec.Services)), zap.Int("targets", len(p.targets)))
		return nil
	})
}

// call runs fn on the decision loop and waits for it.
func (d *Daemon) call(fn func() error) error {
	done := make(chan error, 1)
	select {
	case d.ops <- func() { done <- fn() }:
	case <-d.loopDone:
		return errors.New("failoverd is shutting down")
	}
	return <-done
}

func addrStrings[T fmt.Stringer](as []T) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
