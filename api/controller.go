package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Controller is what the API needs from the daemon. Every method is called
// concurrently from HTTP handlers. Errors wrap ErrDoesNotExist,
// ErrPreconditionFailed or ErrBadRequest (fmt.Errorf("...: %w",
// api.ErrDoesNotExist)) to choose the error type; any other error is a 500.
// A method that returns an error must not have changed anything. Mutating
// methods return a nil Job and a nil error when there was nothing to change.
// FQDNs passed in are absolute (with the trailing dot) but keep the caller's
// letter case. ctx is the request's: when the client goes away, a call
// still waiting for the daemon returns ctx.Err() without having changed
// anything.
type Controller interface {
	// Services lists every service.
	Services(ctx context.Context) []ServiceSummary
	// Service describes one service in full.
	Service(ctx context.Context, fqdn string) (*ServiceDetail, error)
	// Activate starts monitoring a service.
	Activate(ctx context.Context, fqdn string) (*Job, error)
	// Deactivate stops monitoring a service; its primary / full pool is served.
	Deactivate(ctx context.Context, fqdn string) (*Job, error)
	// Recover brings one removed address back, or with address "" clears
	// the service's failover latch and every removed address.
	Recover(ctx context.Context, fqdn, address string) (*Job, error)
	// Force forces an sf_pool's live record inactive (status MANUAL).
	Force(ctx context.Context, fqdn string) (*Job, error)
	// Unforce puts an sf_pool's live record back to NOT_FORCED.
	Unforce(ctx context.Context, fqdn string) (*Job, error)
	// Log returns every event of the service in [start, end], oldest first.
	Log(ctx context.Context, fqdn string, start, end time.Time) ([]Event, error)
	// RRSets returns what each region of the service served at ts.
	RRSets(ctx context.Context, fqdn string, ts time.Time) (*RRSetReport, error)
	// Job returns a job created earlier.
	Job(ctx context.Context, id uint64) (*Job, error)
	// Clusters lists every cluster with its services.
	Clusters(ctx context.Context) []ClusterSummary
	// RealServices lists the real services of a cluster service.
	RealServices(ctx context.Context, cluster, service string) ([]RealService, error)
	// RealService describes one real service.
	RealService(ctx context.Context, cluster, service, real string) (*RealService, error)
	// RealServiceStatistics returns the statistics of one real service.
	RealServiceStatistics(ctx context.Context, cluster, service, real string) (*RealServiceStatistics, error)
	// ClusterOp applies enable, disable, enable_fallback or disable_fallback.
	ClusterOp(ctx context.Context, cluster, service, real, action string) (*Job, error)
	// SetWeight changes a real service's weight (0 = no new traffic).
	SetWeight(ctx context.Context, cluster, service, real string, weight int) (*Job, error)
	// ZoneDNSSEC describes the signing key of a signed zone (public parts
	// only); ErrDoesNotExist for a zone that is not served or not signed.
	ZoneDNSSEC(ctx context.Context, zone string) (*ZoneDNSSEC, error)
	// ServiceWriter: PUT and DELETE /v1/services/{fqdn}.
	ServiceWriter
	// Operations: explain, what-if, reload, zones.
	Operations
}

// Sentinel errors a Controller wraps to choose the API error type.
var (
	// ErrDoesNotExist maps to ApiErrorDoesNotExist (404).
	ErrDoesNotExist = errors.New("does not exist")
	// ErrPreconditionFailed maps to ApiErrorPreconditionFailed (412).
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrBadRequest maps to ApiErrorBadRequest (400).
	ErrBadRequest = errors.New("bad request")
)

// API error types, the values of the "error_type" field.
const (
	ErrorTypeBadRequest         = "ApiErrorBadRequest"
	ErrorTypeUnauthorized       = "ApiErrorUnauthorized"
	ErrorTypeDoesNotExist       = "ApiErrorDoesNotExist"
	ErrorTypePreconditionFailed = "ApiErrorPreconditionFailed"
	// ErrorTypeInternal is used for a 500: an error the controller did not
	// classify. It is not one of the four documented types on purpose.
	ErrorTypeInternal = "ApiErrorInternal"
)

// APIError is an error answer of the API, as the Client returns it.
type APIError struct {
	Type    string // error_type, e.g. ApiErrorDoesNotExist
	Message string // the human readable "error" text
	Status  int    // HTTP status code
	// Diagnostics are a refused configuration's problems
	// ("FILE:LINE:COL: error: SUMMARY"), for ApiErrorBadRequest.
	Diagnostics []string
}

// Error implements error: the API's error text.
func (e *APIError) Error() string {
	return e.Message
}

// Is lets errors.Is(err, ErrDoesNotExist) (and the other sentinels) match
// an APIError of the corresponding type.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrDoesNotExist:
		return e.Type == ErrorTypeDoesNotExist
	case ErrPreconditionFailed:
		return e.Type == ErrorTypePreconditionFailed
	case ErrBadRequest:
		return e.Type == ErrorTypeBadRequest
	}
	return false
}

// errorFor classifies a controller error.
func errorFor(err error) *APIError {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrDoesNotExist):
		return &APIError{Type: ErrorTypeDoesNotExist, Message: err.Error(), Status: http.StatusNotFound}
	case errors.Is(err, ErrPreconditionFailed):
		return &APIError{Type: ErrorTypePreconditionFailed, Message: err.Error(), Status: http.StatusPreconditionFailed}
	case errors.Is(err, ErrBadRequest):
		e := badRequest("%s", err.Error())
		e.Diagnostics, _ = diagnosticsOf(err)
		return e
	}
	return &APIError{Type: ErrorTypeInternal, Message: "internal error: " + err.Error(), Status: http.StatusInternalServerError}
}

func badRequest(format string, args ...any) *APIError {
	return &APIError{Type: ErrorTypeBadRequest, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func notFound(format string, args ...any) *APIError {
	return &APIError{Type: ErrorTypeDoesNotExist, Message: fmt.Sprintf(format, args...), Status: http.StatusNotFound}
}

// actorKey carries the name of who makes a call through a compatible
// surface (a Dyn or UltraDNS login's user name).
type actorKey struct{}

// WithActor returns ctx naming actor as the caller.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorOf is the caller named by WithActor, or "".
func ActorOf(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// JobRecord is a job with who made it.
type JobRecord struct {
	Job
	Actor string
}

// JobHistory is implemented by a Controller that can list the jobs made on
// one service; the Dyn log report shows them as change_type "user" rows.
// Without it the report has health rows only.
type JobHistory interface {
	// Jobs returns the jobs whose target is fqdn, or one of its addresses
	// ("fqdn/address"), created in [start, end], oldest first.
	Jobs(ctx context.Context, fqdn string, start, end time.Time) ([]JobRecord, error)
}
