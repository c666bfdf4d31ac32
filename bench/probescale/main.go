// Command probescale measures the probe scheduler at scale: N distinct HTTP
// targets on loopback, probed at a fixed interval for a fixed time. It
// reports, for the steady state after the first interval (when the
// start-up burst is over): rounds per second, the prober's CPU (cores and
// µs per round), schedule lateness p50/p99, and the failed rounds; and for
// the whole run the prober's peak RSS and the load average, which says how
// much the other processes on the machine took.
//
// The HTTP servers run in a child process (this binary with -serve), so the
// CPU and memory reported are the prober's alone; the child's CPU is
// reported apart. Each listener has its own address (127.0.0.1 upwards)
// and port; the targets are distinct (each its own path) and spread over
// the listeners, so every round opens a new connection as in production.
// The child answers with a minimal HTTP/1.1 server (request line and
// header read, one fixed 200 answer, close) unless -server net/http: a
// full net/http server costs more CPU per request than the prober, and on
// a small machine it is the server that falls behind.
//
// The CPU per round falls as the rate rises: at a few hundred rounds a
// second the runtime wakes an idle thread for most rounds, at thousands
// its threads stay busy. Lateness depends on the CPU the machine leaves
// the prober: read it next to the load average.
//
//	go run ./bench/probescale -targets 10000 -interval 10s -duration 60s
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
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
		serve      = flag.Bool("serve", false, "run the loopback HTTP servers (child process)")
		server     = flag.String("server", "minimal", "the child's HTTP server: minimal or net/http")
		targets    = flag.Int("targets", 10000, "distinct HTTP targets")
		listeners  = flag.Int("listeners", 50, "loopback listeners, each on its own address from 127.0.0.1 upwards")
		interval   = flag.Duration("interval", 10*time.Second, "probe interval")
		timeout    = flag.Duration("timeout", 5*time.Second, "probe timeout")
		duration   = flag.Duration("duration", 60*time.Second, "run time, the first interval (start-up) included")
		inflight   = flag.Int("max-inflight", 1024, "rounds in flight at most")
		cpuprofile = flag.String("cpuprofile", "", "write the prober's CPU profile of the steady state to this file")
		memprofile = flag.String("memprofile", "", "write the prober's heap profile at the end to this file")
	)
	flag.Parse()
	if *serve {
		if err := runServers(*listeners, *server); err != nil {
			fmt.Fprintln(os.Stderr, "probescale serve:", err)
			os.Exit(1)
		}
		return
	}
	if *duration <= *interval {
		fmt.Fprintln(os.Stderr, "probescale: -duration must be longer than -interval (the first interval is start-up)")
		os.Exit(2)
	}
	if err := run(*targets, *listeners, *server, *interval, *timeout, *duration, *inflight, *cpuprofile, *memprofile); err != nil {
		fmt.Fprintln(os.Stderr, "probescale:", err)
		os.Exit(1)
	}
}

// runServers listens on 127.0.0.<i>:0 for i in 1..n, prints "ADDR" lines
// then "ready", and serves until stdin closes.
func runServers(n int, server string) error {
	if server != "minimal" && server != "net/http" {
		return fmt.Errorf("-server %q: want minimal or net/http", server)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "OK\n") })
	for i := 1; i <= n; i++ {
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.%d.%d.%d:0", i>>16&255, i>>8&255, i&255))
		if err != nil {
			return err
		}
		if server == "net/http" {
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			go func() { _ = srv.Serve(ln) }()
		} else {
			go serveMinimal(ln)
		}
		fmt.Println(ln.Addr().String())
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent's exit closes stdin
	return nil
}

// minimalAnswer is the minimal server's one answer.
var minimalAnswer = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nOK\n")

