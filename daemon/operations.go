package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/store"
)

// Explain implements api.Controller. The DNS server works out the region
// and the candidate records from the snapshot it answers from; the engine
// says why that region serves them. Neither changes anything.
func (c *controller) Explain(ctx context.Context, q api.ExplainQuery) (*api.Explanation, error) {
	fqdn := strings.ToLower(q.FQDN)
	qtype, ok := dnsserver.QueryType(q.Type)
	if !ok {
		return nil, fmt.Errorf("%w: query type %q", api.ErrBadRequest, q.Type)
	}
	ex := &api.Explanation{FQDN: fqdn, Type: q.Type}
	if q.Client.IsValid() {
		ex.Client = q.Client.String()
	}
	if q.ECS.IsValid() {
		ex.ECS = q.ECS.String()
	}
	err := c.loop.call(ctx, func() error {
		// On the loop, so the snapshot DNS answers from and the engine are
		// the same moment's.
		dq := c.loop.pub.dns.Explain(fqdn, qtype, q.Client, q.ECS)
		ex.Answer, ex.ServeCount = dq.Candidates, dq.ServeCount
		ex.Region = api.ExplainRegion{Code: dq.Region.Answered, Reason: dq.Region.Rule, Rule: dq.Region.Matched,
			Detail: dq.Region.Reason, ClientRegion: dq.Region.Code}
		code := dq.Region.Answered
		if !dq.Service {
			// Not published yet: the engine answers for the client's own
			// region (or its global one when the service lacks it).
			code = dq.Region.Code
		}
		pe, err := c.loop.engine.Explain(fqdn, code)
		if errors.Is(err, pool.ErrNotFound) && dq.Service {
			// A real service's own name (<real>.<fqdn>): DNS answers its
			// address whatever its state.
			ex.Kind = string(pool.KindCluster)
			ex.Steps = []string{fmt.Sprintf("%s is the name of one cluster real service: it always answers that server's address.", fqdn)}
			return nil
		}
		if err != nil {
			return apiError(err)
		}
		ex.Kind, ex.Status = string(pe.Kind), string(pe.Status)
		if !dq.Service {
			// Not published (yet): what the engine would serve.
			ex.Answer, ex.ServeCount, ex.Region.Code = candidateData(pe.Candidates), pe.ServeCount, pe.Region
		}
		for _, en := range pe.Entries {
			ee := api.ExplainEntry{Address: en.Address, Label: en.Label, Status: string(en.Status),
				ServeMode: string(en.ServeMode), Weight: en.Weight, Removed: en.Removed, EPRank: en.Rank, InAnswer: en.InAnswer, Reason: en.Reason}
			if other := otherFamily(en.Address, q.Type); other != "" && ee.InAnswer {
				// Served, but to the other family's queries.
				ee.InAnswer = false
				ee.Reason += "; an " + other + " record, answered to " + other + " queries only"
			} else if q.Type == "CNAME" && ee.InAnswer && !slices.Contains(ex.Answer, en.Address) {
				ee.InAnswer = false
				ee.Reason += "; an address, answered to A and AAAA queries, not to CNAME ones"
			}
			ex.Entries = append(ex.Entries, ee)
		}
		for _, h := range pe.Failover {
			ex.Failover = append(ex.Failover, api.FailoverHop{From: h.From, Mode: string(h.Mode), To: h.To})
		}
		ex.Steps = append([]string{"Client region: " + dq.Region.Reason + "."}, pe.Steps...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ex, nil
}

// otherFamily is "A" or "AAAA" when address is an IP of the family that an
// A or AAAA query (qtype) does not get, "" otherwise.
func otherFamily(address, qtype string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return ""
	}
	switch v4 := ip.Unmap().Is4(); {
	case qtype == "A" && !v4:
		return "AAAA"
	case qtype == "AAAA" && v4:
		return "A"
	}
	return ""
}

func candidateData(recs []pool.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Data
	}
	return out
}

// WhatIf implements api.Controller: the engine's WhatIf, on a copy.
func (c *controller) WhatIf(ctx context.Context, down, up []string) ([]api.WhatIfChange, error) {
	var out []api.WhatIfChange
	err := c.loop.call(ctx, func() error {
		chs, err := c.loop.engine.WhatIf(down, up, time.Now())
		if err != nil {
			return apiError(err)
		}
		for _, c := range chs {
			out = append(out, api.WhatIfChange{FQDN: c.FQDN, Region: c.Region, StatusNow: string(c.StatusNow),
				StatusThen: string(c.StatusThen), ServedNow: c.ServedNow, ServedThen: c.ServedThen})
		}
		return nil
	})
	return out, err
}

// Zones implements api.Controller.
func (c *controller) Zones(ctx context.Context) ([]api.Zone, error) {
	var out []api.Zone
	err := c.loop.call(ctx, func() error {
		pb := c.loop.pub
		for _, origin := range pb.zoneOrder {
			if z := pb.zones[origin]; z != nil {
				out = append(out, api.Zone{Zone: origin, Serial: z.serial, Signed: z.signer != nil})
			}
		}
		return nil
	})
	return out, err
}

// Reload implements api.Controller: the reload SIGHUP does, as a job.
func (c *controller) Reload(ctx context.Context) (*api.Job, error) {
	if c.daemon == nil {
		return nil, errors.New("reload is not available")
	}
	return c.daemon.reloadJob(ctx, "api")
}

// reloadJob is the one reload path of SIGHUP and POST /v1/reload: read the
// configuration, refuse it with its diagnostics, or apply it. An applied
// reload is recorded before it is swapped in, in one commit: a job and,
// for every service whose configuration it adds or changes, a config event
// in the service's history, so the log report shows configuration changes
// next to health changes. When that commit fails nothing is swapped.
func (d *Daemon) reloadJob(ctx context.Context, source string) (*api.Job, error) {
	// Reloads and changes of managed services go one at a time.
	d.configMu.Lock()
	defer d.configMu.Unlock()
	cfg, files, diags := config.Load(d.configPath)
	var err error = &diagnosticsError{diags}
	var job *api.Job
	if !diags.HasErrors() {
		now := time.Now().UTC()
		err = d.reloadWith(ctx, &reloadTxn{cfg: cfg, now: now, record: func(t *reloadTxn) error {
			j := store.Job{Action: api.ActionReload, Target: d.configPath, Status: store.JobStatusComplete, Created: now}
			batch := store.Batch{Job: &j, Events: configEvents(d.loop.plan.cfg, t.cfg, now, "configuration reloaded ("+source+")")}
			if err := d.loop.store.Commit(batch); err != nil {
				return fmt.Errorf("recording the reload: %w", err)
			}
			job = &api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created}
			return nil
		}})
	}
	var de *diagnosticsError
	switch {
	case errors.As(err, &de):
		var b strings.Builder
		_ = config.WriteDiagnostics(&b, files, de.diags)
		d.metrics.reloads.WithLabelValues("failure").Inc()
		d.log.Error("reload refused: configuration has errors; keeping the running configuration",
			zap.String("source", source), zap.String("config", d.configPath), zap.String("diagnostics", b.String()))
		return nil, &api.DiagnosticsError{Summary: "configuration refused, nothing changed", Diagnostics: config.DiagnosticLines(de.diags)}
	case err != nil:
		d.metrics.reloads.WithLabelValues("failure").Inc()
		d.log.Error("reload refused; keeping the running configuration", zap.String("source", source), zap.Error(err))
		return nil, err
	}
	d.metrics.reloads.WithLabelValues("success").Inc()
	d.log.Info("operator command", zap.Uint64("job", job.ID), zap.String("action", job.Action), zap.String("target", job.Target), zap.String("source", source))
	return job, nil
}

