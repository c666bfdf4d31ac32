// Package apitest provides Memory, an in-memory api.Controller: a test
// double of the daemon for tests of the api package, its Client and
// failoverctl. It keeps the daemon's contract (jobs only for changes, the
// cluster preconditions, a rejected call changes nothing) without probing.
package apitest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/failoverd/failoverd/api"
)

// Memory is an in-memory api.Controller seeded with a few services and one
// cluster. Its methods are safe for concurrent use.
type Memory struct {
	mu       sync.Mutex // one lock: the HTTP handlers call concurrently
	base     time.Time
	now      func() time.Time
	services map[string]*api.ServiceDetail
	order    []string
	events   map[string][]api.Event
	clusters []clusterState
	jobs     map[uint64]api.Job
	nextJob  uint64
	calls    int               // mutating calls that reached the controller
	bodies   map[string][]byte // managed services as PUT

	zones       []api.Zone
	reloadDiags []string // a Reload fails with these when set
	reloads     int
}

type clusterState struct {
	name     string
	services []clusterService
}

type clusterService struct {
	api.ClusterService
	reals []*realState
}

type realState struct {
	api.RealService
	stats api.RealServiceStatistics
}

var _ api.Controller = (*Memory)(nil)
var _ api.JobHistory = (*Memory)(nil)

func f64(v float64) *float64 { return &v }

// Base is the fixed time the seeded data refers to.
func Base() time.Time { return time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) }

// NewMemory returns a controller with:
//   - gslb app.example.com. (regions "US East" in trouble, "global" ok),
//   - active_failover www.example.com. (ok),
//   - sf_pool a.example.com. (OK, NOT_FORCED),
//   - rttm api.example.com. in failover,
//   - cluster web-cluster / https with real services web1, web2 (disabled), sorry (fallback).
func NewMemory() *Memory {
	return NewMemoryAt(Base())
}

