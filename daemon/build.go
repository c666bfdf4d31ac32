package daemon

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/notify"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
)

// plan is everything the daemon derives from one configuration: the engine's
// spec, the distinct probe targets, the loaded zones and where each service's
// notifications go. A reload builds a new plan completely (see Prepare)
// before anything running is touched.
type plan struct {
	cfg     *config.Config
	spec    pool.Spec
	targets []probe.Target
	// targetKeys holds the probe key of every target.
	targetKeys map[string]bool
	zones      []*dnsserver.ZoneData
	// routes says where each service's notifications go, by service fqdn.
	routes map[string]notify.Route
	// pingUsed is true when some monitor probes with ICMP.
	pingUsed bool
	// clusterNames are the address names of cluster services, whose
	// answers are counted per real service.
	clusterNames map[string]bool
	// keys are the DNSSEC keys of signed zones, by origin: read from
	// key_file by Prepare, the others added by loadKeys before the plan
	// runs.
	keys map[string]*dnsserver.Key
}

// planError is a configuration the plan cannot be built from, at the place
// in the configuration that says so.
type planError struct {
	at      config.Range
	summary string
	err     error
}

func (e *planError) Error() string { return e.summary + ": " + e.err.Error() }

// buildPlan turns a validated configuration into a plan without its zones,
// which Prepare loads.
func buildPlan(cfg *config.Config) (*plan, error) {
	p := &plan{cfg: cfg, routes: map[string]notify.Route{}, clusterNames: map[string]bool{}, keys: map[string]*dnsserver.Key{}}
	b := targetSet{byKey: map[string]probe.Target{}}
	p.spec.Sites = []string{cfg.Server.Site}

	for _, af := range cfg.ActiveFailovers {
		svc := baseService(&af.Service, pool.KindActiveFailover)
		svc.Address = af.Address
		svc.FailoverMode = pool.FailoverMode(af.FailoverMode)
		svc.FailoverData = af.FailoverData
		svc.Target = b.add(af.Monitor, af.Address, 0)
		p.spec.Services = append(p.spec.Services, svc)
		p.routes[svc.FQDN] = route(cfg, &af.Service, false)
	}
	for _, g := range cfg.GSLBs {
		svc := baseService(&g.Service, pool.KindGSLB)
		svc.Regions = regions(g.Regions, g.Monitor, nil, &b)
		p.spec.Services = append(p.spec.Services, svc)
		p.routes[svc.FQDN] = route(cfg, &g.Service, false)
	}
	for _, r := range cfg.RTTMs {
		svc := baseService(&r.Service, pool.KindRTTM)
		svc.Regions = regions(r.Regions, r.Monitor, r.PerformanceMonitor, &b)
		p.spec.Services = append(p.spec.Services, svc)
		p.routes[svc.FQDN] = route(cfg, &r.Service, true)
	}
	for _, sf := range cfg.SFPools {
		svc := pool.Service{
			FQDN:            sf.FQDN,
			Kind:            pool.KindSFPool,
			TTL:             sf.TTL,
			Active:          true,
			AutoRecover:     true,
			RRType:          sf.RRType,
			LiveRData:       sf.RData,
			LiveRecordState: sf.LiveRecordState,
			Sensitivity:     sf.RegionFailureSensitivity,
		}
		if sf.Backup != nil {
			svc.BackupRData = sf.Backup.RData
		}
		t, err := sfTarget(sf.Monitor)
		if err != nil {
			return nil, &planError{at: sf.DefRange, summary: "Invalid sf_pool monitor", err: fmt.Errorf("sf_pool %s: %w", sf.FQDN, err)}
		}
		svc.Target = b.addTarget(t)
		p.spec.Services = append(p.spec.Services, svc)
		// Every status change of the pool (OK, CRITICAL, MANUAL) is mailed;
		// per-site monitor results are not.
		r := notify.Route{NotifyEvents: []string{string(pool.EventSvc)}}
		if c := cfg.Contacts[sf.ContactNickname]; c != nil {
			r.Emails = c.Email
		}
		p.routes[svc.FQDN] = r
	}
	for _, c := range cfg.Clusters {
		pc := pool.Cluster{Name: c.Name}
		for _, cs := range c.Services {
			ps := pool.ClusterService{Name: cs.Name, FQDN: cs.FQDN, Protocol: cs.Protocol, TTL: cs.TTL}
			p.clusterNames[cs.FQDN] = true
			for _, rs := range cs.RealServices {
				ps.Reals = append(ps.Reals, pool.Real{
					Name: rs.Name, IP: rs.IPAddress, Port: rs.Port, Weight: rs.Weight,
					Enabled: rs.Enabled, Fallback: rs.Fallback,
					Target: b.add(cs.Monitor, rs.IPAddress, rs.Port),
				})
			}
			pc.Services = append(pc.Services, ps)
		}
		p.spec.Clusters = append(p.spec.Clusters, pc)
	}

	p.targets = b.list()
	p.targetKeys = make(map[string]bool, len(p.targets))
	for k := range b.byKey {
		p.targetKeys[k] = true
	}
	for _, t := range p.targets {
		if t.Protocol == probe.PING {
			p.pingUsed = true
		}
	}
	return p, nil
}

func baseService(s *config.Service, kind pool.Kind) pool.Service {
	return pool.Service{
		FQDN:          s.FQDN,
		Kind:          kind,
		TTL:           s.TTL,
		Active:        s.Active,
		AutoRecover:   s.AutoRecover,
		RecoveryDelay: s.RecoveryDelay,
		NotifyEvents:  s.NotifyEvents,
	}
}

