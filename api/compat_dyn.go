package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The Dyn surface (docs/migrating.md): Dyn's REST API under /REST/ as
// dyn-python and go-dynect call it. Every answer is Dyn's envelope; calls
// finish before they answer (never 307 or "incomplete"). Sessions log in
// with the failoverd token as password.

// dynFirstJob is the base of the job ids of calls without a native job,
// far above any native id.
const dynFirstJob = 1 << 40

// dynJobSeed is where those ids start: the base plus the microseconds
// since 1970, so that a restart starts above every id handed out before
// (a call takes longer than a microsecond) without keeping a counter on
// disk, and ids stay below 2^53, exact in any JSON reader.
func dynJobSeed(now time.Time) uint64 {
	return dynFirstJob + uint64(max(now.UnixMicro(), 0))
}

// dynKeptJobs bounds the envelopes kept for GET /REST/Job/{id}/.
const dynKeptJobs = 4096

type dynMsg struct {
	Info   string  `json:"INFO"`
	Source string  `json:"SOURCE"`
	ErrCD  *string `json:"ERR_CD"`
	Level  string  `json:"LVL"`
}

type dynEnvelope struct {
	Status string   `json:"status"`
	Data   any      `json:"data"`
	JobID  uint64   `json:"job_id"`
	Msgs   []dynMsg `json:"msgs"`
}

// dynError is a failure: HTTP status, ERR_CD and INFO.
type dynError struct {
	status int
	code   string
	info   string
}

// dynErr makes a failure. Its INFO never ends with a dot: dyn-python
// adds ". " after every message, and a native message often ends with an
// absolute name ("service x.example.com.").
func dynErr(status int, code, format string, args ...any) *dynError {
	return &dynError{status: status, code: code, info: strings.TrimRight(fmt.Sprintf(format, args...), ".")}
}

func dynNotFound(format string, args ...any) *dynError {
	return dynErr(http.StatusNotFound, "NOT_FOUND", format, args...)
}

func dynInvalid(format string, args ...any) *dynError {
	return dynErr(http.StatusBadRequest, "INVALID_DATA", format, args...)
}

// dynErrorFor classifies a controller error.
func dynErrorFor(what string, err error) *dynError {
	e := errorFor(err)
	switch e.Type {
	case ErrorTypeDoesNotExist:
		return dynNotFound("%s: %s", what, e.Message)
	case ErrorTypePreconditionFailed:
		return dynErr(http.StatusBadRequest, "ILLEGAL_OPERATION", "%s: %s", what, e.Message)
	case ErrorTypeBadRequest:
		msg := e.Message
		if len(e.Diagnostics) > 0 {
			msg = strings.Join(e.Diagnostics, "; ")
		}
		return dynInvalid("%s: %s", what, msg)
	}
	return dynErr(http.StatusInternalServerError, "INTERNAL_ERROR", "%s: %s", what, e.Message)
}

type dyn struct {
	s        *Server
	sessions *sessions

	mu      sync.Mutex // guards the job envelopes and the counter
	nextJob uint64
	jobs    map[uint64][]byte
	order   []uint64
}

func newDyn(s *Server) *dyn {
	return &dyn{s: s, sessions: newSessions(time.Now), nextJob: dynJobSeed(time.Now()), jobs: map[uint64][]byte{}}
}

// dynCall is one request: its path after the resource, body and actor.
type dynCall struct {
	ctx  context.Context
	args []string
	body map[string]any
	// job is the native job of the call, when it made one.
	job *Job
}

// result is what a handler answers.
type dynResult struct {
	data any
	info string
}

func (d *dyn) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxServiceBody)
		rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/REST/"), "/")
		segs := strings.Split(rest, "/")
		c := &dynCall{ctx: r.Context(), args: segs[1:]}
		res, derr := d.serve(r, segs[0], c)
		d.write(w, r, c, res, derr)
	})
}

