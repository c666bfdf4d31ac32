package notify

import (
	"strings"
	"unicode/utf8"
)

// MaxMessageBytes caps the rendered probe message (%msg without its
// trailing space, and the "Probe message" line of an e-mail), marker
// included. A probe message comes from the probed target (an HTTP body, an
// SMTP banner, a certificate name) and may be arbitrarily long.
const MaxMessageBytes = 512

// truncatedMarker ends a value cut at MaxMessageBytes.
const truncatedMarker = "…"

// Escape returns s safe to put in a syslog frame or an e-mail: printable
// text is kept as it is (UTF-8 included), and what could break a frame, a
// header or a terminal is written out as a Go-style escape: \t, \n and \r;
// \xHH for the other C0 controls, DEL and bytes that are not UTF-8;
// \u00HH for the C1 controls U+0080 to U+009F. A backslash is not escaped,
// so an escape cannot be told from the same text sent by the target; it
// can never become a control character again, which is what matters.
func Escape(s string) string {
	return escapeCapped(s, -1)
}

// escapeCapped is Escape whose result is at most limit bytes (limit < 0:
// no limit). A longer result is cut on a character and escape boundary and
// ends in truncatedMarker.
func escapeCapped(s string, limit int) string {
	if clean(s) && (limit < 0 || len(s) <= limit) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), max(limit, 0)+len(truncatedMarker)) + 16)
	cut := 0 // length of b at the last boundary where the marker still fits
	for i := 0; i < len(s); {
		if limit >= 0 && b.Len() <= limit-len(truncatedMarker) {
			cut = b.Len()
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		appendEscaped(&b, s[i:i+size], r, size)
		i += size
		if limit >= 0 && b.Len() > limit {
			return b.String()[:cut] + truncatedMarker
		}
	}
	return b.String()
}

// clean reports whether s needs no escaping.
func clean(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || (r >= 0x80 && r <= 0x9f) {
			return false
		}
		i += size
	}
	return true
}

const hexDigits = "0123456789abcdef"

// appendEscaped writes one decoded rune r (raw: its bytes) to b.
func appendEscaped(b *strings.Builder, raw string, r rune, size int) {
	switch {
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
		c := raw[0]
		b.WriteString(`\x`)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	case r >= 0x80 && r <= 0x9f:
		b.WriteString(`\u00`)
		b.WriteByte(hexDigits[r>>4])
		b.WriteByte(hexDigits[r&0xf])
	default:
		b.WriteString(raw)
	}
}