// NewMemoryAt is NewMemory with the seeded times relative to base instead
// of Base(); "now" is base plus one hour.
func NewMemoryAt(base time.Time) *Memory {
	m := &Memory{
		base:     base,
		now:      func() time.Time { return base.Add(time.Hour) },
		services: map[string]*api.ServiceDetail{},
		events:   map[string][]api.Event{},
		jobs:     map[uint64]api.Job{},
		nextJob:  1,
	}
	probe := base.Add(30 * time.Minute)
	hist := func(up bool, rtt float64) []api.Sample {
		var out []api.Sample
		for i := range 20 {
			s := api.Sample{Time: base.Add(time.Duration(i) * time.Minute), Status: "up", RTTSeconds: f64(rtt + float64(i%5)*0.002)}
			if !up && i >= 15 {
				s.Status, s.RTTSeconds = "down", nil
			}
			out = append(out, s)
		}
		return out
	}
	m.add(&api.ServiceDetail{FQDN: "app.example.com.", Kind: api.KindGSLB, Status: "trouble", Active: true, Regions: []api.Region{
		{Code: "US East", Status: "trouble", Served: []string{"192.0.2.10"}, Entries: []api.Entry{
			{Address: "192.0.2.10", Label: "use-1", Weight: 5, ServeMode: "obey", Status: "up", RTTSeconds: f64(0.012), LastProbe: &probe, History: hist(true, 0.010)},
			{Address: "192.0.2.11", Label: "use-2", Weight: 10, ServeMode: "remove", Status: "down", Removed: true, Message: "connection refused", LastProbe: &probe, History: hist(false, 0.020),
				Sites: []api.SiteReport{{Site: "ams", Status: "down", Message: "connection refused"}, {Site: "fra", Status: "down", Message: "connection refused"}, {Site: "iad", Status: "up", RTTSeconds: 0.021}}},
		}},
		{Code: "global", Status: "ok", Served: []string{"192.0.2.20", "2001:db8::20"}, Entries: []api.Entry{
			{Address: "192.0.2.20", Weight: 1, ServeMode: "obey", Status: "up", RTTSeconds: f64(0.004), LastProbe: &probe, History: hist(true, 0.003)},
			{Address: "2001:db8::20", Weight: 1, ServeMode: "obey", Status: "unk"},
		}},
	}})
	m.add(&api.ServiceDetail{FQDN: "www.example.com.", Kind: api.KindActiveFailover, Status: "ok", Active: true, Regions: []api.Region{
		{Code: "global", Status: "ok", Served: []string{"192.0.2.1"}, Entries: []api.Entry{
			{Address: "192.0.2.1", Weight: 1, ServeMode: "obey", Status: "up", RTTSeconds: f64(0.002), LastProbe: &probe, History: hist(true, 0.002)},
		}},
	}})
	m.add(&api.ServiceDetail{FQDN: "a.example.com.", Kind: api.KindSFPool, Status: "OK", Active: true, LiveRecordState: "NOT_FORCED", Regions: []api.Region{
		{Code: "global", Status: "OK", Served: []string{"192.0.2.40"}, Entries: []api.Entry{
			{Address: "192.0.2.40", Label: "live", Weight: 1, ServeMode: "obey", Status: "up", LastProbe: &probe},
			{Address: "192.0.2.41", Label: "backup", Weight: 1, ServeMode: "no", Status: "unk"},
		}},
	}})
	m.add(&api.ServiceDetail{FQDN: "api.example.com.", Kind: api.KindRTTM, Status: "failover", Active: true, Regions: []api.Region{
		{Code: "global", Status: "failover", Served: []string{"backup.example.net."}, Entries: []api.Entry{
			{Address: "192.0.2.30", Label: "a", Weight: 5, ServeMode: "obey", Status: "down", Message: "HTTP 503", LastProbe: &probe, History: hist(false, 0.030)},
		}},
	}})
	m.events["app.example.com."] = []api.Event{
		{Time: base.Add(10 * time.Minute), Kind: api.EventIP, Region: "US East", Address: "192.0.2.11", OldStatus: "up", NewStatus: "down", Message: "connection refused"},
		{Time: base.Add(10 * time.Minute), Kind: api.EventSvc, Region: "US East", OldStatus: "ok", NewStatus: "trouble"},
		{Time: base.Add(20 * time.Minute), Kind: api.EventNoSrv, Region: "global", Address: "192.0.2.21", OldStatus: "unk", NewStatus: "up"},
	}
	m.events["api.example.com."] = []api.Event{
		{Time: base.Add(15 * time.Minute), Kind: api.EventSvc, Region: "global", OldStatus: "ok", NewStatus: "failover", Message: "HTTP 503"},
	}
	upd := base.Add(59 * time.Minute)
	m.clusters = []clusterState{{name: "web-cluster", services: []clusterService{{
		ClusterService: api.ClusterService{Name: "https", FQDN: "web.example.com.", Protocol: "tcp"},
		reals: []*realState{
			{RealService: api.RealService{Name: "web1", IPAddress: "192.0.2.51", Port: 443, Weight: 10, Enabled: true, Status: "up"},
				stats: api.RealServiceStatistics{Active: true, Status: "up", RTTSeconds: f64(0.003), AnswersTotal: 42, ProbesTotal: 60, ProbeFailuresTotal: 1, LastUpdate: &upd}},
			{RealService: api.RealService{Name: "web2", IPAddress: "192.0.2.52", Port: 443, Weight: 5, Enabled: false, Status: "up"},
				stats: api.RealServiceStatistics{Status: "up", ProbesTotal: 60}},
			{RealService: api.RealService{Name: "sorry", IPAddress: "192.0.2.59", Port: 443, Weight: 1, Enabled: true, Fallback: true, Status: "unk"},
				stats: api.RealServiceStatistics{Status: "unk"}},
		},
	}}}}
	m.seedOperations()
	return m
}

func (m *Memory) add(d *api.ServiceDetail) {
	m.services[d.FQDN] = d
	m.order = append(m.order, d.FQDN)
}

// Calls counts the mutating calls that reached the controller, so tests can
// check that a request rejected by validation never got here.
func (m *Memory) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// BrokenFQDN is a name on which every call fails with an unclassified
// error, for testing the 500 path.
const BrokenFQDN = "broken.example.com."