func (d *dyn) serve(r *http.Request, resource string, c *dynCall) (*dynResult, *dynError) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, dynInvalid("reading the body: %v", err)
	}
	c.body = map[string]any{}
	if strings.TrimSpace(string(raw)) != "" {
		if err := decodeJSON(raw, &c.body); err != nil {
			return nil, dynInvalid("the body is not a JSON object: %v", err)
		}
	}
	if resource == "Session" {
		return d.session(r, c)
	}
	tok := r.Header.Get("Auth-Token")
	user, ok := d.sessions.check(tok)
	if !ok && !(tok != "" && d.s.isToken(tok)) && !(d.s.opts.Token == "") {
		d.s.authLog.failed(r, "wrong Dyn Auth-Token")
		return nil, dynErr(http.StatusBadRequest, "INVALID_DATA", "login: Bad or expired credentials")
	}
	c.ctx = WithActor(c.ctx, user)
	switch resource {
	case "Job":
		return d.getJob(r, c)
	case "Zone":
		return d.zone(r, c)
	case "Failover", "GSLB", "RTTM":
		return d.service(r, dynKinds[resource], c)
	case "GSLBRegion", "RTTMRegion":
		return d.region(r, dynKinds[strings.TrimSuffix(resource, "Region")], c)
	case "GSLBRegionPoolEntry", "RTTMRegionPoolEntry":
		return d.poolEntry(r, dynKinds[strings.TrimSuffix(resource, "RegionPoolEntry")], c)
	case "RTTMLogReport":
		return d.logReport(r, c)
	case "RTTMRRSetReport":
		return d.rrsetReport(r, c)
	}
	return nil, dynNotFound("%s: no such resource", resource)
}

// write sends the envelope and keeps it for GET /REST/Job/{id}/.
func (d *dyn) write(w http.ResponseWriter, r *http.Request, c *dynCall, res *dynResult, derr *dynError) {
	env := dynEnvelope{Status: "success", Data: map[string]any{}}
	status := http.StatusOK
	if derr != nil {
		code := derr.code
		env.Status = "failure"
		env.Msgs = []dynMsg{{Info: derr.info, Source: "BLL", ErrCD: &code, Level: "ERROR"}}
		status = derr.status
		d.s.log.Debug("dyn call rejected", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("error", derr.info))
	} else {
		if res.data != nil {
			env.Data = res.data
		}
		env.Msgs = []dynMsg{{Info: res.info, Source: "BLL", Level: "INFO"}}
	}
	d.mu.Lock()
	if c.job != nil {
		env.JobID = c.job.ID
	} else {
		env.JobID = d.nextJob
		d.nextJob++
	}
	b, err := json.Marshal(env)
	if err != nil {
		d.mu.Unlock()
		panic(err) // plain data: a failure is a bug
	}
	if _, seen := d.jobs[env.JobID]; !seen {
		d.order = append(d.order, env.JobID)
	}
	d.jobs[env.JobID] = b
	for len(d.order) > dynKeptJobs {
		delete(d.jobs, d.order[0])
		d.order = d.order[1:]
	}
	d.mu.Unlock()
	if c.job != nil {
		d.s.log.Info("api job", zap.String("surface", "dyn"), zap.Uint64("job", c.job.ID), zap.String("action", c.job.Action), zap.String("target", c.job.Target))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (d *dyn) session(r *http.Request, c *dynCall) (*dynResult, *dynError) {
	bad := dynErr(http.StatusBadRequest, "INVALID_DATA", "login: Bad or expired credentials")
	tok := r.Header.Get("Auth-Token")
	switch r.Method {
	case http.MethodPost:
		pw, _ := c.body["password"].(string)
		user, _ := c.body["user_name"].(string)
		if pw == "" || !d.s.isToken(pw) {
			d.s.authLog.failed(r, "wrong Dyn password")
			return nil, bad
		}
		return &dynResult{data: map[string]any{"token": d.sessions.open(user), "version": "failoverd-" + d.version()}, info: "login: Login successful"}, nil
	case http.MethodGet, http.MethodPut:
		if _, ok := d.sessions.check(tok); !ok {
			return nil, bad
		}
		return &dynResult{info: "isalive: User session is still active"}, nil
	case http.MethodDelete:
		if !d.sessions.close(tok) {
			return nil, bad
		}
		return &dynResult{info: "logout: Logout successful"}, nil
	}
	return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "Session: %s is not supported", r.Method)
}

// version is failoverd's version as Dyn logins report it.
func (d *dyn) version() string {
	if v := d.s.opts.Compat.Version; v != "" {
		return v
	}
	return "dev"
}

func (d *dyn) getJob(r *http.Request, c *dynCall) (*dynResult, *dynError) {
	if r.Method != http.MethodGet || len(c.args) != 1 {
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "Job: GET /REST/Job/{id}/")
	}
	id, err := strconv.ParseUint(c.args[0], 10, 64)
	d.mu.Lock()
	b, ok := d.jobs[id]
	d.mu.Unlock()
	if err != nil || !ok {
		return nil, dynNotFound("job: Job %s not found", c.args[0])
	}
	var env dynEnvelope
	if err := decodeJSON(b, &env); err != nil {
		panic(err) // written by write
	}
	return &dynResult{data: env.Data, info: "get: Job found"}, nil
}

// absName normalises a Dyn zone or node name: lower case with the
// trailing dot.
func absName(name string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), ".")) + "."
}

