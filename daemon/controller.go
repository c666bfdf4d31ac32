package daemon

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/store"
)

// The daemon is the API's controller: every call runs on the decision loop,
// so operators and probe results see one consistent engine.
var _ api.Controller = (*Daemon)(nil)

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

// command runs op on the decision loop. When it changed something, the
// transitions are applied and the new state is persisted (synced) together
// with a job before the call returns; otherwise no job.
func (d *Daemon) command(action, target string, op engineOp) (*api.Job, error) {
	var job *api.Job
	err := d.call(func() error {
		now := time.Now()
		changed, trs, err := op(now)
		if err != nil {
			return apiError(err)
		}
		if !changed {
			return nil
		}
		d.apply(trs, now, true)
		j := store.Job{Action: action, Target: target, Status: store.JobStatusComplete, Created: now.UTC()}
		batch := store.Batch{Job: &j}
		d.persist(batch)
		if j.ID == 0 {
			return errors.New("job was not recorded")
		}
		d.log.Info("operator command", zap.Uint64("job", j.ID), zap.String("action", j.Action), zap.String("target", j.Target))
		job = &api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created}
		return nil
	})
	return job, err
}

// Services implements api.Controller.
func (d *Daemon) Services() []api.ServiceSummary {
	var out []api.ServiceSummary
	_ = d.call(func() error {
		for _, v := range d.engine.Services() {
			out = append(out, api.ServiceSummary{FQDN: v.FQDN, Kind: string(v.Kind), Status: v.Status, Active: v.Active})
		}
		return nil
	})
	return out
}

// Service implements api.Controller.
func (d *Daemon) Service(fqdn string) (*api.ServiceDetail, error) {
	fqdn = strings.ToLower(fqdn)
	var out *api.ServiceDetail
	err := d.call(func() error {
		v, ok := d.engine.Service(fqdn)
		if !ok {
			return fmt.Errorf("%w: service %s", api.ErrDoesNotExist, fqdn)
		}
		out = serviceDetail(v)
		if ref, ok := d.plan.cfg.LookupService(fqdn); ok {
			out.Managed = ref.Managed
		}
		return nil
	})
	return out, err
}