func (m *Memory) job(action, target string) *api.Job {
	j := api.Job{ID: m.nextJob, Action: action, Target: target, Status: api.JobComplete, Created: m.now()}
	m.nextJob++
	m.jobs[j.ID] = j
	return &j
}

func (m *Memory) lookup(fqdn string) (*api.ServiceDetail, error) {
	if strings.EqualFold(fqdn, BrokenFQDN) {
		return nil, fmt.Errorf("store %s: disk on fire", fqdn)
	}
	d, ok := m.services[strings.ToLower(fqdn)]
	if !ok {
		return nil, fmt.Errorf("service %s: %w", fqdn, api.ErrDoesNotExist)
	}
	return d, nil
}

// Services implements api.Controller.
func (m *Memory) Services(_ context.Context) []api.ServiceSummary {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]api.ServiceSummary, 0, len(m.order))
	for _, f := range m.order {
		d := m.services[f]
		out = append(out, api.ServiceSummary{FQDN: d.FQDN, Kind: d.Kind, Status: d.Status, Active: d.Active})
	}
	return out
}

// Service implements api.Controller.
func (m *Memory) Service(_ context.Context, fqdn string) (*api.ServiceDetail, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.lookup(fqdn)
	if err != nil {
		return nil, err
	}
	c := *d
	c.Regions = slices.Clone(d.Regions)
	for i := range c.Regions {
		c.Regions[i].Entries = slices.Clone(c.Regions[i].Entries)
		c.Regions[i].Served = slices.Clone(c.Regions[i].Served)
	}
	return &c, nil
}

func (m *Memory) setActive(fqdn string, active bool, action string) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	d, err := m.lookup(fqdn)
	if err != nil {
		return nil, err
	}
	if d.Active == active {
		return nil, nil
	}
	d.Active = active
	if !active && d.Kind != api.KindSFPool {
		d.Status = "unk"
	}
	return m.job(action, d.FQDN), nil
}

// Activate implements api.Controller.
func (m *Memory) Activate(_ context.Context, fqdn string) (*api.Job, error) {
	return m.setActive(fqdn, true, api.ActionActivate)
}

// Deactivate implements api.Controller.
func (m *Memory) Deactivate(_ context.Context, fqdn string) (*api.Job, error) {
	return m.setActive(fqdn, false, api.ActionDeactivate)
}

// Recover implements api.Controller.
func (m *Memory) Recover(_ context.Context, fqdn, address string) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	d, err := m.lookup(fqdn)
	if err != nil {
		return nil, err
	}
	if d.Kind == api.KindSFPool {
		return nil, fmt.Errorf("service %s is an sf_pool: nothing to recover: %w", d.FQDN, api.ErrPreconditionFailed)
	}
	found, changed := false, false
	for ri := range d.Regions {
		for ei := range d.Regions[ri].Entries {
			e := &d.Regions[ri].Entries[ei]
			if address != "" && e.Address != address {
				continue
			}
			found = true
			if e.Removed {
				e.Removed = false
				changed = true
			}
		}
	}
	if address != "" && !found {
		return nil, fmt.Errorf("address %s in service %s: %w", address, d.FQDN, api.ErrDoesNotExist)
	}
	if address == "" && d.Status == "failover" {
		d.Status = "ok"
		changed = true
	}
	if !changed {
		return nil, nil
	}
	target := d.FQDN
	if address != "" {
		target += " " + address
	}
	return m.job(api.ActionRecover, target), nil
}

func (m *Memory) setForced(fqdn string, forced bool, action string) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	d, err := m.lookup(fqdn)
	if err != nil {
		return nil, err
	}
	if d.Kind != api.KindSFPool {
		return nil, fmt.Errorf("service %s is a %s, not an sf_pool: %w", d.FQDN, d.Kind, api.ErrPreconditionFailed)
	}
	state, status := "NOT_FORCED", "OK"
	if forced {
		state, status = "FORCED_INACTIVE", "MANUAL"
	}
	if d.LiveRecordState == state {
		return nil, nil
	}
	d.LiveRecordState, d.Status = state, status
	return m.job(action, d.FQDN), nil
}

// Force implements api.Controller.
func (m *Memory) Force(_ context.Context, fqdn string) (*api.Job, error) {
	return m.setForced(fqdn, true, api.ActionForce)
}

