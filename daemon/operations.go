package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/store"
)

// Explain implements api.Controller. The DNS server works out the region
// and the candidate records from the snapshot it answers from; the engine
// says why that region serves them. Neither changes anything.
func (d *Daemon) Explain(ctx context.Context, q api.ExplainQuery) (*api.Explanation, error) {
	fqdn := strings.ToLower(q.FQDN)
	qtype, ok := dns.StringToType[q.Type]
	if !ok {
		return nil, fmt.Errorf("%w: query type %q", api.ErrBadRequest, q.Type)
	}
	dq := d.dns.Explain(fqdn, qtype, q.Client, q.ECS)
	ex := &api.Explanation{FQDN: fqdn, Type: q.Type, Kind: "", Answer: dq.Candidates, ServeCount: dq.ServeCount,
		Region: api.ExplainRegion{Code: dq.Region.Answered, Reason: dq.Region.Reason, Rule: dq.Region.Rule, ClientRegion: dq.Region.Code}}
	if q.Client.IsValid() {
		ex.Client = q.Client.String()
	}
	if q.ECS.IsValid() {
		ex.ECS = q.ECS.String()
	}
	err := d.call(func() error {
		pe, err := d.engine.Explain(fqdn, dq.Region.Answered)
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
		ex.Kind, ex.Status = string(pe.Kind), pe.Status
		if !dq.Service {
			// Not published (yet): what the engine would serve.
			ex.Answer, ex.ServeCount = candidateData(pe.Candidates), pe.ServeCount
		}
		for _, en := range pe.Entries {
			ex.Entries = append(ex.Entries, api.ExplainEntry{Address: en.Address, Label: en.Label, Status: en.Status,
				ServeMode: en.ServeMode, Weight: en.Weight, Removed: en.Removed, EPRank: en.Rank, InAnswer: en.InAnswer, Reason: en.Reason})
		}
		for _, h := range pe.Failover {
			ex.Failover = append(ex.Failover, api.FailoverHop{From: h.From, Mode: h.Mode, To: h.To})
		}
		ex.Steps = append([]string{"Client region: " + dq.Region.Reason + "."}, pe.Steps...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ex, nil
}

func candidateData(recs []pool.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Data
	}
	return out
}

// WhatIf implements api.Controller: the engine's WhatIf, on a copy.
func (d *Daemon) WhatIf(ctx context.Context, down, up []string) ([]api.WhatIfChange, error) {
	var out []api.WhatIfChange
	err := d.call(func() error {
		chs, err := d.engine.WhatIf(down, up, time.Now())
		if err != nil {
			return apiError(err)
		}
		for _, c := range chs {
			out = append(out, api.WhatIfChange{FQDN: c.FQDN, Region: c.Region, StatusNow: c.StatusNow,
				StatusThen: c.StatusThen, ServedNow: c.ServedNow, ServedThen: c.ServedThen})
		}
		return nil
	})
	return out, err
}

// Zones implements api.Controller.
func (d *Daemon) Zones(ctx context.Context) ([]api.Zone, error) {
	var out []api.Zone
	err := d.call(func() error {
		for _, origin := range d.zoneOrder {
			if z := d.zones[origin]; z != nil {
				out = append(out, api.Zone{Zone: origin, Serial: z.serial})
			}
		}
		return nil
	})
	return out, err
}

// Reload implements api.Controller: the reload SIGHUP does, as a job.
func (d *Daemon) Reload(ctx context.Context) (*api.Job, error) {
	return d.reloadJob("api")
}

// reloadJob is the one reload path of SIGHUP and POST /v1/reload: read the
// configuration, refuse it with its diagnostics, or apply it and record a
// job and, for every service whose configuration changed, a config event
// in its history (so the log report shows it beside the health changes).
func (d *Daemon) reloadJob(source string) (*api.Job, error) {
	cfg, files, diags := config.Load(d.configPath)
	if diags.HasErrors() {
		var b strings.Builder
		_ = config.WriteDiagnostics(&b, files, diags)
		d.metrics.reloads.WithLabelValues("failure").Inc()
		d.log.Error("reload refused: configuration has errors; keeping the running configuration",
			zap.String("source", source), zap.String("config", d.configPath), zap.String("diagnostics", b.String()))
		return nil, &api.DiagnosticsError{Summary: "configuration refused, nothing changed", Diagnostics: config.DiagnosticLines(diags)}
	}
	var old *config.Config
	_ = d.call(func() error { old = d.plan.cfg; return nil })
	if err := d.ReloadConfig(cfg); err != nil {
		d.metrics.reloads.WithLabelValues("failure").Inc()
		d.log.Error("reload refused; keeping the running configuration", zap.String("source", source), zap.Error(err))
		return nil, &api.DiagnosticsError{Summary: "configuration refused, nothing changed", Diagnostics: []string{d.configPath + ": error: " + err.Error()}}
	}
	d.metrics.reloads.WithLabelValues("success").Inc()
	now := time.Now().UTC()
	j := store.Job{Action: api.ActionReload, Target: d.configPath, Status: store.JobStatusComplete, Created: now}
	batch := store.Batch{Job: &j}
	msg := "configuration reloaded (" + source + ")"
	for _, fqdn := range serviceNames(cfg) {
		before, after := serviceConfig(old, fqdn), serviceConfig(cfg, fqdn)
		switch {
		case before == nil:
			batch.Events = append(batch.Events, store.Event{Time: now, Service: fqdn, Kind: api.EventConfig, Region: pool.GlobalRegion, NewStatus: "added", Message: msg})
		case !reflect.DeepEqual(before, after):
			batch.Events = append(batch.Events, store.Event{Time: now, Service: fqdn, Kind: api.EventConfig, Region: pool.GlobalRegion, NewStatus: "changed", Message: msg})
		}
	}
	if err := d.store.Commit(batch); err != nil {
		return nil, fmt.Errorf("recording the reload: %w", err)
	}
	d.log.Info("operator command", zap.Uint64("job", j.ID), zap.String("action", j.Action), zap.String("target", j.Target), zap.String("source", source))
	return &api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created}, nil
}

func serviceNames(cfg *config.Config) []string {
	var out []string
	for _, s := range cfg.ActiveFailovers {
		out = append(out, s.FQDN)
	}
	for _, s := range cfg.GSLBs {
		out = append(out, s.FQDN)
	}
	for _, s := range cfg.RTTMs {
		out = append(out, s.FQDN)
	}
	for _, s := range cfg.SFPools {
		out = append(out, s.FQDN)
	}
	return out
}
