package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The Memset surface (docs/migrating.md): Memset's cluster.real_service.*
// methods and job.status over JSON (GET query, form POST or JSON body at
// /v1/json/METHOD/) and over XML-RPC (/v1/xmlrpc/, one struct of named
// parameters), authenticated with HTTP Basic whose user name is the API
// key, here the failoverd token.

// Memset error codes. ApiErrorDoesNotExist (3) and the bad key (4) are
// Memset's own; the others are failoverd's choice, as Memset documents
// none.
const (
	memsetCodeInternal           = 1
	memsetCodeBadParameter       = 2
	memsetCodeDoesNotExist       = 3
	memsetCodeBadKey             = 4
	memsetCodePreconditionFailed = 7
)

// memsetError is an error answer: HTTP status and JSON body, or an
// XML-RPC fault with the code.
type memsetError struct {
	Type   string `json:"error_type"`
	Code   int    `json:"error_code"`
	Text   string `json:"error"`
	status int
}

func memsetBadParameter(format string, args ...any) *memsetError {
	return &memsetError{Type: "ApiErrorBadParameter", Code: memsetCodeBadParameter, Text: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

func memsetNotFound(format string, args ...any) *memsetError {
	return &memsetError{Type: ErrorTypeDoesNotExist, Code: memsetCodeDoesNotExist, Text: fmt.Sprintf(format, args...), status: http.StatusNotFound}
}

// memsetErrorFor classifies a controller error.
func memsetErrorFor(err error) *memsetError {
	e := errorFor(err)
	switch e.Type {
	case ErrorTypeDoesNotExist:
		return &memsetError{Type: e.Type, Code: memsetCodeDoesNotExist, Text: e.Message, status: http.StatusNotFound}
	case ErrorTypePreconditionFailed:
		return &memsetError{Type: e.Type, Code: memsetCodePreconditionFailed, Text: e.Message, status: http.StatusPreconditionFailed}
	case ErrorTypeBadRequest:
		return memsetBadParameter("%s", e.Message)
	}
	return &memsetError{Type: "ApiErrorInternal", Code: memsetCodeInternal, Text: e.Message, status: http.StatusInternalServerError}
}

type memset struct{ s *Server }

// memsetParams are a call's named parameters: strings from a query or a
// form, typed values from JSON or XML-RPC.
type memsetParams map[string]any

// str returns a parameter as a string; numbers are accepted.
func (p memsetParams) str(name string) (string, *memsetError) {
	switch v := p[name].(type) {
	case string:
		if v != "" {
			return v, nil
		}
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case nil:
	default:
		return "", memsetBadParameter("parameter %s must be a string", name)
	}
	return "", memsetBadParameter("missing parameter %s", name)
}

// integer returns a parameter as an int; numeric strings are accepted (GET
// and form parameters are strings).
func (p memsetParams) integer(name string) (int, *memsetError) {
	switch v := p[name].(type) {
	case int:
		return v, nil
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, nil
		}
	case nil:
		return 0, memsetBadParameter("missing parameter %s", name)
	}
	return 0, memsetBadParameter("parameter %s must be an integer", name)
}

// names reads cluster_name, service_name and (with server) server_name.
func (p memsetParams) names(server bool) (c, s, r string, e *memsetError) {
	if c, e = p.str("cluster_name"); e != nil {
		return
	}
	if s, e = p.str("service_name"); e != nil {
		return
	}
	if server {
		r, e = p.str("server_name")
	}
	return
}

type memsetMethod func(m *memset, ctx context.Context, p memsetParams) (any, *memsetError)

// memsetMethods are the methods served, by Memset's names.
var memsetMethods = map[string]memsetMethod{
	"cluster.real_service.info":             (*memset).info,
	"cluster.real_service.list":             (*memset).list,
	"cluster.real_service.statistics":       (*memset).statistics,
	"cluster.real_service.enable":           clusterAction(ActionEnable),
	"cluster.real_service.disable":          clusterAction(ActionDisable),
	"cluster.real_service.enable_fallback":  clusterAction(ActionEnableFallback),
	"cluster.real_service.disable_fallback": clusterAction(ActionDisableFallback),
	"cluster.real_service.set_weight":       (*memset).setWeight,
	"job.status":                            (*memset).jobStatus,
}

func realInfo(r *RealService) map[string]any {
	return map[string]any{
		"ip_address": r.IPAddress,
		"port":       strconv.Itoa(r.Port), // a string, as Memset's documentation shows it
		"weight":     r.Weight,
		"fallback":   r.Fallback,
		"enabled":    r.Enabled,
		"status":     r.Status,
	}
}

func (m *memset) info(ctx context.Context, p memsetParams) (any, *memsetError) {
	c, s, r, e := p.names(true)
	if e != nil {
		return nil, e
	}
	rs, err := m.s.ctl.RealService(ctx, c, s, r)
	if err != nil {
		return nil, memsetErrorFor(err)
	}
	return realInfo(rs), nil
}

func (m *memset) list(ctx context.Context, p memsetParams) (any, *memsetError) {
	c, s, _, e := p.names(false)
	if e != nil {
		return nil, e
	}
	list, err := m.s.ctl.RealServices(ctx, c, s)
	if err != nil {
		return nil, memsetErrorFor(err)
	}
	out := []any{}
	for i := range list {
		info := realInfo(&list[i])
		info["name"] = list[i].Name
		out = append(out, info)
	}
	return out, nil
}

func (m *memset) statistics(ctx context.Context, p memsetParams) (any, *memsetError) {
	c, s, r, e := p.names(true)
	if e != nil {
		return nil, e
	}
	st, err := m.s.ctl.RealServiceStatistics(ctx, c, s, r)
	if err != nil {
		return nil, memsetErrorFor(err)
	}
	out := map[string]any{
		"active": st.Active,
		// failoverd answers DNS; it carries no traffic to count.
		"active_connections": 0, "inactive_connections": 0, "persistent_connections": 0,
		"connections_per_second": 0, "bps_in": 0, "bps_out": 0, "pps_in": 0, "pps_out": 0,
		"last_update":          nil,
		"status":               st.Status,
		"rtt_seconds":          nil,
		"answers_total":        st.AnswersTotal,
		"probes_total":         st.ProbesTotal,
		"probe_failures_total": st.ProbeFailuresTotal,
	}
	if st.LastUpdate != nil {
		out["last_update"] = st.LastUpdate.UTC()
	}
	if st.RTTSeconds != nil {
		out["rtt_seconds"] = *st.RTTSeconds
	}
	return out, nil
}

func clusterAction(action string) memsetMethod {
	return func(m *memset, ctx context.Context, p memsetParams) (any, *memsetError) {
		c, s, r, e := p.names(true)
		if e != nil {
			return nil, e
		}
		job, err := m.s.ctl.ClusterOp(ctx, c, s, r, action)
		if err != nil {
			return nil, memsetErrorFor(err)
		}
		return m.jobResult(job), nil
	}
}

func (m *memset) setWeight(ctx context.Context, p memsetParams) (any, *memsetError) {
	c, s, r, e := p.names(true)
	if e != nil {
		return nil, e
	}
	w, e := p.integer("weight")
	if e != nil {
		return nil, e
	}
	job, err := m.s.ctl.SetWeight(ctx, c, s, r, w)
	if err != nil {
		return nil, memsetErrorFor(err)
	}
	return m.jobResult(job), nil
}

// memsetJobID renders a native job id as Memset's 32 hex digits.
func memsetJobID(id uint64) string { return fmt.Sprintf("%032x", id) }

// jobResult is a mutator's answer: the job's status, or null when nothing
// changed.
func (m *memset) jobResult(job *Job) any {
	if job == nil {
		return nil
	}
	m.s.log.Info("api job", zap.String("surface", "memset"), zap.Uint64("job", job.ID), zap.String("action", job.Action), zap.String("target", job.Target))
	return memsetJobStatus(job)
}

func memsetJobStatus(job *Job) map[string]any {
	service, _, _ := strings.Cut(job.Target, "/")
	kind := "CLUSTER-REAL-SERVICE-"
	if !strings.Contains(job.Target, "/") {
		kind = "SERVICE-"
	}
	return map[string]any{
		"id":       memsetJobID(job.ID),
		"type":     kind + strings.ToUpper(strings.ReplaceAll(job.Action, "_", "-")),
		"status":   job.Status,
		"service":  service,
		"finished": true,
		"error":    false,
	}
}

func (m *memset) jobStatus(ctx context.Context, p memsetParams) (any, *memsetError) {
	raw, e := p.str("id")
	if e != nil {
		return nil, e
	}
	// Native ids are 64-bit: 16 leading zeros, then the id in hex.
	id, err := strconv.ParseUint(raw[min(len(raw), 16):], 16, 64)
	if len(raw) != 32 || strings.Trim(raw[:16], "0") != "" || err != nil {
		return nil, memsetNotFound("job %s does not exist", raw)
	}
	job, jerr := m.s.ctl.Job(ctx, id)
	if jerr != nil {
		return nil, memsetErrorFor(jerr)
	}
	return memsetJobStatus(job), nil
}

// call authenticates and runs one method.
func (m *memset) call(r *http.Request, method string, p memsetParams) (any, *memsetError) {
	key, _, ok := r.BasicAuth()
	if !ok {
		key, _ = p["api_key"].(string)
	}
	delete(p, "api_key")
	if !m.s.isToken(key) {
		m.s.authLog.failed(r, "wrong Memset API key")
		return nil, &memsetError{Type: "ApiErrorUnauthorized", Code: memsetCodeBadKey, Text: "bad or missing API key", status: http.StatusForbidden}
	}
	fn, ok := memsetMethods[method]
	if !ok {
		return nil, memsetNotFound("no such method %s", method)
	}
	return fn(m, r.Context(), p)
}

// jsonHandler serves /v1/json/METHOD[/...].
func (m *memset) jsonHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		method, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/json/"), "/")
		p, e := memsetJSONParams(r)
		var v any
		if e == nil {
			v, e = m.call(r, method, p)
		}
		if e != nil {
			m.s.log.Debug("memset call rejected", zap.String("method", method), zap.String("error_type", e.Type), zap.String("error", e.Text))
			writeJSON(w, e.status, e)
			return
		}
		writeJSON(w, http.StatusOK, jsonTimes(v))
	})
}