// Unforce implements api.Controller.
func (m *Memory) Unforce(_ context.Context, fqdn string) (*api.Job, error) {
	return m.setForced(fqdn, false, api.ActionUnforce)
}

// Log implements api.Controller.
func (m *Memory) Log(_ context.Context, fqdn string, start, end time.Time) ([]api.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.lookup(fqdn)
	if err != nil {
		return nil, err
	}
	var out []api.Event
	for _, e := range m.events[d.FQDN] {
		if !e.Time.Before(start) && !e.Time.After(end) {
			out = append(out, e)
		}
	}
	return out, nil
}

// RRSets implements api.Controller: before the base time nothing was served; from
// Base on, what is served now.
func (m *Memory) RRSets(_ context.Context, fqdn string, ts time.Time) (*api.RRSetReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.lookup(fqdn)
	if err != nil {
		return nil, err
	}
	rep := &api.RRSetReport{TS: ts.Unix()}
	for _, r := range d.Regions {
		rr := api.RRSetRegion{Code: r.Code}
		if !ts.Before(m.base) {
			rr.Served = slices.Clone(r.Served)
		}
		rep.Regions = append(rep.Regions, rr)
	}
	return rep, nil
}

// Jobs implements api.JobHistory. The memory keeps no actor.
func (m *Memory) Jobs(_ context.Context, fqdn string, start, end time.Time) ([]api.JobRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.lookup(fqdn)
	if err != nil {
		return nil, err
	}
	var out []api.JobRecord
	for _, j := range m.jobs {
		if (j.Target == d.FQDN || strings.HasPrefix(j.Target, d.FQDN+" ")) && !j.Created.Before(start) && !j.Created.After(end) {
			out = append(out, api.JobRecord{Job: j})
		}
	}
	slices.SortFunc(out, func(a, b api.JobRecord) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Job implements api.Controller.
func (m *Memory) Job(_ context.Context, id uint64) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return nil, fmt.Errorf("job %d: %w", id, api.ErrDoesNotExist)
	}
	return &j, nil
}

// Clusters implements api.Controller.
func (m *Memory) Clusters(_ context.Context) []api.ClusterSummary {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.ClusterSummary
	for _, c := range m.clusters {
		cs := api.ClusterSummary{Name: c.name}
		for _, s := range c.services {
			svc := s.ClusterService
			svc.RealServices = nil
			for _, r := range s.reals {
				svc.RealServices = append(svc.RealServices, r.Name)
			}
			cs.Services = append(cs.Services, svc)
		}
		out = append(out, cs)
	}
	return out
}

func (m *Memory) clusterService(cluster, service string) (*clusterService, error) {
	for ci := range m.clusters {
		if m.clusters[ci].name != cluster {
			continue
		}
		for si := range m.clusters[ci].services {
			if m.clusters[ci].services[si].Name == service {
				return &m.clusters[ci].services[si], nil
			}
		}
		return nil, fmt.Errorf("cluster service %s/%s: %w", cluster, service, api.ErrDoesNotExist)
	}
	return nil, fmt.Errorf("cluster %s: %w", cluster, api.ErrDoesNotExist)
}

func (m *Memory) real(cluster, service, real string) (*clusterService, *realState, error) {
	s, err := m.clusterService(cluster, service)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range s.reals {
		if r.Name == real {
			return s, r, nil
		}
	}
	return nil, nil, fmt.Errorf("real service %s/%s/%s: %w", cluster, service, real, api.ErrDoesNotExist)
}

// RealServices implements api.Controller.
func (m *Memory) RealServices(_ context.Context, cluster, service string) ([]api.RealService, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.clusterService(cluster, service)
	if err != nil {
		return nil, err
	}
	out := make([]api.RealService, 0, len(s.reals))
	for _, r := range s.reals {
		out = append(out, r.RealService)
	}
	return out, nil
}

// RealService implements api.Controller.
func (m *Memory) RealService(_ context.Context, cluster, service, real string) (*api.RealService, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, r, err := m.real(cluster, service, real)
	if err != nil {
		return nil, err
	}
	rs := r.RealService
	return &rs, nil
}

