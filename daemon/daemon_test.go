package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/store"
)

// failingStore is the real store whose commits fail while fail is set, as
// on a full or failing disk.
type failingStore struct {
	stateStore
	fail atomic.Bool
	// failJobs fails only the commits that record a job.
	failJobs atomic.Bool
}

var errDiskFailed = errors.New("input/output error (injected)")

// Commit implements stateStore.
func (f *failingStore) Commit(b store.Batch) error {
	if f.fail.Load() || (f.failJobs.Load() && b.Job != nil) {
		return errDiskFailed
	}
	return f.stateStore.Commit(b)
}

// testDaemon is an in-process daemon on loopback ephemeral ports.
type testDaemon struct {
	t       *testing.T
	d       *Daemon
	path    string
	store   *failingStore
	dnsAddr string
	apiAddr string
}

// header is the start of every test configuration: ephemeral loopback
// ports and a state directory under dir.
func header(dir string) string {
	return fmt.Sprintf("server { state_dir = %q }\ndns { listen = [\"127.0.0.1:0\"] }\napi { listen = \"127.0.0.1:0\" }\n", filepath.Join(dir, "state"))
}

func startTestDaemon(t *testing.T, body string) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	td := &testDaemon{t: t, path: filepath.Join(dir, "failoverd.hcl")}
	td.write(body)
	cfg, _, diags := config.Load(td.path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	wrap := func(s stateStore) stateStore {
		td.store = &failingStore{stateStore: s}
		return td.store
	}
	d, err := New(Options{Prepared: prepared(t, cfg), ConfigPath: td.path, Version: "test", wrapStore: wrap}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	td.d = d
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	for _, ready := range []<-chan struct{}{d.dns.Ready(), d.api.Ready()} {
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("Run ended early: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("daemon not ready within 10s")
		}
	}
	td.dnsAddr = d.dns.Addrs()[0].String()
	td.apiAddr = d.api.Addr().String()
	return td
}

// write replaces the configuration file: the header and body.
func (td *testDaemon) write(body string) {
	td.t.Helper()
	if err := os.WriteFile(td.path, []byte(header(filepath.Dir(td.path))+body), 0o644); err != nil {
		td.t.Fatal(err)
	}
}

// answer is what the daemon answers for name and type, as sorted record
// text (or the rcode when it is not NOERROR), over a real DNS client.
func (td *testDaemon) answer(name string, qtype uint16) string {
	td.t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, td.dnsAddr)
	if err != nil {
		td.t.Fatalf("query %s: %v", name, err)
	}
	if r.Rcode != dns.RcodeSuccess {
		return dns.RcodeToString[r.Rcode]
	}
	var out []string
	for _, rr := range r.Answer {
		rr.Header().Ttl = 0
		out = append(out, rr.String())
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// view is everything the API shows of services and clusters, as JSON.
func (td *testDaemon) view() string {
	td.t.Helper()
	var parts []string
	for _, path := range []string{"/v1/services", "/v1/clusters"} {
		resp, err := http.Get("http://" + td.apiAddr + path)
		if err != nil {
			td.t.Fatal(err)
		}
		var v any
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil {
			td.t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}

const reloadBefore = `
zone "example.test" {
  record "www" {
    type  = "A"
    rdata = ["192.0.2.1"]
  }
}
active_failover "app.example.test." {
  address       = "192.0.2.10"
  failover_data = "192.0.2.11"
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
`

// The new configuration changes a static record, adds a service and a zone
// and sets up e-mail, so every step of the reload has work to do.
const reloadAfter = `
zone "example.test" {
  record "www" {
    type  = "A"
    rdata = ["192.0.2.2"]
  }
}
zone "other.test" {}
active_failover "app.example.test." {
  address       = "192.0.2.10"
  failover_data = "192.0.2.11"
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
active_failover "new.example.test." {
  address       = "192.0.2.20"
  failover_data = "192.0.2.21"
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
smtp {
  server = "127.0.0.1:25"
  from   = "failoverd@example.test"
}
`

// A reload that fails at any step leaves the running configuration
// answering, unchanged: DNS answers and serials, the API's view and the
// notification settings.
func TestReload_FailureAtAnyStepChangesNothing(t *testing.T) {
	td := startTestDaemon(t, reloadBefore)
	queries := []struct {
		name  string
		qtype uint16
	}{
		{"www.example.test.", dns.TypeA},
		{"app.example.test.", dns.TypeA},
		{"new.example.test.", dns.TypeA},
		{"example.test.", dns.TypeSOA},
		{"other.test.", dns.TypeSOA},
	}
	snapshot := func() string {
		var b strings.Builder
		for _, q := range queries {
			b.WriteString(td.answer(q.name, q.qtype) + "\n")
		}
		return b.String() + td.view()
	}
	before := snapshot()
	notifyBefore := td.d.notifiers.opts
	td.write(reloadAfter)
	cfg, _, diags := config.Load(td.path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}

	errInjected := errors.New("injected failure")
	steps := td.d.reload
	for i, step := range steps {
		t.Run("after "+step.name, func(t *testing.T) {
			// The step does its work, then fails: whatever it built must
			// not reach the running daemon.
			td.d.reload = append([]reloadStep(nil), steps...)
			run := step.run
			td.d.reload[i].run = func(tx *reloadTxn) error {
				if err := run(tx); err != nil {
					return err
				}
				return errInjected
			}
			if err := td.d.Reload(context.Background(), cfg); !errors.Is(err, errInjected) {
				t.Fatalf("Reload = %v, want the injected failure", err)
			}
			if got := snapshot(); got != before {
				t.Errorf("the running configuration changed:\n%s\nwant\n%s", got, before)
			}
			if !reflect.DeepEqual(td.d.notifiers.opts, notifyBefore) {
				t.Errorf("notification settings changed to %+v", td.d.notifiers.opts)
			}
		})
	}
	td.d.reload = steps

	t.Run("store failing", func(t *testing.T) {
		// The new zone's serial mark cannot be saved.
		td.store.fail.Store(true)
		defer td.store.fail.Store(false)
		if err := td.d.Reload(context.Background(), cfg); !errors.Is(err, errDiskFailed) {
			t.Fatalf("Reload = %v, want the store's failure", err)
		}
		if got := snapshot(); got != before {
			t.Errorf("the running configuration changed:\n%s\nwant\n%s", got, before)
		}
	})

	// Without a failure the same reload applies: the checks above could
	// have seen a change.
	if err := td.d.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := td.answer("www.example.test.", dns.TypeA); !strings.Contains(got, "192.0.2.2") {
		t.Errorf("www after the reload: %s", got)
	}
	if got := td.answer("new.example.test.", dns.TypeA); !strings.Contains(got, "192.0.2.20") {
		t.Errorf("new service after the reload: %s", got)
	}
	if got := td.answer("other.test.", dns.TypeSOA); !strings.Contains(got, "SOA") {
		t.Errorf("new zone after the reload: %s", got)
	}
}

const clusterConfig = `
zone "example.test" {}
cluster "web" {
  service "http" {
    fqdn = "web.example.test."
    monitor {
    protocol = "NONE"
    interval = "10s"
  }
    real_service "web1" {
      ip_address = "192.0.2.51"
      port       = 80
    }
    real_service "web2" {
      ip_address = "192.0.2.52"
      port       = 80
    }
  }
}
active_failover "app.example.test." {
  address       = "192.0.2.10"
  failover_data = "192.0.2.11"
  monitor {
    protocol = "NONE"
    interval = "10s"
  }
}
`

// An operator command whose result cannot be recorded (the disk fails)
// answers 500 and changes nothing: not the live answer, not the API view,
// not the serial; the retry then applies it.
func TestCommand_RejectedByTheStoreChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		query      string
	}{
		{"cluster disable", "/v1/clusters/web/services/http/real_services/web1/disable", "web.example.test."},
		{"deactivate", "/v1/services/app.example.test./deactivate", "app.example.test."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := startTestDaemon(t, clusterConfig)
			snapshot := func() string {
				return td.answer(tc.query, dns.TypeA) + "\n" + td.answer("example.test.", dns.TypeSOA) + "\n" + td.view()
			}
			before := snapshot()

			td.store.fail.Store(true)
			status, errType := td.post(tc.path)
			if status != http.StatusInternalServerError || errType != api.ErrorTypeInternal {
				t.Errorf("with the disk failing: %d %s, want 500 %s", status, errType, api.ErrorTypeInternal)
			}
			if got := snapshot(); got != before {
				t.Errorf("a rejected command changed the state:\n%s\nwant\n%s", got, before)
			}

			td.store.fail.Store(false)
			if status, errType := td.post(tc.path); status != http.StatusOK {
				t.Fatalf("retry: %d %s", status, errType)
			}
			if got := snapshot(); got == before {
				t.Errorf("the retried command changed nothing:\n%s", got)
			}
		})
	}
}

// post POSTs an API path and returns the status and error type.
func (td *testDaemon) post(path string) (int, string) {
	td.t.Helper()
	resp, err := http.Post("http://"+td.apiAddr+path, "application/json", nil)
	if err != nil {
		td.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		ErrorType string `json:"error_type"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.ErrorType
}

// A zone whose content changed is published only once its serial is below
// the saved high-water mark: with the mark unsaveable DNS keeps the last
// snapshot, and once the disk works again the change goes out with a
// serial above every one published before.
func TestPublish_NoSerialAboveTheSavedMark(t *testing.T) {
	td := startTestDaemon(t, clusterConfig)
	pub := td.d.loop.pub
	s0 := soaSerial(t, td)
	before := td.answer("web.example.test.", dns.TypeA)

	// Use up the reserved serials, as a long churn would.
	if err := td.d.loop.call(context.Background(), func() error {
		pub.zones["example.test."].serial = pub.serials.hw["example.test."]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	td.store.fail.Store(true)
	// The command itself is refused too (it cannot be recorded); apply a
	// decided change directly, as a probe round would.
	if err := td.d.loop.call(context.Background(), func() error {
		if _, _, err := td.d.loop.engine.ClusterDisable("web", "http", "web1", time.Now()); err != nil {
			return err
		}
		pub.apply(Decision{Time: time.Now(), Full: true}, td.d.loop.engine)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := td.answer("web.example.test.", dns.TypeA); got != before {
		t.Errorf("published without a saved serial mark: %s", got)
	}
	if s := soaSerial(t, td); s != s0 {
		t.Errorf("serial moved from %d to %d without a saved mark", s0, s)
	}

	td.store.fail.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for td.answer("web.example.test.", dns.TypeA) == before {
		if time.Now().After(deadline) {
			t.Fatal("the change was not published once the disk worked again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	marks, err := td.store.stateStore.Serials()
	if err != nil {
		t.Fatal(err)
	}
	if s := soaSerial(t, td); s <= s0 || s > marks["example.test."] {
		t.Errorf("serial %d after the retry: want above %d and at most the saved mark %d", s, s0, marks["example.test."])
	}
}

func soaSerial(t *testing.T, td *testDaemon) uint32 {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeSOA)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, td.dnsAddr)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("SOA: %v %v", r, err)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// A client that goes away stops waiting for a busy decision loop, and a
// command it left behind is not applied when the loop gets to it.
func TestController_ClientThatGoesAwayCancelsItsWait(t *testing.T) {
	td := startTestDaemon(t, clusterConfig)
	c := &controller{log: zap.NewNop(), loop: td.d.loop, store: td.d.store}

	// Keep the loop busy until released.
	release := make(chan struct{})
	busy := make(chan struct{})
	go td.d.loop.call(context.Background(), func() error {
		close(busy)
		<-release
		return nil
	})
	<-busy

	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := c.Deactivate(ctx, "app.example.test.")
		result <- err
	}()
	time.Sleep(50 * time.Millisecond) // the call is waiting for the loop
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Deactivate after the client left: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call kept waiting after its client went away")
	}
	close(release)

	svc, err := c.Service(context.Background(), "app.example.test.")
	if err != nil {
		t.Fatal(err)
	}
	if !svc.Active {
		t.Fatal("the abandoned deactivate was applied")
	}
}
