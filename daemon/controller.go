package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/store"
)

// controller is the API's view of the daemon: reads and operator commands
// run on the decision loop, so operators and probe results see one
// consistent engine; history and jobs are read from the store.
type controller struct {
	log   *zap.Logger
	loop  *decisionLoop
	store stateStore
	// daemon changes managed services through its reload path, and
	// reloads (POST /v1/reload, the path SIGHUP takes); nil where a
	// controller only serves to build the API (Prepare, tests).
	daemon *Daemon
}

var _ api.JobHistory = (*controller)(nil)
var _ api.Controller = (*controller)(nil)

// apiError maps the engine's errors onto the API's error types.
func apiError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pool.ErrNotFound):
		return fmt.Errorf("%w: %s", api.ErrDoesNotExist, err.Error())
	case errors.Is(err, pool.ErrPrecondition):
		return fmt.Errorf("%w: %s", api.ErrPreconditionFailed, err.Error())
	}
	return err
}

// engineOp is an operator command of the engine.
type engineOp func(now time.Time) (bool, []pool.Transition, error)

// command runs op on the decision loop. A command that changed something is
// committed first — the new engine state, its events and a job in one
// synced write — and only then published and announced; when the commit
// fails, the engine is rolled back to save's savepoint and the call fails,
// having changed nothing. A command that changed nothing records no job.
func (c *controller) command(ctx context.Context, action, target string, save func(*pool.Engine) *pool.Savepoint, op engineOp) (*api.Job, error) {
	var job *api.Job
	err := c.loop.call(ctx, func() error {
		now := time.Now()
		engine := c.loop.engine
		sp := save(engine)
		changed, trs, err := op(now)
		if err != nil {
			engine.Rollback(sp)
			return apiError(err)
		}
		if !changed {
			return nil
		}
		j := store.Job{Action: action, Target: target, Status: store.JobStatusComplete, Created: now.UTC(), Actor: api.ActorOf(ctx)}
		batch := store.Batch{Job: &j, EngineState: engineState(engine)}
		for _, t := range trs {
			if isChange(t.Kind) && t.Kind != pool.EventEP {
				batch.Events = append(batch.Events, storeEvent(t))
			}
		}
		if err := c.store.Commit(batch); err != nil {
			engine.Rollback(sp)
			c.log.Error("operator command refused: it could not be recorded", zap.String("action", action), zap.String("target", target), zap.Error(err))
			return fmt.Errorf("%s %s was not recorded, nothing changed: %w", action, target, err)
		}
		c.loop.pub.apply(Decision{Time: now, Transitions: trs, Full: true, Recorded: true}, engine)
		c.log.Info("operator command", zap.Uint64("job", j.ID), zap.String("action", j.Action), zap.String("target", j.Target))
		job = &api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created}
		return nil
	})
	return job, err
}

// Services implements api.Controller.
func (c *controller) Services(ctx context.Context) []api.ServiceSummary {
	var out []api.ServiceSummary
	_ = c.loop.call(ctx, func() error {
		for _, v := range c.loop.engine.Services() {
			out = append(out, api.ServiceSummary{FQDN: v.FQDN, Kind: string(v.Kind), Status: string(v.Status), Active: v.Active})
		}
		return nil
	})
	return out
}

// Service implements api.Controller.
func (c *controller) Service(ctx context.Context, fqdn string) (*api.ServiceDetail, error) {
	fqdn = strings.ToLower(fqdn)
	var out *api.ServiceDetail
	err := c.loop.call(ctx, func() error {
		v, ok := c.loop.engine.Service(fqdn)
		if !ok {
			return fmt.Errorf("%w: service %s", api.ErrDoesNotExist, fqdn)
		}
		out = serviceDetail(v)
		if ref, ok := c.loop.plan.cfg.LookupService(fqdn); ok {
			out.Managed = ref.Managed
		}
		out.Config = serviceConfig(c.loop.plan.cfg, fqdn)
		if ms := c.loop.ms; ms != nil {
			i := slices.IndexFunc(c.loop.plan.spec.Services, func(s pool.Service) bool { return s.FQDN == fqdn })
			for ri := range out.Regions {
				r := &out.Regions[ri]
				for ei := range r.Entries {
					if i >= 0 {
						r.Entries[ei].Sites = ms.siteReports(entryTarget(c.loop.plan.spec.Services[i], r.Code, r.Entries[ei].Address))
					}
				}
			}
		}
		return nil
	})
	return out, err
}

