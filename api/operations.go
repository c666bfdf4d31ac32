package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ActionReload is the job action of POST /v1/reload.
const ActionReload = "reload"

// EventConfig is the log report's event kind of a reload that added or
// changed the service (new_status "added" or "changed").
const EventConfig = "config"

// Operations are the operators' tools of the API (docs/api.md,
// "Operations"): explain, what-if, reload and the zone list. Controller
// embeds it.
type Operations interface {
	// Explain says why a client gets its answer at q.FQDN, from the live
	// state and without changing it. ErrDoesNotExist when the name is no
	// service of ours.
	Explain(ctx context.Context, q ExplainQuery) (*Explanation, error)
	// WhatIf returns the services whose status or answer would change if
	// the addresses in down were down and those in up were up now,
	// computed on a copy: nothing changes, nothing is announced.
	WhatIf(ctx context.Context, down, up []string) ([]WhatIfChange, error)
	// Reload re-reads the configuration, as SIGHUP does. A configuration
	// with errors changes nothing: the error is a *DiagnosticsError.
	Reload(ctx context.Context) (*Job, error)
	// Zones lists the served zones with their serials.
	Zones(ctx context.Context) ([]Zone, error)
}

// ExplainQuery is what GET /v1/explain asks about.
type ExplainQuery struct {
	// FQDN is absolute, with the trailing dot.
	FQDN string
	// Type is A (default), AAAA, CNAME, SRV or ANY.
	Type string
	// Client is the querying address (default: the API caller's).
	Client netip.Addr
	// ECS is the EDNS Client Subnet of the query; invalid when none.
	ECS netip.Prefix
}