// inZone reports whether the absolute name lies at or below the absolute zone.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// bare drops the trailing dot, as Dyn writes names.
func bare(name string) string { return strings.TrimSuffix(name, ".") }

// zoneServices lists the services of kind in zone; a zone is known when
// some service lies in it.
func (d *dyn) zoneServices(ctx context.Context, zone, kind string) ([]ServiceSummary, bool) {
	var out []ServiceSummary
	known := false
	for _, s := range d.s.ctl.Services(ctx) {
		if inZone(strings.ToLower(s.FQDN), zone) {
			known = true
			if kind == "" || s.Kind == kind {
				out = append(out, s)
			}
		}
	}
	return out, known
}

func (d *dyn) zone(r *http.Request, c *dynCall) (*dynResult, *dynError) {
	if r.Method != http.MethodGet || len(c.args) != 1 {
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "Zone: only GET /REST/Zone/{zone}/ is served")
	}
	zone := absName(c.args[0])
	if _, ok := d.zoneServices(c.ctx, zone, ""); !ok {
		return nil, dynNotFound("zone: No such zone")
	}
	return &dynResult{data: map[string]any{"zone": bare(zone), "zone_type": "Primary", "serial_style": "increment", "serial": 0}, info: "get: Your zone, " + bare(zone)}, nil
}

// dynService is one service as the Dyn surface sees it.
type dynService struct {
	kind, zone, fqdn string
	detail           *ServiceDetail
	// attrs is the service's block as its file has it; nil when it could
	// not be read back (then the detail is all there is).
	attrs map[string]any
	// managed is true for an API-managed service, which any write may
	// change; one from the operator's files only takes operator actions.
	managed bool
}

// lookup finds the service fqdn of kind in zone.
func (d *dyn) lookup(ctx context.Context, kind, zone, fqdn string) (*dynService, *dynError) {
	zone, fqdn = absName(zone), absName(fqdn)
	if !inZone(fqdn, zone) {
		return nil, dynNotFound("node: Node is not in the zone")
	}
	det, err := d.s.ctl.Service(ctx, fqdn)
	if err != nil {
		return nil, dynErrorFor(bare(fqdn), err)
	}
	if det.Kind != kind {
		return nil, dynNotFound("%s: No such service", bare(fqdn))
	}
	svc := &dynService{kind: kind, zone: zone, fqdn: fqdn, detail: det}
	body, managed, err := d.s.ctl.ServiceSource(ctx, fqdn)
	if err != nil {
		return nil, dynErrorFor(bare(fqdn), err)
	}
	svc.managed = managed
	if body != nil {
		if _, _, attrs, err := parseServiceBody(body); err == nil {
			svc.attrs = attrs
		}
	}
	return svc, nil
}

// config is the service's Dyn fields without status: from the stored
// block of a managed service, else what the service detail shows.
func (s *dynService) config() map[string]any {
	if s.attrs != nil {
		return hclToDyn(s.kind, s.attrs)
	}
	out := map[string]any{}
	if s.kind == KindActiveFailover {
		if len(s.detail.Regions) > 0 && len(s.detail.Regions[0].Entries) > 0 {
			out["address"] = s.detail.Regions[0].Entries[0].Address
		}
		return out
	}
	var regions []any
	for _, r := range s.detail.Regions {
		pool := []any{}
		for _, e := range r.Entries {
			pool = append(pool, map[string]any{"address": e.Address, "label": e.Label, "weight": json.Number(strconv.Itoa(e.Weight)), "serve_mode": e.ServeMode})
		}
		regions = append(regions, map[string]any{"region_code": r.Code, "pool": pool})
	}
	out["region"] = regions
	return out
}

// object is the service as Dyn answers it: configuration plus status.
func (s *dynService) object() map[string]any {
	out := s.config()
	out["zone"], out["fqdn"] = bare(s.zone), bare(s.fqdn)
	out["status"] = s.detail.Status
	out["active"] = yn(s.detail.Active)
	out["task_id"] = ""
	if s.kind == KindActiveFailover {
		return out
	}
	regions, _ := out["region"].([]any)
	kept := []any{}
	for _, e := range regions {
		r := e.(map[string]any)
		code, _ := r["region_code"].(string)
		if !slices.Contains(dynRegionCodes, code) {
			continue // Dyn's clients know no other region codes
		}
		s.addStatus(r)
		kept = append(kept, r)
	}
	out["region"] = kept
	return out
}

// addStatus sets the live status of a region and its pool entries.
func (s *dynService) addStatus(r map[string]any) {
	code, _ := r["region_code"].(string)
	for _, dr := range s.detail.Regions {
		if dr.Code != code {
			continue
		}
		r["status"] = dr.Status
		pool, _ := r["pool"].([]any)
		for _, pe := range pool {
			p := pe.(map[string]any)
			for _, e := range dr.Entries {
				if e.Address == p["address"] {
					p["status"] = e.Status
				}
			}
		}
	}
}