func serviceDetail(v pool.ServiceView) *api.ServiceDetail {
	sd := &api.ServiceDetail{FQDN: v.FQDN, Kind: string(v.Kind), Status: string(v.Status), Active: v.Active, LiveRecordState: v.LiveRecordState}
	for _, r := range v.Regions {
		ar := api.Region{Code: r.Code, Status: string(r.Status), Served: r.Served, Entries: []api.Entry{}}
		if ar.Served == nil {
			ar.Served = []string{}
		}
		for _, e := range r.Entries {
			ar.Entries = append(ar.Entries, entry(e))
		}
		sd.Regions = append(sd.Regions, ar)
	}
	return sd
}

func entry(e pool.EntryView) api.Entry {
	ae := api.Entry{Address: e.Address, Label: e.Label, Weight: e.Weight, ServeMode: string(e.ServeMode),
		Status: string(e.Status), Removed: e.Removed, Message: e.Message}
	if e.HasRTT {
		s := e.RTT.Seconds()
		ae.RTTSeconds = &s
	}
	if !e.LastProbe.IsZero() {
		t := e.LastProbe.UTC()
		ae.LastProbe = &t
	}
	for _, h := range e.History {
		s := api.Sample{Time: h.Time.UTC(), Status: string(pool.StatusDown)}
		if h.Up {
			s.Status = string(pool.StatusUp)
			rtt := h.RTT.Seconds()
			s.RTTSeconds = &rtt
		}
		ae.History = append(ae.History, s)
	}
	return ae
}

// Activate implements api.Controller.
func (c *controller) Activate(ctx context.Context, fqdn string) (*api.Job, error) {
	return c.exec(ctx, opCommand{Action: api.ActionActivate, FQDN: strings.ToLower(fqdn)})
}

// Deactivate implements api.Controller.
func (c *controller) Deactivate(ctx context.Context, fqdn string) (*api.Job, error) {
	return c.exec(ctx, opCommand{Action: api.ActionDeactivate, FQDN: strings.ToLower(fqdn)})
}

// Recover implements api.Controller.
func (c *controller) Recover(ctx context.Context, fqdn, address string) (*api.Job, error) {
	return c.exec(ctx, opCommand{Action: api.ActionRecover, FQDN: strings.ToLower(fqdn), Address: address})
}

// Force implements api.Controller.
func (c *controller) Force(ctx context.Context, fqdn string) (*api.Job, error) {
	return c.exec(ctx, opCommand{Action: api.ActionForce, FQDN: strings.ToLower(fqdn)})
}

// Unforce implements api.Controller.
func (c *controller) Unforce(ctx context.Context, fqdn string) (*api.Job, error) {
	return c.exec(ctx, opCommand{Action: api.ActionUnforce, FQDN: strings.ToLower(fqdn)})
}

// serviceExists checks fqdn on the decision loop.
func (c *controller) serviceExists(ctx context.Context, fqdn string) error {
	return c.loop.call(ctx, func() error {
		if _, ok := c.loop.engine.Service(fqdn); !ok {
			return fmt.Errorf("%w: service %s", api.ErrDoesNotExist, fqdn)
		}
		return nil
	})
}

// Log implements api.Controller.
func (c *controller) Log(ctx context.Context, fqdn string, start, end time.Time) ([]api.Event, error) {
	fqdn = strings.ToLower(fqdn)
	if err := c.serviceExists(ctx, fqdn); err != nil {
		return nil, err
	}
	evs, err := c.store.Events(fqdn, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]api.Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, api.Event{Time: e.Time.UTC(), Kind: e.Kind, Region: e.Region, Address: e.Address,
			OldStatus: e.OldStatus, NewStatus: e.NewStatus, Message: e.Message})
	}
	return out, nil
}

