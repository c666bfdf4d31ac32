package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rsyslogd is a real rsyslogd started by a test on loopback UDP and TCP
// ports, writing every message it receives to a file, one line each.
type Rsyslogd struct {
	UDP, TCP int // the ports it listens on, 127.0.0.1

	t        testing.TB
	bin, dir string
	out      string
	cmd      *exec.Cmd
	done     chan struct{}
	seq      int
}

// SyslogLine is one message as rsyslogd parsed it.
type SyslogLine struct {
	Version  string // "0" for RFC 3164, "1" for RFC 5424
	Facility string // number
	Severity string // number
	Time     string // RFC 3339, as rsyslog read it from the frame
	Hostname string
	AppName  string
	Msg      string
}

func (l SyslogLine) String() string {
	return fmt.Sprintf("v%s fac=%s sev=%s host=%s app=%s msg=%q", l.Version, l.Facility, l.Severity, l.Hostname, l.AppName, l.Msg)
}

const rsyslogMarker = "failoverd-test-rsyslog-ready-"

// StartRsyslogd runs rsyslogd in the foreground on fresh loopback ports and
// waits until it writes a marker it was sent; Cleanup stops it.
func StartRsyslogd(t testing.TB) *Rsyslogd {
	t.Helper()
	r := &Rsyslogd{t: t, bin: RequireTool(t, "rsyslog", "rsyslogd"), dir: t.TempDir()}
	r.out = filepath.Join(r.dir, "messages")
	r.UDP, r.TCP = FreePort(t, "127.0.0.1"), FreePort(t, "127.0.0.1")
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
module(load="imtcp")
template(name="t" type="string" string="%%protocol-version%%|%%syslogfacility%%|%%syslogseverity%%|%%timereported:::date-rfc3339%%|%%hostname%%|%%app-name%%|%%msg%%\n")
ruleset(name="r") { action(type="omfile" file=%q template="t") }
input(type="imudp" address="127.0.0.1" port="%d" ruleset="r")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="r")
`, r.dir, r.out, r.UDP, r.TCP)
	if err := os.WriteFile(filepath.Join(r.dir, "rsyslog.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start runs rsyslogd (again, after Stop) and waits until a UDP marker
// shows up in its file.
func (r *Rsyslogd) Start() {
	r.t.Helper()
	stderr, err := os.OpenFile(filepath.Join(r.dir, "rsyslogd.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	defer stderr.Close()
	r.cmd = exec.Command(r.bin, "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = stderr, stderr
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start rsyslogd: %v", err)
	}
	done := make(chan struct{})
	r.done = done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(r.cmd)

	r.seq++
	marker := rsyslogMarker + strconv.Itoa(r.seq)
	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.UDP)))
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close()
	for range 100 {
		_, _ = conn.Write([]byte("<14>" + marker))
		time.Sleep(100 * time.Millisecond)
		if data, _ := os.ReadFile(r.out); strings.Contains(string(data), marker) {
			return
		}
	}
	log, _ := os.ReadFile(filepath.Join(r.dir, "rsyslogd.stderr"))
	r.t.Fatalf("rsyslogd did not come up within 10s: %s", log)
}

// Stop terminates rsyslogd and waits for it; it does nothing when stopped.
func (r *Rsyslogd) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// Lines returns what rsyslogd received so far, the readiness markers left out.
func (r *Rsyslogd) Lines() []SyslogLine {
	f, err := os.Open(r.out)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []SyslogLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), rsyslogMarker) {
			continue
		}
		p := strings.SplitN(sc.Text(), "|", 7)
		if len(p) != 7 {
			r.t.Errorf("rsyslogd wrote an unexpected line %q", sc.Text())
			continue
		}
		l := SyslogLine{p[0], p[1], p[2], p[3], p[4], p[5], p[6]}
		if l.Version == "0" { // RFC 3164: rsyslog keeps the space after "TAG:"
			l.Msg = strings.TrimPrefix(l.Msg, " ")
		}
		out = append(out, l)
	}
	return out
}

// WaitLines waits up to 15 s until at least n messages were received.
func (r *Rsyslogd) WaitLines(n int) []SyslogLine {
	r.t.Helper()
	var got []SyslogLine
	Eventually(r.t, 15*time.Second, fmt.Sprintf("rsyslogd receives %d messages", n), func() (bool, string) {
		got = r.Lines()
		return len(got) >= n, fmt.Sprint(got)
	})
	return got
}
