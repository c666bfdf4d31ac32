package api

import (
	"context"
	"net/http"
	"net/url"
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