// configEvents are the config events of a reload from old to cfg: one per
// service it adds or whose settings (as read back) it changes.
func configEvents(old, cfg *config.Config, now time.Time, msg string) []store.Event {
	previous := map[string]func() map[string]any{}
	if old != nil {
		for fqdn, render := range serviceConfigs(old) {
			previous[fqdn] = render
		}
	}
	type service struct {
		fqdn   string
		render func() map[string]any
		status string // "added", "changed" or "" (unchanged)
	}
	var services []service
	for fqdn, render := range serviceConfigs(cfg) {
		services = append(services, service{fqdn: fqdn, render: render})
	}
	// Reading back and comparing are pure and were most of a 100,000-service
	// reload's time on the decision loop: they are spread over the cores.
	inParallel(len(services), func(i int) {
		s := &services[i]
		switch before := previous[s.fqdn]; {
		case before == nil:
			s.status = "added"
		case !sameReadBack(before(), s.render()):
			s.status = "changed"
		}
	})
	var evs []store.Event
	for _, s := range services {
		if s.status != "" {
			evs = append(evs, store.Event{Time: now, Service: s.fqdn, Kind: api.EventConfig, Region: pool.GlobalRegion, NewStatus: s.status, Message: msg})
		}
	}
	return evs
}

// sameReadBack is reflect.DeepEqual for read-backs: the maps, lists,
// strings, numbers and booleans they are made of are compared directly
// (DeepEqual's reflection was half of a reload's config events), anything
// else by reflect.DeepEqual.
func sameReadBack(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int:
		y, ok := b.(int)
		return ok && x == y
	case []string:
		y, ok := b.([]string)
		return ok && (x == nil) == (y == nil) && slices.Equal(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameReadBack(v, w) {
				return false
			}
		}
		return true
	case []map[string]any:
		y, ok := b.([]map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameReadBack(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// inParallel calls fn for every i in [0, n), in GOMAXPROCS contiguous runs
// on as many goroutines, and returns when all are done. fn must only write
// to the i-th element of a result.
func inParallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}
