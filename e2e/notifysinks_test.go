package e2e

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rsyslog is a real rsyslogd started by the test on loopback UDP and TCP
// ports, writing every message it receives to a file, one line each, as
// protocol-version|facility|severity|hostname|app-name|msg.
type rsyslog struct {
	t        *testing.T
	dir, out string
	udp, tcp int
	cmd      *exec.Cmd
	done     chan struct{}
}

// syslogLine is one message as rsyslog parsed it.
type syslogLine struct {
	Version  string // "0" for RFC 3164, "1" for RFC 5424
	Facility string // number
	Severity string // number
	Hostname string
	AppName  string
	Msg      string
}

func (l syslogLine) String() string {
	return fmt.Sprintf("v%s fac=%s sev=%s host=%s app=%s msg=%q", l.Version, l.Facility, l.Severity, l.Hostname, l.AppName, l.Msg)
}

const rsyslogMarker = "failoverd-e2e-rsyslog-ready"

// startRsyslog runs rsyslogd in the foreground on fresh loopback ports and
// waits until it writes a marker it was sent; Cleanup stops it.
func startRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	bin := requireTool(t, "rsyslog", "rsyslogd")
	dir := t.TempDir()
	r := &rsyslog{t: t, dir: dir, out: filepath.Join(dir, "messages"),
		udp: freePort(t, "127.0.0.1"), tcp: freePort(t, "127.0.0.1")}
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
module(load="imtcp")
template(name="e2e" type="string" string="%%protocol-version%%|%%syslogfacility%%|%%syslogseverity%%|%%hostname%%|%%app-name%%|%%msg%%\n")
ruleset(name="e2e") { action(type="omfile" file=%q template="e2e") }
input(type="imudp" address="127.0.0.1" port="%d" ruleset="e2e")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="e2e")
`, dir, r.out, r.udp, r.tcp)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "rsyslogd.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	r.cmd = exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = stderr, stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(r.stop)

	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", r.udp))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 100 {
		_, _ = conn.Write([]byte("<14>" + rsyslogMarker))
		time.Sleep(100 * time.Millisecond)
		if data, _ := os.ReadFile(r.out); strings.Contains(string(data), rsyslogMarker) {
			return r
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "rsyslogd.stderr"))
	t.Fatalf("rsyslogd did not come up within 10s: %s", log)
	return nil
}

// stop terminates rsyslogd and waits for it.
func (r *rsyslog) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// lines returns what rsyslog received so far, the readiness markers left out.
func (r *rsyslog) lines() []syslogLine {
	f, err := os.Open(r.out)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []syslogLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), rsyslogMarker) {
			continue
		}
		p := strings.SplitN(sc.Text(), "|", 6)
		if len(p) != 6 {
			r.t.Errorf("rsyslog wrote an unexpected line %q", sc.Text())
			continue
		}
		l := syslogLine{p[0], p[1], p[2], p[3], p[4], p[5]}
		if l.Version == "0" { // RFC 3164: rsyslog keeps the space after "TAG:"
			l.Msg = strings.TrimPrefix(l.Msg, " ")
		}
		out = append(out, l)
	}
	return out
}

// sinkMail is one message accepted by mailSink.
type sinkMail struct {
	From    string
	To      []string // envelope recipients, sorted
	Subject string
	Body    string
}

// mailSink is a minimal SMTP receiver on loopback (EHLO/HELO, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT; no TLS, no AUTH) that keeps what it accepts.
type mailSink struct {
	t     *testing.T
	l     net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	mails []sinkMail
	wg    sync.WaitGroup
}

func startMailSink(t *testing.T) *mailSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailSink{t: t, l: l, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *mailSink) addr() string { return s.l.Addr().String() }

// stop closes the listener and every session and waits for them.
func (s *mailSink) stop() {
	s.l.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *mailSink) received() []sinkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

func (s *mailSink) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(c)
	var from string
	var rcpts []string
	reply := func(code int, msg string) { _ = tp.PrintfLine("%d %s", code, msg) }
	reply(220, "127.0.0.1 ESMTP e2e")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			_ = tp.PrintfLine("250-127.0.0.1")
			_ = tp.PrintfLine("250 8BITMIME")
		case "HELO":
			reply(250, "127.0.0.1")
		case "MAIL":
			from = envelopeAddr(arg, "FROM:")
			reply(250, "ok")
		case "RCPT":
			rcpts = append(rcpts, envelopeAddr(arg, "TO:"))
			reply(250, "ok")
		case "DATA":
			if from == "" || len(rcpts) == 0 {
				reply(503, "bad sequence")
				continue
			}
			reply(354, "go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m := s.parse(data)
			m.From = from
			m.To = slices.Sorted(slices.Values(rcpts))
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			from, rcpts = "", nil
			reply(250, "queued")
		case "RSET":
			from, rcpts = "", nil
			reply(250, "ok")
		case "NOOP":
			reply(250, "ok")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(502, "unknown command")
		}
	}
}

// envelopeAddr extracts the address of "FROM:<a@b> SIZE=1" and the like.
func envelopeAddr(arg, prefix string) string {
	arg = strings.TrimSpace(arg)
	if len(arg) >= len(prefix) && strings.EqualFold(arg[:len(prefix)], prefix) {
		arg = arg[len(prefix):]
	}
	arg = strings.TrimSpace(arg)
	if i := strings.Index(arg, ">"); i >= 0 {
		arg = arg[:i]
	}
	return strings.TrimPrefix(arg, "<")
}

// parse decodes the subject and the text body of a message.
func (s *mailSink) parse(data []byte) sinkMail {
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		s.t.Errorf("unparsable mail: %v\n%s", err, data)
		return sinkMail{}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		s.t.Errorf("bad subject %q: %v", m.Header.Get("Subject"), err)
	}
	var body io.Reader = m.Body
	switch strings.ToLower(m.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(m.Body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		s.t.Errorf("bad body: %v", err)
	}
	return sinkMail{Subject: subject, Body: string(b)}
}

// silentSink accepts TCP connections on a loopback port and holds them
// without ever reading or writing, and binds the same UDP port without
// reading: a receiver that hangs rather than refuses.
type silentSink struct {
	l     net.Listener
	pc    net.PacketConn
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startSilentSink(t *testing.T) (port int) {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			l.Close()
			continue
		}
		s := &silentSink{l: l, pc: pc}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				s.mu.Lock()
				s.conns = append(s.conns, c)
				s.mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			l.Close()
			pc.Close()
			s.wg.Wait()
			s.mu.Lock()
			for _, c := range s.conns {
				c.Close()
			}
			s.mu.Unlock()
		})
		return port
	}
	t.Fatal("no free port")
	return 0
}