func regions(rs []*config.Region, mon, perf *config.Monitor, b *targetSet) []pool.Region {
	out := make([]pool.Region, 0, len(rs))
	for _, r := range rs {
		pr := pool.Region{
			Code:         r.Code,
			ServeCount:   r.ServeCount,
			MinHealthy:   r.MinHealthy,
			FailoverMode: pool.FailoverMode(r.FailoverMode),
			FailoverData: r.FailoverData,
			EP:           r.EP,
			APMC:         r.APMC,
			EPMC:         r.EPMC,
			Autopopulate: r.Autopopulate,
		}
		for _, e := range r.Pool {
			entry := pool.Entry{
				Address:   e.Address,
				Label:     e.Label,
				Weight:    e.Weight,
				ServeMode: pool.ServeMode(e.ServeMode),
				Target:    b.add(mon, probeHost(e.Address), 0),
			}
			if perf != nil {
				entry.PerfTarget = b.add(perf, probeHost(e.Address), 0)
			}
			pr.Entries = append(pr.Entries, entry)
		}
		out = append(out, pr)
	}
	return out
}

// probeHost is the address a pool entry is probed at: an IP as it is, a
// host name as it is but for a single-label name ("localhost."), which is
// probed without its trailing dot: Go's resolver looks such a name up in
// /etc/hosts only in that form.
func probeHost(addr string) string {
	if name, ok := strings.CutSuffix(addr, "."); ok && !strings.Contains(name, ".") && name != "" {
		return name
	}
	return addr
}

// route says where a service's notifications go.
func route(cfg *config.Config, s *config.Service, rttm bool) notify.Route {
	r := notify.Route{NotifyEvents: s.NotifyEvents}
	if c := cfg.Contacts[s.ContactNickname]; c != nil {
		r.Emails = c.Email
	}
	if sl := s.Syslog; sl != nil && sl.Server != "" {
		r.Syslog = &notify.SyslogRoute{
			Server:       sl.Server,
			Port:         sl.Port,
			Transport:    sl.Transport,
			Protocol:     sl.Protocol,
			Ident:        sl.Ident,
			Facility:     sl.Facility,
			Delivery:     sl.Delivery,
			ProbeFormat:  sl.ProbeFmt,
			StatusFormat: sl.StatusFmt,
		}
		if rttm {
			r.Syslog.RTTMFormat = sl.RTTMFmt
		}
	}
	return r
}

// targetSet collects the distinct probe targets of a configuration: equal
// targets (same protocol, address, port and options) are probed once however
// many services refer to them.
type targetSet struct {
	byKey map[string]probe.Target
}

// add returns the probe key of monitoring address with m; "" for protocol
// NONE (never probed, always up). port is a cluster real service's own port,
// used when the monitor sets none.
func (b *targetSet) add(m *config.Monitor, address string, port int) string {
	if m == nil || m.Protocol == config.ProtocolNONE {
		return ""
	}
	t := probe.Target{
		Protocol:      probe.Protocol(m.Protocol),
		Address:       address,
		Port:          m.Port,
		Path:          m.Path,
		Host:          m.Host,
		Header:        m.Header,
		Expected:      m.Expected,
		TLSSkipVerify: m.TLSSkipVerify,
		Watch:         m.Watch,
		Interval:      m.Interval,
		Timeout:       m.Timeout,
		Retries:       m.Retries,
	}
	if t.Port == 0 {
		t.Port = port
	}
	if m.Path != "" {
		// The GSLB document's rule: with a path, only a 2xx status is up;
		// with nothing set, any HTTP response is.
		t.StatusRule = probe.Require2xx
	}
	return b.addTarget(t)
}

func (b *targetSet) addTarget(t probe.Target) string {
	t = t.WithDefaults()
	k := t.Key()
	b.byKey[k] = t
	return k
}

func (b *targetSet) list() []probe.Target {
	keys := make([]string, 0, len(b.byKey))
	for k := range b.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]probe.Target, 0, len(keys))
	for _, k := range keys {
		out = append(out, b.byKey[k])
	}
	return out
}

// sfTarget is the HTTP(S) probe of an sf_pool monitor: up on a 2xx or 3xx
// response (redirects are not followed) whose body holds search_string.
func sfTarget(m *config.SFMonitor) (probe.Target, error) {
	u, err := url.Parse(m.URL)
	if err != nil {
		return probe.Target{}, fmt.Errorf("monitor url: %w", err)
	}
	t := probe.Target{
		Protocol:   probe.Protocol(strings.ToUpper(u.Scheme)),
		Address:    u.Hostname(),
		Method:     m.Method,
		Path:       u.RequestURI(),
		Expected:   m.SearchString,
		Body:       m.TransmittedData,
		StatusRule: probe.Require2xx3xx,
		Interval:   m.Interval,
		Timeout:    m.Timeout,
		Retries:    m.Retries,
	}
	if net.ParseIP(t.Address) == nil {
		t.Host = u.Hostname()
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return probe.Target{}, fmt.Errorf("monitor url port %q: %w", p, err)
		}
		t.Port = n
	}
	return t, nil
}

func zoneConfig(cfg *config.Config, z *config.Zone) dnsserver.ZoneConfig {
	zc := dnsserver.ZoneConfig{
		Origin:     z.Name,
		File:       z.File,
		DefaultTTL: z.TTL,
		NS:         z.NS,
		Hostname:   cfg.Server.Hostname,
	}
	for _, r := range z.Records {
		zc.Records = append(zc.Records, dnsserver.StaticRecord{Name: r.Name, Type: r.Type, TTL: r.TTL, RData: r.RData})
	}
	return zc
}

// readSecret reads a token or password file; surrounding white space (a
// trailing newline) is not part of the secret.
func readSecret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	// The same rule as config's check: a FIFO or /dev/zero put in its
	// place after validation must not hang or exhaust the daemon.
	b, err := config.ReadRegularFile(path, config.MaxSecretFileSize)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
