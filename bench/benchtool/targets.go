package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// healthHandler answers GET /health with 200 "OK" and everything else with 404.
func healthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("OK\n"))
	})
	return mux
}

// target is one HTTP health target that can be stopped (listener and every
// connection closed at once, like a killed process) and started again.
type target struct {
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func (t *target) start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", t.addr)
	if err != nil {
		return err
	}
	// 60 s like nginx's client_header_timeout: a shorter one closes the idle
	// connection a `watch = true` monitor holds every few seconds, and the
	// back-off that follows leaves the target unwatched most of the time.
	srv := &http.Server{Handler: healthHandler(), ReadHeaderTimeout: 60 * time.Second}
	t.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (t *target) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.srv != nil {
		_ = t.srv.Close()
		t.srv = nil
	}
}

type addrList []string

func (a *addrList) String() string     { return strings.Join(*a, ",") }
func (a *addrList) Set(s string) error { *a = append(*a, s); return nil }

func cmdTargets(args []string) error {
	fs := flag.NewFlagSet("targets", flag.ContinueOnError)
	var addrs addrList
	fs.Var(&addrs, "addr", "IP:PORT to serve /health on (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(addrs) == 0 {
		return errors.New("no -addr")
	}
	ts := make([]*target, len(addrs))
	for i, a := range addrs {
		ts[i] = &target{addr: a}
		if err := ts[i].start(); err != nil {
			return err
		}
	}
	fmt.Printf("serving /health on %s\n", addrs.String())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	for _, t := range ts {
		t.stop()
	}
	fmt.Fprintln(os.Stderr, "targets stopped")
	return nil
}
