package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The UltraDNS surface (docs/migrating.md): UltraDNS's REST API for SF
// pools (Simple Monitor / Simple Failover) as ultradns-go-sdk, the Python
// ultra_rest_client and the Terraform provider call it, under /v1 and,
// for the Go SDK's unchanged HostURL, without it. Logins use the failoverd
// token as password.

// sfContext is the profile's @context, exactly as the clients compare it.
const sfContext = "http://schemas.ultradns.com/SFPool.jsonschema"

// sfContextSingular is the spelling some clients send; it is accepted on
// input, never written.
const sfContextSingular = "http://schema.ultradns.com/SFPool.jsonschema"

// UltraDNS error codes: 60001 (token), 1801 (zone), 70002 (data) are
// UltraDNS's own; 400001 is failoverd's for a refused change.
const (
	ultraCodeToken    = 60001
	ultraCodeZone     = 1801
	ultraCodeNotFound = 70002
	ultraCodeRefused  = 400001
)

type ultraError struct {
	Code    int    `json:"errorCode"`
	Message string `json:"errorMessage"`
	status  int
}

func ultraErr(status, code int, format string, args ...any) *ultraError {
	return &ultraError{Code: code, Message: fmt.Sprintf(format, args...), status: status}
}

func ultraNotFound() *ultraError {
	return ultraErr(http.StatusNotFound, ultraCodeNotFound, "Data not found.")
}

// ultraErrorFor classifies a controller error.
func ultraErrorFor(err error) *ultraError {
	e := errorFor(err)
	switch e.Type {
	case ErrorTypeDoesNotExist:
		return ultraNotFound()
	case ErrorTypePreconditionFailed:
		return ultraErr(http.StatusBadRequest, ultraCodeRefused, "%s", e.Message)
	case ErrorTypeBadRequest:
		msg := e.Message
		if len(e.Diagnostics) > 0 {
			msg = strings.Join(e.Diagnostics, "; ")
		}
		return ultraErr(http.StatusBadRequest, ultraCodeRefused, "%s", msg)
	}
	return ultraErr(http.StatusInternalServerError, 0, "%s", e.Message)
}

type ultra struct {
	s        *Server
	access   *sessions
	refresh  *sessions
	fallback http.Handler // the native API, for /v1/zones/... paths that are not rrsets
}

func newUltra(s *Server, native http.Handler) *ultra {
	return &ultra{s: s, access: newSessions(time.Now), refresh: newSessions(time.Now), fallback: native}
}

// writeErrors writes UltraDNS's error array.
func (u *ultra) writeErrors(w http.ResponseWriter, r *http.Request, e *ultraError) {
	u.s.log.Debug("ultradns call rejected", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Int("code", e.Code), zap.String("error", e.Message))
	writeJSON(w, e.status, []*ultraError{e})
}

// tokenHandler serves POST .../authorization/token (password and
// refresh_token grants, form-encoded; any Basic header is ignored).
func (u *ultra) tokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		grantErr := func(kind, desc string) {
			writeJSON(w, http.StatusBadRequest, map[string]any{
				"errorCode": ultraCodeToken, "errorMessage": kind + ":" + desc, "error": kind, "error_description": desc,
			})
		}
		if r.Method != http.MethodPost {
			grantErr("invalid_request", "use POST")
			return
		}
		if err := r.ParseForm(); err != nil {
			grantErr("invalid_request", err.Error())
			return
		}
		var user string
		switch r.PostForm.Get("grant_type") {
		case "password":
			pw := r.PostForm.Get("password")
			if pw == "" {
				grantErr("invalid_request", "password parameter is required for grant_type=password")
				return
			}
			if !u.s.isToken(pw) {
				u.s.authLog.failed(r, "wrong UltraDNS password")
				grantErr("invalid_grant", "Invalid username or password")
				return
			}
			user = r.PostForm.Get("username")
		case "refresh_token":
			rt := r.PostForm.Get("refresh_token")
			var ok bool
			if user, ok = u.refresh.check(rt); !ok {
				grantErr("invalid_grant", "refresh token not found, expired or invalid")
				return
			}
			u.refresh.close(rt)
		default:
			grantErr("unsupported_grant_type", "grant_type must be password or refresh_token")
			return
		}
		access, refresh := u.access.open(user), u.refresh.open(user)
		secs := int(sessionIdle / time.Second)
		writeJSON(w, http.StatusOK, map[string]any{
			"accessToken": access, "refreshToken": refresh, "expiresIn": strconv.Itoa(secs), "tokenType": "Bearer",
			"access_token": access, "refresh_token": refresh, "expires_in": secs, "token_type": "Bearer",
		})
	})
}

