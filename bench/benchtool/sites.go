package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// sitesView is the part of GET /v1/sites the bench reads.
type sitesView struct {
	Leader    string `json:"leader"`
	Connected bool   `json:"connected"`
	Revision  int64  `json:"revision"`
	Sites     []struct {
		Site string `json:"site"`
	} `json:"sites"`
}

func getSites(c *http.Client, api string) (sitesView, error) {
	var v sitesView
	resp, err := c.Get("http://" + api + "/v1/sites")
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("GET /v1/sites on %s: %s", api, resp.Status)
	}
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

// cmdSites polls GET /v1/sites on every API until they all name the same
// leader (other than -not), are connected to etcd and, with -count, list
// that many sites; it prints the seconds since -since and the leader.
func cmdSites(args []string) error {
	fs := flag.NewFlagSet("sites", flag.ContinueOnError)
	apis := fs.String("api", "", "comma-separated API addresses (host:port) of the nodes to ask")
	not := fs.String("not", "", "a leader of this site does not count (the one just killed)")
	count := fs.Int("count", 0, "also wait until every node lists this many sites")
	since := fs.Int64("since", 0, "print the time elapsed since this Unix time in ns (default: since the start of waiting)")
	poll := fs.Duration("poll", 20*time.Millisecond, "pause between rounds of requests")
	maxWait := fs.Duration("timeout", 60*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *apis == "" {
		return errors.New("need -api")
	}
	start := time.Now()
	if *since > 0 {
		start = time.Unix(0, *since)
	}
	c := &http.Client{Timeout: 500 * time.Millisecond}
	list := strings.Split(*apis, ",")
	deadline := time.Now().Add(*maxWait)
	last := "(no answer yet)"
	for time.Now().Before(deadline) {
		leader, ok := "", true
		for _, api := range list {
			v, err := getSites(c, api)
			switch {
			case err != nil:
				last, ok = err.Error(), false
			case !v.Connected || v.Leader == "" || v.Leader == *not:
				last, ok = fmt.Sprintf("%s: connected=%t leader=%q", api, v.Connected, v.Leader), false
			case leader != "" && v.Leader != leader:
				last, ok = fmt.Sprintf("leaders differ: %q and %q", leader, v.Leader), false
			case *count > 0 && len(v.Sites) != *count:
				last, ok = fmt.Sprintf("%s lists %d sites", api, len(v.Sites)), false
			default:
				leader = v.Leader
			}
			if !ok {
				break
			}
		}
		if ok {
			fmt.Printf("%.3f %s\n", time.Since(start).Seconds(), leader)
			return nil
		}
		time.Sleep(*poll)
	}
	return fmt.Errorf("no agreed leader within %s; last: %s", *maxWait, last)
}

// cmdListen holds n TCP listeners on distinct loopback addresses (the
// targets of TCP probes that never change) and closes every connection at
// once, until SIGTERM. Address i (1..n) is 127.(base+i/62500).(i/250%250).(i%250+1).
func cmdListen(args []string) error {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	n := fs.Int("n", 1000, "listeners")
	base := fs.Int("base", 60, "second octet of the first address")
	port := fs.Int("port", 9000, "TCP port on every address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base+*n/62500 > 250 {
		return errors.New("addresses would leave 127.0.0.0/8")
	}
	lns := make([]net.Listener, 0, *n)
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for i := 1; i <= *n; i++ {
		addr := fmt.Sprintf("127.%d.%d.%d:%d", *base+i/62500, i/250%250, i%250+1, *port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return // closed at exit
				}
				_ = c.Close()
			}
		}()
	}
	fmt.Printf("listening on %d addresses, port %d\n", *n, *port)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	return nil
}

// cmdRusage runs a command and prints its wall time, CPU time (user+sys) and
// peak resident set size (the kernel's maxrss, the VmHWM at exit).
func cmdRusage(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: benchtool rusage COMMAND [ARG...]")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
	t0 := time.Now()
	runErr := cmd.Run()
	wall := time.Since(t0)
	if cmd.ProcessState == nil {
		return runErr
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return errors.New("no resource usage")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("WALL_S %.3f CPU_S %.3f MAXRSS_KIB %d\n", wall.Seconds(), cpu.Seconds(), ru.Maxrss)
	return runErr
}

// cmdEtcdKeys prints, per key group under -prefix (the first path segment
// after it: obs, state, events, ...), the number of keys and the sum of their
// versions (how often each was written since it was created), from etcd's
// JSON gateway. Two readings apart say which keys the writes went to.
func cmdEtcdKeys(args []string) error {
	fs := flag.NewFlagSet("etcdkeys", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:2379", "etcd client URL")
	prefix := fs.String("prefix", "/failoverd/", "key prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	end := []byte(*prefix)
	end[len(end)-1]++ // the range end of a prefix: its last byte plus one
	body, _ := json.Marshal(map[string]any{"key": []byte(*prefix), "range_end": end, "keys_only": true})
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post(*endpoint+"/v3/kv/range", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("range %s: %s", *prefix, resp.Status)
	}
	var r struct {
		Kvs []struct {
			Key     []byte `json:"key"`
			Version int64  `json:"version,string"`
		} `json:"kvs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err
	}
	keys, versions := map[string]int64{}, map[string]int64{}
	var groups []string
	for _, kv := range r.Kvs {
		g, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), *prefix), "/")
		if _, ok := keys[g]; !ok {
			groups = append(groups, g)
		}
		keys[g]++
		versions[g] += kv.Version
	}
	for _, g := range groups {
		fmt.Printf("%s %d %d\n", g, keys[g], versions[g])
	}
	return nil
}
