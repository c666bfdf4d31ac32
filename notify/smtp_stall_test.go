package notify

import (
	"context"
	"net"
	"testing"
	"time"
)

// A server that accepts and never greets holds one delivery no longer than
// its context: shutdown deadlines bind e-mail as they bind syslog.
func TestSMTPDeliverEndsWithContextAgainstSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never written to
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-accepted
		for _, c := range conns {
			c.Close()
		}
	})
	s, err := NewSMTP(SMTPOptions{Server: l.Addr().String(), From: "failoverd@example.test", StartTLS: StartTLSNever, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Deliver(ctx, Message{Mail: &Mail{To: []string{"ops@example.test"}, Subject: "s", Body: "b"}})
	if err == nil {
		t.Fatal("delivery to a silent server succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("delivery took %v despite a 300ms context", took)
	}
}
