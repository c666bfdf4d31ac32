package notify

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
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

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// received is one mail accepted by the test SMTP server.
type received struct {
	From     string
	To       []string
	Subject  string
	Body     string
	TLS      bool
	AuthUser string
}

// smtpServer is a small SMTP receiver on loopback: EHLO, optional
// STARTTLS, optional AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
type smtpServer struct {
	t        *testing.T
	tlsConf  *tls.Config // nil: no STARTTLS
	user     string      // "": no AUTH
	password string
	silent   int // the first silent sessions are accepted and never greeted

	mu       sync.Mutex
	l        net.Listener
	conns    map[net.Conn]bool
	mails    []received
	sessions int
	wg       sync.WaitGroup
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// startSMTP listens on addr ("127.0.0.1:0" for a new port).
func startSMTP(t *testing.T, s *smtpServer, addr string) {
	t.Helper()
	var l net.Listener
	var err error
	for range 50 { // a restarted server may briefly find its port busy
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	s.mu.Lock()
	s.l = l
	s.conns = map[net.Conn]bool{}
	s.mu.Unlock()
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
}

func (s *smtpServer) addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l.Addr().String()
}

// stop closes the listener and every session and waits for them.
func (s *smtpServer) stop() {
	s.mu.Lock()
	if s.l != nil {
		s.l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

func (s *smtpServer) waitMails(n int) []received {
	s.t.Helper()
	for range 300 {
		if m := s.received(); len(m) >= n {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := s.received()
	s.t.Fatalf("received %d mails, want %d", len(m), n)
	return nil
}

func (s *smtpServer) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	s.mu.Lock()
	s.sessions++
	silent := s.sessions <= s.silent
	s.mu.Unlock()
	if silent {
		_, _ = io.Copy(io.Discard, c) // until the client or stop closes it
		return
	}
	tp := textproto.NewConn(c)
	isTLS := false
	authUser := ""
	var from string
	var rcpts []string
	reply := func(code int, msg string) { _ = tp.PrintfLine("%d %s", code, msg) }
	reply(220, "127.0.0.1 ESMTP test")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			lines := []string{"127.0.0.1", "8BITMIME"}
			if s.tlsConf != nil && !isTLS {
				lines = append(lines, "STARTTLS")
			}
			if s.user != "" {
				lines = append(lines, "AUTH PLAIN LOGIN")
			}
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				_ = tp.PrintfLine("250%s%s", sep, l)
			}
		case "STARTTLS":
			if s.tlsConf == nil || isTLS {
				reply(502, "no")
				continue
			}
			reply(220, "go ahead")
			tc := tls.Server(c, s.tlsConf)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			tp = textproto.NewConn(tc)
			from, rcpts, authUser = "", nil, ""
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			var user, pass string
			switch strings.ToUpper(mech) {
			case "PLAIN":
				if initial == "" {
					_ = tp.PrintfLine("334 ")
					if initial, err = tp.ReadLine(); err != nil {
						return
					}
				}
				raw, _ := base64.StdEncoding.DecodeString(initial)
				parts := strings.Split(string(raw), "\x00")
				if len(parts) == 3 {
					user, pass = parts[1], parts[2]
				}
			case "LOGIN":
				_ = tp.PrintfLine("334 VXNlcm5hbWU6")
				u, err := tp.ReadLine()
				if err != nil {
					return
				}
				_ = tp.PrintfLine("334 UGFzc3dvcmQ6")
				p, err := tp.ReadLine()
				if err != nil {
					return
				}
				ub, _ := base64.StdEncoding.DecodeString(u)
				pb, _ := base64.StdEncoding.DecodeString(p)
				user, pass = string(ub), string(pb)
			default:
				reply(504, "unsupported")
				continue
			}
			if s.user == "" || user != s.user || pass != s.password {
				reply(535, "authentication failed")
				continue
			}
			authUser = user
			reply(235, "ok")
		case "MAIL":
			if s.user != "" && authUser == "" {
				reply(530, "authentication required")
				continue
			}
			from = strings.Trim(strings.TrimPrefix(strings.ToUpper(arg[:5])+arg[5:], "FROM:"), "<> ")
			if i := strings.Index(from, ">"); i >= 0 {
				from = from[:i]
			}
			reply(250, "ok")
		case "RCPT":
			to := strings.TrimSpace(arg[3:])
			to = strings.TrimPrefix(to, "<")
			if i := strings.Index(to, ">"); i >= 0 {
				to = to[:i]
			}
			rcpts = append(rcpts, to)
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
			r := parseMail(s.t, data)
			r.From, r.To, r.TLS, r.AuthUser = from, rcpts, isTLS, authUser
			s.mu.Lock()
			s.mails = append(s.mails, r)
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

// parseMail decodes the subject and the text body of a message.
func parseMail(t *testing.T, data []byte) received {
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Errorf("bad message: %v\n%s", err, data)
		return received{}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Errorf("bad subject: %v", err)
	}
	var body io.Reader = m.Body
	switch strings.ToLower(m.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(m.Body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, m.Body)
	}
	b, err := io.ReadAll(bufio.NewReader(body))
	if err != nil {
		t.Errorf("bad body: %v", err)
	}
	return received{Subject: subject, Body: string(b)}
}

func mailDispatcher(t *testing.T, o SMTPOptions) *Dispatcher {
	t.Helper()
	o.From = "failoverd@example.net"
	o.TLSSkipVerify = true
	d := NewDispatcher(Options{
		Hostname: "ns1.example.net",
		SMTP:     &o,
		Retry:    Backoff{Initial: 50 * time.Millisecond, Max: 300 * time.Millisecond, MaxAttempts: 3},
	}, zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	return d
}

var contact = []string{"ops@example.net", "oncall@example.net"}

func TestMailGoesToEveryContactAddressWithStartTLSPolicy(t *testing.T) {
	tests := []struct {
		name       string
		starttls   string
		serverTLS  bool
		wantTLS    bool
		wantFailed bool
	}{
		{"never stays in clear text even when offered", "never", true, false, false},
		{"opportunistic upgrades when offered", "opportunistic", true, true, false},
		{"opportunistic sends in clear text when not offered", "opportunistic", false, false, false},
		{"empty means opportunistic", "", true, true, false},
		{"required upgrades", "required", true, true, false},
		{"required refuses a server without STARTTLS", "required", false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &smtpServer{}
			if tc.serverTLS {
				srv.tlsConf = selfSigned(t)
			}
			startSMTP(t, srv, "127.0.0.1:0")
			d := mailDispatcher(t, SMTPOptions{Server: srv.addr(), StartTLS: tc.starttls})
			route := Route{Emails: contact, NotifyEvents: []string{"svc"}}
			ev := Event{Kind: KindSvc, Service: "app.example.com.", Region: "US East", OldStatus: "ok", NewStatus: "failover", Vars: fullVars()}
			d.Publish(ev, route)
			if tc.wantFailed {
				waitFor(t, func() bool { return value(d.dropped.WithLabelValues("email")) == 1 })
				if n := len(srv.received()); n != 0 {
					t.Fatalf("%d mails delivered without TLS", n)
				}
				if value(d.failed.WithLabelValues("email")) != 3 {
					t.Errorf("failed = %v, want 3 attempts", value(d.failed.WithLabelValues("email")))
				}
				return
			}
			m := srv.waitMails(1)[0]
			if m.TLS != tc.wantTLS {
				t.Errorf("TLS = %v, want %v", m.TLS, tc.wantTLS)
			}
			if !slices.Equal(m.To, contact) || m.From != "failoverd@example.net" {
				t.Errorf("envelope from %q to %v", m.From, m.To)
			}
			if m.Subject != "failoverd: app.example.com. region US East is failover" {
				t.Errorf("subject %q", m.Subject)
			}
			for _, want := range []string{"Old status:     ok", "New status:     failover", "2026-11-23T06:00:00Z",
				"192.0.2.10,192.0.2.11", "Probe message:  connection refused"} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, m.Body)
				}
			}
		})
	}
}

