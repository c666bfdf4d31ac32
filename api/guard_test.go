package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/api/apitest"
)

// raw sends one request with exactly the given headers (Host included)
// and returns the status and the body.
func (ts *testServer) raw(t *testing.T, method, path, body string, headers map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func wantErrorType(t *testing.T, body, want string) {
	t.Helper()
	var er api.ErrorResponse
	if err := json.Unmarshal([]byte(body), &er); err != nil || er.ErrorType != want || er.Error == "" {
		t.Errorf("body %s, want a JSON error of type %s", body, want)
	}
}

func TestHostHeaderMustNameTheAPI(t *testing.T) {
	ts := startServerWith(t, api.Options{AllowedHosts: []string{"failoverd.example.net."}}, zap.NewNop())
	_, port, _ := net.SplitHostPort(ts.srv.Addr().String())
	tests := []struct {
		name, host string
		want       int
	}{
		{"the listen address", "127.0.0.1:" + port, 200},
		{"another loopback IP literal", "127.0.0.2:" + port, 200},
		{"an IPv6 literal", "[::1]:" + port, 200},
		{"localhost", "localhost:" + port, 200},
		{"localhost in capitals without port", "LOCALHOST", 200},
		{"an allowed name", "failoverd.example.net:" + port, 200},
		{"an allowed name with a trailing dot", "FailoverD.example.net.", 200},
		{"a rebinding name", "attacker.example:" + port, 403},
		{"a name ending like an allowed one", "evil-failoverd.example.net", 403},
		{"a subdomain of localhost's name", "localhost.attacker.example", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/services", "/", "/static/app.js", "/metrics"} {
				status, body := ts.raw(t, "GET", path, "", map[string]string{"Host": tc.host})
				if status != tc.want {
					t.Fatalf("GET %s Host %q: status %d, want %d: %s", path, tc.host, status, tc.want, body)
				}
				if tc.want == 403 {
					wantErrorType(t, body, api.ErrorTypeForbidden)
				}
			}
			// A health check answers whatever name the load balancer uses.
			if status, body := ts.raw(t, "GET", "/healthz", "", map[string]string{"Host": tc.host}); status != 200 || body != "ok" {
				t.Errorf("GET /healthz Host %q: %d %q", tc.host, status, body)
			}
		})
	}
}

func TestWritesFromAnotherOriginAreRefused(t *testing.T) {
	ts := startServer(t, "")
	own := ts.base // http://127.0.0.1:PORT
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		body    string
		want    int
	}{
		{"no-cors POST of a page elsewhere", "POST", map[string]string{"Origin": "http://attacker.example", "Content-Type": "text/plain", "Sec-Fetch-Mode": "no-cors"}, "", 403},
		{"JSON POST of a page elsewhere", "POST", map[string]string{"Origin": "http://attacker.example", "Content-Type": "application/json"}, "", 403},
		{"opaque origin (sandboxed page, file:)", "POST", map[string]string{"Origin": "null", "Content-Type": "application/json"}, "", 403},
		{"same host, other scheme", "POST", map[string]string{"Origin": strings.Replace(own, "http:", "https:", 1), "Content-Type": "application/json"}, "", 403},
		{"same host, other port", "POST", map[string]string{"Origin": "http://127.0.0.1:1", "Content-Type": "application/json"}, "", 403},
		{"browser marks it cross-site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403},
		{"the API's own origin", "POST", map[string]string{"Origin": own, "Content-Type": "application/json"}, "", 200},
		{"no Origin (failoverctl, curl)", "POST", map[string]string{"Content-Type": "application/json"}, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.state(t)
			calls := ts.ctl.Calls()
			status, body := ts.raw(t, tc.method, "/v1/services/app.example.com./deactivate", tc.body, tc.headers)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			if tc.want != 403 {
				ts.raw(t, "POST", "/v1/services/app.example.com./activate", "", map[string]string{"Content-Type": "application/json"})
				return
			}
			wantErrorType(t, body, api.ErrorTypeForbidden)
			if after := ts.state(t); after != before || ts.ctl.Calls() != calls {
				t.Errorf("refused request changed state:\n%s\n%s", before, after)
			}
		})
	}
	// Reads stay open to other origins' Origin headers: the data is
	// protected by the token and the Host rule, not by Origin.
	if status, body := ts.raw(t, "GET", "/v1/services", "", map[string]string{"Origin": "http://attacker.example"}); status != 200 {
		t.Errorf("GET with a foreign Origin: %d %s", status, body)
	}
}

