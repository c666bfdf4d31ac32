// Package e2e runs the built failoverd binary against real local targets and
// checks it from the outside: with a real DNS client, dig, the control API,
// syslog and e-mail receivers.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "failoverd-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := 1
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinaries builds failoverd and failoverctl with the race detector, so
// the end-to-end runs also look for data races in the daemon.
func buildBinaries(dir string) error {
	for _, name := range []string{"failoverd", "failoverctl"} {
		cmd := exec.Command("go", "build", "-race", "-o", filepath.Join(dir, name), "../cmd/"+name)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return err
		}
	}
	return nil
}

// target is an HTTP health target on a fixed loopback address and port that
// a test can stop and start again (the port stays the same).
type target struct {
	t    *testing.T
	addr string
	body string
	mu   sync.Mutex
	srv  *http.Server
}

func newTarget(t *testing.T, ip, body string) *target {
	return newTargetOn(t, ip, testutil.FreePort(t, ip), body)
}

// newTargetOn starts an HTTP target on ip:port (services whose entries share
// one monitor need one port on several addresses).
func newTargetOn(t *testing.T, ip string, port int, body string) *target {
	tg := &target{t: t, addr: net.JoinHostPort(ip, fmt.Sprint(port)), body: body}
	tg.Start()
	t.Cleanup(tg.Stop)
	return tg
}

func (tg *target) Port() int {
	_, p, _ := net.SplitHostPort(tg.addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

func (tg *target) Start() {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.srv != nil {
		return
	}
	var l net.Listener
	var err error
	for range 50 { // the port may linger briefly after Stop
		if l, err = net.Listen("tcp", tg.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tg.t.Fatalf("target %s: %v", tg.addr, err)
	}
	body := tg.body
	tg.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, body)
	})}
	go tg.srv.Serve(l)
}

func (tg *target) Stop() {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.srv == nil {
		return
	}
	tg.srv.Close()
	tg.srv = nil
}

// daemonProc is a running failoverd.
type daemonProc struct {
	t       *testing.T
	dir     string
	config  string
	dnsAddr string
	apiAddr string
	cmd     *exec.Cmd
	out     *syncBuffer
	done    chan struct{}
	// wrap is a command line that runs failoverd (such as prlimit with its
	// options); it must exec failoverd, so that the PID is the daemon's.
	wrap []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon writes config (with {{DNS}}, {{API}} and {{STATE}} filled in)
// and starts failoverd on it, waiting until DNS answers.
func startDaemon(t *testing.T, config string) *daemonProc {
	t.Helper()
	return startDaemonWrapped(t, config)
}

// startDaemonWrapped is startDaemon with failoverd run through wrap.
func startDaemonWrapped(t *testing.T, config string, wrap ...string) *daemonProc {
	t.Helper()
	dir := t.TempDir()
	d := &daemonProc{
		wrap:    wrap,
		t:       t,
		dir:     dir,
		config:  filepath.Join(dir, "failoverd.hcl"),
		dnsAddr: fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1")),
		apiAddr: fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1")),
	}
	config = strings.NewReplacer("{{DNS}}", d.dnsAddr, "{{API}}", d.apiAddr, "{{STATE}}", filepath.Join(dir, "state")).Replace(config)
	if err := os.WriteFile(d.config, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *daemonProc) start() {
	d.t.Helper()
	d.out = &syncBuffer{}
	d.done = make(chan struct{})
	args := append(append([]string{}, d.wrap...), filepath.Join(binDir, "failoverd"), "run", "-config", d.config)
	d.cmd = exec.Command(args[0], args[1:]...)
	// Race-built binaries otherwise sleep a second at exit.
	d.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	d.cmd.Stdout = d.out
	d.cmd.Stderr = d.out
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			d.t.Fatalf("failoverd exited early: %v\n%s", d.cmd.ProcessState, d.out.String())
		default:
		}
		if _, err := query(d.dnsAddr, "udp", "id.server.", dns.TypeTXT, dns.ClassCHAOS); err == nil {
			d.waitAPI(deadline)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("failoverd did not answer DNS within 20s:\n%s", d.out.String())
}

// waitAPI waits, when the configuration has an API, until it accepts
// connections: DNS answers first, and the API listens once the start's
// served sets are recorded.
func (d *daemonProc) waitAPI(deadline time.Time) {
	d.t.Helper()
	cfg, err := os.ReadFile(d.config)
	if err != nil || !strings.Contains(string(cfg), d.apiAddr) {
		return
	}
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", d.apiAddr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("failoverd answered DNS but its API never listened:\n%s", d.out.String())
}

// stop sends SIGTERM and expects a clean exit.
func (d *daemonProc) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		d.t.Errorf("failoverd did not stop within 15s of SIGTERM")
	}
	if d.t.Failed() {
		d.t.Logf("failoverd output:\n%s", d.out.String())
	}
}

// kill9 kills the daemon without warning.
func (d *daemonProc) kill9() {
	d.cmd.Process.Kill()
	<-d.done
}

func query(addr, network, name string, qtype, qclass uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.Question[0].Qclass = qclass
	c := &dns.Client{Net: network, Timeout: time.Second}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// answers returns the sorted rdata of the answer section (A, AAAA, CNAME target).
func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		case *dns.CNAME:
			out = append(out, v.Target)
		default:
			out = append(out, rr.String())
		}
	}
	sort.Strings(out)
	return out
}

// lookup asks for name and returns the sorted answer rdata joined by ",".
func (d *daemonProc) lookup(network, name string, qtype uint16) (string, error) {
	r, err := query(d.dnsAddr, network, name, qtype, dns.ClassINET)
	if err != nil {
		return "", err
	}
	if r.Rcode != dns.RcodeSuccess {
		return "", fmt.Errorf("%s %s: rcode %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
	}
	return strings.Join(answers(r), ","), nil
}

// waitAnswer polls until name answers want (over UDP) and returns how long it took.
func (d *daemonProc) waitAnswer(name string, qtype uint16, want string, within time.Duration) time.Duration {
	d.t.Helper()
	start := time.Now()
	var got string
	var err error
	for time.Since(start) < within {
		got, err = d.lookup("udp", name, qtype)
		if err == nil && got == want {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("%s %s: want %q within %v, last answer %q (err %v)", name, dns.TypeToString[qtype], want, within, got, err)
	return 0
}

// getJSON GETs an API path (no token) and decodes the JSON answer.
func (d *daemonProc) getJSON(path string, v any) {
	d.t.Helper()
	resp, err := http.Get("http://" + d.apiAddr + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
}

// dig runs the real dig against the daemon and returns its +short output.
func (d *daemonProc) dig(args ...string) string {
	d.t.Helper()
	path := testutil.RequireTool(d.t, "bind9-dnsutils", "dig")
	host, port, _ := net.SplitHostPort(d.dnsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := append([]string{"@" + host, "-p", port, "+short", "+time=2", "+tries=1"}, args...)
	out, err := exec.CommandContext(ctx, path, full...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("dig %v: %v\n%s", full, err, out)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, ",")
}
