package probe

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
)

// request is what the test server saw of a request.
type request struct {
	method, host, path, ua, body, sni string
	header                            http.Header
}

// seen records the last request the test server saw.
type seen struct {
	mu   sync.Mutex
	last request
}

func (s *seen) get() request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// testHandler serves the paths the HTTP tests probe and records requests.
func testHandler(s *seen) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello OK world") })
	mux.HandleFunc("/503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "START")
		_, _ = io.WriteString(w, strings.Repeat("a", MaxBodyBytes))
		_, _ = io.WriteString(w, "NEEDLE")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := request{method: r.Method, host: r.Host, path: r.URL.RequestURI(), ua: r.UserAgent(), body: string(b), header: r.Header.Clone()}
		if r.TLS != nil {
			req.sni = r.TLS.ServerName
		}
		s.mu.Lock()
		s.last = req
		s.mu.Unlock()
		fmt.Fprintf(w, "method=%s host=%s ua=%s", r.Method, r.Host, r.UserAgent())
	})
	return mux
}

func serverPort(t *testing.T, srv *httptest.Server) int {
	t.Helper()
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return port
}

// startHTTP starts an HTTP (or HTTPS) test server on addr ("127.0.0.1:0" or
// "[::1]:0").
func startHTTP(t *testing.T, addr string, tlsOn bool, s *seen) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(testHandler(s))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	_ = srv.Listener.Close()
	srv.Listener = ln
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPHealthRules(t *testing.T) {
	checkLeaks(t)
	var s seen
	srv := startHTTP(t, "127.0.0.1:0", false, &s)
	port := serverPort(t, srv)
	p := Probers(ProberOptions{Version: "1.2.3"})[HTTP]
	tests := []struct {
		name     string
		path     string
		rule     StatusRule
		expected string
		up       bool
		msg      string
	}{
		{"any response: 200", "/ok", AnyResponse, "", true, "HTTP 200"},
		{"any response: 503 is up", "/503", AnyResponse, "", true, "HTTP 503"},
		{"any response: 404 is up", "/404", AnyResponse, "", true, "HTTP 404"},
		{"any response: 3xx is up, not followed", "/redirect", AnyResponse, "", true, "HTTP 302"},
		{"2xx: 200", "/ok", Require2xx, "", true, "HTTP 200"},
		{"2xx: 503 down", "/503", Require2xx, "", false, "HTTP 503"},
		{"2xx: 3xx down, not followed", "/redirect", Require2xx, "", false, "HTTP 302"},
		{"2xx3xx: 3xx up", "/redirect", Require2xx3xx, "", true, "HTTP 302"},
		{"2xx3xx: 404 down", "/404", Require2xx3xx, "", false, "HTTP 404"},
		{"expected found", "/ok", AnyResponse, "OK", true, "HTTP 200"},
		{"expected is case-sensitive", "/ok", AnyResponse, "ok world", false, "expected string not found"},
		{"expected missing", "/ok", Require2xx, "absent", false, "expected string not found"},
		{"status checked before expected", "/503", Require2xx, "absent", false, "HTTP 503"},
		{"expected within 64 KiB", "/big", Require2xx, "START", true, "HTTP 200"},
		{"expected beyond 64 KiB not read", "/big", Require2xx, "NEEDLE", false, "expected string not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := Target{Protocol: HTTP, Address: "127.0.0.1", Port: port, Path: tt.path, StatusRule: tt.rule, Expected: tt.expected, Interval: time.Minute, Timeout: 5 * time.Second}
			r := Round(t.Context(), tg, p)
			if r.Up != tt.up || r.Message != tt.msg {
				t.Errorf("up=%v msg=%q, want %v %q", r.Up, r.Message, tt.up, tt.msg)
			}
		})
	}
}

