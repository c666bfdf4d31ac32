package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/sites"
)

// opCommand is one operator command as data: run on this node's engine, or
// queued in etcd for a deployment's leader (its JSON is the command).
type opCommand struct {
	Action  string `json:"action"`
	FQDN    string `json:"fqdn,omitempty"`
	Address string `json:"address,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	Service string `json:"service,omitempty"`
	Real    string `json:"real,omitempty"`
	Weight  int    `json:"weight,omitempty"`
	Actor   string `json:"actor,omitempty"`
	// Serials are a serialFloor command's zone serials.
	Serials map[string]uint32 `json:"serials,omitempty"`
}

// serialFloor is the command a node of a deployment sends the leader when
// it has published serials above the committed ones (it decided alone
// while cut off from etcd): the leader commits serials above them, so
// that no node's serial goes back. Not an operator action: the API never
// queues it.
const serialFloor = "serial_floor"

// target is the job's target: an fqdn, FQDN/ADDRESS or CLUSTER/SERVICE/REAL.
func (oc opCommand) target() string {
	switch {
	case oc.Cluster != "":
		return oc.Cluster + "/" + oc.Service + "/" + oc.Real
	case oc.Address != "":
		return oc.FQDN + "/" + oc.Address
	}
	return oc.FQDN
}

// unit is the FQDN of what the command changes (pool.Engine.Units): the
// service, or the address name of the cluster service.
func (oc opCommand) unit(spec pool.Spec) string {
	if oc.Cluster == "" {
		return oc.FQDN
	}
	for _, c := range spec.Clusters {
		if c.Name != oc.Cluster {
			continue
		}
		for _, cs := range c.Services {
			if cs.Name == oc.Service {
				return cs.FQDN
			}
		}
	}
	return "" // unknown: the command is refused and changes nothing
}

// ops returns the savepoint to take before the command and the command.
func (oc opCommand) ops() (func(*pool.Engine) *pool.Savepoint, func(*pool.Engine, time.Time) (bool, []pool.Transition, error), error) {
	svc := func(e *pool.Engine) *pool.Savepoint { return e.SaveService(oc.FQDN) }
	cl := func(e *pool.Engine) *pool.Savepoint { return e.SaveClusterService(oc.Cluster, oc.Service) }
	real := func(op func(e *pool.Engine, c, s, r string, now time.Time) (bool, []pool.Transition, error)) func(*pool.Engine, time.Time) (bool, []pool.Transition, error) {
		return func(e *pool.Engine, now time.Time) (bool, []pool.Transition, error) {
			return op(e, oc.Cluster, oc.Service, oc.Real, now)
		}
	}
	switch oc.Action {
	case api.ActionActivate:
		return svc, func(e *pool.Engine, now time.Time) (bool, []pool.Transition, error) { return e.Activate(oc.FQDN, now) }, nil
	case api.ActionDeactivate:
		return svc, func(e *pool.Engine, now time.Time) (bool, []pool.Transition, error) {
			return e.Deactivate(oc.FQDN, now)
		}, nil
	case api.ActionRecover:
		return svc, func(e *pool.Engine, now time.Time) (bool, []pool.Transition, error) {
			return e.Recover(oc.FQDN, oc.Address, now)
		}, nil
	case api.ActionForce:
		return svc, func(e *pool.Engine, now time.Time) (bool, []pool.Transition, error) { return e.Force(oc.FQDN, now) }, nil
	case api.ActionUnforce:
		return svc, func(e *pool.Engine, now time.Time) (bool, []pool.Transition, error) { return e.Unforce(oc.FQDN, now) }, nil
	case api.ActionEnable:
		return cl, real((*pool.Engine).ClusterEnable), nil
	case api.ActionDisable:
		return cl, real((*pool.Engine).ClusterDisable), nil
	case api.ActionEnableFallback:
		return cl, real((*pool.Engine).ClusterEnableFallback), nil
	case api.ActionDisableFallback:
		return cl, real((*pool.Engine).ClusterDisableFallback), nil
	case api.ActionSetWeight:
		return cl, func(e *pool.Engine, now time.Time) (bool, []pool.Transition, error) {
			return e.ClusterSetWeight(oc.Cluster, oc.Service, oc.Real, oc.Weight, now)
		}, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown action %q", api.ErrBadRequest, oc.Action)
}

// exec runs an operator command: on this node's engine, or in a
// deployment through etcd, returning once it is committed.
func (c *controller) exec(ctx context.Context, oc opCommand) (*api.Job, error) {
	if ms := c.loop.ms; ms != nil {
		return c.submit(ctx, ms.s, oc)
	}
	save, op, err := oc.ops()
	if err != nil {
		return nil, err
	}
	return c.command(ctx, oc.Action, oc.target(), save, func(now time.Time) (bool, []pool.Transition, error) {
		return op(c.loop.engine, now)
	})
}

// The error kinds a leader reports in a finished command, so that the
// submitting node answers with the API error type a single node would.
const (
	doneNotFound     = "not_found: "
	donePrecondition = "precondition: "
	doneBadRequest   = "bad_request: "
	doneUnchanged    = "unchanged"
)

func doneError(err error) string {
	switch {
	case errors.Is(err, pool.ErrNotFound), errors.Is(err, api.ErrDoesNotExist):
		return doneNotFound + err.Error()
	case errors.Is(err, pool.ErrPrecondition), errors.Is(err, api.ErrPreconditionFailed):
		return donePrecondition + err.Error()
	case errors.Is(err, api.ErrBadRequest):
		return doneBadRequest + err.Error()
	}
	return err.Error()
}

func fromDone(msg string) error {
	for prefix, sentinel := range map[string]error{doneNotFound: api.ErrDoesNotExist, donePrecondition: api.ErrPreconditionFailed, doneBadRequest: api.ErrBadRequest} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return fmt.Errorf("%w: %s", sentinel, rest)
		}
	}
	return errors.New(msg)
}

// submit queues oc for the deployment's leader and waits until it is
// committed; the job id is unique across the deployment.
func (c *controller) submit(ctx context.Context, s *sites.Sites, oc opCommand) (*api.Job, error) {
	if _, _, err := oc.ops(); err != nil {
		return nil, err
	}
	oc.Actor = api.ActorOf(ctx)
	data, err := json.Marshal(oc)
	if err != nil {
		return nil, err
	}
	j, err := s.Submit(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("%s %s was not committed: %w", oc.Action, oc.target(), err)
	}
	if j.Error != "" {
		return nil, fromDone(j.Error)
	}
	if string(j.Result) == doneUnchanged {
		return nil, nil
	}
	return &api.Job{ID: j.ID, Action: oc.Action, Target: oc.target(), Status: "complete", Created: j.Submitted.UTC()}, nil
}

// command applies a queued operator command as the deployment's leader and
// commits it done with the state it leads to, in one batch.
func (m *multisite) command(ctx context.Context, l *decisionLoop, cmd sites.Command) {
	done := sites.Done{ID: cmd.ID}
	var trs []pool.Transition
	var oc opCommand
	err := json.Unmarshal(cmd.Data, &oc)
	if err == nil && oc.Action == serialFloor {
		m.raiseSerials(ctx, l, cmd, oc.Serials)
		return
	}
	var sp *pool.Savepoint
	if err == nil {
		var save func(*pool.Engine) *pool.Savepoint
		var op func(*pool.Engine, time.Time) (bool, []pool.Transition, error)
		if save, op, err = oc.ops(); err == nil {
			sp = save(l.engine)
			var changed bool
			changed, trs, err = op(l.engine, time.Now())
			if err != nil {
				l.engine.Rollback(sp)
			} else if !changed {
				done.Result = []byte(doneUnchanged)
			}
		}
	}
	if err != nil {
		done.Error = doneError(err)
	}
	now := time.Now()
	unit := oc.unit(l.plan.spec)
	if done.Error == "" && done.Result == nil {
		l.pub.settle(Decision{Time: now, Transitions: trs, Readdressed: []string{unit}}, l.engine)
	}
	var events []pool.Transition
	for _, t := range trs {
		if isChange(t.Kind) {
			events = append(events, t)
		}
	}
	ids, err := m.commitDone(ctx, l, []string{unit}, events, []sites.Done{done})
	if err != nil {
		m.log.Error("committing an operator command", zap.Uint64("job", cmd.ID), zap.Error(err))
		if sp != nil && done.Error == "" && done.Result == nil {
			l.engine.Rollback(sp) // it stays queued: applied again by whoever leads
			l.pub.settle(Decision{Time: now, Readdressed: []string{unit}}, l.engine)
		}
		return
	}
	m.log.Info("operator command", zap.Uint64("job", cmd.ID), zap.String("action", oc.Action), zap.String("target", oc.target()),
		zap.String("site", cmd.Site), zap.String("error", done.Error))
	for _, t := range trs {
		l.pub.announce(t)
	}
	m.markDelivered(ctx, ids)
}

// deploymentJob reads a finished command of the deployment from etcd.
func deploymentJob(ctx context.Context, ms *multisite, id uint64) (*api.Job, error) {
	j, ok, err := ms.s.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: job %d", api.ErrDoesNotExist, id)
	}
	var oc opCommand
	if err := json.Unmarshal(j.Data, &oc); err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	return &api.Job{ID: j.ID, Action: oc.Action, Target: oc.target(), Status: "complete", Created: j.Submitted.UTC()}, nil
}

var _ api.SitesController = (*controller)(nil)

// Sites implements api.SitesController: the deployment's live sites, or
// this node alone without an etcd block.
func (c *controller) Sites(ctx context.Context) (*api.SitesResponse, error) {
	if ms := c.loop.ms; ms != nil {
		v := ms.s.Sites()
		out := &api.SitesResponse{Leader: v.Leader, Connected: v.Connected, Revision: v.Revision, Sites: []api.Site{}}
		for _, s := range v.Sites {
			out.Sites = append(out.Sites, api.Site{Site: s.Site, Hostname: s.Hostname, Leader: s.Leader, LastSeen: s.LastSeen.UTC(), Version: s.Version})
		}
		return out, nil
	}
	var site, hostname string
	err := c.loop.call(ctx, func() error {
		site, hostname = c.loop.plan.cfg.Server.Site, c.loop.plan.cfg.Server.Hostname
		return nil
	})
	if err != nil {
		return nil, err
	}
	version := ""
	if c.daemon != nil {
		version = c.daemon.version
	}
	return &api.SitesResponse{Leader: site, Connected: true, Sites: []api.Site{{Site: site, Hostname: hostname, Leader: true, LastSeen: time.Now().UTC(), Version: version}}}, nil
}

// siteReports are every live site's views of target, for the service
// detail; nil on a single node.
func (ms *multisite) siteReports(target string) []api.SiteReport {
	if ms == nil || target == "" {
		return nil
	}
	var out []api.SiteReport
	for _, r := range ms.s.Reports(target) {
		out = append(out, api.SiteReport{Site: r.Site, Status: string(r.Status), Message: r.Message, RTTSeconds: r.RTT.Seconds()})
	}
	return out
}

// entryTarget is the probe key of one address of a service's region.
func entryTarget(sc pool.Service, region, address string) string {
	for _, r := range sc.Regions {
		if r.Code != region {
			continue
		}
		for _, e := range r.Entries {
			if e.Address == address {
				return e.Target
			}
		}
	}
	if address == sc.Address || address == sc.LiveRData {
		return sc.Target
	}
	return ""
}