func serviceDetail(v pool.ServiceView) *api.ServiceDetail {
	sd := &api.ServiceDetail{FQDN: v.FQDN, Kind: string(v.Kind), Status: v.Status, Active: v.Active, LiveRecordState: v.LiveRecordState}
	for _, r := range v.Regions {
		ar := api.Region{Code: r.Code, Status: r.Status, Served: r.Served, Entries: []api.Entry{}}
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
	ae := api.Entry{Address: e.Address, Label: e.Label, Weight: e.Weight, ServeMode: e.ServeMode,
		Status: e.Status, Removed: e.Removed, Message: e.Message}
	if e.HasRTT {
		s := e.RTT.Seconds()
		ae.RTTSeconds = &s
	}
	if !e.LastProbe.IsZero() {
		t := e.LastProbe.UTC()
		ae.LastProbe = &t
	}
	for _, h := range e.History {
		s := api.Sample{Time: h.Time.UTC(), Status: pool.StatusDown}
		if h.Up {
			s.Status = pool.StatusUp
			rtt := h.RTT.Seconds()
			s.RTTSeconds = &rtt
		}
		ae.History = append(ae.History, s)
	}
	return ae
}

// Activate implements api.Controller.
func (d *Daemon) Activate(fqdn string) (*api.Job, error) {
	fqdn = strings.ToLower(fqdn)
	return d.command(api.ActionActivate, fqdn, func(now time.Time) (bool, []pool.Transition, error) {
		return d.engine.Activate(fqdn, now)
	})
}

// Deactivate implements api.Controller.
func (d *Daemon) Deactivate(fqdn string) (*api.Job, error) {
	fqdn = strings.ToLower(fqdn)
	return d.command(api.ActionDeactivate, fqdn, func(now time.Time) (bool, []pool.Transition, error) {
		return d.engine.Deactivate(fqdn, now)
	})
}

// Recover implements api.Controller.
func (d *Daemon) Recover(fqdn, address string) (*api.Job, error) {
	fqdn = strings.ToLower(fqdn)
	target := fqdn
	if address != "" {
		target = fqdn + "/" + address
	}
	return d.command(api.ActionRecover, target, func(now time.Time) (bool, []pool.Transition, error) {
		return d.engine.Recover(fqdn, address, now)
	})
}

// Force implements api.Controller.
func (d *Daemon) Force(fqdn string) (*api.Job, error) {
	fqdn = strings.ToLower(fqdn)
	return d.command(api.ActionForce, fqdn, func(now time.Time) (bool, []pool.Transition, error) {
		return d.engine.Force(fqdn, now)
	})
}

// Unforce implements api.Controller.
func (d *Daemon) Unforce(fqdn string) (*api.Job, error) {
	fqdn = strings.ToLower(fqdn)
	return d.command(api.ActionUnforce, fqdn, func(now time.Time) (bool, []pool.Transition, error) {
		return d.engine.Unforce(fqdn, now)
	})
}

// serviceExists checks fqdn on the decision loop.
func (d *Daemon) serviceExists(fqdn string) error {
	return d.call(func() error {
		if _, ok := d.engine.Service(fqdn); !ok {
			return fmt.Errorf("%w: service %s", api.ErrDoesNotExist, fqdn)
		}
		return nil
	})
}

// Log implements api.Controller.
func (d *Daemon) Log(fqdn string, start, end time.Time) ([]api.Event, error) {
	fqdn = strings.ToLower(fqdn)
	if err := d.serviceExists(fqdn); err != nil {
		return nil, err
	}
	evs, err := d.store.Events(fqdn, start, end)
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
func (d *Daemon) RRSets(fqdn string, ts time.Time) (*api.RRSetReport, error) {
	fqdn = strings.ToLower(fqdn)
	if err := d.serviceExists(fqdn); err != nil {
		return nil, err
	}
	rep := &api.RRSetReport{TS: ts.Unix(), Regions: []api.RRSetRegion{}}
	snap, ok, err := d.store.ServedAt(fqdn, ts)
	if err != nil || !ok {
		return rep, err
	}
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

// Job implements api.Controller.
func (d *Daemon) Job(id uint64) (*api.Job, error) {
	j, ok, err := d.store.Job(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: job %d", api.ErrDoesNotExist, id)
	}
	return &api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created.UTC()}, nil
}

// Clusters implements api.Controller.
func (d *Daemon) Clusters() []api.ClusterSummary {
	var out []api.ClusterSummary
	_ = d.call(func() error {
		for _, c := range d.engine.Clusters() {
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
func (d *Daemon) clusterService(cluster, service string) (pool.ClusterServiceView, error) {
	var out pool.ClusterServiceView
	err := d.call(func() (err error) {
		out, err = d.findClusterService(cluster, service)
		return err
	})
	return out, err
}

// findClusterService looks a cluster service up; it runs on the loop.
func (d *Daemon) findClusterService(cluster, service string) (pool.ClusterServiceView, error) {
	for _, c := range d.engine.Clusters() {
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
func (d *Daemon) realView(cluster, service, real string) (pool.RealView, uint64, error) {
	var (
		out      pool.RealView
		answered uint64
	)
	err := d.call(func() error {
		s, err := d.findClusterService(cluster, service)
		if err != nil {
			return err
		}
		for _, r := range s.Reals {
			if r.Name == real {
				out = r
				if c := d.answered[s.FQDN+" "+r.IP]; c != nil {
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
	return api.RealService{Name: r.Name, IPAddress: r.IP, Port: r.Port, Weight: r.Weight, Fallback: r.Fallback, Enabled: r.Enabled, Status: r.Status}
}

// RealServices implements api.Controller.
func (d *Daemon) RealServices(cluster, service string) ([]api.RealService, error) {
	s, err := d.clusterService(cluster, service)
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
func (d *Daemon) RealService(cluster, service, real string) (*api.RealService, error) {
	r, _, err := d.realView(cluster, service, real)
	if err != nil {
		return nil, err
	}
	rs := realService(r)
	return &rs, nil
}

// RealServiceStatistics implements api.Controller.
func (d *Daemon) RealServiceStatistics(cluster, service, real string) (*api.RealServiceStatistics, error) {
	r, answered, err := d.realView(cluster, service, real)
	if err != nil {
		return nil, err
	}
	st := &api.RealServiceStatistics{
		AnswersTotal:       answered,
		Active:             r.Active,
		Status:             r.Status,
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
func (d *Daemon) ClusterOp(cluster, service, real, action string) (*api.Job, error) {
	var op func(c, s, r string, now time.Time) (bool, []pool.Transition, error)
	switch action {
	case api.ActionEnable:
		op = d.engine.ClusterEnable
	case api.ActionDisable:
		op = d.engine.ClusterDisable
	case api.ActionEnableFallback:
		op = d.engine.ClusterEnableFallback
	case api.ActionDisableFallback:
		op = d.engine.ClusterDisableFallback
	default:
		return nil, fmt.Errorf("%w: unknown cluster action %q", api.ErrBadRequest, action)
	}
	return d.command(action, cluster+"/"+service+"/"+real, func(now time.Time) (bool, []pool.Transition, error) {
		return op(cluster, service, real, now)
	})
}

// SetWeight implements api.Controller.
func (d *Daemon) SetWeight(cluster, service, real string, weight int) (*api.Job, error) {
	return d.command(api.ActionSetWeight, cluster+"/"+service+"/"+real, func(now time.Time) (bool, []pool.Transition, error) {
		return d.engine.ClusterSetWeight(cluster, service, real, weight, now)
	})
}