// put replaces a managed service with the Dyn object obj.
func (d *dyn) put(c *dynCall, s *dynService, obj map[string]any) *dynError {
	attrs, err := dynToHCL(s.kind, obj)
	if err != nil {
		return dynInvalid("%s: %v", bare(s.fqdn), err)
	}
	job, perr := d.s.ctl.PutService(c.ctx, s.fqdn, serviceBody(s.kind, s.fqdn, attrs))
	if perr != nil {
		return dynErrorFor(bare(s.fqdn), perr)
	}
	if job != nil {
		c.job = job
	}
	return nil
}

// sameAsCurrent checks that every field sent equals the service's: the
// only way to "change" a service from the operator's files.
func sameAsCurrent(s *dynService, sent map[string]any, current map[string]any) *dynError {
	for k, v := range sent {
		if !jsonEqual(v, current[k]) {
			return dynErr(http.StatusBadRequest, "ILLEGAL_OPERATION", "%s: defined in configuration (%s cannot be changed here)", bare(s.fqdn), k)
		}
	}
	return nil
}

// jsonEqual compares two decoded JSON values as JSON (numbers by value,
// "Y" and true alike).
func jsonEqual(a, b any) bool {
	norm := func(v any) any {
		switch x := v.(type) {
		case bool:
			return yn(x)
		case json.Number:
			f, _ := x.Float64()
			return f
		case float64, int:
			f, _ := strconv.ParseFloat(fmt.Sprint(x), 64)
			return f
		}
		return v
	}
	na, nb := norm(a), norm(b)
	ma, aok := na.(map[string]any)
	mb, bok := nb.(map[string]any)
	if aok && bok {
		for k := range ma {
			if !jsonEqual(ma[k], mb[k]) {
				return false
			}
		}
		return true
	}
	la, aok := na.([]any)
	lb, bok := nb.([]any)
	if aok && bok {
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !jsonEqual(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(na, nb)
}

// service serves /REST/{Failover,GSLB,RTTM}/{zone}/[{fqdn}/].
func (d *dyn) service(r *http.Request, kind string, c *dynCall) (*dynResult, *dynError) {
	switch {
	case len(c.args) == 1 && r.Method == http.MethodGet:
		zone := absName(c.args[0])
		list, known := d.zoneServices(c.ctx, zone, kind)
		if !known {
			return nil, dynNotFound("zone: No such zone")
		}
		out := []any{}
		for _, sum := range list {
			s, derr := d.lookup(c.ctx, kind, zone, sum.FQDN)
			if derr != nil {
				continue // removed meanwhile
			}
			out = append(out, s.object())
		}
		return &dynResult{data: out, info: "get: Found " + strconv.Itoa(len(out)) + " services"}, nil
	case len(c.args) != 2:
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "path: /REST/%s/{zone}/{fqdn}/", r.URL.Path)
	}
	zone, fqdn := c.args[0], c.args[1]
	if r.Method == http.MethodPost {
		return d.create(c, kind, zone, fqdn)
	}
	s, derr := d.lookup(c.ctx, kind, zone, fqdn)
	if derr != nil {
		return nil, derr
	}
	switch r.Method {
	case http.MethodGet:
		return &dynResult{data: s.object(), info: "get: Service found"}, nil
	case http.MethodDelete:
		if !s.managed {
			return nil, dynErr(http.StatusBadRequest, "ILLEGAL_OPERATION", "%s: defined in configuration", bare(s.fqdn))
		}
		job, err := d.s.ctl.DeleteService(c.ctx, s.fqdn)
		if err != nil {
			return nil, dynErrorFor(bare(s.fqdn), err)
		}
		c.job = job
		return &dynResult{info: "delete: Service deleted"}, nil
	case http.MethodPut:
		return d.update(c, s)
	}
	return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "%s is not supported here", r.Method)
}