// Explanation is the answer of GET /v1/explain.
type Explanation struct {
	FQDN   string `json:"fqdn"`
	Type   string `json:"type"`
	Client string `json:"client"`
	ECS    string `json:"ecs,omitempty"`
	Kind   string `json:"kind"`
	// Status is the status of the region that answers (sf_pool: OK,
	// CRITICAL or MANUAL).
	Status string        `json:"status"`
	Region ExplainRegion `json:"region"`
	// Answer is the candidate rdata after every rule, before the weighted
	// pick of serve_count of them.
	Answer     []string       `json:"answer"`
	ServeCount int            `json:"serve_count"`
	Entries    []ExplainEntry `json:"entries"`
	// Failover is the chain followed, empty when the region serves its
	// own set.
	Failover []FailoverHop `json:"failover"`
	// Steps are the decision as sentences, in order.
	Steps []string `json:"steps"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (e Explanation) MarshalJSON() ([]byte, error) {
	type plain Explanation
	p := plain(e)
	p.Answer = nonNil(p.Answer)
	p.Steps = nonNil(p.Steps)
	if p.Entries == nil {
		p.Entries = []ExplainEntry{}
	}
	if p.Failover == nil {
		p.Failover = []FailoverHop{}
	}
	return json.Marshal(p)
}

// ExplainRegion is the region whose answer the client gets and the rule
// that chose it.
type ExplainRegion struct {
	// Code is the region of the service that answers.
	Code string `json:"code"`
	// Reason is the rule that chose the region: ecs (the query's ECS
	// subnet), region_map, geoip or global.
	Reason string `json:"reason"`
	// Rule is what matched the address used (the ECS subnet's, or the
	// source's): region_map, geoip or global.
	Rule string `json:"rule"`
	// Detail says it in words.
	Detail string `json:"detail"`
	// ClientRegion is the region the client maps to by the rule (Code
	// differs when the service has no such region).
	ClientRegion string `json:"client_region"`
}

// ExplainEntry is one address of the answering region.
type ExplainEntry struct {
	Address   string `json:"address"`
	Label     string `json:"label,omitempty"`
	Status    string `json:"status"`
	ServeMode string `json:"serve_mode"`
	Weight    int    `json:"weight"`
	Removed   bool   `json:"removed"`
	// EPRank is the rttm eligibility-pool rank (1 = fastest), 0 outside it.
	EPRank   int    `json:"ep_rank,omitempty"`
	InAnswer bool   `json:"in_answer"`
	Reason   string `json:"reason"`
}

// FailoverHop is one step of a failover chain: region From failed over by
// Mode (ip, cname, region, global) to To (a region, an IP or a name).
type FailoverHop struct {
	From string `json:"from"`
	Mode string `json:"mode"`
	To   string `json:"to"`
}

// WhatIfRequest is the body of POST /v1/whatif.
type WhatIfRequest struct {
	Down []string `json:"down"`
	Up   []string `json:"up"`
}

// WhatIfChange is one region whose status or answer would change.
type WhatIfChange struct {
	FQDN       string   `json:"fqdn"`
	Region     string   `json:"region"`
	StatusNow  string   `json:"status_now"`
	StatusThen string   `json:"status_then"`
	ServedNow  []string `json:"served_now"`
	ServedThen []string `json:"served_then"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (c WhatIfChange) MarshalJSON() ([]byte, error) {
	type plain WhatIfChange
	p := plain(c)
	p.ServedNow, p.ServedThen = nonNil(p.ServedNow), nonNil(p.ServedThen)
	return json.Marshal(p)
}

// WhatIfResponse is the answer of POST /v1/whatif.
type WhatIfResponse struct {
	Changes []WhatIfChange `json:"changes"`
}

// Zone is one served zone.
type Zone struct {
	Zone   string `json:"zone"`
	Serial uint32 `json:"serial"`
	Signed bool   `json:"signed"`
}

// ZonesResponse is the answer of GET /v1/zones.
type ZonesResponse struct {
	Zones []Zone `json:"zones"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// explainTypes are the query types GET /v1/explain accepts.
var explainTypes = []string{"A", "AAAA", "CNAME", "SRV", "ANY"}

func (s *Server) operationRoutes(v1 *http.ServeMux) {
	v1.Handle("GET /v1/explain", s.api(s.explain))
	v1.Handle("POST /v1/whatif", s.api(s.whatIf))
	v1.Handle("POST /v1/reload", s.api(s.reload))
	v1.Handle("GET /v1/zones", s.api(s.zones))
	v1.Handle("GET /v1/sites", s.api(s.listSites))
}

func (s *Server) explain(r *http.Request) (any, *APIError) {
	v := r.URL.Query()
	if v.Get("fqdn") == "" {
		return nil, badRequest("missing parameter fqdn")
	}
	fqdn, err := NormalizeFQDN(v.Get("fqdn"))
	if err != nil {
		return nil, badRequest("invalid parameter fqdn: %v", err)
	}
	q := ExplainQuery{FQDN: fqdn, Type: strings.ToUpper(strings.TrimSpace(v.Get("type")))}
	if q.Type == "" {
		q.Type = "A"
	}
	if !slices.Contains(explainTypes, q.Type) {
		return nil, badRequest("invalid parameter type %q: want one of %s", v.Get("type"), strings.Join(explainTypes, ", "))
	}
	if c := strings.TrimSpace(v.Get("client")); c != "" {
		a, err := netip.ParseAddr(c)
		if err != nil {
			return nil, badRequest("invalid parameter client %q: not an IP address", c)
		}
		q.Client = a.WithZone("").Unmap()
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		// Without a client, explain the answer the caller itself would get.
		if a, err := netip.ParseAddr(host); err == nil {
			q.Client = a.WithZone("").Unmap()
		}
	}
	if e := strings.TrimSpace(v.Get("ecs")); e != "" {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil {
				return nil, badRequest("invalid parameter ecs %q: want a prefix such as 198.51.100.0/24", e)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		q.ECS = p.Masked()
	}
	ex, cerr := s.ctl.Explain(r.Context(), q)
	if cerr != nil {
		return nil, errorFor(cerr)
	}
	if ex == nil {
		return nil, notFound("service %s does not exist", fqdn)
	}
	return ex, nil
}

func (s *Server) whatIf(r *http.Request) (any, *APIError) {
	var req WhatIfRequest
	if _, aerr := decodeBody(r, &req, false); aerr != nil {
		return nil, aerr
	}
	clean := func(list []string, what string) ([]string, *APIError) {
		out := make([]string, 0, len(list))
		for _, a := range list {
			a = strings.TrimSpace(a)
			if a == "" {
				return nil, badRequest("empty address in %s", what)
			}
			if ip, err := netip.ParseAddr(a); err == nil {
				a = ip.Unmap().String()
			} else if n, err := NormalizeFQDN(strings.ToLower(a)); err == nil {
				a = n // a host name (an active_failover primary, a pool name)
			} else {
				return nil, badRequest("invalid address %q in %s: want an IP address or a host name", a, what)
			}
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
		return out, nil
	}
	down, aerr := clean(req.Down, "down")
	if aerr != nil {
		return nil, aerr
	}
	up, aerr := clean(req.Up, "up")
	if aerr != nil {
		return nil, aerr
	}
	if len(down) == 0 && len(up) == 0 {
		return nil, badRequest("nothing to simulate: give addresses in down and/or up")
	}
	for _, a := range down {
		if slices.Contains(up, a) {
			return nil, badRequest("address %s is in both down and up", a)
		}
	}
	changes, err := s.ctl.WhatIf(r.Context(), down, up)
	if err != nil {
		return nil, errorFor(err)
	}
	if changes == nil {
		changes = []WhatIfChange{}
	}
	return WhatIfResponse{Changes: changes}, nil
}

func (s *Server) reload(r *http.Request) (any, *APIError) {
	if _, aerr := decodeBody(r, &struct{}{}, true); aerr != nil {
		return nil, aerr
	}
	job, err := s.ctl.Reload(r.Context())
	return s.jobResult(r, job, err)
}

func (s *Server) zones(r *http.Request) (any, *APIError) {
	zs, err := s.ctl.Zones(r.Context())
	if err != nil {
		return nil, errorFor(err)
	}
	if zs == nil {
		zs = []Zone{}
	}
	return ZonesResponse{Zones: zs}, nil
}

// filterServices applies the ?kind= and ?status= filters of GET
// /v1/services (each may repeat or hold a comma list; status compares
// without letter case, so ?status=ok also finds an sf_pool's OK).
func filterServices(list []ServiceSummary, r *http.Request) ([]ServiceSummary, *APIError) {
	q := r.URL.Query()
	values := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, strings.ToLower(p))
				}
			}
		}
		return out
	}
	kinds, statuses := values("kind"), values("status")
	for _, k := range kinds {
		if !slices.Contains([]string{KindActiveFailover, KindGSLB, KindRTTM, KindSFPool}, k) {
			return nil, badRequest("invalid parameter kind %q: want active_failover, gslb, rttm or sf_pool", k)
		}
	}
	for _, st := range statuses {
		if !slices.Contains([]string{"ok", "trouble", "failover", "unk", "critical", "manual"}, st) {
			return nil, badRequest("invalid parameter status %q: want ok, trouble, failover, unk, critical or manual", st)
		}
	}
	out := []ServiceSummary{}
	for _, sv := range list {
		if len(kinds) > 0 && !slices.Contains(kinds, sv.Kind) {
			continue
		}
		if len(statuses) > 0 && !slices.Contains(statuses, strings.ToLower(sv.Status)) {
			continue
		}
		out = append(out, sv)
	}
	return out, nil
}

// MaxServicesLimit is the largest ?limit= GET /v1/services accepts: a page
// stays a small document even at 100,000 services.
const MaxServicesLimit = 1000

// pageServices applies ?q= (a substring of the FQDN, any letter case),
// ?after= (only FQDNs sorting after this one) and ?limit= (at most this
// many, with "next" when more follow) of GET /v1/services. Paged answers
// are in FQDN order so that "after" means the same on every request;
// without any of the three the list stays whole and in engine order, as
// before paging existed.
func pageServices(list []ServiceSummary, r *http.Request) (ServicesResponse, *APIError) {
	params := r.URL.Query()
	q := strings.ToLower(strings.TrimSpace(params.Get("q")))
	after := strings.ToLower(strings.TrimSpace(params.Get("after")))
	if after != "" && !strings.HasSuffix(after, ".") {
		after += "."
	}
	limit := 0
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxServicesLimit {
			return ServicesResponse{}, badRequest("invalid parameter limit %q: want a number from 1 to %d", v, MaxServicesLimit)
		}
		limit = n
	}
	if q == "" && after == "" && limit == 0 {
		return ServicesResponse{Services: list}, nil
	}
	// Each name is lowered once, not in every comparison of the sort
	// (0.3 s a page at 100,000 services).
	type named struct {
		name string
		sv   ServiceSummary
	}
	matched := make([]named, 0, min(len(list), max(limit, 1)))
	for _, sv := range list {
		name := strings.ToLower(sv.FQDN)
		if after != "" && name <= after {
			continue
		}
		if q != "" && !strings.Contains(name, q) {
			continue
		}
		matched = append(matched, named{name, sv})
	}
	slices.SortFunc(matched, func(a, b named) int { return strings.Compare(a.name, b.name) })
	out := make([]ServiceSummary, len(matched))
	for i, m := range matched {
		out[i] = m.sv
	}
	resp := ServicesResponse{Services: out}
	if limit > 0 && len(out) > limit {
		resp.Services = out[:limit]
		resp.Next = out[limit-1].FQDN
	}
	return resp, nil
}