// zonesHandler serves .../zones/{zone}/rrsets[/{type}[/{owner}]].
func (u *ultra) zonesHandler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, prefix)
		zone, tail, _ := strings.Cut(rest, "/")
		parts := strings.Split(strings.Trim(tail, "/"), "/")
		if parts[0] != "rrsets" {
			if u.fallback != nil && prefix == "/v1/zones/" {
				u.fallback.ServeHTTP(w, r) // a native /v1/zones/... path
				return
			}
			u.writeErrors(w, r, ultraNotFound())
			return
		}
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		tok = strings.TrimSpace(tok)
		user, ok := u.access.check(tok)
		if !strings.EqualFold(scheme, "Bearer") || (!ok && !(tok != "" && u.s.isToken(tok)) && u.s.opts.Token != "") {
			u.s.authLog.failed(r, "wrong UltraDNS token")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errorCode": ultraCodeToken, "errorMessage": "invalid_token:token not found, expired or invalid"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxServiceBody)
		c := ultraCall{ctx: WithActor(r.Context(), user), zone: absName(zone)}
		if len(parts) > 1 {
			c.rrtype = parts[1]
		}
		if len(parts) > 2 {
			c.owner = parts[2]
		}
		if len(parts) > 3 {
			u.writeErrors(w, r, ultraNotFound())
			return
		}
		if _, known := u.zoneServices(c.ctx, c.zone); !known {
			u.writeErrors(w, r, ultraErr(http.StatusNotFound, ultraCodeZone, "Zone does not exist in the system."))
			return
		}
		status, v, e := u.serve(r, &c)
		if e != nil {
			u.writeErrors(w, r, e)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, v)
	})
}

type ultraCall struct {
	ctx                 context.Context
	zone, rrtype, owner string
}