// create makes a new API-managed service from a whole Dyn object.
func (d *dyn) create(c *dynCall, kind, zone, fqdn string) (*dynResult, *dynError) {
	zoneAbs, fqdnAbs := absName(zone), absName(fqdn)
	if !inZone(fqdnAbs, zoneAbs) {
		return nil, dynNotFound("node: Node is not in the zone")
	}
	if det, err := d.s.ctl.Service(c.ctx, fqdnAbs); err == nil {
		if !det.Managed {
			return nil, dynErr(http.StatusBadRequest, "ILLEGAL_OPERATION", "%s: defined in configuration", bare(fqdnAbs))
		}
		return nil, dynErr(http.StatusBadRequest, "TARGET_EXISTS", "%s: A service already exists on this node", bare(fqdnAbs))
	}
	s := &dynService{kind: kind, zone: zoneAbs, fqdn: fqdnAbs, managed: true}
	if derr := d.put(c, s, c.body); derr != nil {
		return nil, derr
	}
	created, derr := d.lookup(c.ctx, kind, zoneAbs, fqdnAbs)
	if derr != nil {
		return nil, derr
	}
	return &dynResult{data: created.object(), info: "create: Service created"}, nil
}

// dynActions are the operator actions of a PUT; they work on every
// service.
var dynActions = []string{"activate", "deactivate", "recover", "recoverip"}

// update applies the operator actions of a PUT and, for an API-managed
// service, its other fields; a service from the files accepts other fields
// only when they equal what it has.
func (d *dyn) update(c *dynCall, s *dynService) (*dynResult, *dynError) {
	ctl := d.s.ctl
	rest := map[string]any{}
	for k, v := range c.body {
		if !slices.Contains(dynActions, k) && k != "zone" && k != "fqdn" {
			rest[k] = v
		}
	}
	run := func(job *Job, err error) *dynError {
		if err != nil {
			return dynErrorFor(bare(s.fqdn), err)
		}
		if job != nil {
			c.job = job
		}
		return nil
	}
	var derr *dynError
	switch {
	case truthy(c.body["recoverip"]):
		addr, _ := c.body["address"].(string)
		if addr == "" {
			return nil, dynErr(http.StatusBadRequest, "MISSING_DATA", "%s: recoverip needs an address", bare(s.fqdn))
		}
		if net.ParseIP(addr) == nil && !strings.HasSuffix(addr, ".") {
			return nil, dynInvalid("%s: %q is not an address", bare(s.fqdn), addr)
		}
		delete(rest, "address")
		derr = run(ctl.Recover(c.ctx, s.fqdn, addr))
	case truthy(c.body["recover"]):
		derr = run(ctl.Recover(c.ctx, s.fqdn, ""))
	}
	if derr == nil && truthy(c.body["activate"]) {
		derr = run(ctl.Activate(c.ctx, s.fqdn))
	}
	if derr == nil && truthy(c.body["deactivate"]) {
		derr = run(ctl.Deactivate(c.ctx, s.fqdn))
	}
	if derr != nil {
		return nil, derr
	}
	if len(rest) > 0 {
		current := s.object()
		if !s.managed {
			if derr := sameAsCurrent(s, rest, current); derr != nil {
				return nil, derr
			}
		} else {
			obj := s.config()
			for k, v := range rest {
				if k != "status" && k != "task_id" && k != "active" {
					obj[k] = v
				}
			}
			if derr := d.put(c, s, obj); derr != nil {
				return nil, derr
			}
		}
	}
	after, derr := d.lookup(c.ctx, s.kind, s.zone, s.fqdn)
	if derr != nil {
		return nil, derr
	}
	return &dynResult{data: after.object(), info: "update: Service updated"}, nil
}

// regionOf returns the region code's entry in the object's region list.
func regionOf(obj map[string]any, code string) (int, map[string]any) {
	regions, _ := obj["region"].([]any)
	for i, e := range regions {
		if r, ok := e.(map[string]any); ok && strings.EqualFold(fmt.Sprint(r["region_code"]), code) {
			return i, r
		}
	}
	return -1, nil
}

// region serves /REST/{GSLB,RTTM}Region/{zone}/{fqdn}/[{rc}/].
func (d *dyn) region(r *http.Request, kind string, c *dynCall) (*dynResult, *dynError) {
	if len(c.args) < 2 || len(c.args) > 3 {
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "path: /REST/...Region/{zone}/{fqdn}/[{region_code}/]")
	}
	s, derr := d.lookup(c.ctx, kind, c.args[0], c.args[1])
	if derr != nil {
		return nil, derr
	}
	obj := s.object()
	regions, _ := obj["region"].([]any)
	if len(c.args) == 2 {
		switch r.Method {
		case http.MethodGet:
			return &dynResult{data: regions, info: "get: Regions found"}, nil
		case http.MethodPost:
			code, _ := c.body["region_code"].(string)
			if i, _ := regionOf(obj, code); i >= 0 {
				return nil, dynErr(http.StatusBadRequest, "TARGET_EXISTS", "%s: region %s exists", bare(s.fqdn), code)
			}
			return d.changeRegions(c, s, append(regions, c.body), code)
		}
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "%s is not supported here", r.Method)
	}
	code := c.args[2]
	i, reg := regionOf(obj, code)
	if i < 0 {
		return nil, dynNotFound("%s: region %s: No such region", bare(s.fqdn), code)
	}
	switch r.Method {
	case http.MethodGet:
		return &dynResult{data: reg, info: "get: Region found"}, nil
	case http.MethodDelete:
		return d.changeRegions(c, s, slices.Delete(regions, i, i+1), "")
	case http.MethodPut:
		if !s.managed {
			if derr := sameAsCurrent(s, c.body, reg); derr != nil {
				return nil, derr
			}
			return &dynResult{data: reg, info: "update: Region unchanged"}, nil
		}
		orig := reg["region_code"]
		for k, v := range c.body {
			reg[k] = v
		}
		reg["region_code"] = orig // the path names the region
		return d.changeRegions(c, s, regions, code)
	}
	return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "%s is not supported here", r.Method)
}