func TestHTTPRequestOptions(t *testing.T) {
	checkLeaks(t)
	var s seen
	srv := startHTTP(t, "127.0.0.1:0", false, &s)
	port := serverPort(t, srv)
	srv6 := startHTTP(t, "[::1]:0", false, &s)
	port6 := serverPort(t, srv6)
	p := Probers(ProberOptions{Version: "1.2.3"})[HTTP]
	tests := []struct {
		name  string
		tg    Target
		check func(t *testing.T, s request)
	}{
		{"defaults: GET / with User-Agent and address as Host",
			Target{Address: "127.0.0.1", Port: port},
			func(t *testing.T, s request) {
				want := request{method: "GET", path: "/", ua: "failoverd/1.2.3", host: "127.0.0.1:" + strconv.Itoa(port)}
				if s.method != want.method || s.path != want.path || s.ua != want.ua || s.host != want.host {
					t.Errorf("saw %s %s ua=%q host=%q, want %+v", s.method, s.path, s.ua, s.host, want)
				}
			}},
		{"path relative to / with query",
			Target{Address: "127.0.0.1", Port: port, Path: "health/check?x=1&y=2"},
			func(t *testing.T, s request) {
				if s.path != "/health/check?x=1&y=2" {
					t.Errorf("path %q", s.path)
				}
			}},
		{"host header",
			Target{Address: "127.0.0.1", Port: port, Host: "www.example.com"},
			func(t *testing.T, s request) {
				if s.host != "www.example.com" {
					t.Errorf("host %q", s.host)
				}
			}},
		{"header lines",
			Target{Address: "127.0.0.1", Port: port, Header: []string{"X-Probe: failoverd", "X-Env:prod", "User-Agent: custom"}},
			func(t *testing.T, s request) {
				if s.header.Get("X-Probe") != "failoverd" || s.header.Get("X-Env") != "prod" || s.ua != "custom" {
					t.Errorf("headers %v", s.header)
				}
			}},
		{"POST body",
			Target{Address: "127.0.0.1", Port: port, Method: "POST", Body: "foo=10&bar=20"},
			func(t *testing.T, s request) {
				if s.method != "POST" || s.body != "foo=10&bar=20" || s.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Errorf("saw %s body %q ct %q", s.method, s.body, s.header.Get("Content-Type"))
				}
			}},
		{"ipv6 target",
			Target{Address: "::1", Port: port6},
			func(t *testing.T, s request) {
				if s.host != "[::1]:"+strconv.Itoa(port6) {
					t.Errorf("host %q", s.host)
				}
			}},
		{"fqdn target resolved",
			Target{Address: "localhost", Port: port},
			func(t *testing.T, s request) {
				if s.host != "localhost:"+strconv.Itoa(port) {
					t.Errorf("host %q", s.host)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tg.Protocol, tt.tg.Interval, tt.tg.Timeout = HTTP, time.Minute, 5*time.Second
			r := Round(t.Context(), tt.tg, p)
			if !r.Up {
				t.Fatalf("down: %q", r.Message)
			}
			tt.check(t, s.get())
		})
	}
}

func TestHTTPSCertificateVerification(t *testing.T) {
	checkLeaks(t)
	var s seen
	srv := startHTTP(t, "127.0.0.1:0", true, &s)
	port := serverPort(t, srv)
	srv6 := startHTTP(t, "[::1]:0", true, &s)
	port6 := serverPort(t, srv6)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	trusting := Probers(ProberOptions{RootCAs: pool})[HTTPS]
	system := Probers(ProberOptions{})[HTTPS]
	tests := []struct {
		name string
		p    Func
		tg   Target
		up   bool
		msg  string // substring
		sni  string
	}{
		{"unknown authority is down", system, Target{Address: "127.0.0.1", Port: port}, false, "certificate signed by unknown authority", ""},
		{"tls_skip_verify accepts it", system, Target{Address: "127.0.0.1", Port: port, TLSSkipVerify: true}, true, "HTTP 200", ""},
		{"trusted CA, IP SAN", trusting, Target{Address: "127.0.0.1", Port: port}, true, "HTTP 200", ""},
		{"trusted CA, IPv6 SAN", trusting, Target{Address: "::1", Port: port6}, true, "HTTP 200", ""},
		{"host is the TLS server name", trusting, Target{Address: "127.0.0.1", Port: port, Host: "example.com"}, true, "HTTP 200", "example.com"},
		{"host with port: name without it", trusting, Target{Address: "127.0.0.1", Port: port, Host: "example.com:8443"}, true, "HTTP 200", "example.com"},
		{"name mismatch is down", trusting, Target{Address: "127.0.0.1", Port: port, Host: "www.example.net"}, false, "certificate is valid for", ""},
		{"name mismatch with skip verify is up", trusting, Target{Address: "127.0.0.1", Port: port, Host: "www.example.net", TLSSkipVerify: true}, true, "HTTP 200", "www.example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tg.Protocol, tt.tg.Interval, tt.tg.Timeout = HTTPS, time.Minute, 5*time.Second
			r := Round(t.Context(), tt.tg, tt.p)
			if r.Up != tt.up || !strings.Contains(r.Message, tt.msg) {
				t.Fatalf("up=%v msg=%q, want %v %q", r.Up, r.Message, tt.up, tt.msg)
			}
			if tt.up {
				if got := s.get().sni; got != tt.sni {
					t.Errorf("server name %q, want %q", got, tt.sni)
				}
			}
		})
	}
}

func TestHTTPConnectionErrors(t *testing.T) {
	checkLeaks(t)
	p := Probers(ProberOptions{})[HTTP]
	closer := startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, c net.Conn) {
		// Read the whole request first, so the close is a FIN, not a reset.
		readHeaders(c)
		_ = c.Close()
	})
	_, pc := closer.addr(t)
	garbage := startRaw(t, "tcp4", "127.0.0.1:0", func(_ <-chan struct{}, c net.Conn) {
		readHeaders(c)
		_, _ = io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
		_ = c.Close()
	})
	_, pg := garbage.addr(t)
	tests := []struct {
		name string
		port int
		msg  string
	}{
		{"refused", testutil.FreePort(t, "127.0.0.1"), "connection refused"},
		{"closed without answer", pc, "connection closed by peer"},
		{"not HTTP", pg, "malformed HTTP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Round(t.Context(), Target{Protocol: HTTP, Address: "127.0.0.1", Port: tt.port, Interval: time.Minute, Timeout: 2 * time.Second}, p)
			if r.Up || !strings.Contains(r.Message, tt.msg) {
				t.Errorf("up=%v msg=%q, want down %q", r.Up, r.Message, tt.msg)
			}
		})
	}
}
