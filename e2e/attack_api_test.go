package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/api/apitest"
	"github.com/failoverd/failoverd/internal/testutil"
)

// attackAPIConfig is a token-less loopback API (the case issue 17's
// browser attacks aim at) with one active_failover service.
func attackAPIConfig(port int, apiExtra string) string {
	return fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api {
  listen = "{{API}}"
  %s
}
zone "example.test" {}
active_failover "www.example.test." {
  address       = "127.0.17.1"
  failover_data = "127.0.17.2"
  ttl           = 0
  monitor {
    protocol = "TCP"
    interval = "1s"
    timeout  = "400ms"
    retries  = 0
    port     = %d
  }
}
`, apiExtra, port)
}

// apiRequest sends one request to the daemon's API with the given headers
// and returns the status and body.
func apiRequest(t *testing.T, d *daemonProc, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+d.apiAddr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// serviceActive reads the service's active flag through the API.
func serviceActive(t *testing.T, d *daemonProc, fqdn string) bool {
	t.Helper()
	var sd api.ServiceDetail
	d.getJSON("/v1/services/"+fqdn, &sd)
	return sd.Active
}

// Issue 17, item 6 "CSRF and DNS rebinding against the token-less API": a
// write from another origin, a request naming another host and a text/plain
// body are refused with the documented status and error type and change
// nothing; a page of another origin in a real browser cannot deactivate the
// service either, while the same write without those marks does.
func TestAttack_CrossSiteWritesAndRebindingChangeNothing(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	d := startDaemon(t, attackAPIConfig(tg.Port(), ""))
	const fqdn = "www.example.test."
	deactivate := "/v1/services/" + fqdn + "/deactivate"

	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		errorType                string
	}{
		{"write from another origin is 403", "POST", deactivate, "", map[string]string{"Origin": "http://evil.example"}, 403, "ApiErrorForbidden"},
		{"cross-site fetch metadata is 403", "POST", deactivate, "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "ApiErrorForbidden"},
		{"rebound host name on a write is 403", "POST", deactivate, "", map[string]string{"Host": "evil.example"}, 403, "ApiErrorForbidden"},
		{"rebound host name on a read is 403", "GET", "/v1/services", "", map[string]string{"Host": "evil.example:80"}, 403, "ApiErrorForbidden"},
		{"text/plain body is 415", "POST", deactivate, "{}", map[string]string{"Content-Type": "text/plain"}, 415, "ApiErrorBadRequest"},
		{"form body is 415", "POST", deactivate, "a=b", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "ApiErrorBadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := apiRequest(t, d, tc.method, tc.path, tc.body, tc.header)
			if status != tc.status || !strings.Contains(body, tc.errorType) {
				t.Fatalf("%d %s, want %d with %s", status, body, tc.status, tc.errorType)
			}
			if !serviceActive(t, d, fqdn) {
				t.Fatalf("the refused request deactivated the service")
			}
		})
	}
	// /healthz answers whatever the host name (load balancers).
	if status, body := apiRequest(t, d, "GET", "/healthz", "", map[string]string{"Host": "lb.example"}); status != 200 {
		t.Fatalf("/healthz with another host: %d %s", status, body)
	}

	// A page of another origin (127.0.0.3) fires the writes a page can send
	// without a preflight at the API on 127.0.0.1.
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><html><head><title>waiting</title></head><body><script>
const u = "http://%s%s";
Promise.all([
  fetch(u, {method: "POST", mode: "no-cors"}),
  fetch(u, {method: "POST", mode: "no-cors", body: '{}'}),
  fetch(u, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: '{}'}),
]).then(() => { document.title = "sent"; }, e => { document.title = "error " + e; });
</script></body></html>`, d.apiAddr, deactivate)
	})}
	l, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	go evil.Serve(l)
	t.Cleanup(func() { evil.Close() })
	refusedPosts := func() float64 {
		m := httpGet(t, "http://"+d.apiAddr+"/metrics")
		return max(0, metricValue(m, `failoverd_api_requests_total{code="403",method="post"}`)) +
			max(0, metricValue(m, `failoverd_api_requests_total{code="415",method="post"}`))
	}
	before := refusedPosts()
	dom := testutil.Chromium(t, "http://"+l.Addr().String()+"/", "--dump-dom")
	if !strings.Contains(dom, "<title>sent</title>") {
		t.Fatalf("the page's requests did not go out:\n%s", dom)
	}
	// All three reached the API and were refused there (not by the browser).
	if got := refusedPosts() - before; got != 3 {
		t.Errorf("%v of the page's 3 writes refused by the API, want 3\n%s", got, httpGet(t, "http://"+d.apiAddr+"/metrics"))
	}
	if !serviceActive(t, d, fqdn) {
		t.Fatalf("a page of another origin deactivated the service")
	}

	// The same write as an operator sends it does deactivate: the refusals
	// above are the checks, not a broken endpoint.
	if status, body := apiRequest(t, d, "POST", deactivate, "", nil); status != 200 {
		t.Fatalf("plain deactivate: %d %s", status, body)
	}
	if serviceActive(t, d, fqdn) {
		t.Fatalf("deactivate without Origin did not deactivate")
	}
}

