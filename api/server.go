// Package api serves failoverd's control API: JSON over HTTP or HTTPS with
// bearer token authentication, the status page, /healthz and /metrics. It
// declares the Controller interface it needs (implemented by the daemon) and
// offers a Client for failoverctl.
//
// The server answers only to its own host names (DNS rebinding), accepts
// writes only from its own origin and with JSON bodies (cross-site
// requests), caps its connections and rate-limits the warnings about failed
// authentications; docs/hardening.md describes the rules.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/net/netutil"
)

// DefaultListen is the API's listen address when Options.Listen is empty.
const DefaultListen = "127.0.0.1:8053"

// maxBody bounds request bodies; the API's bodies are a few bytes.
const maxBody = 64 << 10

// shutdownTimeout bounds the graceful shutdown of Run.
const shutdownTimeout = 5 * time.Second

// DefaultMaxConns is Options.MaxConns when unset.
const DefaultMaxConns = 100

// Options configure a Server.
type Options struct {
	// Listen is host:port; empty means DefaultListen.
	Listen string
	// Token is the bearer token every /v1/ request must carry; "" means no
	// authentication, allowed only on a loopback Listen. The caller has
	// already read api.token_file and trimmed its white space.
	Token string
	// TokenFile is the file Token was read from (api.token_file), "" when
	// none is configured. With a TokenFile, a blank Token is refused (it
	// would silently switch authentication off), and a file that group or
	// others may read is warned about.
	TokenFile string
	// TLSCertFile and TLSKeyFile (api.tls_cert_file, api.tls_key_file),
	// both or neither, make the API serve HTTPS only, so that the token
	// never travels in clear.
	TLSCertFile string
	TLSKeyFile  string
	// AllowedHosts are extra names the API answers to in the Host header,
	// besides IP literals, localhost, the Listen host and this machine's
	// host name: server.hostname, a DNS name in front of the API. Any
	// other name is refused (DNS rebinding).
	AllowedHosts []string
	// MaxConns caps the connections served at once; more wait in the
	// kernel's accept queue. Zero means DefaultMaxConns.
	MaxConns int
	// StoreHealth reports the state store's health (store.(*Store).Health):
	// while it returns an error, GET /healthz answers 503 "store: ERROR"
	// and the status page shows it. Nil means always healthy.
	StoreHealth func() error
	// Metrics serves GET /metrics (a promhttp handler); nil answers 404.
	Metrics http.Handler
	// Registerer receives the API's own metrics; nil registers none.
	Registerer prometheus.Registerer
	// Compat switches on the hosted products' own APIs (api.compat).
	Compat CompatOptions
}

// Server is the HTTP server of the control API.
type Server struct {
	opts    Options
	ctl     Controller
	log     *zap.Logger
	handler http.Handler
	token   [sha256.Size]byte // sha256 of the token, so the comparison is constant-time whatever the lengths
	hosts   hostPolicy
	authLog *authFailureLog
	tlsCert *tls.Certificate // nil: plain HTTP

	ready    chan struct{}
	addrMu   sync.Mutex // guards addr, set once by Run and read by Addr from any goroutine
	addr     net.Addr
	requests *prometheus.CounterVec
}

// NewServer checks the options and builds the server. It refuses a
// non-loopback Listen without a Token.
func NewServer(opts Options, c Controller, log *zap.Logger) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if c == nil {
		return nil, errors.New("api: nil Controller")
	}
	if log == nil {
		log = zap.NewNop()
	}
	loop, err := IsLoopbackListen(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("api listen %q: %w", opts.Listen, err)
	}
	if opts.TokenFile != "" && strings.TrimSpace(opts.Token) == "" {
		return nil, fmt.Errorf("api token_file %s is empty: write a token into it (a blank token would switch authentication off)", opts.TokenFile)
	}
	if !loop && opts.Token == "" {
		return nil, fmt.Errorf("api listen %q is not a loopback address: a token_file is required", opts.Listen)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	s := &Server{
		opts:    opts,
		ctl:     c,
		log:     log,
		token:   sha256.Sum256([]byte(opts.Token)),
		hosts:   newHostPolicy(opts.Listen, opts.AllowedHosts),
		authLog: &authFailureLog{log: log, now: time.Now},
		ready:   make(chan struct{}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failoverd_api_requests_total",
			Help: "Control API requests by HTTP method and status code.",
		}, []string{"method", "code"}),
	}
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, errors.New("api: tls_cert_file and tls_key_file go together")
	}
	if opts.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCertFile, opts.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("api tls_cert_file %s, tls_key_file %s: %w", opts.TLSCertFile, opts.TLSKeyFile, err)
		}
		s.tlsCert = &cert
	} else if !loop {
		log.Warn("api listens beyond loopback without TLS: the token travels in clear (set api.tls_cert_file and api.tls_key_file)",
			zap.String("listen", opts.Listen))
	}
	if opts.TokenFile != "" {
		if msg := TokenFileProblem(opts.TokenFile); msg != "" {
			log.Warn(msg, zap.String("token_file", opts.TokenFile))
		}
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.requests); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w", err)
		}
	}
	s.handler = s.routes()
	return s, nil
}