// memsetJSONParams gathers the query's parameters and the body's: a form,
// or a JSON object.
func memsetJSONParams(r *http.Request) (memsetParams, *memsetError) {
	p := memsetParams{}
	for k, vs := range r.URL.Query() {
		p[k] = vs[len(vs)-1]
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	if r.Method != http.MethodPost {
		return nil, memsetBadParameter("use GET or POST, not %s", r.Method)
	}
	if isJSON(r.Header.Get("Content-Type")) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, memsetBadParameter("reading the body: %v", err)
		}
		if len(strings.TrimSpace(string(body))) == 0 {
			return p, nil
		}
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, memsetBadParameter("the body is not a JSON object: %v", err)
		}
		for k, v := range obj {
			if f, ok := v.(float64); ok && f == float64(int(f)) {
				v = int(f)
			}
			p[k] = v
		}
		return p, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, memsetBadParameter("reading the form: %v", err)
	}
	for k, vs := range r.PostForm {
		p[k] = vs[len(vs)-1]
	}
	return p, nil
}

// jsonTimes renders times in results as ISO 8601 strings.
func jsonTimes(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonTimes(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonTimes(e)
		}
		return out
	}
	return v
}

// xmlrpcHandler serves /v1/xmlrpc/: faults carry the error code.
func (m *memset) xmlrpcHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(b []byte) {
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write(b)
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, memsetBadParameter("XML-RPC calls are POSTed"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			write(xmlrpcFault(memsetCodeBadParameter, "reading the call: "+err.Error()))
			return
		}
		method, params, err := parseXMLRPCCall(body)
		if err != nil {
			write(xmlrpcFault(memsetCodeBadParameter, err.Error()))
			return
		}
		p := memsetParams{}
		switch {
		case len(params) == 0:
		case len(params) == 1:
			st, ok := params[0].(map[string]any)
			if !ok {
				write(xmlrpcFault(memsetCodeBadParameter, "the parameters are one struct of named values"))
				return
			}
			for k, v := range st {
				p[k] = v
			}
		default:
			write(xmlrpcFault(memsetCodeBadParameter, "the parameters are one struct of named values"))
			return
		}
		v, e := m.call(r, method, p)
		if e != nil {
			m.s.log.Debug("memset call rejected", zap.String("method", method), zap.String("error_type", e.Type), zap.String("error", e.Text))
			write(xmlrpcFault(e.Code, e.Text))
			return
		}
		write(xmlrpcResponse(v))
	})
}