func TestWriteBodiesMustBeJSON(t *testing.T) {
	ts := startServer(t, testToken)
	auth := "Bearer " + testToken
	recover := "/v1/services/app.example.com./recover"
	tests := []struct {
		name, path, ctype, body string
		want                    int
	}{
		{"text/plain body (no-cors fetch)", recover, "text/plain;charset=UTF-8", `{"address": "192.0.2.10"}`, 415},
		{"HTML form", recover, "application/x-www-form-urlencoded", `address=192.0.2.10`, 415},
		{"multipart form", recover, "multipart/form-data; boundary=x", "--x--\r\n", 415},
		{"body without Content-Type (a Blob)", recover, "", `{"address": "192.0.2.10"}`, 415},
		{"text/plain without body", "/v1/services/app.example.com./deactivate", "text/plain", "", 415},
		{"JSON with charset", recover, "application/json; charset=utf-8", `{}`, 200},
		{"JSON without body", recover, "application/json", "", 200},
		{"no body, no Content-Type (curl -X POST)", "/v1/services/app.example.com./deactivate", "", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.state(t)
			h := map[string]string{"Authorization": auth}
			if tc.ctype != "" {
				h["Content-Type"] = tc.ctype
			}
			status, body := ts.raw(t, "POST", tc.path, tc.body, h)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			if tc.want == 415 {
				wantErrorType(t, body, api.ErrorTypeBadRequest)
				if after := ts.state(t); after != before {
					t.Errorf("refused request changed state")
				}
			}
		})
	}
	// Without the token, the answer is still 401 whatever the body.
	if status, _ := ts.raw(t, "POST", recover, "x", map[string]string{"Content-Type": "text/plain"}); status != 401 {
		t.Errorf("unauthenticated text/plain POST: %d, want 401", status)
	}
}

func TestBlankTokenFileIsRefused(t *testing.T) {
	tests := []struct {
		name, tokenFile, token string
		wantErr                bool
	}{
		{"empty file", "/etc/failoverd/api-token", "", true},
		{"white space only", "/etc/failoverd/api-token", " \n\t", true},
		{"a token", "/etc/failoverd/api-token", "s3cret", false},
		{"no token file on loopback", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := api.NewServer(api.Options{Listen: "127.0.0.1:0", Token: tc.token, TokenFile: tc.tokenFile}, apitest.NewMemory(), zap.NewNop())
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.tokenFile) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestTokenFileReadableByOthersIsWarnedAbout(t *testing.T) {
	tests := []struct {
		mode os.FileMode
		warn bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o604, true},
		{0o644, true},
	}
	for _, tc := range tests {
		t.Run(tc.mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "api-token")
			if err := os.WriteFile(path, []byte("s3cret\n"), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil { // umask-proof
				t.Fatal(err)
			}
			core, logs := observer.New(zapcore.WarnLevel)
			if _, err := api.NewServer(api.Options{Listen: "127.0.0.1:0", Token: "s3cret", TokenFile: path}, apitest.NewMemory(), zap.New(core)); err != nil {
				t.Fatal(err)
			}
			warned := logs.FilterMessageSnippet("token_file is readable").Len() == 1
			if warned != tc.warn || (api.TokenFileProblem(path) != "") != tc.warn {
				t.Errorf("mode %04o: warned %v, want %v", tc.mode, warned, tc.warn)
			}
		})
	}
}

func TestFailedAuthenticationsAreWarnedAboutAtALimitedRate(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	ts := startServerWith(t, api.Options{Token: testToken}, zap.New(core))
	for i := range 40 {
		h := map[string]string{"Authorization": "Bearer guess" + string(rune('a'+i%26))}
		if i%2 == 0 {
			h = nil
		}
		if status, _ := ts.raw(t, "GET", "/v1/services", "", h); status != 401 {
			t.Fatalf("status %d", status)
		}
	}
	failed := logs.FilterMessage("api authentication failed")
	if failed.Len() == 0 {
		t.Fatal("failed authentications were not logged")
	}
	if failed.Len() >= 40 || failed.Len() > 10 {
		t.Errorf("%d of 40 failures logged: not rate limited", failed.Len())
	}
	for _, e := range failed.All() {
		if e.Level != zapcore.WarnLevel {
			t.Errorf("logged at %v, want warn", e.Level)
		}
		if e.ContextMap()["remote"] == "" || e.ContextMap()["reason"] == "" {
			t.Errorf("entry lacks remote or reason: %v", e.ContextMap())
		}
	}
	if status, _ := ts.raw(t, "GET", "/v1/services", "", map[string]string{"Authorization": "Bearer " + testToken}); status != 200 {
		t.Errorf("right token after failures: %d", status)
	}
}