// changeRegions replaces the regions of a managed service and answers
// the region code's region afterwards (or {} when code is "").
func (d *dyn) changeRegions(c *dynCall, s *dynService, regions []any, code string) (*dynResult, *dynError) {
	if !s.managed {
		return nil, dynErr(http.StatusBadRequest, "ILLEGAL_OPERATION", "%s: defined in configuration", bare(s.fqdn))
	}
	obj := s.config()
	obj["region"] = regions
	if derr := d.put(c, s, obj); derr != nil {
		return nil, derr
	}
	if code == "" {
		return &dynResult{info: "delete: Region deleted"}, nil
	}
	after, derr := d.lookup(c.ctx, s.kind, s.zone, s.fqdn)
	if derr != nil {
		return nil, derr
	}
	_, reg := regionOf(after.object(), code)
	return &dynResult{data: reg, info: "update: Region updated"}, nil
}

// poolEntry serves /REST/{GSLB,RTTM}RegionPoolEntry/{zone}/{fqdn}/{rc}/[{address}/].
func (d *dyn) poolEntry(r *http.Request, kind string, c *dynCall) (*dynResult, *dynError) {
	if len(c.args) < 3 || len(c.args) > 4 {
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "path: /REST/...RegionPoolEntry/{zone}/{fqdn}/{region_code}/[{address}/]")
	}
	s, derr := d.lookup(c.ctx, kind, c.args[0], c.args[1])
	if derr != nil {
		return nil, derr
	}
	obj := s.object()
	ri, reg := regionOf(obj, c.args[2])
	if ri < 0 {
		return nil, dynNotFound("%s: region %s: No such region", bare(s.fqdn), c.args[2])
	}
	pool, _ := reg["pool"].([]any)
	withWhere := func(e map[string]any) map[string]any {
		out := map[string]any{"zone": bare(s.zone), "fqdn": bare(s.fqdn), "region_code": reg["region_code"]}
		for k, v := range e {
			out[k] = v
		}
		return out
	}
	regions, _ := obj["region"].([]any)
	if len(c.args) == 3 {
		switch r.Method {
		case http.MethodGet:
			out := []any{}
			for _, e := range pool {
				out = append(out, withWhere(e.(map[string]any)))
			}
			return &dynResult{data: out, info: "get: Pool entries found"}, nil
		case http.MethodPost:
			entry := map[string]any{}
			for k, v := range c.body {
				entry[k] = v
			}
			reg["pool"] = append(pool, entry)
			regions[ri] = reg
			addr, _ := entry["address"].(string)
			return d.changeEntry(c, s, regions, c.args[2], addr)
		}
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "%s is not supported here", r.Method)
	}
	addr := c.args[3]
	pi := -1
	for i, e := range pool {
		if strings.EqualFold(fmt.Sprint(e.(map[string]any)["address"]), addr) {
			pi = i
		}
	}
	if pi < 0 {
		return nil, dynNotFound("%s: %s: No such pool entry", bare(s.fqdn), addr)
	}
	entry := pool[pi].(map[string]any)
	switch r.Method {
	case http.MethodGet:
		return &dynResult{data: withWhere(entry), info: "get: Pool entry found"}, nil
	case http.MethodDelete:
		reg["pool"] = slices.Delete(pool, pi, pi+1)
		regions[ri] = reg
		return d.changeEntry(c, s, regions, c.args[2], "")
	case http.MethodPut:
		sent := map[string]any{}
		for k, v := range c.body {
			if k != "zone" && k != "fqdn" && k != "region_code" {
				sent[k] = v
			}
		}
		if !s.managed {
			if derr := sameAsCurrent(s, sent, entry); derr != nil {
				return nil, derr
			}
			return &dynResult{data: withWhere(entry), info: "update: Pool entry unchanged"}, nil
		}
		if na, ok := sent["new_address"].(string); ok && na != "" {
			entry["address"] = na
			addr = na
		}
		delete(sent, "new_address")
		for k, v := range sent {
			entry[k] = v
		}
		return d.changeEntry(c, s, regions, c.args[2], addr)
	}
	return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "%s is not supported here", r.Method)
}