// serveMinimal answers every connection on ln with minimalAnswer once it
// has read the request line and header, then closes it.
func serveMinimal(ln net.Listener) {
	bufs := sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufs.Get().(*bufio.Reader)
			br.Reset(c)
			defer func() { br.Reset(nil); bufs.Put(br) }()
			for range 100 { // request line and header lines, bounded
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 { // the empty line that ends the header
					_, _ = c.Write(minimalAnswer)
					return
				}
			}
		}()
	}
}

// sample is what one finished round adds to the tallies.
type sample struct {
	lateness, rtt time.Duration
	// window is the interval (0 the first) the round was scheduled in.
	window int32
	failed bool
}

func run(nTargets, nListeners int, server string, interval, timeout, duration time.Duration, inflight int, cpuprofile, memprofile string) error {
	load0 := loadAverage()
	child := exec.Command(os.Args[0], "-serve", "-server", server, "-listeners", strconv.Itoa(nListeners))
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
	for i := range nTargets {
		host, port, _ := net.SplitHostPort(addrs[i%len(addrs)])
		p, _ := strconv.Atoi(port)
		ts = append(ts, probe.Target{Protocol: probe.HTTP, Address: host, Port: p,
			Path: "/t/" + strconv.Itoa(i), Expected: "OK", StatusRule: probe.Require2xx,
			Interval: interval, Timeout: timeout})
	}

	var (
		mu sync.Mutex
		// all is allocated up front: growing it by appending would copy
		// it, and count the copies in the prober's peak RSS.
		all      = make([]sample, 0, nTargets*(int(duration/interval)+2))
		messages = map[string]int{}
		failRTT  time.Duration // the longest response time of a failed round
	)
	start := time.Now()
	reg := prometheus.NewRegistry()
	s := probe.NewScheduler(probe.SchedulerOptions{
		MaxInFlight: inflight, Site: "bench", Version: "bench",
		OnResult: func(r probe.Result) {
			sm := sample{lateness: r.Lateness, rtt: r.RTT, failed: !r.Up, window: int32(r.Scheduled.Sub(start) / interval)}
			mu.Lock()
			all = append(all, sm)
			if !r.Up {
				messages[r.Message]++
				failRTT = max(failRTT, r.RTT)
				if len(messages) < 20 && messages[r.Message] <= 3 {
					fmt.Fprintf(os.Stderr, "failed round: %s: %q after %s (%d attempts), scheduled %s, late %s, ended %s after the schedule\n",
						r.Key, r.Message, r.RTT, r.Attempts, r.Scheduled.Format(time.RFC3339Nano), r.Lateness, r.Time.Sub(r.Scheduled))
				}
			}
			mu.Unlock()
		},
	}, zap.NewNop(), reg)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	// The steady window's CPU: from the end of the first interval to the end.
	var cpuSteady0, childSteady0 float64
	var profile *os.File
	steadyStarted := make(chan struct{})
	steadyTimer := time.AfterFunc(interval, func() {
		defer close(steadyStarted)
		cpuSteady0, childSteady0 = processCPU(), childCPU(child.Process.Pid)
		if cpuprofile != "" {
			f, err := os.Create(cpuprofile)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				profile = f
			}
		}
	})
	defer steadyTimer.Stop()
	s.SetTargets(ts)
	if err := s.Run(ctx); err != nil {
		return err
	}
	elapsed := time.Since(start)
	<-steadyStarted // duration > interval: it has run
	cpuEnd, childEnd := processCPU(), childCPU(child.Process.Pid)
	rss := peakRSS() // before the report's own allocations
	if profile != nil {
		pprof.StopCPUProfile()
		_ = profile.Close()
	}
	load1 := loadAverage()
	if memprofile != "" {
		if f, err := os.Create(memprofile); err == nil {
			runtime.GC() // the live heap, up to date
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	runtime.KeepAlive(s)

	mu.Lock()
	defer mu.Unlock()
	steadySecs := elapsed.Seconds() - interval.Seconds()
	var steady []sample // the rounds scheduled after the first interval
	for _, sm := range all {
		if sm.window >= 1 {
			steady = append(steady, sm)
		}
	}
	cpu, childUsed := cpuEnd-cpuSteady0, childEnd-childSteady0
	addrSet := map[string]bool{}
	for _, a := range addrs {
		host, _, _ := net.SplitHostPort(a)
		addrSet[host] = true
	}
	fmt.Printf("targets %d (distinct paths over %d listeners: %d addresses, %d address:port pairs), interval %s, timeout %s, max in flight %d, server %s, GOMAXPROCS %d\n",
		nTargets, nListeners, len(addrSet), len(addrs), interval, timeout, inflight, server, runtime.GOMAXPROCS(0))
	fmt.Printf("load average before %s, after %s\n", load0, load1)
	fmt.Printf("whole run %.1fs: %d rounds, %d failed; lateness p50 %s p99 %s max %s; peak RSS %s\n",
		elapsed.Seconds(), len(all), countFailed(all), pct(all, lateOf, 50), pct(all, lateOf, 99), pct(all, lateOf, 100), rss)
	// The lines that start "steady", "lateness after first interval:" and
	// "CPU " are read by bench/run.sh: keep their shape.
	fmt.Printf("steady %.1fs (after the first interval): %d rounds (%.0f rounds/s), %d down (rounds that failed)\n",
		steadySecs, len(steady), float64(len(steady))/steadySecs, countFailed(steady))
	for m, n := range messages {
		fmt.Printf("  failed %d× %q\n", n, m)
	}
	if len(messages) > 0 {
		fmt.Printf("  the longest response time of a failed round: %s\n", failRTT)
	}
	fmt.Printf("lateness after first interval: p50 %s  p99 %s  max %s\n", pct(steady, lateOf, 50), pct(steady, lateOf, 99), pct(steady, lateOf, 100))
	fmt.Printf("response time after first interval: p50 %s  p99 %s  max %s\n", pct(steady, rttOf, 50), pct(steady, rttOf, 99), pct(steady, rttOf, 100))
	// Each interval apart: the first rounds all fall in the start-up window
	// (5 s), and the backlog they leave shows as lateness until it drains.
	windows := map[int32][]sample{}
	for _, sm := range all {
		windows[sm.window] = append(windows[sm.window], sm)
	}
	for w := int32(0); w <= int32(elapsed/interval); w++ {
		ws := windows[w]
		if len(ws) == 0 {
			continue
		}
		fmt.Printf("  interval %d (scheduled %s-%s): %d rounds, %d failed, lateness p50 %s p99 %s\n",
			w, time.Duration(w)*interval, time.Duration(w+1)*interval, len(ws), countFailed(ws), pct(ws, lateOf, 50), pct(ws, lateOf, 99))
	}
	perRound := 0.0
	if len(steady) > 0 {
		perRound = cpu / float64(len(steady)) * 1e6
	}
	fmt.Printf("CPU of the prober after the first interval %.2fs (%.3f cores), %.1f µs per round; the servers (child) %.3f cores\n",
		cpu, cpu/steadySecs, perRound, childUsed/steadySecs)
	return nil
}

func lateOf(s sample) time.Duration { return s.lateness }
func rttOf(s sample) time.Duration  { return s.rtt }

func countFailed(ss []sample) int {
	n := 0
	for _, s := range ss {
		if s.failed {
			n++
		}
	}
	return n
}

// pct returns the p-th percentile of f over ss.
func pct(ss []sample, f func(sample) time.Duration, p int) time.Duration {
	if len(ss) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = f(s)
	}
	slices.Sort(ds)
	i := (len(ds)*p + 99) / 100
	i = min(max(i-1, 0), len(ds)-1)
	return ds[i].Round(10 * time.Microsecond)
}

// processCPU is this process's user and system CPU seconds so far.
func processCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// childCPU is a running child's user and system CPU seconds so far, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func childCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields count from its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// loadAverage is the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
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
