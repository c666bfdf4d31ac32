// Command probescale measures the probe scheduler at scale: N distinct HTTP
// targets on loopback, probed at a fixed interval for a fixed time. It
// reports rounds per second, schedule lateness p50/p99, CPU seconds and peak
// RSS of the probing process.
//
// The HTTP servers run in a child process (this binary with -serve), so the
// CPU and memory reported are the prober's alone.
//
//	go run ./bench/probescale -targets 10000 -interval 10s -duration 60s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/failoverd/failoverd/probe"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func main() {
	var (
		serve     = flag.Bool("serve", false, "run the loopback HTTP servers (child process)")
		targets   = flag.Int("targets", 10000, "distinct HTTP targets")
		listeners = flag.Int("listeners", 50, "loopback listeners, on 127.0.0.1 upwards")
		interval  = flag.Duration("interval", 10*time.Second, "probe interval")
		timeout   = flag.Duration("timeout", 5*time.Second, "probe timeout")
		duration  = flag.Duration("duration", 60*time.Second, "measured run time (after the first rounds start)")
		inflight  = flag.Int("max-inflight", 1024, "rounds in flight at most")
	)
	flag.Parse()
	if *serve {
		if err := runServers(*listeners); err != nil {
			fmt.Fprintln(os.Stderr, "probescale serve:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*targets, *listeners, *interval, *timeout, *duration, *inflight); err != nil {
		fmt.Fprintln(os.Stderr, "probescale:", err)
		os.Exit(1)
	}
}

// runServers listens on 127.0.0.<i>:0 for i in 1..n, prints "ADDR" lines
// then "ready", and serves until stdin closes.
func runServers(n int) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "OK\n") })
	for i := 1; i <= n; i++ {
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.%d:0", i))
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		fmt.Println(ln.Addr().String())
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent's exit closes stdin
	return nil
}

func run(nTargets, nListeners int, interval, timeout, duration time.Duration, inflight int) error {
	child := exec.Command(os.Args[0], "-serve", "-listeners", strconv.Itoa(nListeners))
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return err
	}
	defer func() {
		_ = stdin.Close()
		_ = child.Wait()
	}()
	var addrs []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		addrs = append(addrs, sc.Text())
	}
	if len(addrs) != nListeners {
		return fmt.Errorf("child started %d listeners, want %d", len(addrs), nListeners)
	}

	ts := make([]probe.Target, 0, nTargets)
	for i := 0; i < nTargets; i++ {
		host, port, _ := net.SplitHostPort(addrs[i%len(addrs)])
		p, _ := strconv.Atoi(port)
		ts = append(ts, probe.Target{Protocol: probe.HTTP, Address: host, Port: p,
			Path: "/t/" + strconv.Itoa(i), Expected: "OK", StatusRule: probe.Require2xx,
			Interval: interval, Timeout: timeout})
	}

	var (
		mu       sync.Mutex
		lateness []time.Duration
		rtts     []time.Duration
		rounds   int
		down     int
		msgs     = map[string]int{}
	)
	startupDone := time.Now().Add(interval) // first rounds are packed in the startup window
	var steady []time.Duration
	reg := prometheus.NewRegistry()
	s := probe.NewScheduler(probe.SchedulerOptions{
		MaxInFlight: inflight, Site: "bench", Version: "bench",
		OnResult: func(r probe.Result) {
			mu.Lock()
			rounds++
			lateness = append(lateness, r.Lateness)
			rtts = append(rtts, r.RTT)
			if r.Scheduled.After(startupDone) {
				steady = append(steady, r.Lateness)
			}
			if !r.Up {
				down++
				msgs[r.Message]++
			}
			mu.Unlock()
		},
	}, zap.NewNop(), reg)

	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	s.SetTargets(ts)
	if err := s.Run(ctx); err != nil {
		return err
	}
	elapsed := time.Since(start)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := tv(ru1.Utime) - tv(ru0.Utime) + tv(ru1.Stime) - tv(ru0.Stime)

	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("targets %d, interval %s, timeout %s, max in flight %d, listeners %d, GOMAXPROCS %d\n",
		nTargets, interval, timeout, inflight, nListeners, runtime.GOMAXPROCS(0))
	fmt.Printf("run %.1fs: %d rounds (%.0f rounds/s), %d down\n", elapsed.Seconds(), rounds, float64(rounds)/elapsed.Seconds(), down)
	for m, n := range msgs {
		fmt.Printf("  down %d× %q\n", n, m)
	}
	fmt.Printf("lateness all rounds:          p50 %s  p99 %s  max %s\n", pct(lateness, 50), pct(lateness, 99), pct(lateness, 100))
	fmt.Printf("lateness after first interval: p50 %s  p99 %s  max %s (%d rounds)\n", pct(steady, 50), pct(steady, 99), pct(steady, 100), len(steady))
	fmt.Printf("response time:                p50 %s  p99 %s  max %s\n", pct(rtts, 50), pct(rtts, 99), pct(rtts, 100))
	fmt.Printf("CPU %.2fs (%.2f cores), peak RSS %s\n", cpu, cpu/elapsed.Seconds(), peakRSS())
	return nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// pct returns the p-th percentile of ds (sorted in place).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (len(ds)*p + 99) / 100
	i = min(max(i-1, 0), len(ds)-1)
	return ds[i].Round(10 * time.Microsecond)
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
