package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Job actions of the calls that change services (docs/api.md, "Changing
// services over the API").
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// ServiceWriter changes API-managed services. Controller embeds it; the
// compatible surfaces (Dyn, UltraDNS) create, replace and delete services
// through it too.
type ServiceWriter interface {
	// PutService creates the service fqdn, or replaces it whole, from body:
	// exactly one service block in HCL's JSON syntax whose label is fqdn.
	// It is checked with the whole configuration as a file is (a
	// *DiagnosticsError when refused) and served before it returns; job
	// action create or update. A service from the operator's files is
	// ErrPreconditionFailed naming its FILE:LINE.
	PutService(ctx context.Context, fqdn string, body []byte) (*Job, error)
	// DeleteService removes an API-managed service; job action delete.
	// ErrDoesNotExist when there is no such service, ErrPreconditionFailed
	// when it comes from the operator's files.
	DeleteService(ctx context.Context, fqdn string) (*Job, error)
	// ServiceSource returns a service's block in HCL's JSON syntax as its
	// file has it (an API-managed service's body as stored, or the block of
	// the operator's file) and whether it is API-managed; a nil body when
	// the block cannot be read back. ErrDoesNotExist when there is no such
	// service.
	ServiceSource(ctx context.Context, fqdn string) (body []byte, managed bool, err error)
	// ServicesAsJSON turns the service blocks of a file in HCL's native
	// syntax into bodies for PutService (failoverctl apply); a
	// *DiagnosticsError when it cannot. Nothing changes.
	ServicesAsJSON(ctx context.Context, filename string, src []byte) ([]ServiceBlock, error)
}

// ServiceBlock is one service block in HCL's JSON syntax.
type ServiceBlock struct {
	Kind string          `json:"kind"`
	FQDN string          `json:"fqdn"`
	Body json.RawMessage `json:"body"`
}

// ConvertRequest is the body of POST /v1/convert: a file in HCL's native
// syntax and its name (for diagnostics).
type ConvertRequest struct {
	Filename string `json:"filename"`
	HCL      string `json:"hcl"`
}

// ConvertResponse is the answer of POST /v1/convert.
type ConvertResponse struct {
	Services []ServiceBlock `json:"services"`
}

// DiagnosticsError is a refused configuration: 400 ApiErrorBadRequest
// with the diagnostics ("FILE:LINE:COL: error: SUMMARY") in the answer.
type DiagnosticsError struct {
	Summary     string
	Diagnostics []string
}

// Error implements error.
func (e *DiagnosticsError) Error() string {
	if len(e.Diagnostics) == 0 {
		return e.Summary
	}
	return e.Summary + ": " + strings.Join(e.Diagnostics, "; ")
}

// Unwrap makes errors.Is(err, ErrBadRequest) true.
func (e *DiagnosticsError) Unwrap() error { return ErrBadRequest }

// diagnosticsOf returns the diagnostics of a *DiagnosticsError in err.
func diagnosticsOf(err error) ([]string, bool) {
	var de *DiagnosticsError
	if errors.As(err, &de) {
		if de.Diagnostics == nil {
			return []string{}, true
		}
		return de.Diagnostics, true
	}
	return nil, false
}

// maxServiceBody bounds a PUT body: a service with hundreds of pool
// entries, far beyond the few bytes of the other calls.
const maxServiceBody = 4 << 20

// apiBody is api with a body limit of its own.
func (s *Server) apiBody(limit int64, f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		v, aerr := f(r)
		if aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// putService handles PUT /v1/services/{fqdn}.
func (s *Server) putService(r *http.Request) (any, *APIError) {
	fqdn, aerr := fqdnParam(r)
	if aerr != nil {
		return nil, aerr
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, badRequest("reading the body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, badRequest("the body must be one service block in HCL's JSON syntax, such as {\"gslb\": {\"%s\": {...}}}", fqdn)
	}
	job, err := s.ctl.PutService(r.Context(), fqdn, body)
	return s.jobResult(r, job, err)
}

// convert handles POST /v1/convert.
func (s *Server) convert(r *http.Request) (any, *APIError) {
	var req ConvertRequest
	if _, aerr := decodeBody(r, &req, false); aerr != nil {
		return nil, aerr
	}
	if req.Filename == "" {
		req.Filename = "request"
	}
	blocks, err := s.ctl.ServicesAsJSON(r.Context(), req.Filename, []byte(req.HCL))
	if err != nil {
		return nil, errorFor(err)
	}
	return ConvertResponse{Services: blocks}, nil
}

// ServicesAsJSON calls POST /v1/convert.
func (c *Client) ServicesAsJSON(ctx context.Context, filename string, src []byte) ([]ServiceBlock, error) {
	var r ConvertResponse
	if err := c.Do(ctx, http.MethodPost, "/v1/convert", ConvertRequest{Filename: filename, HCL: string(src)}, &r); err != nil {
		return nil, err
	}
	return r.Services, nil
}

// deleteService handles DELETE /v1/services/{fqdn}.
func (s *Server) deleteService(r *http.Request) (any, *APIError) {
	fqdn, aerr := fqdnParam(r)
	if aerr != nil {
		return nil, aerr
	}
	job, err := s.ctl.DeleteService(r.Context(), fqdn)
	return s.jobResult(r, job, err)
}

// PutService calls PUT /v1/services/{fqdn} with body, one service block in
// HCL's JSON syntax.
func (c *Client) PutService(ctx context.Context, fqdn string, body []byte) (*Job, error) {
	var r JobResponse
	if err := c.Do(ctx, http.MethodPut, svcPath(fqdn), rawJSON(body), &r); err != nil {
		return nil, err
	}
	return r.Job, nil
}

// DeleteService calls DELETE /v1/services/{fqdn}.
func (c *Client) DeleteService(ctx context.Context, fqdn string) (*Job, error) {
	var r JobResponse
	if err := c.Do(ctx, http.MethodDelete, svcPath(fqdn), nil, &r); err != nil {
		return nil, err
	}
	return r.Job, nil
}

// rawJSON is a request body sent as it is.
type rawJSON []byte

// MarshalJSON implements json.Marshaler.
func (j rawJSON) MarshalJSON() ([]byte, error) { return j, nil }