// zoneServices lists the sf_pools of zone; a zone is known when some
// service lies in it.
func (u *ultra) zoneServices(ctx context.Context, zone string) ([]ServiceSummary, bool) {
	var out []ServiceSummary
	known := false
	for _, s := range u.s.ctl.Services(ctx) {
		if inZone(strings.ToLower(s.FQDN), zone) {
			known = true
			if s.Kind == KindSFPool {
				out = append(out, s)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FQDN < out[j].FQDN })
	return out, known
}

// ownerName makes the path's owner absolute within the zone.
func (c *ultraCall) ownerName() string {
	if strings.HasSuffix(c.owner, ".") {
		return strings.ToLower(c.owner)
	}
	if c.owner == "" || c.owner == "@" {
		return c.zone
	}
	return strings.ToLower(c.owner) + "." + c.zone
}

// typeName reads a path's rrtype: A, AAAA, 1, 28 or ANY ("" for any).
func typeName(t string) (string, bool) {
	switch strings.ToUpper(t) {
	case "", "ANY":
		return "", true
	case "A", "1":
		return "A", true
	case "AAAA", "28":
		return "AAAA", true
	}
	return "", false
}

// sfPool is one SF pool as the UltraDNS surface sees it.
type sfPool struct {
	detail  *ServiceDetail
	attrs   map[string]any // the pool's block as its file has it; nil when unreadable
	managed bool           // API-managed: any write may change it
}

func (u *ultra) pool(ctx context.Context, fqdn string) (*sfPool, *ultraError) {
	det, err := u.s.ctl.Service(ctx, fqdn)
	if err != nil || det.Kind != KindSFPool {
		return nil, ultraNotFound()
	}
	p := &sfPool{detail: det}
	body, managed, err := u.s.ctl.ServiceSource(ctx, fqdn)
	if err != nil {
		return nil, ultraErrorFor(err)
	}
	p.managed = managed
	if body != nil {
		if _, _, attrs, err := parseServiceBody(body); err == nil {
			p.attrs = attrs
		}
	}
	return p, nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// rrtype is the pool's record type, A or AAAA.
func (p *sfPool) rrtype() string {
	if t := str(p.attrs["rrtype"]); t != "" {
		return t
	}
	if ip := net.ParseIP(p.live()); ip != nil && ip.To4() == nil {
		return "AAAA"
	}
	return "A"
}

// live is the live record.
func (p *sfPool) live() string {
	if v := str(p.attrs["rdata"]); v != "" {
		return v
	}
	for _, r := range p.detail.Regions {
		for _, e := range r.Entries {
			if e.Label == "live" || e.Label == "" {
				return e.Address
			}
		}
	}
	return ""
}

// rrset renders the pool as UltraDNS does.
func (p *sfPool) rrset() map[string]any {
	a := p.attrs
	ttl := any(json.Number("300"))
	if v, ok := a["ttl"]; ok {
		ttl = v
	}
	profile := map[string]any{
		"@context":                 sfContext,
		"poolDescription":          str(a["pool_description"]),
		"liveRecordDescription":    str(a["live_record_description"]),
		"liveRecordState":          p.detail.LiveRecordState,
		"regionFailureSensitivity": "HIGH",
		"status":                   p.detail.Status,
	}
	if v := str(a["region_failure_sensitivity"]); v != "" {
		profile["regionFailureSensitivity"] = v
	}
	mon := map[string]any{"method": "GET", "url": "", "transmittedData": "", "searchString": ""}
	if m := hclBlock(a["monitor"]); m != nil {
		for hk, uk := range map[string]string{"method": "method", "url": "url", "transmitted_data": "transmittedData", "search_string": "searchString"} {
			if v := str(m[hk]); v != "" {
				mon[uk] = v
			}
		}
	}
	profile["monitor"] = mon
	if b := hclBlock(a["backup_record"]); b != nil {
		profile["backupRecord"] = map[string]any{"rdata": str(b["rdata"]), "description": str(b["description"])}
	} else if a == nil {
		for _, r := range p.detail.Regions {
			for _, e := range r.Entries {
				if e.Label == "backup" {
					profile["backupRecord"] = map[string]any{"rdata": e.Address, "description": ""}
				}
			}
		}
	}
	code := map[string]string{"A": "A (1)", "AAAA": "AAAA (28)"}[p.rrtype()]
	return map[string]any{"ownerName": p.detail.FQDN, "rrtype": code, "ttl": ttl, "rdata": []any{p.live()}, "profile": profile}
}

func (u *ultra) serve(r *http.Request, c *ultraCall) (int, any, *ultraError) {
	want, ok := typeName(c.rrtype)
	if !ok {
		return 0, nil, ultraNotFound()
	}
	if c.owner == "" {
		if r.Method != http.MethodGet {
			return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "%s needs an owner: .../rrsets/{type}/{owner}", r.Method)
		}
		return u.list(r, c, want)
	}
	fqdn := c.ownerName()
	switch r.Method {
	case http.MethodGet:
		p, e := u.pool(c.ctx, fqdn)
		if e != nil || (want != "" && p.rrtype() != want) {
			return 0, nil, ultraNotFound()
		}
		return http.StatusOK, u.envelope(c, []any{p.rrset()}, "", 0, 100, 1), nil
	case http.MethodDelete:
		p, e := u.pool(c.ctx, fqdn)
		if e != nil || (want != "" && p.rrtype() != want) {
			return 0, nil, ultraNotFound()
		}
		if !p.managed {
			return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "%s: defined in configuration", fqdn)
		}
		if _, err := u.s.ctl.DeleteService(c.ctx, fqdn); err != nil {
			return 0, nil, ultraErrorFor(err)
		}
		return http.StatusNoContent, nil, nil
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return u.write(r, c, fqdn, want)
	}
	return 0, nil, ultraErr(http.StatusMethodNotAllowed, ultraCodeRefused, "%s is not supported", r.Method)
}

