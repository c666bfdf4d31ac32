package api

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ErrorTypeForbidden is the error type of a request refused for where it
// comes from rather than what it asks: a Host header the API does not
// answer to (DNS rebinding), or a write sent by a page of another origin
// (cross-site request). The status is 403.
const ErrorTypeForbidden = "ApiErrorForbidden"

// hostPolicy says which Host headers the API answers to. A browser sends
// the name of the page's site as Host; refusing names that are not the
// API's own defeats DNS rebinding, where an attacker's name is made to
// resolve to 127.0.0.1 so that its page can read and write the API.
type hostPolicy struct {
	names map[string]bool // lower case, no trailing dot
}

// newHostPolicy accepts localhost, the listen host, this machine's host
// name and extra (Options.AllowedHosts). IP literals are always accepted:
// rebinding needs a name.
func newHostPolicy(listen string, extra []string) hostPolicy {
	p := hostPolicy{names: map[string]bool{"localhost": true}}
	add := func(n string) {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		if n != "" {
			p.names[n] = true
		}
	}
	if h, _, err := net.SplitHostPort(listen); err == nil {
		add(h)
	}
	if h, err := os.Hostname(); err == nil {
		add(h)
	}
	for _, n := range extra {
		add(n)
	}
	return p
}

// allows reports whether hostport (a Host header) names this API. An
// empty Host (HTTP/1.0) carries no name to rebind and is allowed.
func (p hostPolicy) allows(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return true
	}
	return p.names[host]
}

// isWrite reports whether a request may change state.
func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// guard refuses, before any handler runs, every request whose Host the
// API does not answer to, and every write whose Origin is not the API's
// own or that the browser marks as cross-site in Sec-Fetch-Site (403
// ApiErrorForbidden). Every current browser sends Origin with a
// cross-origin POST, "no-cors" included. GET /healthz answers whatever the
// Host: a load balancer's health check must not depend on the name it
// uses, and the answer reveals nothing worth rebinding for.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && !s.hosts.allows(r.Host) {
			s.writeError(w, r, &APIError{Type: ErrorTypeForbidden, Status: http.StatusForbidden,
				Message: "host " + r.Host + " is not a name of this API (add it to the API's allowed hosts)"})
			return
		}
		if isWrite(r.Method) {
			if msg := crossSite(r); msg != "" {
				s.writeError(w, r, &APIError{Type: ErrorTypeForbidden, Status: http.StatusForbidden, Message: msg})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireJSON refuses a write whose Content-Type is not application/json
// (415 ApiErrorBadRequest). Without a preflight, a page of another site
// can send only text/plain, a form or multipart, or a body without any
// Content-Type; none passes. A write with neither a body nor a
// Content-Type (curl -X POST .../deactivate) is accepted: no HTML form
// sends one, and a script's is caught by the Origin check of guard.
func (s *Server) requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWrite(r.Method) {
			ct := r.Header.Get("Content-Type")
			if (ct != "" || r.ContentLength != 0) && !isJSON(ct) {
				s.writeError(w, r, &APIError{Type: ErrorTypeBadRequest, Status: http.StatusUnsupportedMediaType,
					Message: "a " + r.Method + " with a body needs Content-Type: application/json, not " + strconvQuote(ct)})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// strconvQuote quotes a header value for an error message; "" reads as none.
func strconvQuote(v string) string {
	if v == "" {
		return "none"
	}
	return strconv.Quote(v)
}

// crossSite returns why a write comes from another origin, or "".
func crossSite(r *http.Request) string {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "cross-site request refused"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return "" // not sent by a browser page (or by an old browser: see the Content-Type rule)
	}
	u, err := url.Parse(origin)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if err != nil || u.Scheme != scheme || !strings.EqualFold(u.Host, r.Host) {
		return "request from origin " + origin + " refused: writes are accepted only from this API's own origin"
	}
	return ""
}

// isJSON reports whether a Content-Type is application/json, parameters
// (charset) allowed.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// authLogPerMinute is how many failed authentications are logged in a
// minute; the rest are counted and summed up in the next minute's first
// line, so a password-guessing client cannot flood the log.
const authLogPerMinute = 5

// authFailureLog rate-limits the warnings about failed authentications.
type authFailureLog struct {
	log *zap.Logger
	now func() time.Time // time.Now; a test sets a clock

	mu         sync.Mutex // guards the fields below; failures arrive from every handler goroutine
	windowFrom time.Time
	logged     int
	suppressed int
}

// failed records one failed authentication of r.
func (a *authFailureLog) failed(r *http.Request, reason string) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.windowFrom) >= time.Minute {
		if a.suppressed > 0 {
			a.log.Warn("api authentication failures not logged", zap.Int("count", a.suppressed),
				zap.Time("since", a.windowFrom))
		}
		a.windowFrom, a.logged, a.suppressed = now, 0, 0
	}
	if a.logged >= authLogPerMinute {
		a.suppressed++
		return
	}
	a.logged++
	a.log.Warn("api authentication failed", zap.String("remote", r.RemoteAddr),
		zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("reason", reason))
}
