package dnsserver

import (
	"strings"
	"testing"
)

// A key stored as text (a multi-site deployment shares it that way) reads
// back as the same key, and a damaged text or another zone's is refused.
func TestKey_MarshalTextRoundTrip(t *testing.T) {
	for alg := range Algorithms {
		k, err := GenerateKey("example.com.", alg)
		if err != nil {
			t.Fatal(err)
		}
		text := k.MarshalText()
		back, err := ParseKey("example.com.", text)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if back.Tag() != k.Tag() || back.DNSKEY.PublicKey != k.DNSKEY.PublicKey {
			t.Errorf("%s: read back tag %d, want %d", alg, back.Tag(), k.Tag())
		}
		if _, err := ParseKey("example.net.", text); err == nil {
			t.Errorf("%s: another zone's key was accepted", alg)
		}
		other, _ := GenerateKey("example.com.", alg)
		pub, _, _ := strings.Cut(string(text), keyTextSeparator)
		_, priv, _ := strings.Cut(string(other.MarshalText()), keyTextSeparator)
		if _, err := ParseKey("example.com.", []byte(pub+keyTextSeparator+priv)); err == nil {
			t.Errorf("%s: a private key that is not the DNSKEY's was accepted", alg)
		}
		if _, err := ParseKey("example.com.", []byte("garbage")); err == nil {
			t.Errorf("%s: garbage was accepted", alg)
		}
	}
}