// list answers the list envelope of the zone's SF pools, paged.
func (u *ultra) list(r *http.Request, c *ultraCall, want string) (int, any, *ultraError) {
	q := r.URL.Query()
	query := q.Get("q")
	kindOK := true
	for _, term := range strings.Fields(query) {
		k, v, _ := strings.Cut(term, ":")
		if strings.EqualFold(k, "kind") {
			kindOK = strings.EqualFold(v, "ALL") || strings.EqualFold(v, "POOLS") || strings.EqualFold(v, "SF_POOLS")
		}
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	var all []any
	if kindOK {
		list, _ := u.zoneServices(c.ctx, c.zone)
		for _, s := range list {
			p, e := u.pool(c.ctx, s.FQDN)
			if e != nil || (want != "" && p.rrtype() != want) {
				continue
			}
			all = append(all, p.rrset())
		}
	}
	if q.Get("reverse") == "true" {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	total := len(all)
	page := []any{}
	if offset < total {
		page = all[offset:min(total, offset+limit)]
	}
	return http.StatusOK, u.envelope(c, page, query, offset, limit, total), nil
}

func (u *ultra) envelope(c *ultraCall, rrsets []any, q string, offset, limit, total int) map[string]any {
	return map[string]any{
		"zoneName":   c.zone,
		"rrSets":     rrsets,
		"queryInfo":  map[string]any{"q": q, "sort": "OWNER", "reverse": false, "limit": limit, "offset": offset, "cursor": ""},
		"resultInfo": map[string]any{"totalCount": total, "offset": offset, "returnedCount": len(rrsets)},
	}
}

// write serves POST (create), PUT (replace) and PATCH (merge).
func (u *ultra) write(r *http.Request, c *ultraCall, fqdn, want string) (int, any, *ultraError) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "reading the body: %v", err)
	}
	var sent map[string]any
	if err := decodeJSON(raw, &sent); err != nil {
		return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "the body is not a JSON object: %v", err)
	}
	p, e := u.pool(c.ctx, fqdn)
	exists := e == nil
	switch {
	case r.Method == http.MethodPost && exists:
		if !p.managed {
			return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "%s: defined in configuration", fqdn)
		}
		return 0, nil, ultraErr(http.StatusBadRequest, 2111, "Resource Record of type %s with these attributes already exists in the system.", p.rrtype())
	case r.Method != http.MethodPost && !exists:
		return 0, nil, ultraNotFound()
	case exists && want != "" && p.rrtype() != want:
		return 0, nil, ultraNotFound()
	}
	if want == "" {
		want = "A"
		if exists {
			want = p.rrtype()
		}
	}
	// PATCH merges into what is there, key by key into the profile and its
	// objects.
	rr := sent
	if r.Method == http.MethodPatch {
		rr = p.rrset()
		mergePatch(rr, sent)
	}
	prof, _ := rr["profile"].(map[string]any)
	if prof == nil && r.Method != http.MethodPatch {
		return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "an SF pool needs a profile")
	}
	if ctxv, ok := prof["@context"]; ok || r.Method != http.MethodPatch {
		if s := str(ctxv); s != sfContext && s != sfContextSingular {
			return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "profile @context %q is not %s", s, sfContext)
		}
	}
	state := str(prof["liveRecordState"])
	if state != "" && state != "NOT_FORCED" && state != "FORCED_INACTIVE" {
		return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "liveRecordState must be NOT_FORCED or FORCED_INACTIVE, not %q", state)
	}
	attrs, uerr := sfAttrs(rr, want)
	if uerr != nil {
		return 0, nil, uerr
	}
	switch {
	case exists && !p.managed:
		// A pool from the operator's files: only liveRecordState may change.
		cur := p.rrset()
		if !sameRRSet(cur, rr) {
			return 0, nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "%s: defined in configuration; only liveRecordState can be changed here", fqdn)
		}
	default:
		if exists {
			if v, ok := p.attrs["live_record_state"]; ok {
				attrs["live_record_state"] = v // forcing is an operator action, below
			}
		} else if state != "" {
			attrs["live_record_state"] = state
		}
		if _, err := u.s.ctl.PutService(c.ctx, fqdn, serviceBody(KindSFPool, fqdn, attrs)); err != nil {
			return 0, nil, ultraErrorFor(err)
		}
	}
	if exists && state != "" && state != p.detail.LiveRecordState {
		op := u.s.ctl.Unforce
		if state == "FORCED_INACTIVE" {
			op = u.s.ctl.Force
		}
		if _, err := op(c.ctx, fqdn); err != nil {
			return 0, nil, ultraErrorFor(err)
		}
	}
	if r.Method == http.MethodPost {
		return http.StatusCreated, map[string]any{"message": "Successful"}, nil
	}
	return http.StatusOK, map[string]any{"message": "Successful"}, nil
}

