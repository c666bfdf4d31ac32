package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the daemon's /metrics and parses the text exposition.
func (d *daemonProc) scrape() map[string]*dto.MetricFamily {
	d.t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + d.apiAddr + "/metrics")
	if err != nil {
		d.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		d.t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// metricSum adds up the samples of family name whose labels include every
// pair in match (counter and gauge values, histogram sample counts) and
// says how many samples matched.
func metricSum(fams map[string]*dto.MetricFamily, name string, match map[string]string) (float64, int) {
	f, ok := fams[name]
	if !ok {
		return 0, 0
	}
	var sum float64
	var n int
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range match {
			if labels[k] != v {
				continue next
			}
		}
		n++
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, n
}

// waitMetric polls /metrics until cond holds for the matching sum.
func (d *daemonProc) waitMetric(name string, match map[string]string, within time.Duration, cond func(float64) bool) float64 {
	d.t.Helper()
	deadline := time.Now().Add(within)
	var v float64
	for {
		v, _ = metricSum(d.scrape(), name, match)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s%v: condition not met within %v, last value %v", name, match, within, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLog polls the daemon's output until it contains s.
func (d *daemonProc) waitLog(s string, within time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(d.out.String(), s) {
		if time.Now().After(deadline) {
			d.t.Fatalf("log does not contain %q within %v", s, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rewriteAndHUP replaces the daemon's configuration file (placeholders filled in
// as startDaemon does) and sends SIGHUP.
func (d *daemonProc) rewriteAndHUP(config string) {
	d.t.Helper()
	config = strings.NewReplacer("{{DNS}}", d.dnsAddr, "{{API}}", d.apiAddr, "{{STATE}}", filepath.Join(d.dir, "state")).Replace(config)
	if err := os.WriteFile(d.config, []byte(config), 0o644); err != nil {
		d.t.Fatal(err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		d.t.Fatal(err)
	}
}

// queryLoop sends queries from several workers (UDP, the last one TCP)
// until stopped (and at least min were sent) or max were sent, and checks
// every answer against the allowed answers of its name.
type queryLoop struct {
	addr  string
	names []string
	// allowed judges an answer; sent is when its query was sent.
	allowed func(name, answer string, sent time.Time) bool
	// sent counts completed queries, failed the timeouts, errors,
	// non-NOERROR and unexpected answers among them, late the errors after
	// the cut (after which each worker stops at its first error).
	sent, failed, late atomic.Int64
	// cut, when set, is the Unix nano time after which failures are
	// expected (shutdown): a query left unanswered is counted in late, a
	// wrong answer is still a failure.
	cut   atomic.Int64
	mu    sync.Mutex
	fails []string
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startQueryLoop(addr string, workers int, min, max int64, names []string, allowed func(name, answer string, sent time.Time) bool) *queryLoop {
	q := &queryLoop{addr: addr, names: names, allowed: allowed, stop: make(chan struct{})}
	for w := range workers {
		q.wg.Go(func() {
			// The last worker asks over TCP (a connection per query).
			network := "udp"
			if w == workers-1 && workers > 1 {
				network = "tcp"
			}
			c := &dns.Client{Net: network, Timeout: 2 * time.Second}
			for i := w; ; i++ {
				n := q.sent.Load()
				if n >= max {
					return
				}
				select {
				case <-q.stop:
					if n >= min {
						return
					}
				default:
				}
				name := names[i%len(names)]
				m := new(dns.Msg)
				m.SetQuestion(name, dns.TypeA)
				sent := time.Now()
				r, _, err := c.Exchange(m, addr)
				q.sent.Add(1)
				if err == nil && !r.Response {
					// Once the server's port is closed, a client socket
					// that got the same ephemeral port reads its own query.
					err = errors.New("own query echoed: nobody on the port")
				}
				var why string
				switch {
				case err != nil:
					why = err.Error()
				case r.Rcode != dns.RcodeSuccess:
					why = "rcode " + dns.RcodeToString[r.Rcode]
				default:
					if got := strings.Join(answers(r), ","); !allowed(name, got, sent) {
						why = fmt.Sprintf("unexpected answer %q", got)
					}
				}
				if why == "" {
					continue
				}
				when := time.Now().Format("15:04:05.000")
				if cut := q.cut.Load(); cut != 0 && time.Now().UnixNano() > cut {
					when += fmt.Sprintf(" (%v after the cut)", time.Duration(time.Now().UnixNano()-cut).Round(time.Millisecond))
					if err != nil {
						// The server is going away: stop this worker.
						q.late.Add(1)
						return
					}
				}
				q.failed.Add(1)
				q.mu.Lock()
				if len(q.fails) < 10 {
					q.fails = append(q.fails, fmt.Sprintf("%s %s %s: %s", when, network, name, why))
				}
				q.mu.Unlock()
			}
		})
	}
	return q
}

// finish stops the loop and waits for it.
func (q *queryLoop) finish() {
	close(q.stop)
	q.wg.Wait()
}

func (q *queryLoop) check(t *testing.T, min int64) {
	t.Helper()
	t.Logf("query loop: %d queries, %d failed, %d unanswered after shutdown began", q.sent.Load(), q.failed.Load(), q.late.Load())
	if q.failed.Load() != 0 {
		t.Errorf("%d failed queries; first: %s", q.failed.Load(), strings.Join(q.fails, "; "))
	}
	if q.sent.Load() < min {
		t.Errorf("only %d queries sent, want at least %d", q.sent.Load(), min)
	}
}

const reloadConfig = `
server {
  hostname  = "ns1.example.test"
  state_dir = "{{STATE}}"
}
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }

zone "example.test" {
  ns = ["ns1.example.test."]
  record "static" {
    type  = "A"
    ttl   = 300
    rdata = ["%[1]s"]
  }
  record "ns1" {
    type  = "A"
    rdata = ["127.0.0.1"]
  }
}

active_failover "www.example.test." {
  address       = "127.0.0.31"
  failover_data = "%[2]s"
  ttl           = 1
  monitor {
    protocol = "HTTP"
    interval = "2s"
    retries  = 0
    timeout  = "500ms"
    port     = %[3]d
    expected = "OK"
  }
}

# Its primary never answers: once down, the backup is served, and a reload
# that leaves this block alone must not reset it to unk (served as up).
active_failover "down.example.test." {
  address       = "127.0.0.33"
  failover_data = "127.0.0.34"
  ttl           = 1
  monitor {
    protocol = "TCP"
    interval = "2s"
    retries  = 0
    timeout  = "500ms"
    port     = %[4]d
  }
}
%[5]s
`

// Issue 7, reload: a valid configuration (a changed static record and a new
// service) takes effect through DNS; an invalid one is refused with its
// diagnostics logged and the running one kept; an unchanged down primary
// stays failed over across both; and thousands of queries (UDP, one worker
// TCP) running throughout all answer correctly.
func TestReload_ValidThenInvalidWithoutAFailedQuery(t *testing.T) {
	www := newTarget(t, "127.0.0.31", "Example OK")
	deadPort := testutil.FreePort(t, "127.0.0.33")
	fresh := newTarget(t, "127.0.0.35", "Example OK")
	newService := fmt.Sprintf(`
active_failover "new.example.test." {
  address       = "127.0.0.35"
  failover_data = "127.0.0.36"
  ttl           = 1
  monitor {
    protocol = "HTTP"
    interval = "2s"
    timeout  = "500ms"
    port     = %d
  }
}
`, fresh.Port())
	gone := newTarget(t, "127.0.0.37", "Example OK")
	goneService := fmt.Sprintf(`
active_failover "gone.example.test." {
  address       = "127.0.0.37"
  failover_data = "127.0.0.38"
  ttl           = 1
  monitor {
    protocol = "HTTP"
    interval = "2s"
    timeout  = "500ms"
    port     = %d
  }
}
`, gone.Port())
	v1 := fmt.Sprintf(reloadConfig, "192.0.2.1", "127.0.0.32", www.Port(), deadPort, goneService)
	v2 := fmt.Sprintf(reloadConfig, "192.0.2.2", "127.0.0.32", www.Port(), deadPort, newService)
	// Invalid: a bad failover_data, and a static record change that must
	// not leak out of the refused file.
	v3 := fmt.Sprintf(reloadConfig, "192.0.2.3", "not-an-ip", www.Port(), deadPort, newService)

	d := startDaemon(t, v1)
	d.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.31", 5*time.Second)
	d.waitAnswer("down.example.test.", dns.TypeA, "127.0.0.34", 2*time.Second+time.Second+3*time.Second)
	d.waitAnswer("static.example.test.", dns.TypeA, "192.0.2.1", time.Second)
	d.waitAnswer("gone.example.test.", dns.TypeA, "127.0.0.37", time.Second)
	d.waitMetric("failoverd_status", map[string]string{"service": "gone.example.test.", "address": "127.0.0.37", "status": "up"}, 5*time.Second, func(v float64) bool { return v == 1 })

	fams := d.scrape()
	for _, result := range []string{"success", "failure"} {
		if v, n := metricSum(fams, "failoverd_config_reloads_total", map[string]string{"result": result}); n != 1 || v != 0 {
			t.Fatalf("before any reload: failoverd_config_reloads_total{result=%q} = %v (%d series), want 0", result, v, n)
		}
	}

	// From here on, www answers its primary, down its backup, static either
	// the old or the new address: never an error, never anything else.
	// staticNewAt is when the new static answer was first seen: a query
	// sent after it must get the new answer (one sent before may still be
	// answered from the old snapshot).
	var staticNewAt atomic.Int64
	allowed := func(name, got string, sent time.Time) bool {
		switch name {
		case "www.example.test.":
			return got == "127.0.0.31"
		case "down.example.test.":
			return got == "127.0.0.34"
		case "static.example.test.":
			if at := staticNewAt.Load(); at != 0 && sent.UnixNano() > at {
				return got == "192.0.2.2"
			}
			return got == "192.0.2.1" || got == "192.0.2.2"
		}
		return false
	}
	const minQueries = 3000
	loop := startQueryLoop(d.dnsAddr, 4, minQueries, 200000,
		[]string{"www.example.test.", "down.example.test.", "static.example.test."}, allowed)
	loopDone := false
	defer func() {
		if !loopDone {
			loop.finish()
		}
	}()
	for loop.sent.Load() < 300 { // the loop is running before the first reload
		time.Sleep(10 * time.Millisecond)
	}

	// 1. Valid reload.
	d.rewriteAndHUP(v2)
	d.waitAnswer("static.example.test.", dns.TypeA, "192.0.2.2", 10*time.Second)
	staticNewAt.Store(time.Now().UnixNano())
	// Right after the swap, the unchanged service still serves its backup:
	// its down status survived (unk would serve the primary).
	if got, err := d.lookup("udp", "down.example.test.", dns.TypeA); err != nil || got != "127.0.0.34" {
		t.Fatalf("down.example.test. right after reload: %q, %v; want the backup 127.0.0.34", got, err)
	}
	d.waitAnswer("new.example.test.", dns.TypeA, "127.0.0.35", 5*time.Second)
	d.waitMetric("failoverd_config_reloads_total", map[string]string{"result": "success"}, 5*time.Second, func(v float64) bool { return v == 1 })
	d.waitLog("configuration reloaded", 5*time.Second)
	// The removed service is gone from DNS and from /metrics.
	if r, err := query(d.dnsAddr, "udp", "gone.example.test.", dns.TypeA, dns.ClassINET); err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("gone.example.test. after its removal: %v, %v; want NXDOMAIN", r, err)
	}
	fams = d.scrape()
	for family, match := range map[string]map[string]string{
		"failoverd_status":         {"service": "gone.example.test."},
		"failoverd_served_records": {"name": "gone.example.test."},
	} {
		if _, n := metricSum(fams, family, match); n != 0 {
			t.Errorf("%s%v: %d series left after the service was removed", family, match, n)
		}
	}
	if _, n := metricSum(fams, "failoverd_status", map[string]string{"service": "down.example.test."}); n == 0 {
		t.Errorf("failoverd_status lost the unchanged service down.example.test.")
	}
	for loop.sent.Load() < minQueries/2 {
		time.Sleep(10 * time.Millisecond)
	}

	// 2. Invalid reload: refused, diagnostics (file:line: summary) logged.
	d.rewriteAndHUP(v3)
	d.waitMetric("failoverd_config_reloads_total", map[string]string{"result": "failure"}, 10*time.Second, func(v float64) bool { return v == 1 })
	d.waitLog("reload refused", 5*time.Second)
	out := d.out.String()
	for _, want := range []string{"Invalid failover_data", filepath.Base(d.config) + ":"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks the diagnostics (%q):\n%s", want, out)
		}
	}
	if v, _ := metricSum(d.scrape(), "failoverd_config_reloads_total", map[string]string{"result": "success"}); v != 1 {
		t.Errorf("reloads success = %v after the refused reload, want 1", v)
	}
	for name, want := range map[string]string{
		"static.example.test.": "192.0.2.2",
		"www.example.test.":    "127.0.0.31",
		"down.example.test.":   "127.0.0.34",
		"new.example.test.":    "127.0.0.35",
	} {
		if got, err := d.lookup("udp", name, dns.TypeA); err != nil || got != want {
			t.Errorf("%s after the refused reload: %q, %v; want %q", name, got, err, want)
		}
	}

	loop.finish()
	loopDone = true
	loop.check(t, minQueries)

	// The status page agrees: the down primary kept its status.
	if v, _ := metricSum(d.scrape(), "failoverd_status", map[string]string{"address": "127.0.0.33", "status": "down"}); v != 1 {
		t.Errorf("failoverd_status{address=127.0.0.33,status=down} = %v, want 1", v)
	}
}

const sigtermConfig = `
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}

active_failover "down.example.test." {
  address       = "127.0.0.41"
  failover_data = "127.0.0.42"
  ttl           = 1
  notify_events = ["ip", "svc"]
  monitor {
    protocol = "TCP"
    interval = "%[1]s"
    retries  = 0
    timeout  = "500ms"
    port     = %[2]d
  }
  syslog {
    server    = "127.0.0.1"
    port      = %[4]d
    transport = "tcp"
    delivery  = "all"
  }
}

active_failover "www.example.test." {
  address       = "127.0.0.43"
  failover_data = "127.0.0.44"
  ttl           = 1
  monitor {
    protocol = "TCP"
    interval = "%[1]s"
    retries  = 0
    timeout  = "500ms"
    port     = %[3]d
  }
  syslog {
    server    = "127.0.0.1"
    port      = %[4]d
    transport = "tcp"
    delivery  = "all"
  }
}
`

// Issue 7, shutdown: SIGTERM while UDP queries run and notifications to a
// dead syslog receiver are queued and retrying: every query answered before
// the signal is right, the daemon exits 0 within the drain deadline, and it
// leaves a state directory that a new daemon opens at once (bbolt lock
// released) with the persisted statuses in it.
func TestSIGTERM_DrainsQueriesAndNotificationsAndExitsZero(t *testing.T) {
	deadPort := testutil.FreePort(t, "127.0.0.41")
	up := newTarget(t, "127.0.0.43", "ok")
	// Nothing listens here: every syslog delivery is refused and retried.
	deadSyslog := testutil.FreePort(t, "127.0.0.1")

	d := startDaemon(t, fmt.Sprintf(sigtermConfig, "2s", deadPort, up.Port(), deadSyslog))
	d.waitAnswer("down.example.test.", dns.TypeA, "127.0.0.42", 2*time.Second+time.Second+3*time.Second)
	d.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.43", 5*time.Second)
	// Notifications are in flight: delivered, refused, queued for retry.
	d.waitMetric("failoverd_notify_failed_total", map[string]string{"sink": "syslog"}, 10*time.Second, func(v float64) bool { return v >= 2 })
	if v, _ := metricSum(d.scrape(), "failoverd_notify_sent_total", map[string]string{"sink": "syslog"}); v != 0 {
		t.Fatalf("%v notifications sent to a receiver that does not exist", v)
	}

	loop := startQueryLoop(d.dnsAddr, 4, 0, 200000, []string{"www.example.test.", "down.example.test."},
		func(name, got string, _ time.Time) bool {
			return name == "www.example.test." && got == "127.0.0.43" || name == "down.example.test." && got == "127.0.0.42"
		})
	for loop.sent.Load() < 1000 {
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	loop.cut.Store(start.UnixNano())
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The notification drain is bounded by 5 s, the DNS drain by 5 s (run
	// side by side); the rest is slack for the race detector.
	const deadline = 15 * time.Second
	select {
	case <-d.done:
	case <-time.After(deadline):
		d.cmd.Process.Kill()
		<-d.done
		loop.finish()
		t.Fatalf("failoverd did not exit within %v of SIGTERM:\n%s", deadline, d.out.String())
	}
	took := time.Since(start)
	loop.finish()
	t.Logf("exit %v after %v", d.cmd.ProcessState, took)
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, d.out.String())
	}
	loop.check(t, 1000)
	out := d.out.String()
	if t.Failed() {
		t.Logf("first daemon's output:\n%s", out)
	}
	for _, want := range []string{"notification dropped", "failoverd stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}

	// A second daemon on the same state directory starts at once and, with
	// a monitor interval too long to have probed yet, still serves the
	// backup for the primary the first one saw down.
	state := filepath.Join(d.dir, "state")
	d2 := startDaemon(t, strings.ReplaceAll(fmt.Sprintf(sigtermConfig, "60s", deadPort, up.Port(), deadSyslog), "{{STATE}}", state))
	if got, err := d2.lookup("udp", "down.example.test.", dns.TypeA); err != nil || got != "127.0.0.42" {
		t.Errorf("second daemon: down.example.test. = %q, %v; want the persisted failover 127.0.0.42", got, err)
	}
}

// Issue 7, metrics: every family the issue names is exported from start
// (label-less vectors with their known labels), and probe, status,
// transition, served, DNS and notification series move across a failover.
func TestMetrics_EveryFamilyPresentAndMovingAfterFailover(t *testing.T) {
	primary := newTarget(t, "127.0.0.51", "Example OK")
	syslogRx, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syslogRx.Close() })
	rxPort := syslogRx.LocalAddr().(*net.UDPAddr).Port

	d := startDaemon(t, fmt.Sprintf(`
server { state_dir = "{{STATE}}" }
dns { listen = ["{{DNS}}"] }
api { listen = "{{API}}" }
zone "example.test" {}
active_failover "www.example.test." {
  address       = "127.0.0.51"
  failover_data = "127.0.0.52"
  ttl           = 0
  notify_events = ["ip", "svc"]
  monitor {
    protocol = "HTTP"
    interval = "1s"
    retries  = 0
    timeout  = "500ms"
    port     = %d
    expected = "OK"
  }
  syslog {
    server = "127.0.0.1"
    port   = %d
  }
}
`, primary.Port(), rxPort))
	d.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.51", 5*time.Second)
	httpRounds := map[string]string{"protocol": "HTTP"}
	d.waitMetric("failoverd_probe_rounds_total", httpRounds, 5*time.Second, func(v float64) bool { return v >= 1 })
	d.waitMetric("failoverd_status", map[string]string{"address": "127.0.0.51", "status": "up"}, 5*time.Second, func(v float64) bool { return v == 1 })

	families := []string{
		// probe rounds, failures, duration and targets down per protocol
		// (no per-target series: docs/operations.md says why)
		"failoverd_probe_rounds_total",
		"failoverd_probe_round_failures_total",
		"failoverd_probe_round_local_failures_total",
		"failoverd_probe_round_duration_seconds",
		"failoverd_probe_targets_down",
		// address, region and service status; served records per name
		"failoverd_status",
		"failoverd_transitions_total",
		"failoverd_served_records",
		// DNS queries by zone, qtype and rcode; answer latency
		"failoverd_dns_queries_total",
		"failoverd_dns_answer_duration_seconds",
		// notifications sent, failed and dropped
		"failoverd_notify_sent_total",
		"failoverd_notify_failed_total",
		"failoverd_notify_dropped_total",
		// config reloads and their success; build info
		"failoverd_config_reloads_total",
		"failoverd_build_info",
	}
	before := d.scrape()
	var missing []string
	for _, f := range families {
		if _, ok := before[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		var have []string
		for name := range before {
			if strings.HasPrefix(name, "failoverd_") {
				have = append(have, name)
			}
		}
		sort.Strings(have)
		t.Fatalf("/metrics lacks %v; it has %v", missing, have)
	}
	for _, lbl := range []struct {
		family string
		labels []string
	}{
		{"failoverd_probe_rounds_total", []string{"protocol"}},
		{"failoverd_probe_targets_down", []string{"protocol"}},
		{"failoverd_status", []string{"service", "region", "address", "status"}},
		{"failoverd_served_records", []string{"name"}},
		{"failoverd_dns_queries_total", []string{"zone", "qtype", "rcode"}},
		{"failoverd_notify_sent_total", []string{"sink"}},
		{"failoverd_config_reloads_total", []string{"result"}},
		{"failoverd_transitions_total", []string{"kind"}},
		{"failoverd_build_info", []string{"version", "goversion"}},
	} {
		m := before[lbl.family].GetMetric()
		if len(m) == 0 {
			t.Errorf("%s has no series", lbl.family)
			continue
		}
		have := map[string]bool{}
		for _, l := range m[0].GetLabel() {
			have[l.GetName()] = true
		}
		for _, want := range lbl.labels {
			if !have[want] {
				t.Errorf("%s lacks label %q", lbl.family, want)
			}
		}
	}
	if v, n := metricSum(before, "failoverd_build_info", nil); n != 1 || v != 1 {
		t.Errorf("failoverd_build_info: %v over %d series, want one series at 1", v, n)
	}
	if v, _ := metricSum(before, "failoverd_served_records", map[string]string{"name": "www.example.test."}); v != 1 {
		t.Errorf("failoverd_served_records{name=www.example.test.} = %v, want 1", v)
	}

	for range 50 {
		if _, err := d.lookup("udp", "www.example.test.", dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	primary.Stop()
	d.waitAnswer("www.example.test.", dns.TypeA, "127.0.0.52", time.Second*2+time.Second+3*time.Second)
	d.waitMetric("failoverd_status", map[string]string{"address": "127.0.0.51", "status": "down"}, 5*time.Second, func(v float64) bool { return v == 1 })
	d.waitMetric("failoverd_notify_sent_total", map[string]string{"sink": "syslog"}, 10*time.Second, func(v float64) bool { return v >= 1 })
	// A reload of the same file moves the success counter.
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitMetric("failoverd_config_reloads_total", map[string]string{"result": "success"}, 10*time.Second, func(v float64) bool { return v == 1 })
	after := d.scrape()

	grew := []struct {
		family string
		labels map[string]string
	}{
		{"failoverd_probe_rounds_total", httpRounds},
		{"failoverd_probe_round_failures_total", httpRounds},
		{"failoverd_probe_round_duration_seconds", nil},
		{"failoverd_transitions_total", nil},
		{"failoverd_dns_queries_total", map[string]string{"zone": "example.test.", "qtype": "A", "rcode": "NOERROR"}},
		{"failoverd_dns_answer_duration_seconds", nil},
		{"failoverd_notify_sent_total", map[string]string{"sink": "syslog"}},
	}
	for _, g := range grew {
		b, _ := metricSum(before, g.family, g.labels)
		a, n := metricSum(after, g.family, g.labels)
		if n == 0 || a <= b {
			t.Errorf("%s%v did not move across the failover: %v → %v (%d series)", g.family, g.labels, b, a, n)
		}
	}
	if v, _ := metricSum(after, "failoverd_probe_targets_down", httpRounds); v != 1 {
		t.Errorf("failoverd_probe_targets_down{protocol=HTTP} with the primary stopped = %v, want 1", v)
	}
	if v, n := metricSum(after, "failoverd_status", map[string]string{"address": "127.0.0.51"}); n != 1 || v != 1 {
		t.Errorf("failoverd_status of 127.0.0.51: %d series summing to %v, want exactly one (down)", n, v)
	}
	checkDashboard(t, after)
}

// checkDashboard parses examples/grafana-dashboard.json and checks that
// every failoverd_ metric its queries use is one the daemon exports, and
// that it shows every family the issue names.
func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	raw, err := os.ReadFile("../examples/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	// Exported only once they have a series: NOTIFY needs dns.transfer.
	labelledOnly := map[string]bool{"failoverd_dns_notify_total": true}
	used := map[string]bool{}
	name := regexp.MustCompile(`failoverd_[a-z_]+`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if f := strings.TrimSuffix(m, suffix); f != m && fams[f] != nil {
						m = f
					}
				}
				used[m] = true
				if fams[m] == nil && !labelledOnly[m] {
					t.Errorf("dashboard panel %q queries %s, which /metrics does not export", p.Title, m)
				}
			}
		}
	}
	for _, f := range []string{
		"failoverd_probe_rounds_total", "failoverd_probe_round_failures_total", "failoverd_probe_round_duration_seconds",
		"failoverd_probe_targets_down",
		"failoverd_status", "failoverd_served_records", "failoverd_dns_queries_total", "failoverd_dns_answer_duration_seconds",
		"failoverd_notify_sent_total", "failoverd_notify_failed_total", "failoverd_notify_dropped_total",
		"failoverd_config_reloads_total", "failoverd_build_info", "failoverd_transitions_total",
	} {
		if !used[f] {
			t.Errorf("the dashboard does not show %s", f)
		}
	}
}
