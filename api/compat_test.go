package api

import (
	"testing"
	"time"
)

func TestCompatSessions_RandomExpireWhenIdleAndEndAtLogout(t *testing.T) {
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	s := newSessions(func() time.Time { return now })
	a, b := s.open("alice"), s.open("bob")
	if a == b || len(a) != 32 {
		t.Fatalf("tokens %q %q", a, b)
	}
	tests := []struct {
		rule    string
		advance time.Duration
		token   string
		live    bool
	}{
		{"a fresh session is live", 0, a, true},
		{"use within the idle time keeps it", sessionIdle - time.Minute, a, true},
		{"and extends it", sessionIdle - time.Minute, a, true},
		{"an unused one expires", 0, b, false},
		{"an unknown token is no session", 0, "0123456789abcdef0123456789abcdef", false},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		if _, ok := s.check(tt.token); ok != tt.live {
			t.Fatalf("%s: live %v", tt.rule, ok)
		}
	}
	if !s.close(a) {
		t.Fatal("logout of a live session")
	}
	if _, ok := s.check(a); ok {
		t.Fatal("a session is live after logout")
	}
	if s.close(a) {
		t.Fatal("a second logout succeeded")
	}
}
