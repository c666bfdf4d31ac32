package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLocalFailureIsUnknownNotDown runs a child of this test binary that
// probes loopback targets once with its normal descriptor limit (up), then
// again with RLIMIT_NOFILE lowered to the descriptors it already holds:
// every protocol then fails with EMFILE, which is Local, not down.
func TestLocalFailureIsUnknownNotDown(t *testing.T) {
	if os.Getenv("FAILOVERD_PROBE_EMFILE_CHILD") == "1" {
		emfileChild(t)
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLocalFailureIsUnknownNotDown$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FAILOVERD_PROBE_EMFILE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	got := string(out)
	t.Logf("child said:\n%s", got)
	// An FQDN target fails while resolving: that is local too.
	probes := []string{"TCP 127.0.0.1", "HTTP 127.0.0.1", "HTTPS 127.0.0.1", "SMTP 127.0.0.1", "TCP localhost"}
	if CheckPing() == nil {
		probes = append(probes, "PING 127.0.0.1")
	}
	for _, p := range probes {
		for _, want := range []string{
			fmt.Sprintf("before %s: up=true local=false", p),
			fmt.Sprintf("after %s: up=false local=true msg=\"cannot probe: too many open files\"", p),
		} {
			if !strings.Contains(got, want) {
				t.Errorf("child output lacks %q", want)
			}
		}
	}
}

// emfileChild runs in the child process.
func emfileChild(t *testing.T) {
	ctx := context.Background()
	probers := Probers(ProberOptions{})
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer web.Close()
	tlsWeb := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer tlsWeb.Close()
	port := func(url string) int {
		p, _ := strconv.Atoi(url[strings.LastIndexByte(url, ':')+1:])
		return p
	}
	smtp := startRaw(t, "tcp4", "127.0.0.1:0", smtpBanner("220 mail.example.com ESMTP\r\n"))
	tcp := startRaw(t, "tcp4", "127.0.0.1:0", stall)
	targets := []Target{
		{Protocol: TCP, Address: "127.0.0.1", Port: port(tcp.ln.Addr().String())},
		{Protocol: HTTP, Address: "127.0.0.1", Port: port(web.URL)},
		{Protocol: HTTPS, Address: "127.0.0.1", Port: port(tlsWeb.URL), TLSSkipVerify: true},
		{Protocol: SMTP, Address: "127.0.0.1", Port: port(smtp.ln.Addr().String())},
		{Protocol: TCP, Address: "localhost", Port: port(tcp.ln.Addr().String()), Retries: 1},
	}
	if CheckPing() == nil {
		targets = append(targets, Target{Protocol: PING, Address: "127.0.0.1"})
	}
	probe := func(when string) {
		for _, tg := range targets {
			tg.Interval, tg.Timeout = time.Minute, 3*time.Second
			r := Round(ctx, tg, probers[tg.Protocol])
			fmt.Printf("%s %s %s: up=%v local=%v msg=%q\n", when, tg.Protocol, tg.Address, r.Up, r.Local, r.Message)
		}
	}
	probe("before")
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		fmt.Println("getrlimit:", err)
		return
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		fmt.Println("read /proc/self/fd:", err)
		return
	}
	highest := 0
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > highest {
			highest = n
		}
	}
	// With the limit at highest+1, only the gaps below it are left: fill
	// them, and any new descriptor is refused (EMFILE).
	lim := syscall.Rlimit{Cur: uint64(highest + 1), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		return
	}
	var filler []int
	for range highest + 1 {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		filler = append(filler, fd)
	}
	probe("after")
	for _, fd := range filler {
		_ = syscall.Close(fd)
	}
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
}

// TestRoundWithALocalFailureIsUnknown checks how Round combines attempts
// when some failed for a local reason.
func TestRoundWithALocalFailureIsUnknown(t *testing.T) {
	up := Result{Up: true, Message: "HTTP 200"}
	down := Result{Message: "connection refused"}
	local := Result{Local: true, Message: "cannot probe: too many open files"}
	tests := []struct {
		name     string
		attempts []Result
		want     Result // Up, Local, Message and Attempts compared
	}{
		{"local alone is unknown", []Result{local}, Result{Local: true, Message: local.Message, Attempts: 1}},
		{"up after a local failure is up", []Result{local, up}, Result{Up: true, Message: "HTTP 200", Attempts: 2}},
		{"down then local is unknown", []Result{down, local}, Result{Local: true, Message: local.Message, Attempts: 2}},
		{"local then down is unknown", []Result{local, down}, Result{Local: true, Message: local.Message, Attempts: 2}},
		{"down only is down", []Result{down, down}, Result{Message: "connection refused", Attempts: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			p := func(context.Context, Target) Result { n++; return tt.attempts[n-1] }
			r := Round(t.Context(), Target{Protocol: TCP, Address: "192.0.2.1", Retries: len(tt.attempts) - 1}, p)
			if r.Up != tt.want.Up || r.Local != tt.want.Local || r.Message != tt.want.Message || r.Attempts != tt.want.Attempts {
				t.Errorf("got up=%v local=%v msg=%q attempts=%d, want %+v", r.Up, r.Local, r.Message, r.Attempts, tt.want)
			}
		})
	}
}
