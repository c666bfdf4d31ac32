package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/internal/testutil"
)

// The operator's view of a running daemon (issue 6): every path of docs/api.md
// called through the real failoverctl binary or plain HTTP, with its effect
// checked through DNS; authentication and every error type; persistence of
// operator changes across kill -9.

// opCtl runs the real failoverctl binary against one daemon.
type opCtl struct {
	t     *testing.T
	addr  string // FAILOVERD_ADDR
	token string // FAILOVERD_TOKEN
}

func newOpCtl(t *testing.T, d *daemonProc, token string) *opCtl {
	return &opCtl{t: t, addr: "http://" + d.apiAddr, token: token}
}

// run runs failoverctl with args and returns its output and exit status.
func (c *opCtl) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "failoverctl"), args...)
	cmd.Env = append(os.Environ(), "FAILOVERD_ADDR="+c.addr, "FAILOVERD_TOKEN="+c.token, opGORACE())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), errb.String(), ee.ExitCode()
		}
		c.t.Fatalf("failoverctl %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// opGORACE keeps the race-built failoverctl from sleeping a second before it
// exits (the race runtime's atexit_sleep_ms), which would make every call
// cost a second; other GORACE options are kept.
func opGORACE() string {
	return strings.TrimSpace("GORACE=" + os.Getenv("GORACE") + " atexit_sleep_ms=0")
}

// json runs failoverctl -json args, expects success and decodes its output.
func (c *opCtl) json(v any, args ...string) {
	c.t.Helper()
	out, errOut, code := c.run(append([]string{"-json"}, args...)...)
	if code != 0 {
		c.t.Fatalf("failoverctl -json %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		c.t.Fatalf("failoverctl -json %v: %v\n%s", args, err, out)
	}
}

// job runs a mutating command and returns its job (nil: nothing changed).
func (c *opCtl) job(args ...string) *api.Job {
	c.t.Helper()
	var r api.JobResponse
	c.json(&r, args...)
	return r.Job
}

// mustJob runs a mutating command that must change something and checks the
// job's fields.
func (c *opCtl) mustJob(action, target string, args ...string) *api.Job {
	c.t.Helper()
	j := c.job(args...)
	if j == nil {
		c.t.Fatalf("failoverctl %v: no job, want %s of %s", args, action, target)
	}
	if j.ID == 0 || j.Action != action || j.Target != target || j.Status != "complete" || j.Created.IsZero() ||
		time.Since(j.Created) > time.Minute || time.Until(j.Created) > time.Minute {
		c.t.Fatalf("failoverctl %v: job %+v, want action %s target %s status complete, created now", args, *j, action, target)
	}
	return j
}

// noJob runs a mutating command that has nothing to change.
func (c *opCtl) noJob(args ...string) {
	c.t.Helper()
	if j := c.job(args...); j != nil {
		c.t.Fatalf("failoverctl %v: job %+v, want none (nothing to change)", args, *j)
	}
}

// fails runs a command that must fail with the API error type wantType:
// exit status 1 and the API's error text with its type on stderr.
func (c *opCtl) fails(wantType string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 1 || !strings.Contains(errOut, "("+wantType+")") {
		c.t.Fatalf("failoverctl %v: exit %d, stderr %q, stdout %q; want exit 1 with %s", args, code, errOut, out, wantType)
	}
	return errOut
}

// service is `failoverctl -json status FQDN`.
func (c *opCtl) service(fqdn string) *api.ServiceDetail {
	c.t.Helper()
	var sd api.ServiceDetail
	c.json(&sd, "status", fqdn)
	return &sd
}

// opEntry returns the entry of address in the service's region code.
func opEntry(t *testing.T, sd *api.ServiceDetail, code, address string) api.Entry {
	t.Helper()
	for _, r := range sd.Regions {
		if r.Code != code {
			continue
		}
		for _, e := range r.Entries {
			if e.Address == address {
				return e
			}
		}
	}
	t.Fatalf("service %s has no entry %s in region %s: %+v", sd.FQDN, address, code, sd.Regions)
	return api.Entry{}
}

// opServed returns the sorted served set of the service's region code.
func opServed(t *testing.T, sd *api.ServiceDetail, code string) string {
	t.Helper()
	for _, r := range sd.Regions {
		if r.Code == code {
			s := slices.Clone(r.Served)
			sort.Strings(s)
			return strings.Join(s, ",")
		}
	}
	t.Fatalf("service %s has no region %s", sd.FQDN, code)
	return ""
}

// opWaitDNS waits until name answers want over UDP (the harness's
// waitAnswer, but failing t rather than the daemon's test, so it can run in
// any test).
func opWaitDNS(t *testing.T, d *daemonProc, name string, want string, within time.Duration) {
	t.Helper()
	testutil.Eventually(t, within, "DNS "+name+" A = "+want, func() (bool, string) {
		got, err := d.lookup("udp", name, dns.TypeA)
		return err == nil && got == want, fmt.Sprintf("%q (err %v)", got, err)
	})
}

// opStaysDNS checks that name answers want over UDP and TCP for a while.
func opStaysDNS(t *testing.T, d *daemonProc, name, want string, during time.Duration) {
	t.Helper()
	for end := time.Now().Add(during); ; {
		for _, network := range []string{"udp", "tcp"} {
			if got, err := d.lookup(network, name, dns.TypeA); err != nil || got != want {
				t.Fatalf("DNS %s A over %s: %q (err %v), want %q to stay", name, network, got, err, want)
			}
		}
		if time.Now().After(end) {
			return
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// opHTTP sends one raw request to the daemon's API and returns the status,
// the headers and the body.
func opHTTP(t *testing.T, method, url, auth, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// opObject decodes a JSON object and checks that it has every key.
func opObject(t *testing.T, what string, raw []byte, keys ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", what, err, raw)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no field %q in %s", what, k, raw)
		}
	}
	return m
}

// opTokenFile writes token (with a trailing newline, which is not part of
// it) to a file of its own and returns the path.
func opTokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api-token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// opConfig is the configuration of the operator tests: one service of
// every kind the issue names on the loopback addresses 127.0.N.x, every
// monitor probing port port. The gslb's first address is in remove mode,
// the active_failover does not recover by itself, and the cluster has a
// fallback real service (127.0.N.49, never listening).
func opConfig(n, port int, tokenFile string) string {
	return fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api {
  listen     = "{{API}}"
  token_file = %[3]q
}
zone "example.test" {}

active_failover "af.example.test." {
  address       = "127.0.%[1]d.11"
  failover_mode = "ip"
  failover_data = "127.0.%[1]d.12"
  auto_recover  = false
  ttl           = 0
  notify_events = ["ip", "svc"]
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "400ms"
    retries  = 0
    port     = %[2]d
    expected = "ok"
  }
}

gslb "g.example.test." {
  ttl = 0
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "400ms"
    retries  = 0
    port     = %[2]d
  }
  region "global" {
    serve_count = 2
    pool "127.0.%[1]d.21" {
      label      = "rm"
      serve_mode = "remove"
    }
    pool "127.0.%[1]d.22" {
      label = "keep"
    }
  }
}

sf_pool "sf.example.test." {
  rrtype = "A"
  ttl    = 0
  rdata  = "127.0.%[1]d.31"
  monitor {
    method        = "GET"
    url           = "http://127.0.%[1]d.31:%[2]d/health"
    search_string = "testing"
    interval      = "1s"
    timeout       = "400ms"
    retries       = 0
  }
  backup_record {
    rdata       = "127.0.%[1]d.32"
    description = "backup"
  }
}

cluster "web" {
  service "http" {
    fqdn = "web.example.test."
    ttl  = 0
    monitor {
      protocol = "TCP"
      interval = "1s"
      timeout  = "400ms"
      retries  = 0
    }
    real_service "web1" {
      ip_address = "127.0.%[1]d.41"
      port       = %[2]d
      weight     = 10
    }
    real_service "web2" {
      ip_address = "127.0.%[1]d.42"
      port       = %[2]d
      weight     = 5
    }
    real_service "sorry" {
      ip_address = "127.0.%[1]d.49"
      port       = %[2]d
      weight     = 1
      fallback   = true
    }
  }
}
`, n, port, tokenFile)
}

// opTargets are the HTTP targets of opConfig.
type opTargets struct {
	af, gRm, gKeep, sf, web1, web2 *target
}

func startOpTargets(t *testing.T, n, port int) opTargets {
	ip := func(host int) string { return fmt.Sprintf("127.0.%d.%d", n, host) }
	return opTargets{
		af:    newTargetOn(t, ip(11), port, "Example ok"),
		gRm:   newTargetOn(t, ip(21), port, "ok"),
		gKeep: newTargetOn(t, ip(22), port, "ok"),
		sf:    newTargetOn(t, ip(31), port, "testing"),
		web1:  newTargetOn(t, ip(41), port, "ok"),
		web2:  newTargetOn(t, ip(42), port, "ok"),
	}
}

// TestOperator_EveryPathThroughFailoverctlAndHTTP calls every path of
// docs/api.md through failoverctl (and HTTP where the CLI cannot reach a case)
// and sees each change in DNS.
func TestOperator_EveryPathThroughFailoverctlAndHTTP(t *testing.T) {
	t.Parallel()
	const token = "op-token-6f1d"
	port := testutil.FreePort(t, "127.0.6.11")
	tg := startOpTargets(t, 6, port)
	d := startDaemon(t, opConfig(6, port, opTokenFile(t, token)))
	c := newOpCtl(t, d, token)
	base := "http://" + d.apiAddr
	bearer := "Bearer " + token
	const within = 6 * time.Second

	opWaitDNS(t, d, "af.example.test.", "127.0.6.11", within)
	opWaitDNS(t, d, "g.example.test.", "127.0.6.21,127.0.6.22", within)
	opWaitDNS(t, d, "sf.example.test.", "127.0.6.31", within)
	opWaitDNS(t, d, "web.example.test.", "127.0.6.41,127.0.6.42", within)

	// health, version, /healthz and /metrics (no token needed).
	if out, errOut, code := c.run("health"); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("failoverctl health: %d %q %q", code, out, errOut)
	}
	if out, _, code := c.run("version"); code != 0 || !strings.HasPrefix(out, "failoverctl ") {
		t.Fatalf("failoverctl version: %d %q", code, out)
	}
	if st, _, body := opHTTP(t, "GET", base+"/healthz", "", ""); st != 200 || string(body) != "ok" {
		t.Fatalf("GET /healthz without token: %d %q", st, body)
	}
	if st, _, body := opHTTP(t, "GET", base+"/metrics", "", ""); st != 200 || !bytes.Contains(body, []byte("failoverd_")) {
		t.Fatalf("GET /metrics without token: %d, %d bytes", st, len(body))
	}

	// GET /v1/services: every service, kinds, statuses after the first rounds.
	wantKinds := map[string]string{"af.example.test.": "active_failover", "g.example.test.": "gslb", "sf.example.test.": "sf_pool"}
	testutil.Eventually(t, within, "every service ok after its first rounds", func() (bool, string) {
		var r api.ServicesResponse
		c.json(&r, "status")
		got := map[string]string{}
		ok := len(r.Services) == len(wantKinds)
		for _, s := range r.Services {
			got[s.FQDN] = s.Kind
			ok = ok && s.Active && (s.Status == "ok" || s.Status == "OK")
		}
		return ok && reflect.DeepEqual(got, wantKinds), fmt.Sprintf("%+v", r.Services)
	})
	if out, _, code := c.run("status"); code != 0 || !strings.Contains(out, "g.example.test.") || !strings.Contains(out, "sf_pool") {
		t.Fatalf("failoverctl status (table): %d\n%s", code, out)
	}
	if st, _, body := opHTTP(t, "GET", base+"/v1/services", bearer, ""); st != 200 {
		t.Fatalf("GET /v1/services: %d %s", st, body)
	} else {
		var list struct {
			Services []map[string]json.RawMessage `json:"services"`
		}
		if err := json.Unmarshal(body, &list); err != nil || len(list.Services) != 3 {
			t.Fatalf("GET /v1/services: %v %s", err, body)
		}
		for _, s := range list.Services {
			for _, k := range []string{"fqdn", "kind", "status", "active"} {
				if _, ok := s[k]; !ok {
					t.Errorf("GET /v1/services: a service lacks %q: %s", k, body)
				}
			}
		}
	}

	// GET /v1/services/{fqdn}, with and without the trailing dot, any case.
	testutil.Eventually(t, within, "gslb entries probed up", func() (bool, string) {
		sd := c.service("G.Example.Test")
		ok := true
		for _, a := range []string{"127.0.6.21", "127.0.6.22"} {
			e := opEntry(t, sd, "global", a)
			ok = ok && e.Status == "up" && e.LastProbe != nil && e.RTTSeconds != nil && !e.Removed
		}
		return ok, fmt.Sprintf("%+v", sd.Regions)
	})
	g := c.service("g.example.test.")
	if g.FQDN != "g.example.test." || g.Kind != "gslb" || g.Status != "ok" || !g.Active || len(g.Regions) != 1 ||
		g.Regions[0].Code != "global" || opServed(t, g, "global") != "127.0.6.21,127.0.6.22" {
		t.Fatalf("gslb detail: %+v", g)
	}
	if e := opEntry(t, g, "global", "127.0.6.21"); e.Label != "rm" || e.Weight != 1 || e.ServeMode != "remove" {
		t.Fatalf("remove-mode entry: %+v", e)
	}
	if e := opEntry(t, g, "global", "127.0.6.22"); e.Label != "keep" || e.ServeMode != "obey" {
		t.Fatalf("obey entry: %+v", e)
	}
	if st, _, body := opHTTP(t, "GET", base+"/v1/services/g.example.test", bearer, ""); st != 200 {
		t.Fatalf("GET /v1/services/g.example.test: %d %s", st, body)
	} else {
		var raw struct {
			Regions []struct {
				Entries []json.RawMessage `json:"entries"`
			} `json:"regions"`
		}
		opObject(t, "service detail", body, "fqdn", "kind", "status", "active", "regions")
		if err := json.Unmarshal(body, &raw); err != nil || len(raw.Regions) != 1 || len(raw.Regions[0].Entries) != 2 {
			t.Fatalf("service detail: %v %s", err, body)
		}
		for _, e := range raw.Regions[0].Entries {
			opObject(t, "service entry", e, "address", "label", "weight", "serve_mode", "status", "removed", "rtt_seconds", "message", "last_probe")
		}
	}
	if out, _, code := c.run("status", "g.example.test"); code != 0 || !strings.Contains(out, "127.0.6.21") || !strings.Contains(out, "remove") {
		t.Fatalf("failoverctl status FQDN (table): %d\n%s", code, out)
	}
	if sd := c.service("af.example.test"); sd.Kind != "active_failover" || sd.Status != "ok" || opServed(t, sd, "global") != "127.0.6.11" {
		t.Fatalf("active_failover detail: %+v", sd)
	}
	if sd := c.service("sf.example.test"); sd.Kind != "sf_pool" || sd.Status != "OK" || sd.LiveRecordState != "NOT_FORCED" ||
		opServed(t, sd, "global") != "127.0.6.31" {
		t.Fatalf("sf_pool detail: %+v", sd)
	}

	// recover ADDRESS: a remove-mode address that went down stays out after
	// it answers again, until an operator recovers it.
	tg.gRm.Stop()
	opWaitDNS(t, d, "g.example.test.", "127.0.6.22", within)
	testutil.Eventually(t, within, "127.0.6.21 removed", func() (bool, string) {
		e := opEntry(t, c.service("g.example.test"), "global", "127.0.6.21")
		return e.Status == "down" && e.Removed && e.Message != "", fmt.Sprintf("%+v", e)
	})
	// tsRemoved is a second wholly after the removal, for the rrset report.
	removedAt := time.Now().Unix()
	for time.Now().Unix() <= removedAt {
		time.Sleep(50 * time.Millisecond)
	}
	tsRemoved := time.Now().Unix()
	tg.gRm.Start()
	// Still probed: the API shows it answers again, but it stays removed
	// (status down) until recovered.
	testutil.Eventually(t, within, "removed 127.0.6.21 answers again", func() (bool, string) {
		e := opEntry(t, c.service("g.example.test"), "global", "127.0.6.21")
		n := len(e.History)
		return e.Removed && e.Status == "down" && n > 0 && e.History[n-1].Status == "up" && e.Message == "HTTP 200",
			fmt.Sprintf("%+v", e)
	})
	opStaysDNS(t, d, "g.example.test.", "127.0.6.22", 1500*time.Millisecond)
	for time.Now().Unix() <= tsRemoved {
		time.Sleep(50 * time.Millisecond)
	}
	c.fails("ApiErrorDoesNotExist", "recover", "g.example.test", "127.0.6.99")
	recoverJob := c.mustJob("recover", "g.example.test./127.0.6.21", "recover", "g.example.test", "127.0.6.21")
	opWaitDNS(t, d, "g.example.test.", "127.0.6.21,127.0.6.22", within)
	if e := opEntry(t, c.service("g.example.test"), "global", "127.0.6.21"); e.Removed || e.Status != "up" {
		t.Fatalf("recovered entry: %+v", e)
	}
	c.noJob("recover", "g.example.test", "127.0.6.21")
	c.noJob("recover", "g.example.test")
	tsRecovered := time.Now().Unix() + 1
	for time.Now().Unix() < tsRecovered {
		time.Sleep(50 * time.Millisecond)
	}

	// GET /v1/jobs/{id}: the same job object.
	if j := c.job("job", strconv.FormatUint(recoverJob.ID, 10)); j == nil || !reflect.DeepEqual(*j, *recoverJob) {
		t.Fatalf("job %d: %+v, want %+v", recoverJob.ID, j, *recoverJob)
	}
	if st, _, body := opHTTP(t, "GET", fmt.Sprintf("%s/v1/jobs/%d", base, recoverJob.ID), bearer, ""); st != 200 {
		t.Fatalf("GET /v1/jobs/%d: %d %s", recoverJob.ID, st, body)
	} else {
		job := opObject(t, "job response", body, "job")
		opObject(t, "job", job["job"], "id", "action", "target", "status", "created")
	}

	// recover without an address clears the failover latch
	// (auto_recover = false keeps af on its backup after the primary returns).
	tg.af.Stop()
	opWaitDNS(t, d, "af.example.test.", "127.0.6.12", within)
	tg.af.Start()
	testutil.Eventually(t, within, "af primary probed up again", func() (bool, string) {
		sd := c.service("af.example.test")
		return opEntry(t, sd, "global", "127.0.6.11").Status == "up", fmt.Sprintf("%+v", sd)
	})
	opStaysDNS(t, d, "af.example.test.", "127.0.6.12", 1500*time.Millisecond)
	if sd := c.service("af.example.test"); sd.Status != "failover" {
		t.Fatalf("latched active_failover: status %q, want failover", sd.Status)
	}
	c.mustJob("recover", "af.example.test.", "recover", "af.example.test")
	opWaitDNS(t, d, "af.example.test.", "127.0.6.11", within)

	// deactivate: no monitoring, the primary is served even while it is down;
	// activate: monitoring again.
	tg.af.Stop()
	opWaitDNS(t, d, "af.example.test.", "127.0.6.12", within)
	c.mustJob("deactivate", "af.example.test.", "deactivate", "af.example.test")
	opWaitDNS(t, d, "af.example.test.", "127.0.6.11", within)
	c.noJob("deactivate", "af.example.test.")
	if sd := c.service("af.example.test"); sd.Active || sd.Status != "unk" {
		t.Fatalf("deactivated: active %v status %q, want inactive unk", sd.Active, sd.Status)
	}
	opStaysDNS(t, d, "af.example.test.", "127.0.6.11", 2500*time.Millisecond)
	c.mustJob("activate", "af.example.test.", "activate", "af.example.test")
	c.noJob("activate", "af.example.test")
	opWaitDNS(t, d, "af.example.test.", "127.0.6.12", within)
	tg.af.Start()
	testutil.Eventually(t, within, "af primary up", func() (bool, string) {
		sd := c.service("af.example.test")
		return sd.Active && opEntry(t, sd, "global", "127.0.6.11").Status == "up", fmt.Sprintf("%+v", sd)
	})
	c.mustJob("recover", "af.example.test.", "recover", "af.example.test")
	opWaitDNS(t, d, "af.example.test.", "127.0.6.11", within)

	// force / unforce an sf_pool; a failing monitor is CRITICAL.
	c.fails("ApiErrorPreconditionFailed", "force", "g.example.test")
	c.mustJob("force", "sf.example.test.", "force", "sf.example.test")
	opWaitDNS(t, d, "sf.example.test.", "127.0.6.32", within)
	c.noJob("force", "sf.example.test")
	if sd := c.service("sf.example.test"); sd.Status != "MANUAL" || sd.LiveRecordState != "FORCED_INACTIVE" {
		t.Fatalf("forced sf_pool: status %q, live_record_state %q", sd.Status, sd.LiveRecordState)
	}
	c.mustJob("unforce", "sf.example.test.", "unforce", "sf.example.test")
	c.noJob("unforce", "sf.example.test")
	opWaitDNS(t, d, "sf.example.test.", "127.0.6.31", within)
	tg.sf.Stop()
	opWaitDNS(t, d, "sf.example.test.", "127.0.6.32", within)
	testutil.Eventually(t, within, "sf_pool CRITICAL", func() (bool, string) {
		sd := c.service("sf.example.test")
		return sd.Status == "CRITICAL" && sd.LiveRecordState == "NOT_FORCED", sd.Status
	})
	tg.sf.Start()
	opWaitDNS(t, d, "sf.example.test.", "127.0.6.31", within)

	// GET .../log: the removal and the operator's recovery, oldest first.
	var logR api.LogResponse
	c.json(&logR, "log", "g.example.test")
	var sawDown, sawRecovered bool
	for i, e := range logR.Events {
		if i > 0 && e.Time.Before(logR.Events[i-1].Time) {
			t.Errorf("log not oldest first: %v before %v", logR.Events[i-1].Time, e.Time)
		}
		if e.Kind == "ip" && e.Address == "127.0.6.21" && e.Region == "global" && e.OldStatus == "up" && e.NewStatus == "down" {
			sawDown = true
		}
		if e.Kind == "ip" && e.Address == "127.0.6.21" && e.NewStatus == "up" && e.Message == "recovered by operator" {
			sawRecovered = true
		}
	}
	if !sawDown || !sawRecovered {
		t.Fatalf("log of g.example.test lacks the removal or the recovery of 127.0.6.21: %+v", logR.Events)
	}
	// Explicit start and end (RFC 3339): the active_failover's svc events.
	start := time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	end := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	c.json(&logR, "log", "af.example.test", start, end)
	var sawFailover bool
	for _, e := range logR.Events {
		if e.Kind == "svc" && e.NewStatus == "failover" {
			sawFailover = true
		}
	}
	if !sawFailover {
		t.Fatalf("log of af.example.test lacks a svc event to failover: %+v", logR.Events)
	}
	if out, _, code := c.run("log", "g.example.test", "10m"); code != 0 || !strings.Contains(out, "127.0.6.21") {
		t.Fatalf("failoverctl log (table): %d\n%s", code, out)
	}
	st, _, body := opHTTP(t, "GET", base+"/v1/services/g.example.test./log?start="+start, bearer, "")
	if st != 200 {
		t.Fatalf("GET log without end: %d %s", st, body)
	}
	var rawLog struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &rawLog); err != nil || len(rawLog.Events) == 0 {
		t.Fatalf("GET log: %v %s", err, body)
	}
	opObject(t, "log event", rawLog.Events[0], "time", "kind", "region", "address", "old_status", "new_status", "message")
	if st, _, body := opHTTP(t, "GET", base+"/v1/services/g.example.test/log?start=2020-01-01T00:00:00Z&end=2020-01-02T00:00:00Z", bearer, ""); st != 200 ||
		strings.TrimSpace(string(body)) != `{"events":[]}` {
		t.Fatalf("GET log of an empty interval: %d %s", st, body)
	}

	// GET .../rrsets: what was served while 127.0.6.21 was removed, and now.
	var rep api.RRSetReport
	c.json(&rep, "rrsets", "g.example.test", strconv.FormatInt(tsRemoved, 10))
	if rep.TS != tsRemoved || len(rep.Regions) != 1 || rep.Regions[0].Code != "global" ||
		!reflect.DeepEqual(rep.Regions[0].Served, []string{"127.0.6.22"}) {
		t.Fatalf("rrsets at %d (removed): %+v", tsRemoved, rep)
	}
	c.json(&rep, "rrsets", "g.example.test", strconv.FormatInt(tsRecovered, 10))
	if len(rep.Regions) != 1 || strings.Join(slices.Sorted(slices.Values(rep.Regions[0].Served)), ",") != "127.0.6.21,127.0.6.22" {
		t.Fatalf("rrsets at %d (recovered): %+v", tsRecovered, rep)
	}
	c.json(&rep, "rrsets", "g.example.test") // TS defaults to now
	if now := time.Now().Unix(); rep.TS < tsRecovered || rep.TS > now || len(rep.Regions) != 1 ||
		strings.Join(slices.Sorted(slices.Values(rep.Regions[0].Served)), ",") != "127.0.6.21,127.0.6.22" {
		t.Fatalf("rrsets now: %+v", rep)
	}
	if out, _, code := c.run("rrsets", "g.example.test"); code != 0 || !strings.Contains(out, "127.0.6.21") {
		t.Fatalf("failoverctl rrsets (table): %d\n%s", code, out)
	}
	if st, _, body := opHTTP(t, "GET", fmt.Sprintf("%s/v1/services/sf.example.test/rrsets?ts=%d", base, time.Now().Unix()), bearer, ""); st != 200 {
		t.Fatalf("GET rrsets: %d %s", st, body)
	} else {
		m := opObject(t, "rrset report", body, "ts", "regions")
		var regions []json.RawMessage
		if err := json.Unmarshal(m["regions"], &regions); err != nil || len(regions) != 1 {
			t.Fatalf("rrset report regions: %v %s", err, body)
		}
		opObject(t, "rrset region", regions[0], "code", "served")
	}

	// Clusters: list, real services, info, statistics.
	var cl api.ClustersResponse
	c.json(&cl, "clusters")
	wantCl := []api.ClusterSummary{{Name: "web", Services: []api.ClusterService{{
		Name: "http", FQDN: "web.example.test.", Protocol: "tcp", RealServices: []string{"web1", "web2", "sorry"}}}}}
	if !reflect.DeepEqual(cl.Clusters, wantCl) {
		t.Fatalf("clusters: %+v, want %+v", cl.Clusters, wantCl)
	}
	testutil.Eventually(t, within, "real services probed", func() (bool, string) {
		var rs api.RealServicesResponse
		c.json(&rs, "cluster", "list", "web", "http")
		st := map[string]string{}
		for _, r := range rs.RealServices {
			st[r.Name] = r.Status
		}
		return st["web1"] == "up" && st["web2"] == "up" && st["sorry"] == "down", fmt.Sprint(st)
	})
	var rs api.RealServicesResponse
	c.json(&rs, "cluster", "list", "web", "http")
	wantRS := []api.RealService{
		{Name: "web1", IPAddress: "127.0.6.41", Port: port, Weight: 10, Enabled: true, Status: "up"},
		{Name: "web2", IPAddress: "127.0.6.42", Port: port, Weight: 5, Enabled: true, Status: "up"},
		{Name: "sorry", IPAddress: "127.0.6.49", Port: port, Weight: 1, Fallback: true, Enabled: true, Status: "down"},
	}
	if !reflect.DeepEqual(rs.RealServices, wantRS) {
		t.Fatalf("cluster list: %+v, want %+v", rs.RealServices, wantRS)
	}
	var info api.RealService
	c.json(&info, "cluster", "info", "web", "http", "web1")
	if info != wantRS[0] {
		t.Fatalf("cluster info web1: %+v", info)
	}
	if st, _, body := opHTTP(t, "GET", base+"/v1/clusters/web/services/http/real_services/sorry", bearer, ""); st != 200 {
		t.Fatalf("GET real service: %d %s", st, body)
	} else {
		opObject(t, "real service info", body, "ip_address", "port", "weight", "fallback", "enabled", "status")
	}
	var stats api.RealServiceStatistics
	c.json(&stats, "cluster", "statistics", "web", "http", "web1")
	if !stats.Active || stats.Status != "up" || stats.RTTSeconds == nil || stats.ProbesTotal == 0 ||
		stats.ProbeFailuresTotal != 0 || stats.LastUpdate == nil {
		t.Fatalf("statistics web1: %+v", stats)
	}
	c.json(&stats, "cluster", "statistics", "web", "http", "sorry")
	if stats.Active || stats.Status != "down" || stats.ProbeFailuresTotal == 0 {
		t.Fatalf("statistics sorry (fallback, never listening): %+v", stats)
	}
	if st, _, body := opHTTP(t, "GET", base+"/v1/clusters/web/services/http/real_services/web2/statistics", bearer, ""); st != 200 {
		t.Fatalf("GET statistics: %d %s", st, body)
	} else {
		opObject(t, "statistics", body, "active", "status", "rtt_seconds", "answers_total", "probes_total", "probe_failures_total", "last_update")
	}
	for _, args := range [][]string{{"cluster", "list", "web", "http"}, {"cluster", "info", "web", "http", "web2"},
		{"cluster", "statistics", "web", "http", "web2"}, {"clusters"}} {
		if out, _, code := c.run(args...); code != 0 || !strings.Contains(out, "up") && !strings.Contains(out, "web") {
			t.Fatalf("failoverctl %v (table): %d\n%s", args, code, out)
		}
	}

	// enable / disable.
	c.mustJob("disable", "web/http/web1", "cluster", "disable", "web", "http", "web1")
	opWaitDNS(t, d, "web.example.test.", "127.0.6.42", within)
	c.noJob("cluster", "disable", "web", "http", "web1")
	if c.json(&info, "cluster", "info", "web", "http", "web1"); info.Enabled {
		t.Fatalf("disabled web1: %+v", info)
	}
	c.mustJob("enable", "web/http/web1", "cluster", "enable", "web", "http", "web1")
	c.noJob("cluster", "enable", "web", "http", "web1")
	opWaitDNS(t, d, "web.example.test.", "127.0.6.41,127.0.6.42", within)

	// weight: 0 takes no new traffic.
	c.mustJob("set_weight", "web/http/web2", "cluster", "weight", "web", "http", "web2", "0")
	opWaitDNS(t, d, "web.example.test.", "127.0.6.41", within)
	c.noJob("cluster", "weight", "web", "http", "web2", "0")
	if c.json(&info, "cluster", "info", "web", "http", "web2"); info.Weight != 0 {
		t.Fatalf("web2 weight: %+v", info)
	}
	c.mustJob("set_weight", "web/http/web2", "cluster", "weight", "web", "http", "web2", "5")
	opWaitDNS(t, d, "web.example.test.", "127.0.6.41,127.0.6.42", within)

	// enable_fallback / disable_fallback, with both preconditions; a
	// rejected call changes nothing.
	c.fails("ApiErrorPreconditionFailed", "cluster", "enable_fallback", "web", "http", "web2")
	if c.json(&info, "cluster", "info", "web", "http", "web2"); info.Fallback || !info.Enabled {
		t.Fatalf("rejected enable_fallback changed web2: %+v", info)
	}
	c.noJob("cluster", "enable_fallback", "web", "http", "sorry")
	c.mustJob("disable_fallback", "web/http/sorry", "cluster", "disable_fallback", "web", "http", "sorry")
	c.noJob("cluster", "disable_fallback", "web", "http", "sorry")
	c.mustJob("disable", "web/http/web2", "cluster", "disable", "web", "http", "web2")
	c.fails("ApiErrorPreconditionFailed", "cluster", "enable_fallback", "web", "http", "web2")
	c.mustJob("enable", "web/http/web2", "cluster", "enable", "web", "http", "web2")
	c.mustJob("enable_fallback", "web/http/sorry", "cluster", "enable_fallback", "web", "http", "sorry")
	if c.json(&info, "cluster", "info", "web", "http", "sorry"); !info.Fallback || !info.Enabled {
		t.Fatalf("sorry after enable_fallback: %+v", info)
	}
	// The fallback answers when no other real service is up.
	tg.web1.Stop()
	tg.web2.Stop()
	opWaitDNS(t, d, "web.example.test.", "127.0.6.49", within)
	testutil.Eventually(t, within, "fallback active", func() (bool, string) {
		c.json(&stats, "cluster", "statistics", "web", "http", "sorry")
		return stats.Active, fmt.Sprintf("%+v", stats)
	})
	tg.web1.Start()
	tg.web2.Start()
	opWaitDNS(t, d, "web.example.test.", "127.0.6.41,127.0.6.42", within)

	// Every error type through failoverctl: unknown names are
	// ApiErrorDoesNotExist, a wrong token ApiErrorUnauthorized.
	for _, args := range [][]string{
		{"status", "nope.example.test"},
		{"deactivate", "nope.example.test"},
		{"activate", "nope.example.test"},
		{"recover", "nope.example.test"},
		{"force", "nope.example.test"},
		{"unforce", "nope.example.test"},
		{"log", "nope.example.test"},
		{"rrsets", "nope.example.test"},
		{"job", "999999"},
		{"cluster", "list", "nope", "http"},
		{"cluster", "list", "web", "nope"},
		{"cluster", "info", "web", "http", "nope"},
		{"cluster", "statistics", "web", "http", "nope"},
		{"cluster", "disable", "nope", "http", "web1"},
		{"cluster", "weight", "web", "http", "nope", "3"},
	} {
		c.fails("ApiErrorDoesNotExist", args...)
	}
	c.fails("ApiErrorBadRequest", "cluster", "weight", "web", "http", "web1", "-1")
	wrong := &opCtl{t: t, addr: d.apiAddr, token: "wrong-" + token} // bare host:port is accepted too
	wrong.fails("ApiErrorUnauthorized", "status")
	wrong.fails("ApiErrorUnauthorized", "deactivate", "g.example.test")
	none := &opCtl{t: t, addr: d.apiAddr}
	none.fails("ApiErrorUnauthorized", "cluster", "disable", "web", "http", "web1")
	if out, errOut, code := none.run("-addr", base, "-token-file", opTokenFile(t, token), "-json", "status"); code != 0 ||
		!strings.Contains(out, `"g.example.test."`) {
		t.Fatalf("failoverctl -addr -token-file: %d %q %q", code, out, errOut)
	}
	if sd := c.service("g.example.test"); !sd.Active {
		t.Fatalf("a rejected deactivate changed the service: %+v", sd)
	}
	if c.json(&info, "cluster", "info", "web", "http", "web1"); !info.Enabled {
		t.Fatalf("a rejected disable changed web1: %+v", info)
	}
	opStaysDNS(t, d, "g.example.test.", "127.0.6.21,127.0.6.22", 0)
}

// TestOperator_AuthAndErrorTypes checks over raw HTTP that every /v1 path
// wants the token, and that every error type answers with its status and
// a JSON body; rejected calls change nothing.
func TestOperator_AuthAndErrorTypes(t *testing.T) {
	t.Parallel()
	const token = "auth-token-93ac"
	port := testutil.FreePort(t, "127.0.9.11")
	startOpTargets(t, 9, port)
	d := startDaemon(t, opConfig(9, port, opTokenFile(t, token)))
	base := "http://" + d.apiAddr
	bearer := "Bearer " + token
	opWaitDNS(t, d, "g.example.test.", "127.0.9.21,127.0.9.22", 6*time.Second)

	checkError := func(t *testing.T, method, path, auth, body string, wantStatus int, wantType string) {
		t.Helper()
		st, hdr, b := opHTTP(t, method, base+path, auth, body)
		var e map[string]any
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: %d, body not JSON: %v\n%s", method, path, st, err, b)
		}
		msg, _ := e["error"].(string)
		if st != wantStatus || e["error_type"] != wantType || msg == "" || len(e) != 2 ||
			!strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %s (Content-Type %q), want %d %s", method, path, st, b, hdr.Get("Content-Type"), wantStatus, wantType)
		}
	}

	// Every path of docs/api.md, without a token and with a wrong one.
	const rs = "/v1/clusters/web/services/http/real_services"
	paths := []struct{ method, path, body string }{
		{"GET", "/v1/services", ""},
		{"GET", "/v1/services/g.example.test.", ""},
		{"POST", "/v1/services/g.example.test./activate", ""},
		{"POST", "/v1/services/g.example.test./deactivate", ""},
		{"POST", "/v1/services/g.example.test./recover", `{"address": "127.0.9.21"}`},
		{"POST", "/v1/services/sf.example.test./force", ""},
		{"POST", "/v1/services/sf.example.test./unforce", ""},
		{"GET", "/v1/services/g.example.test./log?start=2020-01-01T00:00:00Z", ""},
		{"GET", "/v1/services/g.example.test./rrsets?ts=1", ""},
		{"GET", "/v1/jobs/1", ""},
		{"GET", "/v1/clusters", ""},
		{"GET", rs, ""},
		{"GET", rs + "/web1", ""},
		{"GET", rs + "/web1/statistics", ""},
		{"POST", rs + "/web1/enable", ""},
		{"POST", rs + "/web1/disable", ""},
		{"POST", rs + "/web1/enable_fallback", ""},
		{"POST", rs + "/sorry/disable_fallback", ""},
		{"POST", rs + "/web1/weight", `{"weight": 3}`},
	}
	t.Run("401 without or with a wrong token", func(t *testing.T) {
		for _, p := range paths {
			for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", "Basic " + token, token} {
				checkError(t, p.method, p.path, auth, p.body, 401, "ApiErrorUnauthorized")
			}
		}
	})
	t.Run("the token opens every path", func(t *testing.T) {
		// Surrounding white space in the header is tolerated like in the file.
		for _, p := range paths {
			if p.method != "GET" {
				continue
			}
			if p.path == "/v1/jobs/1" {
				continue // no job yet: its 404 is checked below
			}
			if st, _, b := opHTTP(t, p.method, base+p.path, "Bearer  "+token+" ", ""); st != 200 {
				t.Errorf("GET %s with the token: %d %s", p.path, st, b)
			}
		}
	})
	t.Run("nothing changed by the rejected calls", func(t *testing.T) {
		_, _, b := opHTTP(t, "GET", base+"/v1/services", bearer, "")
		var list api.ServicesResponse
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Services {
			if !s.Active {
				t.Errorf("%s inactive after rejected calls", s.FQDN)
			}
		}
		_, _, b = opHTTP(t, "GET", base+"/v1/services/sf.example.test", bearer, "")
		if !bytes.Contains(b, []byte(`"live_record_state":"NOT_FORCED"`)) {
			t.Errorf("sf_pool after rejected calls: %s", b)
		}
		_, _, b = opHTTP(t, "GET", base+rs, bearer, "")
		var reals api.RealServicesResponse
		if err := json.Unmarshal(b, &reals); err != nil {
			t.Fatal(err)
		}
		want := map[string][3]any{"web1": {true, 10, false}, "web2": {true, 5, false}, "sorry": {true, 1, true}}
		for _, r := range reals.RealServices {
			if got := [3]any{r.Enabled, r.Weight, r.Fallback}; got != want[r.Name] {
				t.Errorf("%s after rejected calls: %v, want %v", r.Name, got, want[r.Name])
			}
		}
		if st, _, b := opHTTP(t, "GET", base+"/v1/jobs/1", bearer, ""); st != 404 {
			t.Errorf("a job exists after only rejected calls: %d %s", st, b)
		}
	})

	t.Run("every error type", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			status                   int
			errType                  string
		}{
			{"malformed recover body", "POST", "/v1/services/g.example.test/recover", `{"address":`, 400, "ApiErrorBadRequest"},
			{"unknown field in recover body", "POST", "/v1/services/g.example.test/recover", `{"adress": "127.0.9.21"}`, 400, "ApiErrorBadRequest"},
			{"recover body not an object", "POST", "/v1/services/g.example.test/recover", `["127.0.9.21"]`, 400, "ApiErrorBadRequest"},
			{"weight without body", "POST", rs + "/web1/weight", "", 400, "ApiErrorBadRequest"},
			{"weight missing", "POST", rs + "/web1/weight", `{}`, 400, "ApiErrorBadRequest"},
			{"weight negative", "POST", rs + "/web1/weight", `{"weight": -1}`, 400, "ApiErrorBadRequest"},
			{"weight not a number", "POST", rs + "/web1/weight", `{"weight": "3"}`, 400, "ApiErrorBadRequest"},
			{"log without start", "GET", "/v1/services/g.example.test/log", "", 400, "ApiErrorBadRequest"},
			{"log start not RFC 3339", "GET", "/v1/services/g.example.test/log?start=yesterday", "", 400, "ApiErrorBadRequest"},
			{"log end before start", "GET", "/v1/services/g.example.test/log?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "", 400, "ApiErrorBadRequest"},
			{"rrsets without ts", "GET", "/v1/services/g.example.test/rrsets", "", 400, "ApiErrorBadRequest"},
			{"rrsets ts not UNIX", "GET", "/v1/services/g.example.test/rrsets?ts=now", "", 400, "ApiErrorBadRequest"},
			{"job id not a number", "GET", "/v1/jobs/seventeen", "", 400, "ApiErrorBadRequest"},
			{"invalid fqdn", "GET", "/v1/services/a..example.test", "", 400, "ApiErrorBadRequest"},
			{"invalid cluster name", "GET", "/v1/clusters/w%21b/services/http/real_services", "", 400, "ApiErrorBadRequest"},

			{"unknown service", "GET", "/v1/services/nope.example.test", "", 404, "ApiErrorDoesNotExist"},
			{"deactivate unknown service", "POST", "/v1/services/nope.example.test/deactivate", "", 404, "ApiErrorDoesNotExist"},
			{"activate unknown service", "POST", "/v1/services/nope.example.test/activate", "", 404, "ApiErrorDoesNotExist"},
			{"recover unknown service", "POST", "/v1/services/nope.example.test/recover", "", 404, "ApiErrorDoesNotExist"},
			{"recover unknown address", "POST", "/v1/services/g.example.test/recover", `{"address": "127.0.9.99"}`, 404, "ApiErrorDoesNotExist"},
			{"force unknown service", "POST", "/v1/services/nope.example.test/force", "", 404, "ApiErrorDoesNotExist"},
			{"unforce unknown service", "POST", "/v1/services/nope.example.test/unforce", "", 404, "ApiErrorDoesNotExist"},
			{"log of unknown service", "GET", "/v1/services/nope.example.test/log?start=2026-01-01T00:00:00Z", "", 404, "ApiErrorDoesNotExist"},
			{"rrsets of unknown service", "GET", "/v1/services/nope.example.test/rrsets?ts=1", "", 404, "ApiErrorDoesNotExist"},
			{"unknown job", "GET", "/v1/jobs/424242", "", 404, "ApiErrorDoesNotExist"},
			{"unknown cluster", "GET", "/v1/clusters/nope/services/http/real_services", "", 404, "ApiErrorDoesNotExist"},
			{"unknown cluster service", "GET", "/v1/clusters/web/services/nope/real_services", "", 404, "ApiErrorDoesNotExist"},
			{"unknown real service", "GET", rs + "/nope", "", 404, "ApiErrorDoesNotExist"},
			{"statistics of unknown real service", "GET", rs + "/nope/statistics", "", 404, "ApiErrorDoesNotExist"},
			{"enable unknown real service", "POST", rs + "/nope/enable", "", 404, "ApiErrorDoesNotExist"},
			{"disable in unknown cluster", "POST", "/v1/clusters/nope/services/http/real_services/web1/disable", "", 404, "ApiErrorDoesNotExist"},
			{"weight of unknown real service", "POST", rs + "/nope/weight", `{"weight": 3}`, 404, "ApiErrorDoesNotExist"},
			{"unknown endpoint", "GET", "/v1/nothing", "", 404, "ApiErrorDoesNotExist"},

			{"force a gslb", "POST", "/v1/services/g.example.test/force", "", 412, "ApiErrorPreconditionFailed"},
			{"unforce an active_failover", "POST", "/v1/services/af.example.test/unforce", "", 412, "ApiErrorPreconditionFailed"},
			{"second fallback", "POST", rs + "/web1/enable_fallback", "", 412, "ApiErrorPreconditionFailed"},
		}
		for _, tt := range tests {
			checkError(t, tt.method, tt.path, bearer, tt.body, tt.status, tt.errType)
		}
		// A disabled server as fallback: free the fallback slot, disable web2.
		for _, op := range []string{"/sorry/disable_fallback", "/web2/disable"} {
			if st, _, b := opHTTP(t, "POST", base+rs+op, bearer, ""); st != 200 || !bytes.Contains(b, []byte(`"job":{`)) {
				t.Fatalf("POST %s: %d %s", op, st, b)
			}
		}
		checkError(t, "POST", rs+"/web2/enable_fallback", bearer, "", 412, "ApiErrorPreconditionFailed")
		_, _, b := opHTTP(t, "GET", base+rs+"/web2", bearer, "")
		var info api.RealService
		if err := json.Unmarshal(b, &info); err != nil || info.Fallback || info.Enabled {
			t.Errorf("web2 after a rejected enable_fallback: %s", b)
		}
		// The recover body is optional; an explicit empty address is the same.
		for _, body := range []string{"", `{}`, `{"address": ""}`} {
			if st, _, b := opHTTP(t, "POST", base+"/v1/services/g.example.test/recover", bearer, body); st != 200 ||
				strings.TrimSpace(string(b)) != `{"job":null}` {
				t.Errorf("recover with body %q and nothing to recover: %d %s", body, st, b)
			}
		}
	})
}

// TestOperator_StateSurvivesKill9: a deactivated service, a forced sf_pool,
// a removed address and a disabled real service are still in effect, seen
// through dig, after failoverd is killed with SIGKILL and started again.
func TestOperator_StateSurvivesKill9(t *testing.T) {
	t.Parallel()
	testutil.RequireTool(t, "bind9-dnsutils", "dig")
	const token = "kill9-token-02be"
	port := testutil.FreePort(t, "127.0.7.11")
	tg := startOpTargets(t, 7, port)
	d := startDaemon(t, opConfig(7, port, opTokenFile(t, token)))
	c := newOpCtl(t, d, token)
	const within = 6 * time.Second

	opWaitDNS(t, d, "af.example.test.", "127.0.7.11", within)
	opWaitDNS(t, d, "g.example.test.", "127.0.7.21,127.0.7.22", within)
	opWaitDNS(t, d, "sf.example.test.", "127.0.7.31", within)
	opWaitDNS(t, d, "web.example.test.", "127.0.7.41,127.0.7.42", within)

	// A remove-mode address goes down and answers again: it stays removed.
	tg.gRm.Stop()
	opWaitDNS(t, d, "g.example.test.", "127.0.7.22", within)
	tg.gRm.Start()
	// The primary of af is down: without the deactivation af would fail over.
	tg.af.Stop()
	opWaitDNS(t, d, "af.example.test.", "127.0.7.12", within)
	// Operator changes: each call returns once its state is synced to disk.
	jobs := []*api.Job{
		c.mustJob("deactivate", "af.example.test.", "deactivate", "af.example.test"),
		c.mustJob("force", "sf.example.test.", "force", "sf.example.test"),
		c.mustJob("disable", "web/http/web1", "cluster", "disable", "web", "http", "web1"),
	}
	want := map[string]string{
		"af.example.test":  "127.0.7.11",
		"sf.example.test":  "127.0.7.32",
		"g.example.test":   "127.0.7.22",
		"web.example.test": "127.0.7.42",
	}
	for name, ans := range want {
		opWaitDNS(t, d, name+".", ans, within)
	}
	if e := opEntry(t, c.service("g.example.test"), "global", "127.0.7.21"); !e.Removed {
		t.Fatalf("127.0.7.21 not removed before the kill: %+v", e)
	}

	d.kill9()
	if _, err := d.lookup("udp", "af.example.test.", dns.TypeA); err == nil {
		t.Fatal("DNS still answers after kill -9")
	}
	d.start()

	// Right after the start and after several probe intervals (the
	// probes see the af primary down and 127.0.7.21 up again).
	for _, wait := range []time.Duration{0, 3500 * time.Millisecond} {
		time.Sleep(wait)
		for name, ans := range want {
			if got := d.dig(name, "A"); got != ans {
				t.Fatalf("dig %s A, %v after the restart: %q, want %q", name, wait, got, ans)
			}
		}
	}
	af := c.service("af.example.test")
	sf := c.service("sf.example.test")
	if af.Active || sf.LiveRecordState != "FORCED_INACTIVE" || sf.Status != "MANUAL" {
		t.Fatalf("after the restart: af active %v, sf %s %s", af.Active, sf.LiveRecordState, sf.Status)
	}
	if e := opEntry(t, c.service("g.example.test"), "global", "127.0.7.21"); !e.Removed {
		t.Fatalf("127.0.7.21 not removed after the restart: %+v", e)
	}
	var info api.RealService
	if c.json(&info, "cluster", "info", "web", "http", "web1"); info.Enabled {
		t.Fatalf("web1 enabled after the restart: %+v", info)
	}
	for _, j := range jobs {
		if got := c.job("job", strconv.FormatUint(j.ID, 10)); got == nil || !reflect.DeepEqual(*got, *j) {
			t.Fatalf("job %d after the restart: %+v, want %+v", j.ID, got, *j)
		}
	}

	// Undoing each change through the API takes effect at once.
	c.mustJob("activate", "af.example.test.", "activate", "af.example.test")
	c.mustJob("unforce", "sf.example.test.", "unforce", "sf.example.test")
	c.mustJob("recover", "g.example.test./127.0.7.21", "recover", "g.example.test", "127.0.7.21")
	c.mustJob("enable", "web/http/web1", "cluster", "enable", "web", "http", "web1")
	opWaitDNS(t, d, "af.example.test.", "127.0.7.12", within)
	opWaitDNS(t, d, "sf.example.test.", "127.0.7.31", within)
	opWaitDNS(t, d, "g.example.test.", "127.0.7.21,127.0.7.22", within)
	opWaitDNS(t, d, "web.example.test.", "127.0.7.41,127.0.7.42", within)
	if got := d.dig("sf.example.test", "A"); got != "127.0.7.31" {
		t.Fatalf("dig sf.example.test after unforce: %q", got)
	}
}