// RRSets implements api.Controller.
func (c *controller) RRSets(ctx context.Context, fqdn string, ts time.Time) (*api.RRSetReport, error) {
	fqdn = strings.ToLower(fqdn)
	if err := c.serviceExists(ctx, fqdn); err != nil {
		return nil, err
	}
	rep := &api.RRSetReport{TS: ts.Unix(), Regions: []api.RRSetRegion{}}
	// ts is in whole seconds and names all of that second: a report asked
	// for "now" right after start shows what start published.
	snap, ok, err := c.store.ServedAt(fqdn, ts.Truncate(time.Second).Add(time.Second-time.Nanosecond))
	if err != nil || !ok {
		return rep, err
	}
	rep.Serial = snap.Serial
	codes := make([]string, 0, len(snap.Regions))
	for code := range snap.Regions {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		rep.Regions = append(rep.Regions, api.RRSetRegion{Code: code, Served: snap.Regions[code]})
	}
	return rep, nil
}

// Jobs implements api.JobHistory: the service's jobs and those of its
// addresses (target "fqdn/address").
func (c *controller) Jobs(ctx context.Context, fqdn string, start, end time.Time) ([]api.JobRecord, error) {
	fqdn = strings.ToLower(fqdn)
	if err := c.serviceExists(ctx, fqdn); err != nil {
		return nil, err
	}
	jobs, err := c.store.JobsOf(fqdn, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]api.JobRecord, len(jobs))
	for i, j := range jobs {
		out[i] = api.JobRecord{Job: api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created.UTC()}, Actor: j.Actor}
	}
	return out, nil
}

// Job implements api.Controller.
func (c *controller) Job(ctx context.Context, id uint64) (*api.Job, error) {
	if ms := c.loop.ms; ms != nil {
		return deploymentJob(ctx, ms, id)
	}
	j, ok, err := c.store.Job(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: job %d", api.ErrDoesNotExist, id)
	}
	return &api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created.UTC()}, nil
}

// Clusters implements api.Controller.
func (c *controller) Clusters(ctx context.Context) []api.ClusterSummary {
	var out []api.ClusterSummary
	_ = c.loop.call(ctx, func() error {
		for _, c := range c.loop.engine.Clusters() {
			cs := api.ClusterSummary{Name: c.Name}
			for _, s := range c.Services {
				svc := api.ClusterService{Name: s.Name, FQDN: s.FQDN, Protocol: s.Protocol}
				for _, r := range s.Reals {
					svc.RealServices = append(svc.RealServices, r.Name)
				}
				cs.Services = append(cs.Services, svc)
			}
			out = append(out, cs)
		}
		return nil
	})
	return out
}

// clusterService finds one cluster service's view on the decision loop.
func (c *controller) clusterService(ctx context.Context, cluster, service string) (pool.ClusterServiceView, error) {
	var out pool.ClusterServiceView
	err := c.loop.call(ctx, func() (err error) {
		out, err = c.findClusterService(cluster, service)
		return err
	})
	return out, err
}

// findClusterService looks a cluster service up; it runs on the loop.
func (c *controller) findClusterService(cluster, service string) (pool.ClusterServiceView, error) {
	for _, c := range c.loop.engine.Clusters() {
		if c.Name != cluster {
			continue
		}
		for _, s := range c.Services {
			if s.Name == service {
				return s, nil
			}
		}
		return pool.ClusterServiceView{}, fmt.Errorf("%w: service %s of cluster %s", api.ErrDoesNotExist, service, cluster)
	}
	return pool.ClusterServiceView{}, fmt.Errorf("%w: cluster %s", api.ErrDoesNotExist, cluster)
}

