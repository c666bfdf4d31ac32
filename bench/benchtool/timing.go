package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// waitFor polls name every poll until its A answer is exactly want ("" = any
// NOERROR answer with at least one A record) or maxWait passes.
func waitFor(r *resolver, name, want string, poll, maxWait time.Duration) (time.Time, error) {
	deadline := time.Now().Add(maxWait)
	last := "(no answer yet)"
	for time.Now().Before(deadline) {
		a, err := r.queryA(name)
		now := time.Now()
		switch {
		case err != nil:
			last = err.Error()
		case a.rcode == 0 && len(a.addrs) > 0 && (want == "" || a.String() == want):
			return now, nil
		default:
			last = fmt.Sprintf("rcode %d answer %q", a.rcode, a.String())
		}
		time.Sleep(poll)
	}
	return time.Time{}, fmt.Errorf("%s never answered %q within %s; last: %s", name, want, maxWait, last)
}

// waitAll polls name on every resolver every poll until each one has
// answered want (see waitFor) once, and returns when each did; it gives up
// after maxWait, naming the servers that never did.
func waitAll(rs []*resolver, name, want string, poll, maxWait time.Duration) ([]time.Time, error) {
	at := make([]time.Time, len(rs))
	last := make([]string, len(rs))
	left := len(rs)
	deadline := time.Now().Add(maxWait)
	for left > 0 && time.Now().Before(deadline) {
		for i, r := range rs {
			if !at[i].IsZero() {
				continue
			}
			a, err := r.queryA(name)
			now := time.Now()
			switch {
			case err != nil:
				last[i] = err.Error()
			case a.rcode == 0 && len(a.addrs) > 0 && (want == "" || a.String() == want):
				at[i] = now
				left--
			default:
				last[i] = fmt.Sprintf("rcode %d answer %q", a.rcode, a.String())
			}
		}
		if left > 0 {
			time.Sleep(poll)
		}
	}
	if left > 0 {
		var miss []string
		for i, r := range rs {
			if at[i].IsZero() {
				miss = append(miss, fmt.Sprintf("%s (last: %s)", r.conn.RemoteAddr(), last[i]))
			}
		}
		return at, fmt.Errorf("%s never answered %q within %s on %s", name, want, maxWait, strings.Join(miss, ", "))
	}
	return at, nil
}

// latest is the last of ts.
func latest(ts []time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// resolvers opens one resolver per comma-separated server address.
func resolvers(servers string, timeout time.Duration, do bool) ([]*resolver, error) {
	var rs []*resolver
	for _, s := range strings.Split(servers, ",") {
		r, err := newResolver(strings.TrimSpace(s), timeout)
		if err != nil {
			closeAll(rs)
			return nil, err
		}
		r.dnssecOK = do
		rs = append(rs, r)
	}
	return rs, nil
}

func closeAll(rs []*resolver) {
	for _, r := range rs {
		_ = r.Close()
	}
}

// waitStable polls until name has answered want on every poll for hold,
// restarting the count whenever it does not; it gives up after maxWait.
func waitStable(r *resolver, name, want string, poll, hold, maxWait time.Duration) (time.Time, error) {
	deadline := time.Now().Add(maxWait)
	since := time.Now()
	last := ""
	for time.Now().Before(deadline) {
		a, err := r.queryA(name)
		now := time.Now()
		if err != nil || a.rcode != 0 || a.String() != want {
			since = now
			last = fmt.Sprintf("rcode %d answer %q err %v", a.rcode, a.String(), err)
		} else if now.Sub(since) >= hold {
			return now, nil
		}
		time.Sleep(poll)
	}
	return time.Time{}, fmt.Errorf("%s did not answer %q steadily for %s within %s; last break: %s", name, want, hold, maxWait, last)
}

func cmdWait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	server := fs.String("dns", "127.0.0.1:53", "DNS server, or several comma-separated: wait until every one answers")
	name := fs.String("name", "", "name to query (A)")
	want := fs.String("want", "", "expected answer, space-separated sorted addresses; empty: any A answer")
	since := fs.Int64("since", 0, "print the time elapsed since this Unix time in ns (default: since the start of waiting)")
	maxWait := fs.Duration("timeout", 60*time.Second, "give up after this long")
	poll := fs.Duration("poll", 5*time.Millisecond, "pause between queries")
	do := fs.Bool("do", false, "set the DO bit and accept only A answers with their RRSIG")
	stable := fs.Duration("stable", 0, "then every server must answer -want on every poll for this long "+
		"(an answer left over from before a change does not count)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	if *since > 0 {
		start = time.Unix(0, *since)
	}
	rs, err := resolvers(*server, 200*time.Millisecond, *do)
	if err != nil {
		return err
	}
	defer closeAll(rs)
	at, err := waitAll(rs, *name, *want, *poll, *maxWait)
	if err != nil {
		return err
	}
	last := latest(at)
	if *stable > 0 {
		for _, r := range rs {
			if last, err = waitStable(r, *name, *want, *poll, *stable, *maxWait); err != nil {
				return fmt.Errorf("%s: %w", r.conn.RemoteAddr(), err)
			}
		}
	}
	fmt.Printf("%.3f\n", last.Sub(start).Seconds())
	return nil
}