func TestHealthzReportsAFailingStore(t *testing.T) {
	var mu sync.Mutex
	var storeErr error
	ts := startServerWith(t, api.Options{StoreHealth: func() error {
		mu.Lock()
		defer mu.Unlock()
		return storeErr
	}}, zap.NewNop())
	setErr := func(err error) { mu.Lock(); storeErr = err; mu.Unlock() }

	if status, body := ts.raw(t, "GET", "/healthz", "", nil); status != 200 || body != "ok" {
		t.Fatalf("healthy store: %d %q", status, body)
	}
	setErr(errors.New("state file /var/lib/failoverd/failoverd.db: commit: no space left on device"))
	status, body := ts.raw(t, "GET", "/healthz", "", nil)
	if status != 503 || body != "store: state file /var/lib/failoverd/failoverd.db: commit: no space left on device" {
		t.Fatalf("failing store: %d %q", status, body)
	}
	setErr(nil)
	if status, body := ts.raw(t, "GET", "/healthz", "", nil); status != 200 || body != "ok" {
		t.Fatalf("recovered store: %d %q", status, body)
	}
}

// keepAliveGet sends GET /healthz on an open connection and reads the
// answer, with a deadline.
func keepAliveGet(c net.Conn, br *bufio.Reader, within time.Duration) (*http.Response, error) {
	if err := c.SetDeadline(time.Now().Add(within)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

func TestConnectionsBeyondTheCapWaitUntilOneCloses(t *testing.T) {
	ts := startServerWith(t, api.Options{MaxConns: 2}, zap.NewNop())
	addr := ts.srv.Addr().String()
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	// Two kept-alive connections, each proven served: they hold the cap.
	c1, br1 := dial()
	c2, br2 := dial()
	for _, cc := range []struct {
		c  net.Conn
		br *bufio.Reader
	}{{c1, br1}, {c2, br2}} {
		if resp, err := keepAliveGet(cc.c, cc.br, 10*time.Second); err != nil || resp.StatusCode != 200 {
			t.Fatalf("held connection: %v %v", resp, err)
		}
	}
	// The third is queued by the kernel and not served while both are held.
	c3, br3 := dial()
	if resp, err := keepAliveGet(c3, br3, 500*time.Millisecond); err == nil {
		t.Fatalf("connection beyond the cap was served: %s", resp.Status)
	} else if ne := net.Error(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("connection beyond the cap: %v, want no answer yet", err)
	}
	// One held connection closes: the waiting one is served.
	c1.Close()
	if err := c3.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br3, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a slot freed: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := keepAliveGet(c2, br2, 10*time.Second); err != nil || resp.StatusCode != 200 {
		t.Fatalf("held connection after recovery: %v %v", resp, err)
	}
}

func TestTLSKeepsTheTokenOffTheWire(t *testing.T) {
	certFile, keyFile := apitest.SelfSignedFiles(t)
	ts := startServerWith(t, api.Options{Token: testToken, TLSCertFile: certFile, TLSKeyFile: keyFile}, zap.NewNop())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c := api.NewClient(ts.base, testToken)
	if err := c.SetCAFile(certFile); err != nil {
		t.Fatal(err)
	}
	if list, err := c.Services(ctx); err != nil || len(list) == 0 {
		t.Fatalf("over HTTPS with the CA file: %v %v", list, err)
	}
	if job, err := c.Deactivate(ctx, "app.example.com."); err != nil || job == nil {
		t.Fatalf("write over HTTPS: %v %v", job, err)
	}

	// Without the CA file the certificate is not trusted.
	if _, err := api.NewClient(ts.base, testToken).Services(ctx); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
	// Plain HTTP to the TLS port carries no token to a handler.
	plain := api.NewClient(strings.Replace(ts.base, "https:", "http:", 1), testToken)
	if _, err := plain.Services(ctx); err == nil {
		t.Error("plain HTTP was served on the TLS port")
	}
}

func TestTLSOptionsAreCheckedAtStart(t *testing.T) {
	certFile, keyFile := apitest.SelfSignedFiles(t)
	tests := []struct {
		name       string
		cert, key  string
		wantErrHas string
	}{
		{"certificate without key", certFile, "", "go together"},
		{"key without certificate", "", keyFile, "go together"},
		{"missing certificate file", filepath.Join(t.TempDir(), "none.crt"), keyFile, "none.crt"},
		{"key given as certificate", keyFile, keyFile, "tls_cert_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := api.NewServer(api.Options{Listen: "127.0.0.1:0", TLSCertFile: tc.cert, TLSKeyFile: tc.key}, apitest.NewMemory(), zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), tc.wantErrHas) {
				t.Errorf("error %v, want one mentioning %q", err, tc.wantErrHas)
			}
		})
	}
}

func TestNonLoopbackWithoutTLSIsWarnedAbout(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	if _, err := api.NewServer(api.Options{Listen: "0.0.0.0:8053", Token: "s3cret"}, apitest.NewMemory(), zap.New(core)); err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessageSnippet("without TLS").Len() != 1 {
		t.Errorf("no warning about a clear-text API beyond loopback: %v", logs.All())
	}
}
