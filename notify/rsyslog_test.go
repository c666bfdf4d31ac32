package notify

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

// needTool returns the path of a Debian tool, skipping the test when it is
// missing unless FAILOVERD_REQUIRE_TOOLS=1.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("FAILOVERD_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found (Debian package rsyslog) and FAILOVERD_REQUIRE_TOOLS=1", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freePort returns a loopback port that was free for both TCP and UDP a
// moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// rsyslogd is a real rsyslogd started by the test on loopback UDP and TCP,
// writing every message it receives, one line each, to a file.
type rsyslogd struct {
	t          *testing.T
	bin        string
	dir        string
	out        string
	udp, tcp   int
	cmd        *exec.Cmd
	readySeq   int
	stderrPath string
}

// rsLine is one received message as rsyslog parsed it.
type rsLine struct {
	Version, Facility, Severity, Time, Hostname, AppName, Msg string
}

const rsMarker = "failoverd-test-ready-"

func startRsyslog(t *testing.T) *rsyslogd {
	t.Helper()
	bin := needTool(t, "rsyslogd")
	dir := t.TempDir()
	r := &rsyslogd{t: t, bin: bin, dir: dir, out: filepath.Join(dir, "out.log"), udp: freePort(t), tcp: freePort(t)}
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
module(load="imtcp")
template(name="t" type="string" string="%%protocol-version%%|%%syslogfacility%%|%%syslogseverity%%|%%timereported:::date-rfc3339%%|%%hostname%%|%%app-name%%|%%msg%%\n")
ruleset(name="r") { action(type="omfile" file=%q template="t") }
input(type="imudp" address="127.0.0.1" port="%d" ruleset="r")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="r")
`, dir, r.out, r.udp, r.tcp)
	if err := os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// start runs rsyslogd and waits until a UDP marker shows up in the file.
func (r *rsyslogd) start() {
	r.t.Helper()
	cmd := exec.Command(r.bin, "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	stderr, err := os.OpenFile(filepath.Join(r.dir, "rsyslogd.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start rsyslogd: %v", err)
	}
	r.cmd = cmd
	r.readySeq++
	marker := rsMarker + strconv.Itoa(r.readySeq)
	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.udp)))
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close()
	for range 100 {
		_, _ = conn.Write([]byte("<14>" + marker))
		time.Sleep(100 * time.Millisecond)
		data, _ := os.ReadFile(r.out)
		if strings.Contains(string(data), marker) {
			return
		}
	}
	log, _ := os.ReadFile(filepath.Join(r.dir, "rsyslogd.stderr"))
	r.t.Fatalf("rsyslogd did not come up in 10s: %s", log)
}

// stop terminates rsyslogd and waits for it to exit.
func (r *rsyslogd) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
	r.cmd = nil
}

// lines returns the messages received so far, markers left out.
func (r *rsyslogd) lines() []rsLine {
	r.t.Helper()
	f, err := os.Open(r.out)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []rsLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), rsMarker) {
			continue
		}
		p := strings.SplitN(sc.Text(), "|", 7)
		if len(p) != 7 {
			continue
		}
		msg := p[6]
		if p[0] == "0" { // RFC 3164: rsyslog keeps the space after "TAG:"
			msg = strings.TrimPrefix(msg, " ")
		}
		out = append(out, rsLine{p[0], p[1], p[2], p[3], p[4], p[5], msg})
	}
	return out
}

// waitLines waits until at least n messages were received.
func (r *rsyslogd) waitLines(n int) []rsLine {
	r.t.Helper()
	for range 300 {
		if l := r.lines(); len(l) >= n {
			return l
		}
		time.Sleep(50 * time.Millisecond)
	}
	l := r.lines()
	r.t.Fatalf("rsyslogd received %d messages, want %d: %+v", len(l), n, l)
	return nil
}