// summary renders "median=… min=… max=… n=…" over the values that are not NaN.
func summary(vals []float64) string {
	var v []float64
	for _, x := range vals {
		if x == x { // not NaN (a timed-out trial)
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return "median=n/a n=0"
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return fmt.Sprintf("median=%.3f min=%.3f max=%.3f n=%d", m, v[0], v[len(v)-1], len(v))
}

func cmdFailover(args []string) error {
	fs := flag.NewFlagSet("failover", flag.ContinueOnError)
	server := fs.String("dns", "127.0.0.1:53", "DNS server, or several comma-separated (the nodes of one deployment): "+
		"a transition counts when the last of them serves it")
	ref := fs.String("ref", "", "optional DNS server timed in the same trials on its own (a single node beside a deployment)")
	name := fs.String("name", "www.example.com", "health-checked name")
	primary := fs.String("primary", "127.0.0.11", "primary address (its target is killed and restarted)")
	backup := fs.String("backup", "127.0.0.12", "backup address (its target stays up)")
	hport := fs.Int("hport", 8080, "HTTP port of the health targets")
	trials := fs.Int("trials", 5, "kill/restart cycles")
	poll := fs.Duration("poll", 10*time.Millisecond, "pause between DNS polls")
	settle := fs.Duration("settle", 2*time.Second, "wait before each kill (plus a random 0..phase)")
	hold := fs.Duration("hold", 3*time.Second, "keep the target down this long after the switch (plus a random 0..phase)")
	phase := fs.Duration("phase", 2*time.Second, "random extra delay so kills and restarts land at any point of the check interval")
	maxWait := fs.Duration("maxwait", 30*time.Second, "give up on one transition after this long")
	warmup := fs.Duration("warmup", 5*time.Second, "before the first trial, the primary must be answered without a break this long "+
		"(a server started before its targets may first see them down)")
	do := fs.Bool("do", false, "set the DO bit and count an answer only when its RRSIG comes with it (signed zones)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hp := fmt.Sprint(*hport)
	pt := &target{addr: net.JoinHostPort(*primary, hp)}
	bt := &target{addr: net.JoinHostPort(*backup, hp)}
	if err := bt.start(); err != nil {
		return fmt.Errorf("backup target: %w", err)
	}
	defer bt.stop()
	if err := pt.start(); err != nil {
		return fmt.Errorf("primary target: %w", err)
	}
	defer pt.stop()
	rs, err := resolvers(*server, 200*time.Millisecond, *do)
	if err != nil {
		return err
	}
	nodes := len(rs)
	if *ref != "" {
		rr, err := resolvers(*ref, 200*time.Millisecond, *do)
		if err != nil {
			closeAll(rs)
			return err
		}
		rs = append(rs, rr[0]) // the last one is the reference
	}
	defer closeAll(rs)

	fmt.Printf("# dns=%s ref=%s name=%s do=%t primary=%s backup=%s poll=%s trials=%d (kill = close the primary target's listener and connections)\n",
		*server, *ref, *name, *do, *primary, *backup, *poll, *trials)
	t0 := time.Now()
	if _, err := waitAll(rs, *name, *primary, *poll, *maxWait); err != nil {
		return fmt.Errorf("initial: %w", err)
	}
	for _, r := range rs {
		if _, err := waitStable(r, *name, *primary, *poll, *warmup, *maxWait); err != nil {
			return fmt.Errorf("warm-up on %s: %w", r.conn.RemoteAddr(), err)
		}
	}
	fmt.Printf("initial: primary answered without a break for %s after %.2fs\n", *warmup, time.Since(t0).Seconds())
	jitter := func() time.Duration { return time.Duration(rand.Int64N(int64(*phase) + 1)) }
	// transition times the switch to want on every server: the last of the
	// deployment's nodes, and the reference on its own (NaN = timed out).
	transition := func(since time.Time, want, what string) (nodesS, refS float64) {
		nodesS, refS = math.NaN(), math.NaN()
		at, err := waitAll(rs, *name, want, *poll, *maxWait)
		if err != nil {
			fmt.Fprintln(os.Stderr, what+":", err)
		}
		if l := latest(at[:nodes]); !slices.ContainsFunc(at[:nodes], time.Time.IsZero) {
			nodesS = l.Sub(since).Seconds()
		}
		if len(at) > nodes && !at[nodes].IsZero() {
			refS = at[nodes].Sub(since).Seconds()
		}
		return nodesS, refS
	}
	var fo, rec, refFo, refRec, diff []float64
	for i := 1; i <= *trials; i++ {
		time.Sleep(*settle + jitter())
		tKill := time.Now()
		pt.stop()
		f, rf := transition(tKill, *backup, "failover")
		time.Sleep(*hold + jitter())
		tUp := time.Now()
		if err := pt.start(); err != nil {
			return fmt.Errorf("restart primary target: %w", err)
		}
		rc, rrc := transition(tUp, *primary, "recovery")
		if *ref == "" {
			fmt.Printf("trial %d: failover_s=%.3f recovery_s=%.3f\n", i, f, rc)
		} else {
			fmt.Printf("trial %d: failover_s=%.3f recovery_s=%.3f ref_failover_s=%.3f ref_recovery_s=%.3f\n", i, f, rc, rf, rrc)
		}
		fo, rec, refFo, refRec, diff = append(fo, f), append(rec, rc), append(refFo, rf), append(refRec, rrc), append(diff, f-rf)
	}
	fmt.Printf("FAILOVER_S %s\n", summary(fo))
	fmt.Printf("RECOVERY_S %s\n", summary(rec))
	if *ref != "" {
		fmt.Printf("REF_FAILOVER_S %s\n", summary(refFo))
		fmt.Printf("REF_RECOVERY_S %s\n", summary(refRec))
		// the same kill seen by both: the deployment's extra delay, trial by trial
		fmt.Printf("EXTRA_FAILOVER_S %s\n", summary(diff))
	}
	return nil
}

// reloadStats counts queries and the ways they failed.
type reloadStats struct {
	queries, timeouts, errs, badRcode, empty atomic.Int64
	mu                                       sync.Mutex
	samples                                  []string
}

func (s *reloadStats) record(name string, a answer, err error) {
	s.queries.Add(1)
	var why string
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		s.timeouts.Add(1)
		why = "timeout"
	case err != nil:
		s.errs.Add(1)
		why = err.Error()
	case a.rcode != 0:
		s.badRcode.Add(1)
		why = fmt.Sprintf("rcode %d", a.rcode)
	case len(a.addrs) == 0:
		s.empty.Add(1)
		why = "no A record"
	default:
		return
	}
	s.mu.Lock()
	if len(s.samples) < 5 {
		s.samples = append(s.samples, time.Now().Format("15:04:05.000")+" "+name+": "+why)
	}
	s.mu.Unlock()
}

func (s *reloadStats) failed() int64 {
	return s.timeouts.Load() + s.errs.Load() + s.badRcode.Load() + s.empty.Load()
}

func cmdReload(args []string) error {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	server := fs.String("dns", "127.0.0.1:53", "DNS server")
	pid := fs.Int("pid", 0, "process to send SIGHUP to")
	names := fs.String("names", "", "comma-separated names queried continuously (A) by every worker")
	marker := fs.String("marker", "", "name whose answer changes in the new configuration")
	want := fs.String("want", "", "the marker's answer once the new configuration is serving")
	workers := fs.Int("workers", 4, "concurrent query loops (each one query in flight)")
	before := fs.Duration("before", time.Second, "query this long before the SIGHUP")
	after := fs.Duration("after", time.Second, "keep querying this long after the new answer appears")
	timeout := fs.Duration("timeout", time.Second, "a query without a response after this long has failed")
	maxWait := fs.Duration("maxwait", 60*time.Second, "give up waiting for the new answer after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 || *names == "" || *marker == "" || *want == "" {
		return errors.New("need -pid, -names, -marker and -want")
	}
	list := strings.Split(*names, ",")
	var st reloadStats
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range *workers {
		r, err := newResolver(*server, *timeout)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for i := w; !stop.Load(); i++ {
				n := list[i%len(list)]
				a, err := r.queryA(n)
				st.record(n, a, err)
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()

	mr, err := newResolver(*server, *timeout)
	if err != nil {
		return err
	}
	defer mr.Close()
	time.Sleep(*before)
	t0 := time.Now()
	if err := syscall.Kill(*pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("SIGHUP %d: %w", *pid, err)
	}
	var at time.Time
	deadline := t0.Add(*maxWait)
	for time.Now().Before(deadline) {
		a, err := mr.queryA(*marker)
		st.record(*marker, a, err)
		if err == nil && a.String() == *want {
			at = time.Now()
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(*after)
	stop.Store(true)
	wg.Wait()
	reload := "timeout"
	if !at.IsZero() {
		reload = fmt.Sprintf("%.3f", at.Sub(t0).Seconds())
	}
	fmt.Printf("RELOAD_S %s QUERIES %d FAILED %d timeouts=%d errors=%d rcode=%d empty=%d\n",
		reload, st.queries.Load(), st.failed(), st.timeouts.Load(), st.errs.Load(), st.badRcode.Load(), st.empty.Load())
	for _, s := range st.samples {
		fmt.Println("  failed:", s)
	}
	if at.IsZero() {
		return fmt.Errorf("%s never answered %q", *marker, *want)
	}
	return nil
}
