package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Error is input that cannot be imported: the file, the JSON path of the
// value (as in JSONPath: $.data.region[2].pool[0].address) and what is wrong.
type Error struct {
	File, Path, Problem string
}

func (e *Error) Error() string { return e.File + ": " + e.Path + ": " + e.Problem }

// doc is one input file being read; it collects the problems found in it.
type doc struct {
	file string
	errs *[]error
}

func (d *doc) fail(path, format string, args ...any) {
	*d.errs = append(*d.errs, &Error{File: d.file, Path: path, Problem: fmt.Sprintf(format, args...)})
}

// value is one JSON value and where it is in its file.
type value struct {
	d    *doc
	v    any // nil, bool, json.Number, string, []any, map[string]any
	path string
}

// parse decodes a whole file, keeping numbers as written.
func parse(d *doc, data []byte) (value, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, next := dec.Token(); next != io.EOF {
			err = errors.New("text after the JSON value")
		}
	}
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(data, se.Offset)
			d.fail("$", "not JSON: line %d, column %d: %v", line, col, se)
		case errors.Is(err, io.ErrUnexpectedEOF):
			line, col := position(data, int64(len(data)))
			d.fail("$", "not JSON: line %d, column %d: the JSON ends too early", line, col+1)
		case errors.As(err, &te):
			d.fail("$", "not JSON: %v", te)
		default:
			d.fail("$", "not JSON: %v", err)
		}
		return value{}, false
	}
	return value{d: d, v: v, path: "$"}, true
}

func position(data []byte, offset int64) (line, col int) {
	offset = min(offset, int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v value) key(k string) value {
	p := v.path + "." + k
	if !plainKey.MatchString(k) {
		p = v.path + "[" + strconv.Quote(k) + "]"
	}
	return value{d: v.d, path: p}
}

func (v value) fail(format string, args ...any) { v.d.fail(v.path, format, args...) }

func (v value) object() (*object, bool) {
	m, ok := v.v.(map[string]any)
	if !ok {
		return nil, false
	}
	return &object{value: v, m: m, used: map[string]bool{}}, true
}

func (v value) elems() ([]value, bool) {
	l, ok := v.v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]value, len(l))
	for i, e := range l {
		out[i] = value{d: v.d, v: e, path: fmt.Sprintf("%s[%d]", v.path, i)}
	}
	return out, true
}

// empty reports whether v carries nothing: null, "", [] or {}.
func (v value) empty() bool {
	switch x := v.v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// show writes v for a comment: strings quoted as HCL strings, everything
// else as compact JSON.
func (v value) show() string {
	if s, ok := v.v.(string); ok {
		return quote(s)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // & < > as they were: this is for people
	_ = enc.Encode(v.v)
	return strings.TrimSuffix(b.String(), "\n")
}

// brief is show cut to a length that fits in an error message.
func (v value) brief() string {
	s := v.show()
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}

// object is a JSON object whose keys are taken one by one, so that the keys
// nobody took can be kept as comments.
type object struct {
	value
	m    map[string]any
	used map[string]bool
	// fold matches keys without regard to case: the UltraDNS documents
	// spell the same field ownerName, ownername and OwnerName.
	fold bool
}

// get returns the value of key k, marking it taken; ok is false when the
// key is absent or null.
func (o *object) get(k string) (value, bool) {
	name, ok := k, false
	if _, ok = o.m[k]; !ok && o.fold {
		// Of several spellings the first in byte order, so that the
		// output does not depend on map order; the others stay for rest.
		for n := range o.m {
			if strings.EqualFold(n, k) && (!ok || n < name) {
				name, ok = n, true
			}
		}
	}
	if !ok {
		return o.key(k), false
	}
	o.used[name] = true
	v := o.key(name)
	v.v = o.m[name]
	return v, v.v != nil
}

// has reports whether key k is present and not null, without taking it.
func (o *object) has(k string) bool {
	if o.m[k] != nil {
		return true
	}
	if o.fold {
		for n, v := range o.m {
			if strings.EqualFold(n, k) && v != nil {
				return true
			}
		}
	}
	return false
}

// filled reports whether key k is present and not empty, without taking it.
func (o *object) filled(k string) bool {
	for n, v := range o.m {
		if n == k || o.fold && strings.EqualFold(n, k) {
			if !(value{v: v}).empty() {
				return true
			}
		}
	}
	return false
}

// rest returns the values nobody took, in key order, leaving out empty ones
// (null, "", [], {}), which carry nothing to keep.
func (o *object) rest() []value {
	var keys []string
	for k := range o.m {
		if !o.used[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []value
	for _, k := range keys {
		v := o.key(k)
		v.v = o.m[k]
		if !v.empty() {
			out = append(out, v)
		}
	}
	return out
}

// name is the key of a value taken from an object (the last path element).
func (v value) name() string {
	p := v.path
	if strings.HasSuffix(p, `"]`) {
		i := strings.LastIndex(p, `["`)
		s, _ := strconv.Unquote(p[i+1 : len(p)-1])
		return s
	}
	return p[strings.LastIndexByte(p, '.')+1:]
}

// text returns a string field; numbers are accepted as written. ok is false
// when the field is absent, null or "" (an export's way of saying unset).
func (o *object) text(k string) (string, bool) {
	v, ok := o.get(k)
	if !ok {
		return "", false
	}
	switch x := v.v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		return x.String(), true
	}
	v.fail("%s is not a string", v.show())
	return "", false
}

// integer returns a whole-number field, written as a JSON number or a string
// of digits (Dyn sends both). what says what the number is, for errors.
func (o *object) integer(k, what string) (int, bool) {
	v, ok := o.get(k)
	if !ok {
		return 0, false
	}
	var s string
	switch x := v.v.(type) {
	case string:
		s = strings.TrimSpace(x)
		if s == "" {
			return 0, false
		}
	case json.Number:
		s = x.String()
	default:
		v.fail("%s is not %s", v.show(), what)
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		v.fail("%s is not %s", v.show(), what)
		return 0, false
	}
	return n, true
}

// yes returns a Y/N field; true/false and 1/0 are accepted too.
func (o *object) yes(k string) (bool, bool) {
	v, ok := o.get(k)
	if !ok {
		return false, false
	}
	switch x := v.v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "y", "yes", "true", "1":
			return true, true
		case "n", "no", "false", "0":
			return false, true
		case "":
			return false, false
		}
	case json.Number:
		switch x.String() {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	}
	v.fail("%s is not Y or N", v.show())
	return false, false
}

// child returns an object field; ok is false when absent or null.
func (o *object) child(k string) (*object, bool) {
	v, ok := o.get(k)
	if !ok {
		return nil, false
	}
	c, isObj := v.object()
	if !isObj {
		v.fail("%s is not an object", v.show())
		return nil, false
	}
	c.fold = o.fold
	return c, true
}

// array returns a list field; ok is false when absent or null.
func (o *object) array(k string) ([]value, bool) {
	v, ok := o.get(k)
	if !ok {
		return nil, false
	}
	l, isList := v.elems()
	if !isList {
		v.fail("%s is not a list", v.show())
		return nil, false
	}
	return l, true
}

// keepRest writes every field nobody took as a "# not imported:" comment in b.
func (o *object) keepRest(b *block) {
	for _, v := range o.rest() {
		b.notImported("%s = %s", v.name(), v.show())
	}
}
