package e2e

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sinkMail is one message accepted by mailSink.
type sinkMail struct {
	From    string
	To      []string // envelope recipients, sorted
	Subject string
	Body    string
	Header  mail.Header // as received, for checks on injected lines
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
	return sinkMail{Subject: subject, Body: string(b), Header: m.Header}
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
