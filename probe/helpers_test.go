package probe

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// checkLeaks records the goroutines and open descriptors now and, when the
// test ends (after every cleanup registered later), waits up to 5 s for both
// to come back to that level. Call it first in a test that is not parallel.
func checkLeaks(t *testing.T) {
	t.Helper()
	baseG, baseFD := runtime.NumGoroutine(), countFDs(t)
	t.Cleanup(func() {
		var g, fd int
		for i := 0; i < 100; i++ {
			g, fd = runtime.NumGoroutine(), countFDs(t)
			if g <= baseG && fd <= baseFD {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("leak: %d goroutines (was %d), %d descriptors (was %d)\n%s", g, baseG, fd, baseFD, buf[:n])
	})
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("read /proc/self/fd: %v", err)
	}
	return len(ents)
}

// rawServer is a TCP server on loopback that runs handle on each accepted
// connection; cleanup closes the listener and every connection and waits
// for the handlers.
type rawServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	done  chan struct{}
}

func startRaw(t *testing.T, network, addr string, handle func(done <-chan struct{}, c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	s := &rawServer{ln: ln, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handle(s.done, c)
			}()
		}
	}()
	t.Cleanup(func() {
		close(s.done)
		_ = ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// addr returns the server's host and port.
func (s *rawServer) addr(t *testing.T) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

// stall accepts and never answers, reading and discarding what it gets.
func stall(done <-chan struct{}, c net.Conn) {
	_, _ = io.Copy(io.Discard, c)
}

// trickle sends payload one byte a second.
func trickle(payload string) func(<-chan struct{}, net.Conn) {
	return func(done <-chan struct{}, c net.Conn) {
		go func() { _, _ = io.Copy(io.Discard, c) }()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for i := 0; i < len(payload); i++ {
			if _, err := c.Write([]byte{payload[i]}); err != nil {
				return
			}
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}
}

// readHeaders reads a request's header block (or until an error).
func readHeaders(c net.Conn) *bufio.Reader {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "\r\n" {
			return br
		}
	}
}

// endlessBody answers one request with a 200 and a body that never ends.
func endlessBody(done <-chan struct{}, c net.Conn) {
	readHeaders(c)
	if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"); err != nil {
		return
	}
	chunk := make([]byte, 4096)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for {
		select {
		case <-done:
			return
		default:
		}
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// smtpBanner answers with a fixed greeting and 221 to QUIT.
func smtpBanner(greeting string) func(<-chan struct{}, net.Conn) {
	return func(done <-chan struct{}, c net.Conn) {
		defer c.Close()
		if _, err := io.WriteString(c, greeting); err != nil {
			return
		}
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err == nil && line == "QUIT\r\n" {
			_, _ = io.WriteString(c, "221 2.0.0 Bye\r\n")
		}
	}
}

// attempt runs one probe attempt with a timeout.
func attempt(p Func, tg Target, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p(ctx, tg.WithDefaults())
}
