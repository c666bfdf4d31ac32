package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ServicesFiltered calls GET /v1/services?kind=...&status=... (empty lists
// filter nothing).
func (c *Client) ServicesFiltered(ctx context.Context, kinds, statuses []string) ([]ServiceSummary, error) {
	q := url.Values{}
	if len(kinds) > 0 {
		q.Set("kind", strings.Join(kinds, ","))
	}
	if len(statuses) > 0 {
		q.Set("status", strings.Join(statuses, ","))
	}
	path := "/v1/services"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r ServicesResponse
	err := c.Do(ctx, http.MethodGet, path, nil, &r)
	return r.Services, err
}

// Explain calls GET /v1/explain. client and ecs may be empty; typ ""
// means A.
func (c *Client) Explain(ctx context.Context, fqdn, typ, client, ecs string) (*Explanation, error) {
	q := url.Values{"fqdn": {fqdn}}
	if typ != "" {
		q.Set("type", typ)
	}
	if client != "" {
		q.Set("client", client)
	}
	if ecs != "" {
		q.Set("ecs", ecs)
	}
	var r Explanation
	if err := c.Do(ctx, http.MethodGet, "/v1/explain?"+q.Encode(), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// WhatIf calls POST /v1/whatif.
func (c *Client) WhatIf(ctx context.Context, down, up []string) ([]WhatIfChange, error) {
	if down == nil {
		down = []string{}
	}
	if up == nil {
		up = []string{}
	}
	var r WhatIfResponse
	err := c.Do(ctx, http.MethodPost, "/v1/whatif", WhatIfRequest{Down: down, Up: up}, &r)
	return r.Changes, err
}

// Reload calls POST /v1/reload. A refused configuration is an *APIError
// whose Diagnostics list the problems.
func (c *Client) Reload(ctx context.Context) (*Job, error) {
	return c.job(ctx, "/v1/reload", nil)
}

// Zones calls GET /v1/zones.
func (c *Client) Zones(ctx context.Context) ([]Zone, error) {
	var r ZonesResponse
	err := c.Do(ctx, http.MethodGet, "/v1/zones", nil, &r)
	return r.Zones, err
}

// ServiceQuery is one page request of GET /v1/services: Limit 0 asks for
// the whole list, After is the "next" of the previous page, Query a
// substring of the FQDN.
type ServiceQuery struct {
	Kinds, Statuses []string
	Query, After    string
	Limit           int
}

// ServicesPage calls GET /v1/services with paging and search; the answer's
// Next is the After of the next page ("" on the last page).
func (c *Client) ServicesPage(ctx context.Context, sq ServiceQuery) (*ServicesResponse, error) {
	q := url.Values{}
	if len(sq.Kinds) > 0 {
		q.Set("kind", strings.Join(sq.Kinds, ","))
	}
	if len(sq.Statuses) > 0 {
		q.Set("status", strings.Join(sq.Statuses, ","))
	}
	if sq.Query != "" {
		q.Set("q", sq.Query)
	}
	if sq.After != "" {
		q.Set("after", sq.After)
	}
	if sq.Limit > 0 {
		q.Set("limit", strconv.Itoa(sq.Limit))
	}
	path := "/v1/services"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r ServicesResponse
	if err := c.Do(ctx, http.MethodGet, path, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