// RealServiceStatistics implements api.Controller.
func (m *Memory) RealServiceStatistics(_ context.Context, cluster, service, real string) (*api.RealServiceStatistics, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, r, err := m.real(cluster, service, real)
	if err != nil {
		return nil, err
	}
	st := r.stats
	return &st, nil
}

// ClusterOp implements api.Controller, with the preconditions of the
// cluster document: one fallback per service, and only an enabled one.
func (m *Memory) ClusterOp(_ context.Context, cluster, service, real, action string) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	s, r, err := m.real(cluster, service, real)
	if err != nil {
		return nil, err
	}
	target := cluster + "/" + service + "/" + real
	switch action {
	case api.ActionEnable, api.ActionDisable:
		want := action == api.ActionEnable
		if r.Enabled == want {
			return nil, nil
		}
		if !want && r.Fallback {
			return nil, fmt.Errorf("%s is the fallback: disable_fallback first: %w", target, api.ErrPreconditionFailed)
		}
		r.Enabled = want
	case api.ActionEnableFallback:
		if r.Fallback {
			return nil, nil
		}
		if !r.Enabled {
			return nil, fmt.Errorf("%s is disabled and cannot be the fallback: %w", target, api.ErrPreconditionFailed)
		}
		for _, o := range s.reals {
			if o.Fallback {
				return nil, fmt.Errorf("%s/%s/%s is already the fallback: %w", cluster, service, o.Name, api.ErrPreconditionFailed)
			}
		}
		r.Fallback = true
	case api.ActionDisableFallback:
		if !r.Fallback {
			return nil, nil
		}
		r.Fallback = false
	default:
		return nil, fmt.Errorf("unknown action %q: %w", action, api.ErrBadRequest)
	}
	return m.job(action, target), nil
}

// SetWeight implements api.Controller.
func (m *Memory) SetWeight(_ context.Context, cluster, service, real string, weight int) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	_, r, err := m.real(cluster, service, real)
	if err != nil {
		return nil, err
	}
	if weight < 0 {
		return nil, fmt.Errorf("weight %d: %w", weight, api.ErrBadRequest)
	}
	if r.Weight == weight {
		return nil, nil
	}
	r.Weight = weight
	return m.job(api.ActionSetWeight, cluster+"/"+service+"/"+real), nil
}

// Sites implements api.SitesController: a deployment of three sites, ams
// leading, as this node sees it while connected.
func (m *Memory) Sites(_ context.Context) (*api.SitesResponse, error) {
	seen := m.now()
	return &api.SitesResponse{Leader: "ams", Connected: true, Revision: 4242, Sites: []api.Site{
		{Site: "ams", Hostname: "ns1.example.net", Leader: true, LastSeen: seen, Version: "test"},
		{Site: "fra", Hostname: "ns2.example.net", LastSeen: seen, Version: "test"},
		{Site: "iad", Hostname: "ns3.example.net", LastSeen: seen, Version: "test"},
	}}, nil
}

// ZoneDNSSEC implements api.Controller: example.com. is signed (a fixed
// ECDSAP256SHA256 key); every other zone is not.
func (m *Memory) ZoneDNSSEC(_ context.Context, zone string) (*api.ZoneDNSSEC, error) {
	if !strings.EqualFold(zone, "example.com.") {
		return nil, fmt.Errorf("%w: zone %s is not signed", api.ErrDoesNotExist, zone)
	}
	return &api.ZoneDNSSEC{
		Zone:      "example.com.",
		Algorithm: "ECDSAP256SHA256",
		KeyTag:    18618,
		DNSKEY:    "example.com. 3600 IN DNSKEY 257 3 13 AfhNuVzTR4prH9JbuYjr/A97xPrSP9sZnUncW7o82XXnNx5DL5FVBLlNiiL9ob0GCj6TSovZSp4JKKKlLZ4I3w==",
		DS:        []string{"example.com. 3600 IN DS 18618 13 2 2CBE20C2A71C5711341930C5B77C4FB04D02AFF80D4DABAD87F6DF3F0CE5E54E"},
	}, nil
}
