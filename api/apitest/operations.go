package apitest

import (
	"context"
	"fmt"
	"slices"

	"github.com/failoverd/failoverd/api"
)

// seedOperations gives the seeded services their configuration read-back
// and the zone list.
func (m *Memory) seedOperations() {
	m.services["app.example.com."].Config = map[string]any{
		"ttl": 30, "auto_recover": true, "recovery_delay": 0, "notify_events": []string{"ip", "svc"},
		"contact": "ops@example.com",
		"monitor": map[string]any{"protocol": "HTTPS", "port": 443, "path": "/health", "interval": "30s", "timeout": "5s"},
		"region": map[string]any{
			"US East": map[string]any{"serve_count": 1, "min_healthy": 1, "failover_mode": "global",
				"pool": map[string]any{"192.0.2.10": map[string]any{"label": "use-1", "weight": 5, "serve_mode": "obey"},
					"192.0.2.11": map[string]any{"label": "use-2", "weight": 10, "serve_mode": "remove"}}},
			"global": map[string]any{"serve_count": 0, "min_healthy": 1, "failover_mode": "ip", "failover_data": "198.51.100.9",
				"pool": map[string]any{"192.0.2.20": map[string]any{"weight": 1, "serve_mode": "obey"},
					"2001:db8::20": map[string]any{"weight": 1, "serve_mode": "obey"}}},
		},
	}
	m.services["a.example.com."].Config = map[string]any{
		"ttl": 60, "rrtype": "A", "live_rdata": "192.0.2.40", "backup_rdata": "192.0.2.41",
		"description": "live web front", "backup_description": "sorry server",
		"monitor": map[string]any{"protocol": "HTTP", "port": 80, "path": "/"},
	}
	m.zones = []api.Zone{{Zone: "example.com.", Serial: 2026112305, Signed: true}, {Zone: "example.net.", Serial: 2026112301}}
}

// SetReloadDiagnostics makes every later Reload fail with these
// diagnostics (nil: reloads succeed).
func (m *Memory) SetReloadDiagnostics(d []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reloadDiags = slices.Clone(d)
}

// Reloads counts the reloads that succeeded.
func (m *Memory) Reloads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloads
}

// Explain implements api.Controller: the seeded services' state in words,
// the region being the client's ("US East" for 198.51.100.0/24, global
// otherwise).
func (m *Memory) Explain(_ context.Context, q api.ExplainQuery) (*api.Explanation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.lookup(q.FQDN)
	if err != nil {
		return nil, err
	}
	ex := &api.Explanation{FQDN: d.FQDN, Type: q.Type, Client: q.Client.String(), Kind: d.Kind,
		Region: api.ExplainRegion{Code: "global", ClientRegion: "global", Reason: "global", Rule: "global",
			Detail: "global: " + q.Client.String() + " matches no region_map prefix"}}
	if q.ECS.IsValid() {
		ex.ECS = q.ECS.String()
	}
	if q.Client.Is4() && q.Client.As4()[0] == 198 && q.Client.As4()[1] == 51 && q.Client.As4()[2] == 100 {
		ex.Region = api.ExplainRegion{Code: "global", ClientRegion: "US East", Reason: "region_map", Rule: "region_map",
			Detail: "region_map: the source address " + q.Client.String() + " is in the region_map prefix 198.51.100.0/24 of US East"}
	}
	for _, r := range d.Regions {
		if r.Code == ex.Region.ClientRegion {
			ex.Region.Code = r.Code
		}
	}
	for _, r := range d.Regions {
		if r.Code != ex.Region.Code {
			continue
		}
		ex.Status = r.Status
		ex.Answer = slices.Clone(r.Served)
		for _, en := range r.Entries {
			in := slices.Contains(r.Served, en.Address)
			reason := en.Status
			if en.Status == "down" {
				reason = "down since " + m.base.Format("2006-01-02T15:04:05Z07:00") + ": " + en.Message
			}
			if en.Removed {
				reason = "removed until recovered (serve_mode remove); " + reason
			}
			ex.Entries = append(ex.Entries, api.ExplainEntry{Address: en.Address, Label: en.Label, Status: en.Status,
				ServeMode: en.ServeMode, Weight: en.Weight, Removed: en.Removed, InAnswer: in, Reason: reason})
		}
		ex.Steps = []string{fmt.Sprintf("%s is a %s service, monitored.", d.FQDN, d.Kind), fmt.Sprintf("Region %s is %s.", r.Code, r.Status)}
	}
	return ex, nil
}

// WhatIf implements api.Controller: an address down leaves every served
// set it is in (a region left empty is in failover); up changes nothing.
func (m *Memory) WhatIf(_ context.Context, down, up []string) ([]api.WhatIfChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	known := map[string]bool{}
	for _, d := range m.services {
		for _, r := range d.Regions {
			for _, en := range r.Entries {
				known[en.Address] = true
			}
		}
	}
	for _, a := range append(slices.Clone(down), up...) {
		if !known[a] {
			return nil, fmt.Errorf("address %s: not monitored by any service: %w", a, api.ErrDoesNotExist)
		}
	}
	var out []api.WhatIfChange
	for _, f := range m.order {
		d := m.services[f]
		for _, r := range d.Regions {
			then := slices.DeleteFunc(slices.Clone(r.Served), func(a string) bool { return slices.Contains(down, a) })
			if len(then) == len(r.Served) {
				continue
			}
			st := "trouble"
			if len(then) == 0 {
				st = "failover"
			}
			out = append(out, api.WhatIfChange{FQDN: d.FQDN, Region: r.Code, StatusNow: r.Status, StatusThen: st,
				ServedNow: slices.Clone(r.Served), ServedThen: then})
		}
	}
	return out, nil
}

// Reload implements api.Controller: a job, or the diagnostics set with
// SetReloadDiagnostics (and nothing changed).
func (m *Memory) Reload(_ context.Context) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.reloadDiags) > 0 {
		return nil, &api.DiagnosticsError{Summary: "configuration refused", Diagnostics: slices.Clone(m.reloadDiags)}
	}
	m.calls++
	m.reloads++
	return m.job(api.ActionReload, "/etc/failoverd/failoverd.hcl"), nil
}

// Zones implements api.Controller.
func (m *Memory) Zones(_ context.Context) ([]api.Zone, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.zones), nil
}