// realView finds one real service, and how many DNS answers carried it, in
// one trip to the decision loop.
func (c *controller) realView(ctx context.Context, cluster, service, real string) (pool.RealView, uint64, error) {
	var (
		out      pool.RealView
		answered uint64
	)
	err := c.loop.call(ctx, func() error {
		s, err := c.findClusterService(cluster, service)
		if err != nil {
			return err
		}
		for _, r := range s.Reals {
			if r.Name == real {
				out = r
				if c := c.loop.pub.answered[s.FQDN+" "+r.IP]; c != nil {
					answered = c.Load()
				}
				return nil
			}
		}
		return fmt.Errorf("%w: real service %s of %s/%s", api.ErrDoesNotExist, real, cluster, service)
	})
	return out, answered, err
}

func realService(r pool.RealView) api.RealService {
	return api.RealService{Name: r.Name, IPAddress: r.IP, Port: r.Port, Weight: r.Weight, Fallback: r.Fallback, Enabled: r.Enabled, Status: string(r.Status)}
}

// RealServices implements api.Controller.
func (c *controller) RealServices(ctx context.Context, cluster, service string) ([]api.RealService, error) {
	s, err := c.clusterService(ctx, cluster, service)
	if err != nil {
		return nil, err
	}
	out := make([]api.RealService, 0, len(s.Reals))
	for _, r := range s.Reals {
		out = append(out, realService(r))
	}
	return out, nil
}

// RealService implements api.Controller.
func (c *controller) RealService(ctx context.Context, cluster, service, real string) (*api.RealService, error) {
	r, _, err := c.realView(ctx, cluster, service, real)
	if err != nil {
		return nil, err
	}
	rs := realService(r)
	return &rs, nil
}

// RealServiceStatistics implements api.Controller.
func (c *controller) RealServiceStatistics(ctx context.Context, cluster, service, real string) (*api.RealServiceStatistics, error) {
	r, answered, err := c.realView(ctx, cluster, service, real)
	if err != nil {
		return nil, err
	}
	st := &api.RealServiceStatistics{
		AnswersTotal:       answered,
		Active:             r.Active,
		Status:             string(r.Status),
		ProbesTotal:        r.ProbesTotal,
		ProbeFailuresTotal: r.ProbeFailuresTotal,
	}
	if r.HasRTT {
		s := r.RTT.Seconds()
		st.RTTSeconds = &s
	}
	if !r.LastUpdate.IsZero() {
		t := r.LastUpdate.UTC()
		st.LastUpdate = &t
	}
	return st, nil
}

// ClusterOp implements api.Controller.
func (c *controller) ClusterOp(ctx context.Context, cluster, service, real, action string) (*api.Job, error) {
	if !slices.Contains(api.ClusterActions(), action) {
		return nil, fmt.Errorf("%w: unknown cluster action %q", api.ErrBadRequest, action)
	}
	return c.exec(ctx, opCommand{Action: action, Cluster: cluster, Service: service, Real: real})
}

// SetWeight implements api.Controller.
func (c *controller) SetWeight(ctx context.Context, cluster, service, real string, weight int) (*api.Job, error) {
	return c.exec(ctx, opCommand{Action: api.ActionSetWeight, Cluster: cluster, Service: service, Real: real, Weight: weight})
}

// ZoneDNSSEC implements api.Controller.
func (c *controller) ZoneDNSSEC(ctx context.Context, zone string) (*api.ZoneDNSSEC, error) {
	zone = strings.ToLower(zone)
	var out *api.ZoneDNSSEC
	err := c.loop.call(ctx, func() error {
		z := c.loop.pub.zones[zone]
		if z == nil {
			return fmt.Errorf("%w: zone %s is not served", api.ErrDoesNotExist, zone)
		}
		if z.signer == nil {
			return fmt.Errorf("%w: zone %s is not signed", api.ErrDoesNotExist, zone)
		}
		k := z.signer.Key()
		out = &api.ZoneDNSSEC{
			Zone:      zone,
			Algorithm: k.Algorithm(),
			KeyTag:    k.Tag(),
			DNSKEY:    recordText(k.DNSKEY),
			DS:        []string{recordText(k.DS())},
		}
		return nil
	})
	return out, err
}

// recordText is a record in zone-file syntax with single spaces.
func recordText(rr fmt.Stringer) string { return strings.ReplaceAll(rr.String(), "\t", " ") }
