package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// CompatOptions switch on the hosted products' own APIs beside the native
// one (api.compat; docs/migrating.md). Each surface authenticates itself
// with the one failoverd token; the native /v1/ API stays Bearer-only.
type CompatOptions struct {
	// Dyn serves the Dyn REST API under /REST/.
	Dyn bool
	// UltraDNS serves UltraDNS's REST API under /v1/authorization/token
	// and /v1/zones/, and the same paths without /v1.
	UltraDNS bool
	// Memset serves Memset's API under /v1/json/ and /v1/xmlrpc/.
	Memset bool
	// Version is failoverd's version, which a Dyn login reports as
	// "failoverd-VERSION".
	Version string
}

// sessionIdle is how long an unused session token of a compatible surface
// stays valid.
const sessionIdle = time.Hour

// sessions are the login tokens of a compatible surface: random, kept in
// memory only (a restart logs everyone out), ended by idleness or logout.
type sessions struct {
	mu     sync.Mutex // handlers log in and check tokens concurrently
	now    func() time.Time
	tokens map[string]session
}

type session struct {
	user    string
	expires time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, tokens: map[string]session{}}
}

// open starts a session for user and returns its token: 32 random hex
// digits.
func (s *sessions) open(user string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("api: crypto/rand: " + err.Error()) // never fails on Linux
	}
	tok := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for t, ss := range s.tokens {
		if now.After(ss.expires) {
			delete(s.tokens, t) // expired ones go as new ones come
		}
	}
	s.tokens[tok] = session{user: user, expires: now.Add(sessionIdle)}
	return tok
}

// check reports whether tok is a live session, extending it.
func (s *sessions) check(tok string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.tokens[tok]
	if !ok {
		return "", false
	}
	now := s.now()
	if now.After(ss.expires) {
		delete(s.tokens, tok)
		return "", false
	}
	ss.expires = now.Add(sessionIdle)
	s.tokens[tok] = ss
	return ss.user, true
}

// close ends a session; it reports whether there was one.
func (s *sessions) close(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.tokens[tok]
	delete(s.tokens, tok)
	return ok
}

// isToken reports, in constant time, whether secret is the failoverd
// token. Without a token (loopback-only mode) every secret is.
func (s *Server) isToken(secret string) bool {
	if s.opts.Token == "" {
		return true
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}

// compatRoutes mounts the switched-on compatible surfaces on mux, outside
// the native API's Bearer check and JSON-only rule: each reads its own
// credentials and body formats.
func (s *Server) compatRoutes(mux *http.ServeMux, native http.Handler) {
	c := s.opts.Compat
	if c.UltraDNS {
		u := newUltra(s, native)
		for _, p := range []string{"/v1", ""} {
			mux.Handle(p+"/authorization/token", u.tokenHandler())
			mux.Handle(p+"/zones/", u.zonesHandler(p+"/zones/"))
		}
	}
	if c.Dyn {
		mux.Handle("/REST/", newDyn(s).handler())
	}
	if c.Memset {
		m := &memset{s: s}
		mux.Handle("/v1/json/", m.jsonHandler())
		mux.Handle("/v1/xmlrpc/", m.xmlrpcHandler())
		mux.Handle("/v1/xmlrpc", m.xmlrpcHandler())
	}
}
