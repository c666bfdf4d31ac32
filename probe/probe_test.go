package probe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWithDefaultsFillsDocumentedDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Target
		port int
		tmo  time.Duration
	}{
		{"http port 80", Target{Protocol: HTTP, Address: "192.0.2.1", Interval: time.Minute}, 80, 10 * time.Second},
		{"tcp port 80", Target{Protocol: TCP, Address: "192.0.2.1", Interval: time.Minute}, 80, 10 * time.Second},
		{"https port 443", Target{Protocol: HTTPS, Address: "192.0.2.1", Interval: time.Minute}, 443, 10 * time.Second},
		{"smtp port 25", Target{Protocol: SMTP, Address: "192.0.2.1", Interval: time.Minute}, 25, 10 * time.Second},
		{"lower-case protocol", Target{Protocol: "smtp", Address: "192.0.2.1", Interval: time.Minute}, 25, 10 * time.Second},
		{"ping no port", Target{Protocol: PING, Address: "192.0.2.1", Interval: time.Minute}, 0, 10 * time.Second},
		{"explicit port kept", Target{Protocol: HTTP, Address: "192.0.2.1", Port: 8080, Interval: time.Minute}, 8080, 10 * time.Second},
		{"timeout half a short interval", Target{Protocol: TCP, Address: "192.0.2.1", Interval: 4 * time.Second}, 80, 2 * time.Second},
		{"explicit timeout kept", Target{Protocol: TCP, Address: "192.0.2.1", Interval: time.Minute, Timeout: 3 * time.Second}, 80, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.WithDefaults()
			if got.Port != tt.port || got.Timeout != tt.tmo {
				t.Errorf("port %d timeout %s, want %d %s", got.Port, got.Timeout, tt.port, tt.tmo)
			}
		})
	}
	h := Target{Protocol: HTTP, Address: "192.0.2.1", Path: "health"}.WithDefaults()
	if h.Method != "GET" || h.Path != "/health" {
		t.Errorf("method %q path %q, want GET /health", h.Method, h.Path)
	}
}

func TestKeyIdentifiesEveryOption(t *testing.T) {
	base := Target{Protocol: HTTP, Address: "192.0.2.1", Port: 80, Path: "/", Interval: time.Minute, Retries: 1}
	same := []struct {
		name string
		t    Target
	}{
		{"defaults spelled out", Target{Protocol: "http", Address: "192.0.2.1", Method: "get", Interval: time.Minute, Timeout: 10 * time.Second, Retries: 1}},
		{"empty path is /", Target{Protocol: HTTP, Address: "192.0.2.1", Interval: time.Minute, Retries: 1}},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			if tt.t.Key() != base.Key() {
				t.Errorf("key %q != %q", tt.t.Key(), base.Key())
			}
		})
	}
	mods := map[string]func(*Target){
		"protocol":   func(t *Target) { t.Protocol = HTTPS },
		"address":    func(t *Target) { t.Address = "192.0.2.2" },
		"port":       func(t *Target) { t.Port = 81 },
		"method":     func(t *Target) { t.Method = "POST" },
		"path":       func(t *Target) { t.Path = "/x" },
		"host":       func(t *Target) { t.Host = "www.example.com" },
		"header":     func(t *Target) { t.Header = []string{"X-A: 1"} },
		"expected":   func(t *Target) { t.Expected = "OK" },
		"body":       func(t *Target) { t.Body = "a=1" },
		"statusrule": func(t *Target) { t.StatusRule = Require2xx },
		"interval":   func(t *Target) { t.Interval = 2 * time.Minute },
		"timeout":    func(t *Target) { t.Timeout = 5 * time.Second },
		"retries":    func(t *Target) { t.Retries = 2 },
		"watch":      func(t *Target) { t.Watch = true },
	}
	for name, mod := range mods {
		t.Run("differs/"+name, func(t *testing.T) {
			m := base
			mod(&m)
			if m.Key() == base.Key() {
				t.Errorf("changing %s kept key %q", name, m.Key())
			}
		})
	}
	sk := Target{Protocol: HTTPS, Address: "192.0.2.1"}
	sk2 := sk
	sk2.TLSSkipVerify = true
	if sk.Key() == sk2.Key() {
		t.Error("tls_skip_verify does not change the key")
	}
	if k := base.Key(); !strings.HasPrefix(k, "HTTP 192.0.2.1:80 ") {
		t.Errorf("key %q does not start with a readable target", k)
	}
	if k := (Target{Protocol: TCP, Address: "2001:db8::1", Port: 443}).Key(); !strings.HasPrefix(k, "TCP [2001:db8::1]:443 ") {
		t.Errorf("IPv6 key %q", k)
	}
}