// mergePatch merges a PATCH body into dst, objects key by key. An empty
// string is "not sent": the Go SDK has no omitempty on poolDescription,
// liveRecordDescription and the monitor's transmittedData and
// searchString, so it sends them empty on every PartialUpdate; taken as
// values they would clear the descriptions, or refuse a pool from the
// files for a change nobody asked for.
func mergePatch(dst, src map[string]any) {
	for k, v := range src {
		if v == "" {
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergePatch(dm, sm)
				continue
			}
			fresh := map[string]any{}
			mergePatch(fresh, sm)
			dst[k] = fresh
			continue
		}
		dst[k] = v
	}
}

// sfAttrs turns an rrset with an SF profile into sf_pool attributes.
func sfAttrs(rr map[string]any, rrtype string) (map[string]any, *ultraError) {
	attrs := map[string]any{"rrtype": rrtype}
	if v, ok := rr["ttl"]; ok && v != nil {
		attrs["ttl"] = v
	}
	rdata, _ := rr["rdata"].([]any)
	if len(rdata) != 1 {
		return nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "an SF pool has exactly one rdata, the live record")
	}
	attrs["rdata"] = str(rdata[0])
	prof, _ := rr["profile"].(map[string]any)
	for uk, hk := range map[string]string{"poolDescription": "pool_description", "liveRecordDescription": "live_record_description", "regionFailureSensitivity": "region_failure_sensitivity"} {
		if v := str(prof[uk]); v != "" {
			attrs[hk] = v
		}
	}
	for k := range prof {
		switch k {
		case "@context", "poolDescription", "liveRecordDescription", "liveRecordState", "regionFailureSensitivity", "status", "monitor", "backupRecord":
		default:
			return nil, ultraErr(http.StatusBadRequest, ultraCodeRefused, "unknown profile field %q", k)
		}
	}
	if m, ok := prof["monitor"].(map[string]any); ok {
		hm := map[string]any{}
		for uk, hk := range map[string]string{"method": "method", "url": "url", "transmittedData": "transmitted_data", "searchString": "search_string"} {
			if v := str(m[uk]); v != "" {
				hm[hk] = v
			}
		}
		attrs["monitor"] = hm
	}
	if b, ok := prof["backupRecord"].(map[string]any); ok && str(b["rdata"]) != "" {
		hb := map[string]any{"rdata": str(b["rdata"])}
		if d := str(b["description"]); d != "" {
			hb["description"] = d
		}
		attrs["backup_record"] = hb
	}
	return attrs, nil
}

// sameRRSet reports whether sent changes nothing of cur but liveRecordState
// (and the read-only status and @context spelling).
func sameRRSet(cur, sent map[string]any) bool {
	for k, v := range sent {
		switch k {
		case "profile":
			cp, _ := cur["profile"].(map[string]any)
			sp, _ := v.(map[string]any)
			for pk, pv := range sp {
				switch pk {
				case "liveRecordState", "status", "@context":
					continue
				}
				if !jsonEqual(pv, cp[pk]) {
					return false
				}
			}
		case "ownerName", "rrtype":
		default:
			if !jsonEqual(v, cur[k]) {
				return false
			}
		}
	}
	return true
}
