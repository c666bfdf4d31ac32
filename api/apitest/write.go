package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/failoverd/failoverd/api"
)

// The seeded services come from the operator's files: Memory says where,
// as the daemon does, when a PUT or DELETE is refused.
const seededFile = "/etc/failoverd/failoverd.hcl"

// PutService implements api.ServiceWriter. It checks the body's shape as
// the daemon's loader would (exactly one service block, its label the path's
// fqdn, pool weights 1..15) and turns regions and pools into entries; it
// does not check monitors or zones.
func (m *Memory) PutService(_ context.Context, fqdn string, body []byte) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	name := strings.ToLower(fqdn)
	if d, ok := m.services[name]; ok && !d.Managed {
		return nil, fmt.Errorf("%w: service %s is defined in the configuration files at %s:%d; change it there", api.ErrPreconditionFailed, name, seededFile, m.line(name))
	}
	d, err := parseService(name, body)
	if err != nil {
		return nil, err
	}
	action := api.ActionCreate
	if old, ok := m.services[name]; ok {
		action = api.ActionUpdate
		d.Active = old.Active
	} else {
		m.order = append(m.order, name)
	}
	m.services[name] = d
	if m.bodies == nil {
		m.bodies = map[string][]byte{}
	}
	m.bodies[name] = append([]byte(nil), body...)
	return m.job(action, name), nil
}

// ServiceSource implements api.ServiceWriter: managed services' bodies as
// PUT; Memory has no source for its seeded services.
func (m *Memory) ServiceSource(_ context.Context, fqdn string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := strings.ToLower(fqdn)
	d, err := m.lookup(name)
	if err != nil {
		return nil, false, err
	}
	return m.bodies[name], d.Managed, nil
}

// ServicesAsJSON implements api.ServiceWriter. Memory reads no HCL: it
// refuses every file, as the daemon refuses one that does not parse.
func (m *Memory) ServicesAsJSON(_ context.Context, filename string, _ []byte) ([]api.ServiceBlock, error) {
	return nil, &api.DiagnosticsError{Summary: "the file's service blocks cannot be read", Diagnostics: []string{filename + ":1:1: error: Memory reads no HCL"}}
}

// DeleteService implements api.ServiceWriter.
func (m *Memory) DeleteService(_ context.Context, fqdn string) (*api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	name := strings.ToLower(fqdn)
	d, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if !d.Managed {
		return nil, fmt.Errorf("%w: service %s is defined in the configuration files at %s:%d; remove it there", api.ErrPreconditionFailed, name, seededFile, m.line(name))
	}
	delete(m.services, name)
	m.order = slices.DeleteFunc(m.order, func(s string) bool { return s == name })
	return m.job(api.ActionDelete, name), nil
}

// line is a stable made-up line of a seeded service.
func (m *Memory) line(name string) int {
	return 10 * (slices.Index(m.order, name) + 1)
}

func diagnostic(summary string, args ...any) error {
	s := fmt.Sprintf(summary, args...)
	return &api.DiagnosticsError{Summary: "the service has errors", Diagnostics: []string{"request:1:1: error: " + s}}
}

// parseService reads {"KIND": {"FQDN": {...}}}.
func parseService(fqdn string, body []byte) (*api.ServiceDetail, error) {
	var top map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, diagnostic("Invalid JSON: %v", err)
	}
	if len(top) != 1 {
		return nil, diagnostic("Give exactly one service block")
	}
	var kind string
	var blocks map[string]json.RawMessage
	for k, v := range top {
		kind, blocks = k, v
	}
	if !slices.Contains([]string{api.KindActiveFailover, api.KindGSLB, api.KindRTTM, api.KindSFPool}, kind) {
		return nil, diagnostic("Extraneous JSON object property %q", kind)
	}
	if len(blocks) != 1 {
		return nil, diagnostic("More than one service block")
	}
	var label string
	var raw json.RawMessage
	for k, v := range blocks {
		label, raw = k, v
	}
	if n := strings.ToLower(strings.TrimSuffix(label, ".")) + "."; n != fqdn {
		return nil, fmt.Errorf("%w: the path names %s but the body's service is %s", api.ErrBadRequest, fqdn, label)
	}
	var svc struct {
		Address string `json:"address"`
		RData   string `json:"rdata"`
		Region  map[string]struct {
			Pool map[string]struct {
				Weight    *int   `json:"weight"`
				Label     string `json:"label"`
				ServeMode string `json:"serve_mode"`
			} `json:"pool"`
		} `json:"region"`
	}
	if err := json.Unmarshal(raw, &svc); err != nil {
		return nil, diagnostic("Unsuitable value type: %v", err)
	}
	d := &api.ServiceDetail{FQDN: fqdn, Kind: kind, Status: "unk", Active: true, Managed: true}
	entry := func(addr string) api.Entry {
		return api.Entry{Address: addr, Weight: 1, ServeMode: "obey", Status: "unk"}
	}
	switch kind {
	case api.KindActiveFailover:
		d.Regions = []api.Region{{Code: "global", Status: "unk", Served: []string{svc.Address}, Entries: []api.Entry{entry(svc.Address)}}}
	case api.KindSFPool:
		d.Status, d.LiveRecordState = "OK", "NOT_FORCED"
		d.Regions = []api.Region{{Code: "global", Status: "OK", Served: []string{svc.RData}, Entries: []api.Entry{entry(svc.RData)}}}
	default:
		codes := make([]string, 0, len(svc.Region))
		for c := range svc.Region {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			r := api.Region{Code: c, Status: "unk", Served: []string{}, Entries: []api.Entry{}}
			addrs := make([]string, 0, len(svc.Region[c].Pool))
			for a := range svc.Region[c].Pool {
				addrs = append(addrs, a)
			}
			sort.Strings(addrs)
			for _, a := range addrs {
				p := svc.Region[c].Pool[a]
				e := entry(a)
				if p.Weight != nil {
					if *p.Weight < 1 || *p.Weight > 15 {
						return nil, diagnostic("Invalid weight: weight must be 1..15; got %d", *p.Weight)
					}
					e.Weight = *p.Weight
				}
				if p.ServeMode != "" {
					e.ServeMode = p.ServeMode
				}
				e.Label = p.Label
				r.Entries = append(r.Entries, e)
				r.Served = append(r.Served, a)
			}
			d.Regions = append(d.Regions, r)
		}
	}
	return d, nil
}