func TestMailAuthentication(t *testing.T) {
	tests := []struct {
		name, starttls, user, password string
		serverTLS                      bool
		wantDelivered                  bool
	}{
		{"auth after STARTTLS", "required", "alice", "s3cret", true, true},
		{"auth in clear text when starttls is never", "never", "alice", "s3cret", true, true},
		{"wrong password is refused", "required", "alice", "wrong", true, false},
		{"no credentials where the server requires them", "required", "", "", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &smtpServer{user: "alice", password: "s3cret"}
			if tc.serverTLS {
				srv.tlsConf = selfSigned(t)
			}
			startSMTP(t, srv, "127.0.0.1:0")
			d := mailDispatcher(t, SMTPOptions{Server: srv.addr(), StartTLS: tc.starttls, Username: tc.user, Password: tc.password})
			d.Publish(Event{Kind: KindIP, Service: "www.example.com.", Address: "192.0.2.1", OldStatus: "up", NewStatus: "down", Vars: fullVars()},
				Route{Emails: contact[:1], NotifyEvents: []string{"ip"}})
			if !tc.wantDelivered {
				waitFor(t, func() bool { return value(d.dropped.WithLabelValues("email")) == 1 })
				if n := len(srv.received()); n != 0 {
					t.Fatalf("%d mails accepted", n)
				}
				return
			}
			m := srv.waitMails(1)[0]
			if m.AuthUser != "alice" {
				t.Errorf("auth user %q", m.AuthUser)
			}
			if m.Subject != "failoverd: www.example.com. address 192.0.2.1 (US East) is down" {
				t.Errorf("subject %q", m.Subject)
			}
		})
	}
}