// IsLoopbackListen reports whether a host:port listen address binds only
// loopback addresses (127.0.0.0/8, ::1 or "localhost"). An empty host binds
// every interface and is not loopback.
func IsLoopbackListen(listen string) (bool, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// TokenFileProblem returns a warning when the token file at path may be
// read by its group or by others, "" when it is private (or cannot be
// checked: reading it is what fails then).
func TokenFileProblem(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 {
		return fmt.Sprintf("api token_file is readable by its group or others (mode %04o): chmod 600 it", perm)
	}
	return ""
}

// Handler returns the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Ready is closed once Run has bound its listener.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the bound address, nil before Ready.
func (s *Server) Addr() net.Addr {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// Run binds Listen, serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("api listen %s: %w", s.opts.Listen, err)
	}
	s.addrMu.Lock()
	s.addr = ln.Addr()
	s.addrMu.Unlock()
	// The cap bounds what a flood of connections costs; it counts TCP
	// connections (idle keep-alives included), hence the short IdleTimeout.
	ln = netutil.LimitListener(ln, s.opts.MaxConns)
	if s.tlsCert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*s.tlsCert}, MinVersion: tls.VersionTLS12})
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          zap.NewStdLog(s.log),
	}
	s.log.Info("api listening", zap.Stringer("addr", ln.Addr()), zap.Bool("auth", s.opts.Token != ""),
		zap.Bool("tls", s.tlsCert != nil), zap.Int("max_conns", s.opts.MaxConns))
	close(s.ready)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		<-errc
		return fmt.Errorf("api shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api serve: %w", err)
	}
	return nil
}

func (s *Server) routes() http.Handler {
	v1 := http.NewServeMux()
	v1.Handle("GET /v1/services", s.api(s.listServices))
	v1.Handle("GET /v1/services/{fqdn}", s.api(s.getService))
	v1.Handle("POST /v1/services/{fqdn}/activate", s.api(s.serviceOp(s.ctl.Activate)))
	v1.Handle("POST /v1/services/{fqdn}/deactivate", s.api(s.serviceOp(s.ctl.Deactivate)))
	v1.Handle("POST /v1/services/{fqdn}/force", s.api(s.serviceOp(s.ctl.Force)))
	v1.Handle("POST /v1/services/{fqdn}/unforce", s.api(s.serviceOp(s.ctl.Unforce)))
	v1.Handle("POST /v1/services/{fqdn}/recover", s.api(s.recover))
	v1.Handle("PUT /v1/services/{fqdn}", s.apiBody(maxServiceBody, s.putService))
	v1.Handle("DELETE /v1/services/{fqdn}", s.api(s.deleteService))
	v1.Handle("POST /v1/convert", s.apiBody(maxServiceBody, s.convert))
	v1.Handle("GET /v1/services/{fqdn}/log", s.api(s.logReport))
	v1.Handle("GET /v1/services/{fqdn}/rrsets", s.api(s.rrsetReport))
	v1.Handle("GET /v1/jobs/{id}", s.api(s.getJob))
	v1.Handle("GET /v1/clusters", s.api(s.listClusters))
	const rs = "/v1/clusters/{c}/services/{s}/real_services"
	v1.Handle("GET "+rs, s.api(s.listRealServices))
	v1.Handle("GET "+rs+"/{r}", s.api(s.getRealService))
	v1.Handle("GET "+rs+"/{r}/statistics", s.api(s.realServiceStatistics))
	for _, action := range ClusterActions() {
		v1.Handle("POST "+rs+"/{r}/"+action, s.api(s.clusterOp(action)))
	}
	v1.Handle("POST "+rs+"/{r}/weight", s.api(s.setWeight))
	v1.Handle("GET /v1/zones/{zone}/dnssec", s.api(s.zoneDNSSEC))
	s.operationRoutes(v1)
	v1.Handle("/v1/", s.api(func(r *http.Request) (any, *APIError) {
		return nil, notFound("no such endpoint: %s %s", r.Method, r.URL.Path)
	}))

	mux := http.NewServeMux()
	native := s.authenticate(s.requireJSON(v1))
	mux.Handle("/v1/", native)
	s.compatRoutes(mux, native)
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", s.opts.Metrics)
	}
	s.statusPage(mux)
	return promhttp.InstrumentHandlerCounter(s.requests, s.guard(mux))
}