// changeEntry replaces the regions of a managed service and answers the
// pool entry at addr afterwards (or {} when addr is "").
func (d *dyn) changeEntry(c *dynCall, s *dynService, regions []any, code, addr string) (*dynResult, *dynError) {
	res, derr := d.changeRegions(c, s, regions, code)
	if derr != nil || addr == "" {
		if res != nil {
			res.info = "delete: Pool entry deleted"
		}
		return res, derr
	}
	reg, _ := res.data.(map[string]any)
	pool, _ := reg["pool"].([]any)
	for _, e := range pool {
		if m := e.(map[string]any); strings.EqualFold(fmt.Sprint(m["address"]), addr) {
			out := map[string]any{"zone": bare(s.zone), "fqdn": bare(s.fqdn), "region_code": reg["region_code"]}
			for k, v := range m {
				out[k] = v
			}
			return &dynResult{data: out, info: "update: Pool entry updated"}, nil
		}
	}
	return &dynResult{info: "update: Pool entry updated"}, nil
}

// reportArgs reads zone, fqdn and the integer fields of a report call.
func reportArgs(c *dynCall, ints ...string) (string, []int64, *dynError) {
	zone, _ := c.body["zone"].(string)
	fqdn, _ := c.body["fqdn"].(string)
	if zone == "" || fqdn == "" {
		return "", nil, dynErr(http.StatusBadRequest, "MISSING_DATA", "report: zone and fqdn are required")
	}
	if !inZone(absName(fqdn), absName(zone)) {
		return "", nil, dynNotFound("node: Node is not in the zone")
	}
	var out []int64
	for _, k := range ints {
		v, ok := c.body[k]
		if !ok {
			return "", nil, dynErr(http.StatusBadRequest, "MISSING_DATA", "report: %s is required", k)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(fmt.Sprint(v)), 10, 64)
		if err != nil {
			return "", nil, dynInvalid("report: %s must be UNIX seconds", k)
		}
		out = append(out, n)
	}
	return absName(fqdn), out, nil
}

func (d *dyn) logReport(r *http.Request, c *dynCall) (*dynResult, *dynError) {
	if r.Method != http.MethodPost {
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "RTTMLogReport is POSTed")
	}
	fqdn, ts, derr := reportArgs(c, "start_ts")
	if derr != nil {
		return nil, derr
	}
	start, end := time.Unix(ts[0], 0), time.Now()
	if v, ok := c.body["end_ts"]; ok {
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if err != nil {
			return nil, dynInvalid("report: end_ts must be UNIX seconds")
		}
		end = time.Unix(n, 0)
	}
	detail, err := d.s.ctl.Service(c.ctx, fqdn)
	if err != nil {
		return nil, dynErrorFor(bare(fqdn), err)
	}
	// Every event up to end: a region's status at a time is that of its
	// last svc event, which may come before start.
	events, err := d.s.ctl.Log(c.ctx, fqdn, time.Unix(0, 0), end)
	if err != nil {
		return nil, dynErrorFor(bare(fqdn), err)
	}
	var jobs []JobRecord
	if h, ok := d.s.ctl.(JobHistory); ok {
		if jobs, err = h.Jobs(c.ctx, fqdn, start, end); err != nil {
			return nil, dynErrorFor(bare(fqdn), err)
		}
	}
	rep := &dynLogReport{d: d, ctx: c.ctx, fqdn: fqdn, events: events, served: map[int64]*RRSetReport{}, now: map[string]string{}}
	for _, reg := range detail.Regions {
		rep.now[reg.Code] = reg.Status
	}
	// Rows in time order; an operator action comes before the events it
	// caused at the same time.
	rows := []any{}
	for _, j := range jobs {
		for len(events) > 0 && events[0].Time.Before(j.Created) {
			rows = rep.eventRows(rows, events[0], start)
			events = events[1:]
		}
		rows = rep.jobRows(rows, j)
	}
	for _, e := range events {
		rows = rep.eventRows(rows, e, start)
	}
	return &dynResult{data: rows, info: "report: Log report"}, nil
}

// dynLogReport builds RTTMLogReport rows in Dyn's shape: serial,
// change_ts, change_type (health | user), region_code, region_status,
// user_name, serve_count, rdata_type and region_rdata, the served set
// after the change; address and message are failoverd's additions.
type dynLogReport struct {
	d      *dyn
	ctx    context.Context
	fqdn   string
	events []Event // every event of the service up to the report's end
	served map[int64]*RRSetReport
	now    map[string]string // region status now
}