// Issue 17, item 6: a token file that is empty or only white space used to
// switch authentication off; now the daemon refuses to start and says why.
func TestAttack_BlankTokenFileRefusesToStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, content string }{
		{"empty", ""},
		{"white space", " \n\t\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "token")
			if err := os.WriteFile(tokenFile, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			dnsAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1"))
			apiAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1"))
			config := filepath.Join(dir, "failoverd.hcl")
			if err := os.WriteFile(config, []byte(fmt.Sprintf(`
server { state_dir = %q }
dns { listen = [%q] }
api {
  listen     = %q
  token_file = %q
}
zone "example.test" {}
`, filepath.Join(dir, "state"), dnsAddr, apiAddr, tokenFile)), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := failoverd(t, "run", "-config", config)
			msg := strings.ToLower(stdout + stderr)
			if code == 0 || !strings.Contains(msg, "empty token") || !strings.Contains(stdout+stderr, config+":6:") {
				t.Fatalf("exit %d, want a refusal naming the empty token file at %s:6\nstdout: %s\nstderr: %s", code, config, stdout, stderr)
			}
		})
	}
}

// Issue 17, missing feature "API connection cap": more idle connections
// than the cap (100) do not take the API down: an extra request waits and
// is served once some of them close, and /healthz answers after they all
// close.
func TestAttack_APIConnectionCapHoldsIdleFlood(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	d := startDaemon(t, attackAPIConfig(tg.Port(), ""))
	const held = 110
	conns := make([]net.Conn, 0, held)
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
		conns = conns[:0]
	}
	t.Cleanup(closeAll)
	for range held {
		c, err := net.DialTimeout("tcp", d.apiAddr, 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	// The extra request queues behind the held connections.
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + d.apiAddr + "/healthz")
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	select {
	case r := <-done:
		// The held connections are idle for far less than the header
		// timeout, so nothing could free a slot: the cap did not hold.
		t.Errorf("extra request served while %d connections were held: %+v", held, r)
	case <-time.After(300 * time.Millisecond):
		// Free 20 slots: the queued request gets one.
		for _, c := range conns[:20] {
			c.Close()
		}
		conns = conns[20:]
		select {
		case r := <-done:
			if r.err != nil || r.status != 200 {
				t.Fatalf("the queued request: %+v", r)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("the queued request was not served within 15 s of closing 20 held connections")
		}
	}
	closeAll()
	testutil.Eventually(t, 10*time.Second, "/healthz answers after the flood", func() (bool, string) {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + d.apiAddr + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	if !serviceActive(t, d, "www.example.test.") {
		t.Fatalf("service not active after the flood")
	}
}

// Issue 17, missing feature "API TLS": with tls_cert_file and tls_key_file
// the API speaks HTTPS only: failoverctl -ca-file works with the token,
// without the CA it refuses the certificate, plain HTTP gets no API answer,
// and a wrong token over TLS is 401.
func TestAttack_APITLSServesHTTPSOnly(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "127.0.17.1", "ok")
	certFile, keyFile := apitest.SelfSignedFiles(t)
	const token = "attack-suite-token"
	tokenFile := opTokenFile(t, token)
	d := startDaemon(t, attackAPIConfig(tg.Port(), fmt.Sprintf(`token_file    = %q
  tls_cert_file = %q
  tls_key_file  = %q`, tokenFile, certFile, keyFile)))

	ctl := func(env []string, args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "failoverctl"), args...)
		cmd.Env = append(append(os.Environ(), opGORACE(), "FAILOVERD_CA_FILE="), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		return out.String(), cmd.ProcessState.ExitCode()
	}
	https := []string{"FAILOVERD_ADDR=https://" + d.apiAddr, "FAILOVERD_TOKEN=" + token}
	if out, code := ctl(https, "-ca-file", certFile, "status", "www.example.test."); code != 0 || !strings.Contains(out, "www.example.test.") {
		t.Fatalf("failoverctl -ca-file over https: exit %d\n%s", code, out)
	}
	if out, code := ctl(https, "status", "www.example.test."); code == 0 || !strings.Contains(out, "certificate") {
		t.Fatalf("failoverctl without the CA: exit %d, want a certificate error\n%s", code, out)
	}
	if out, code := ctl([]string{"FAILOVERD_ADDR=https://" + d.apiAddr, "FAILOVERD_TOKEN=wrong"}, "-ca-file", certFile, "status"); code == 0 || !strings.Contains(out, "ApiErrorUnauthorized") && !strings.Contains(out, "401") {
		t.Fatalf("wrong token over TLS: exit %d\n%s", code, out)
	}

	// Plain HTTP to the TLS port is no API answer.
	req, _ := http.NewRequest("GET", "http://"+d.apiAddr+"/v1/services", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "www.example.test.") {
			t.Fatalf("plain HTTP to the TLS port answered: %s %s", resp.Status, b)
		}
	}

	// TLS 1.2 or later only.
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	if c, err := tls.Dial("tcp", d.apiAddr, &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatalf("a TLS 1.1 handshake succeeded")
	}
}