func TestMailOnlyForNotifyEventsAndEveryChangeForSFPool(t *testing.T) {
	srv := &smtpServer{}
	startSMTP(t, srv, "127.0.0.1:0")
	d := mailDispatcher(t, SMTPOptions{Server: srv.addr(), StartTLS: "never"})
	gslb := Route{Emails: contact, NotifyEvents: []string{"svc", "nosrv"}}
	v := fullVars()
	d.Publish(Event{Kind: KindIP, Service: "a.", Address: "192.0.2.1", NewStatus: "down", Vars: v}, gslb)    // filtered
	d.Publish(Event{Kind: KindRound, Service: "a.", Address: "192.0.2.1", NewStatus: "down", Vars: v}, gslb) // never mailed
	d.Publish(Event{Kind: KindNoSrv, Service: "b.", Address: "192.0.2.9", NewStatus: "up", Vars: v}, gslb)   // mailed
	d.Publish(Event{Kind: KindSvc, Service: "c.", Region: "global", NewStatus: "trouble", Vars: v}, gslb)    // mailed
	sf := Route{Emails: contact[1:], NotifyEvents: []string{"svc"}}                                          // as the daemon routes an sf_pool
	d.Publish(Event{Kind: KindSvc, Service: "d.", Region: "global", NewStatus: "CRITICAL", Vars: v}, sf)     // mailed
	mails := srv.waitMails(3)
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Subject)
		if strings.HasPrefix(m.Subject, "failoverd: d.") && !slices.Equal(m.To, contact[1:]) {
			t.Errorf("sf_pool mail to %v", m.To)
		}
	}
	slices.Sort(subjects) // several e-mail workers: arrival order is not publish order
	want := []string{
		"failoverd: b. address 192.0.2.9 (US East) is up",
		"failoverd: c. region global is trouble",
		"failoverd: d. region global is CRITICAL",
	}
	if !slices.Equal(subjects, want) {
		t.Errorf("subjects %q, want %q", subjects, want)
	}
}

func TestMailDeliveredAfterReceiverRestart(t *testing.T) {
	srv := &smtpServer{}
	startSMTP(t, srv, "127.0.0.1:0")
	addr := srv.addr()
	o := SMTPOptions{Server: addr, StartTLS: "opportunistic", From: "failoverd@example.net"}
	d := NewDispatcher(Options{
		Hostname: "ns1.example.net",
		SMTP:     &o,
		Retry:    Backoff{Initial: 50 * time.Millisecond, Max: 300 * time.Millisecond, MaxAttempts: 1000},
	}, zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	route := Route{Emails: contact, NotifyEvents: []string{"ip"}}
	publish := func(addrs ...string) {
		for _, a := range addrs {
			d.Publish(Event{Kind: KindIP, Service: "www.example.com.", Address: a, NewStatus: "down", Vars: Vars{Time: testTime}}, route)
		}
	}
	publish("192.0.2.1")
	srv.waitMails(1)
	// Stop only once the client has seen the 250 (else it rightly resends).
	waitFor(t, func() bool { return value(d.sent.WithLabelValues("email")) == 1 })

	srv.stop()
	// The receiver is gone; Publish still returns at once and the mails wait.
	publish("192.0.2.2", "192.0.2.3", "192.0.2.4")
	waitFor(t, func() bool { return value(d.failed.WithLabelValues("email")) > 0 })

	srv2 := &smtpServer{}
	startSMTP(t, srv2, addr)
	mails := srv2.waitMails(3)
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Subject)
	}
	slices.Sort(subjects) // several e-mail workers: arrival order is not publish order
	for i, got := range subjects {
		if want := "failoverd: www.example.com. address 192.0.2." + string(rune('2'+i)) + " is down"; got != want {
			t.Errorf("mail %d subject %q, want %q", i, got, want)
		}
	}
	if n := value(d.dropped.WithLabelValues("email")); n != 0 {
		t.Errorf("dropped = %v", n)
	}
}