// regionStatus is the status of region at t: that of its last svc event
// at or before t, else the one its next svc event changed from, else its
// status now.
func (l *dynLogReport) regionStatus(region string, t time.Time) string {
	status := ""
	for _, e := range l.events {
		if e.Kind != EventSvc || e.Region != region {
			continue
		}
		if e.Time.After(t) {
			if status == "" {
				status = e.OldStatus
			}
			break
		}
		status = e.NewStatus
	}
	if status == "" {
		status = l.now[region]
	}
	return status
}

// servedAt is the rrset report at t, asked once per second.
func (l *dynLogReport) servedAt(t time.Time) *RRSetReport {
	if rep, ok := l.served[t.Unix()]; ok {
		return rep
	}
	rep, err := l.d.s.ctl.RRSets(l.ctx, l.fqdn, t)
	if err != nil || rep == nil {
		rep = &RRSetReport{}
	}
	l.served[t.Unix()] = rep
	return rep
}

// row is one report row for region at t.
func (l *dynLogReport) row(t time.Time, changeType, region, user, message string) map[string]any {
	rep := l.servedAt(t)
	var served []string
	for _, reg := range rep.Regions {
		if reg.Code == region {
			served = reg.Served
		}
	}
	rtype, rdata := dynRdata(served)
	return map[string]any{
		"serial": rep.Serial, "change_ts": t.Unix(), "change_type": changeType, "region_code": region,
		"region_status": l.regionStatus(region, t), "user_name": user, "serve_count": len(rdata),
		"rdata_type": rtype, "region_rdata": rdata, "message": message,
	}
}

func (l *dynLogReport) eventRows(rows []any, e Event, start time.Time) []any {
	if e.Time.Before(start) {
		return rows
	}
	row := l.row(e.Time, "health", e.Region, "", e.Message)
	if e.Address != "" {
		row["address"] = e.Address
	}
	return append(rows, row)
}

// jobRows are an operator action's rows, one per region it serves.
func (l *dynLogReport) jobRows(rows []any, j JobRecord) []any {
	message := fmt.Sprintf("%s (job %d)", j.Action, j.ID)
	_, address, _ := strings.Cut(j.Target, "/") // an action on one address
	regions := l.servedAt(j.Created).Regions
	codes := make([]string, 0, len(regions))
	for _, reg := range regions {
		codes = append(codes, reg.Code)
	}
	if len(codes) == 0 {
		codes = append(codes, "")
	}
	for _, code := range codes {
		row := l.row(j.Created, "user", code, j.Actor, message)
		if address != "" {
			row["address"] = address
		}
		rows = append(rows, row)
	}
	return rows
}

// dynRdata is a served set as Dyn's rdata_type and region_rdata. Dyn has
// one type per row; a region serving both families is typed by its first
// record, and every record is listed.
func dynRdata(served []string) (string, []any) {
	rdata := []any{}
	var types []string
	for _, v := range served {
		switch ip := net.ParseIP(v); {
		case ip == nil:
			types = append(types, "CNAME")
			rdata = append(rdata, map[string]any{"rdata_cname": map[string]any{"cname": v}})
		case ip.To4() == nil:
			types = append(types, "AAAA")
			rdata = append(rdata, map[string]any{"rdata_aaaa": map[string]any{"address": v}})
		default:
			types = append(types, "A")
			rdata = append(rdata, map[string]any{"rdata_a": map[string]any{"address": v}})
		}
	}
	if len(types) == 0 {
		return "A", rdata
	}
	return types[0], rdata
}

func (d *dyn) rrsetReport(r *http.Request, c *dynCall) (*dynResult, *dynError) {
	if r.Method != http.MethodPost {
		return nil, dynErr(http.StatusBadRequest, "INVALID_REQUEST", "RTTMRRSetReport is POSTed")
	}
	fqdn, ts, derr := reportArgs(c, "ts")
	if derr != nil {
		return nil, derr
	}
	rep, err := d.s.ctl.RRSets(c.ctx, fqdn, time.Unix(ts[0], 0))
	if err != nil {
		return nil, dynErrorFor(bare(fqdn), err)
	}
	rows := []any{}
	for _, reg := range rep.Regions {
		rtype, rdata := dynRdata(reg.Served)
		rows = append(rows, map[string]any{"serial": rep.Serial, "region_code": reg.Code, "change_ts": rep.TS, "rdata_type": rtype, "serve_count": len(rdata), "region_rdata": rdata})
	}
	return &dynResult{data: rows, info: "report: RRSet report"}, nil
}