// healthz answers 200 "ok", or 503 "store: ERROR" while the state store
// cannot write (the daemon still answers DNS, but changes are not kept).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.opts.StoreHealth != nil {
		if err := s.opts.StoreHealth(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("store: " + err.Error()))
			return
		}
	}
	_, _ = w.Write([]byte("ok"))
}

// authenticate checks the bearer token of every /v1/ request.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			reason := "wrong token"
			if r.Header.Get("Authorization") == "" {
				reason = "no token"
			}
			s.authLog.failed(r, reason)
			w.Header().Set("WWW-Authenticate", `Bearer realm="failoverd"`)
			s.writeError(w, r, &APIError{Type: ErrorTypeUnauthorized, Message: "missing or wrong bearer token", Status: http.StatusUnauthorized})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}

// apiFunc handles one API call: a value to encode with status 200, or an error.
type apiFunc func(r *http.Request) (any, *APIError)

func (s *Server) api(f apiFunc) http.Handler { return s.apiBody(maxBody, f) }

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *APIError) {
	if e.Status >= 500 {
		s.log.Error("api call failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("error", e.Message))
	} else {
		s.log.Debug("api call rejected", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.String("error_type", e.Type), zap.String("error", e.Message))
	}
	writeJSON(w, e.Status, ErrorResponse{ErrorType: e.Type, Error: e.Message, Diagnostics: e.Diagnostics})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorResponse{ErrorType: ErrorTypeInternal, Error: "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// NormalizeFQDN makes a name absolute (trailing dot). It rejects names that
// cannot be a DNS name in a path.
func NormalizeFQDN(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "." {
		return "", errors.New("empty fqdn")
	}
	if strings.ContainsAny(name, "/ \t\r\n") || strings.Contains(name, "..") {
		return "", fmt.Errorf("invalid fqdn %q", name)
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name, nil
}

func fqdnParam(r *http.Request) (string, *APIError) {
	f, err := NormalizeFQDN(r.PathValue("fqdn"))
	if err != nil {
		return "", badRequest("%v", err)
	}
	return f, nil
}

func (s *Server) listServices(r *http.Request) (any, *APIError) {
	list := s.ctl.Services(r.Context())
	if list == nil {
		list = []ServiceSummary{}
	}
	list, aerr := filterServices(list, r)
	if aerr != nil {
		return nil, aerr
	}
	return pageServices(list, r)
}

func (s *Server) getService(r *http.Request) (any, *APIError) {
	fqdn, aerr := fqdnParam(r)
	if aerr != nil {
		return nil, aerr
	}
	d, err := s.ctl.Service(r.Context(), fqdn)
	if err != nil {
		return nil, errorFor(err)
	}
	if d == nil {
		return nil, notFound("service %s does not exist", fqdn)
	}
	return d, nil
}

func (s *Server) jobResult(r *http.Request, job *Job, err error) (any, *APIError) {
	if err != nil {
		return nil, errorFor(err)
	}
	if job != nil {
		s.log.Info("api job", zap.String("path", r.URL.Path), zap.Uint64("job", job.ID),
			zap.String("action", job.Action), zap.String("target", job.Target))
	}
	return JobResponse{Job: job}, nil
}

func (s *Server) serviceOp(op func(ctx context.Context, fqdn string) (*Job, error)) apiFunc {
	return func(r *http.Request) (any, *APIError) {
		fqdn, aerr := fqdnParam(r)
		if aerr != nil {
			return nil, aerr
		}
		job, err := op(r.Context(), fqdn)
		return s.jobResult(r, job, err)
	}
}

func (s *Server) recover(r *http.Request) (any, *APIError) {
	fqdn, aerr := fqdnParam(r)
	if aerr != nil {
		return nil, aerr
	}
	var req RecoverRequest
	if _, aerr := decodeBody(r, &req, true); aerr != nil {
		return nil, aerr
	}
	job, err := s.ctl.Recover(r.Context(), fqdn, strings.TrimSpace(req.Address))
	return s.jobResult(r, job, err)
}

// decodeBody decodes a JSON object body strictly. An empty body is allowed
// when optional; it reports whether a body was present.
func decodeBody(r *http.Request, v any, optional bool) (bool, *APIError) {
	var raw json.RawMessage
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			if optional {
				return false, nil
			}
			return false, badRequest("missing JSON body")
		}
		return false, badRequest("malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return false, badRequest("malformed JSON body: trailing data")
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return false, badRequest("malformed JSON body: %v", err)
	}
	return true, nil
}

func (s *Server) logReport(r *http.Request) (any, *APIError) {
	fqdn, aerr := fqdnParam(r)
	if aerr != nil {
		return nil, aerr
	}
	q := r.URL.Query()
	if q.Get("start") == "" {
		return nil, badRequest("missing parameter start (RFC 3339)")
	}
	start, err := parseTime(q.Get("start"))
	if err != nil {
		return nil, badRequest("invalid parameter start: %v", err)
	}
	end := time.Now().UTC()
	if v := q.Get("end"); v != "" {
		if end, err = parseTime(v); err != nil {
			return nil, badRequest("invalid parameter end: %v", err)
		}
	}
	if end.Before(start) {
		return nil, badRequest("end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	events, err := s.ctl.Log(r.Context(), fqdn, start, end)
	if err != nil {
		return nil, errorFor(err)
	}
	if events == nil {
		events = []Event{}
	}
	return LogResponse{Events: events}, nil
}

// parseTime parses RFC 3339; a "+" of the zone offset that arrived
// unencoded in a query string (and so became a space) is accepted too.
func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil && strings.Contains(v, " ") {
		if t2, err2 := time.Parse(time.RFC3339, strings.ReplaceAll(v, " ", "+")); err2 == nil {
			return t2.UTC(), nil
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not RFC 3339 (2006-01-02T15:04:05Z)", v)
	}
	return t.UTC(), nil
}

func (s *Server) rrsetReport(r *http.Request) (any, *APIError) {
	fqdn, aerr := fqdnParam(r)
	if aerr != nil {
		return nil, aerr
	}
	v := r.URL.Query().Get("ts")
	if v == "" {
		return nil, badRequest("missing parameter ts (UNIX seconds)")
	}
	ts, err := parseUnix(v)
	if err != nil {
		return nil, badRequest("invalid parameter ts: %v", err)
	}
	rep, err := s.ctl.RRSets(r.Context(), fqdn, time.Unix(ts, 0).UTC())
	if err != nil {
		return nil, errorFor(err)
	}
	if rep == nil {
		rep = &RRSetReport{TS: ts}
	}
	return rep, nil
}

func (s *Server) zoneDNSSEC(r *http.Request) (any, *APIError) {
	zone, err := NormalizeFQDN(r.PathValue("zone"))
	if err != nil {
		return nil, badRequest("%v", err)
	}
	d, err := s.ctl.ZoneDNSSEC(r.Context(), zone)
	if err != nil {
		return nil, errorFor(err)
	}
	if d == nil {
		return nil, notFound("zone %s is not signed", zone)
	}
	return d, nil
}

func parseUnix(v string) (int64, error) {
	var ts int64
	if _, err := fmt.Sscanf(v, "%d", &ts); err != nil || fmt.Sprint(ts) != strings.TrimPrefix(v, "+") || ts < 0 {
		return 0, fmt.Errorf("%q is not a UNIX timestamp in seconds", v)
	}
	return ts, nil
}

func (s *Server) getJob(r *http.Request) (any, *APIError) {
	v := r.PathValue("id")
	var id uint64
	if _, err := fmt.Sscanf(v, "%d", &id); err != nil || fmt.Sprint(id) != v {
		return nil, badRequest("invalid job id %q", v)
	}
	job, err := s.ctl.Job(r.Context(), id)
	if err != nil {
		return nil, errorFor(err)
	}
	if job == nil {
		return nil, notFound("job %d does not exist", id)
	}
	return JobResponse{Job: job}, nil
}

func (s *Server) listClusters(r *http.Request) (any, *APIError) {
	list := s.ctl.Clusters(r.Context())
	if list == nil {
		list = []ClusterSummary{}
	}
	return ClustersResponse{Clusters: list}, nil
}

// ValidClusterName reports whether name has 1-64 of A-Z a-z 0-9 - . _ (the
// rule of cluster names; service and real service names follow it too).
func ValidClusterName(name string) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// clusterParams returns the path's cluster, service and (when withReal)
// real service names.
func clusterParams(r *http.Request, withReal bool) (c, svc, real string, aerr *APIError) {
	c, svc = r.PathValue("c"), r.PathValue("s")
	names := [][2]string{{"cluster", c}, {"service", svc}}
	if withReal {
		real = r.PathValue("r")
		names = append(names, [2]string{"real service", real})
	}
	for _, n := range names {
		if !ValidClusterName(n[1]) {
			return "", "", "", badRequest("invalid %s name %q: 1-64 of A-Z a-z 0-9 - . _", n[0], n[1])
		}
	}
	return c, svc, real, nil
}

func (s *Server) listRealServices(r *http.Request) (any, *APIError) {
	c, svc, _, aerr := clusterParams(r, false)
	if aerr != nil {
		return nil, aerr
	}
	list, err := s.ctl.RealServices(r.Context(), c, svc)
	if err != nil {
		return nil, errorFor(err)
	}
	if list == nil {
		list = []RealService{}
	}
	return RealServicesResponse{RealServices: list}, nil
}

func (s *Server) getRealService(r *http.Request) (any, *APIError) {
	c, svc, real, aerr := clusterParams(r, true)
	if aerr != nil {
		return nil, aerr
	}
	rs, err := s.ctl.RealService(r.Context(), c, svc, real)
	if err != nil {
		return nil, errorFor(err)
	}
	if rs == nil {
		return nil, notFound("real service %s/%s/%s does not exist", c, svc, real)
	}
	return rs, nil
}

func (s *Server) realServiceStatistics(r *http.Request) (any, *APIError) {
	c, svc, real, aerr := clusterParams(r, true)
	if aerr != nil {
		return nil, aerr
	}
	st, err := s.ctl.RealServiceStatistics(r.Context(), c, svc, real)
	if err != nil {
		return nil, errorFor(err)
	}
	if st == nil {
		return nil, notFound("real service %s/%s/%s does not exist", c, svc, real)
	}
	return st, nil
}

func (s *Server) clusterOp(action string) apiFunc {
	return func(r *http.Request) (any, *APIError) {
		c, svc, real, aerr := clusterParams(r, true)
		if aerr != nil {
			return nil, aerr
		}
		job, err := s.ctl.ClusterOp(r.Context(), c, svc, real, action)
		return s.jobResult(r, job, err)
	}
}

// MaxRealServiceWeight is the largest real service weight: it is served as
// the 16-bit SRV weight (config's real_service.weight has the same bound).
const MaxRealServiceWeight = 65535

func (s *Server) setWeight(r *http.Request) (any, *APIError) {
	c, svc, real, aerr := clusterParams(r, true)
	if aerr != nil {
		return nil, aerr
	}
	var req WeightRequest
	if _, aerr := decodeBody(r, &req, false); aerr != nil {
		return nil, aerr
	}
	if req.Weight == nil {
		return nil, badRequest("missing field weight")
	}
	if *req.Weight < 0 || *req.Weight > MaxRealServiceWeight {
		return nil, badRequest("invalid weight %d: must be from 0 to %d (it is the SRV weight)", *req.Weight, MaxRealServiceWeight)
	}
	job, err := s.ctl.SetWeight(r.Context(), c, svc, real, *req.Weight)
	return s.jobResult(r, job, err)
}
