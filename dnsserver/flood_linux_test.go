package dnsserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// floodChildEnv makes the test binary the flooded server (see
// TestTCPFloodBeyondTheOpenFileLimit).
const floodChildEnv = "DNSSERVER_FLOOD_CHILD"

const floodNofile = 128

// TestTCPFloodBeyondTheOpenFileLimit is issue 17's attack: more idle TCP
// connections to the DNS port than the process may open files. The server
// runs in a child process with a soft limit of 128 descriptors; the test
// opens 200 connections from 200 client addresses. The server must keep
// descriptors for its probes, keep answering UDP, and not spin.
func TestTCPFloodBeyondTheOpenFileLimit(t *testing.T) {
	if os.Getenv(floodChildEnv) == "1" {
		floodChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTCPFloodBeyondTheOpenFileLimit$", "-test.count=1")
	cmd.Env = append(os.Environ(), floodChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server process:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(prefix string) string {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("server process ended before %q", prefix)
				}
				if rest, found := strings.CutPrefix(l, prefix); found {
					return rest
				}
			case <-timeout:
				t.Fatalf("no %q from the server process", prefix)
			}
		}
	}
	addr := next("ADDR ")

	// The flood: 200 idle connections, one per client address.
	const flood = 200
	conns := make([]net.Conn, 0, flood)
	for i := range flood {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}}
		c, err := d.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNRESET) {
			continue // accepted over the cap and reset before connect returned
		}
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	// Connections over the cap are reset at once; the rest stay open.
	capped := DefaultMaxTCPConns(floodNofile)
	deadline := time.Now().Add(2 * time.Second)
	resets := make(chan bool, len(conns))
	for _, c := range conns {
		go func() {
			c.SetReadDeadline(deadline)
			var b [1]byte
			_, err := c.Read(b[:])
			var ne net.Error
			resets <- !(errors.As(err, &ne) && ne.Timeout())
		}()
	}
	held := 0
	for range conns {
		if !<-resets {
			held++
		}
	}
	if held == 0 || held > capped {
		t.Fatalf("%d connections held, want 1..%d", held, capped)
	}

	// Probes still find descriptors.
	fmt.Fprintln(stdin, "probe")
	if res := next("PROBE "); res != "ok" {
		t.Fatalf("probes during the flood: %s", res)
	}
	// UDP is answered.
	m := new(dns.Msg)
	m.SetQuestion("static.example.com.", dns.TypeA)
	if r := exchange(t, "udp", addr, m); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("UDP during the flood: %v", r)
	}
	// The accept loop does not spin: the server idles through a second
	// of flood (a spinning loop burns about a core).
	before := cpuTime(t, cmd.Process.Pid)
	time.Sleep(time.Second)
	if used := cpuTime(t, cmd.Process.Pid) - before; used > 500*time.Millisecond {
		t.Fatalf("server used %v of CPU in 1 s of idle flood", used)
	}
}

// floodChild is the server side: lower the open-file limit, serve, print
// the address, and answer "probe" lines by opening what probes open.
func floodChild(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = floodNofile
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	// The connection cap is derived from the limit; idle connections are
	// kept longer than the test takes.
	_, addr := startServer(t, Options{TCP: TCPLimits{IdleTimeout: time.Minute}}, testSnapshot(t))
	fmt.Printf("ADDR %s\n", addr)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() != "probe" {
			continue
		}
		fmt.Printf("PROBE %s\n", openLikeProbes())
	}
}

// openLikeProbes opens 16 sockets and 16 files at once, as a probe round
// does, and reports "ok" or the first error.
func openLikeProbes() string {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for range 16 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return err.Error()
		}
		closers = append(closers, pc)
		f, err := os.Open(os.DevNull)
		if err != nil {
			return err.Error()
		}
		closers = append(closers, f)
	}
	return "ok"
}

// cpuTime returns the user and system CPU time of process pid so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}