func TestKeyIgnoresOptionsOtherProtocolsDoNotUse(t *testing.T) {
	a := Target{Protocol: TCP, Address: "192.0.2.1", Port: 443}
	b := a
	b.Path, b.Host, b.Expected, b.Method = "/x", "h", "OK", "POST"
	if a.Key() != b.Key() {
		t.Error("TCP key depends on HTTP options")
	}
	s1 := Target{Protocol: SMTP, Address: "192.0.2.1"}
	s2 := s1
	s2.Expected = "ESMTP"
	if s1.Key() == s2.Key() {
		t.Error("SMTP key ignores expected")
	}
	p1 := Target{Protocol: PING, Address: "192.0.2.1"}
	p2 := p1
	p2.Watch = true
	if p1.Key() != p2.Key() || p2.WithDefaults().Watch {
		t.Error("PING keeps watch, which only TCP-based protocols have")
	}
}

// scripted returns a probe that yields the given outcomes in order (a fake
// for the pure retry logic of Round).
func scripted(outcomes ...error) (Func, *int) {
	n := 0
	return func(ctx context.Context, t Target) Result {
		i := n
		n++
		if i >= len(outcomes) {
			i = len(outcomes) - 1
		}
		if outcomes[i] == nil {
			return Result{Target: t, Up: true, Time: time.Now()}
		}
		if errors.Is(outcomes[i], context.DeadlineExceeded) {
			<-ctx.Done()
			return failure(ctx, t, time.Now(), ctx.Err())
		}
		return Result{Target: t, Message: outcomes[i].Error(), Time: time.Now()}
	}, &n
}

func TestRoundRetriesUntilUp(t *testing.T) {
	refused := errors.New("connection refused")
	other := errors.New("HTTP 503")
	tests := []struct {
		name     string
		retries  int
		outcomes []error
		up       bool
		attempts int
		msg      string
	}{
		{"first attempt up", 1, []error{nil}, true, 1, ""},
		{"retry rescues", 1, []error{refused, nil}, true, 2, ""},
		{"all retries fail, last message", 2, []error{refused, refused, other}, false, 3, "HTTP 503"},
		{"no retries", 0, []error{refused, nil}, false, 1, "connection refused"},
		{"timeout message", 1, []error{context.DeadlineExceeded}, false, 2, "timeout after 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, n := scripted(tt.outcomes...)
			tg := Target{Protocol: TCP, Address: "127.0.0.1", Interval: time.Second, Timeout: 100 * time.Millisecond, Retries: tt.retries}
			r := Round(context.Background(), tg, p)
			if r.Up != tt.up || r.Attempts != tt.attempts || *n != tt.attempts || r.Message != tt.msg {
				t.Errorf("got up=%v attempts=%d (called %d) msg=%q, want %v %d %q", r.Up, r.Attempts, *n, r.Message, tt.up, tt.attempts, tt.msg)
			}
			if r.Key != tg.Key() || r.Time.IsZero() {
				t.Errorf("key %q time %v", r.Key, r.Time)
			}
		})
	}
}

func TestRoundStopsWhenCanceled(t *testing.T) {
	p, n := scripted(context.DeadlineExceeded)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := Round(ctx, Target{Protocol: TCP, Address: "127.0.0.1", Interval: time.Minute, Timeout: 10 * time.Second, Retries: 5}, p)
	if r.Up || *n != 1 || r.Message != "canceled" {
		t.Errorf("up=%v calls=%d msg=%q, want one canceled attempt", r.Up, *n, r.Message)
	}
}

func TestNoneIsAlwaysUp(t *testing.T) {
	r := Round(context.Background(), Target{Protocol: NONE, Address: "192.0.2.1"}, Probers(ProberOptions{})[NONE])
	if !r.Up || r.Attempts != 1 {
		t.Errorf("NONE: %+v", r)
	}
}
