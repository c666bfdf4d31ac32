package migrate

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// block is HCL text being built: a block header and its body of attributes,
// nested blocks and comment lines, in the order they were added. The root of
// a file is a block without a type.
type block struct {
	typ    string
	labels []string
	items  []any // *attr, *block, note or heading
}

// attr is one attribute with its value already written as an HCL expression.
type attr struct{ name, expr string }

// note is one comment line, without the "# ".
type note string

// heading is a comment line that belongs to the block after it.
type heading string

func (b *block) child(typ string, labels ...string) *block {
	c := &block{typ: typ, labels: labels}
	b.items = append(b.items, c)
	return c
}

func (b *block) str(name, v string) { b.items = append(b.items, &attr{name, quote(v)}) }
func (b *block) num(name string, v int) {
	b.items = append(b.items, &attr{name, strconv.Itoa(v)})
}
func (b *block) flag(name string, v bool) {
	b.items = append(b.items, &attr{name, strconv.FormatBool(v)})
}

func (b *block) list(name string, vs []string) {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quote(v)
	}
	b.items = append(b.items, &attr{name, "[" + strings.Join(q, ", ") + "]"})
}

// comment adds a comment line; a line break in the text would end the
// comment early, so it is written as \n.
func (b *block) comment(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	s = strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
	b.items = append(b.items, note(s))
}

// heading adds a comment line that introduces the next block.
func (b *block) heading(format string, args ...any) {
	s := strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(fmt.Sprintf(format, args...))
	b.items = append(b.items, heading(s))
}

// notImported keeps a field that has no equivalent as a comment where it was.
func (b *block) notImported(format string, args ...any) {
	b.comment("not imported: "+format, args...)
}

// hasBlock reports whether b holds a nested block of type typ.
func (b *block) hasBlock(typ string) bool {
	for _, it := range b.items {
		if c, ok := it.(*block); ok && c.typ == typ {
			return true
		}
	}
	return false
}

// render writes b as HCL text: two spaces of indent per level, the equals
// signs of consecutive attributes aligned as `terraform fmt` does, and a blank
// line around nested blocks.
func (b *block) render() string {
	var w strings.Builder
	b.writeBody(&w, 0)
	return w.String()
}

func (b *block) write(w *strings.Builder, depth int) {
	ind := strings.Repeat("  ", depth)
	w.WriteString(ind + b.typ)
	for _, l := range b.labels {
		w.WriteString(" " + quote(l))
	}
	if len(b.items) == 0 {
		w.WriteString(" {}\n")
		return
	}
	w.WriteString(" {\n")
	b.writeBody(w, depth+1)
	w.WriteString(ind + "}\n")
}

func (b *block) writeBody(w *strings.Builder, depth int) {
	ind := strings.Repeat("  ", depth)
	for i := 0; i < len(b.items); i++ {
		switch it := b.items[i].(type) {
		case heading:
			if i > 0 {
				w.WriteString("\n")
			}
			w.WriteString(ind + "# " + string(it) + "\n")
		case *block:
			if _, titled := prev(b.items, i).(heading); i > 0 && !titled {
				w.WriteString("\n")
			}
			it.write(w, depth)
			if i+1 < len(b.items) {
				switch b.items[i+1].(type) {
				case *block, heading: // they open with a blank line
				default:
					w.WriteString("\n")
				}
			}
		case note:
			w.WriteString(ind + "# " + string(it) + "\n")
		case *attr:
			// A run of attributes shares one column for its equals signs.
			j, width := i, 0
			for ; j < len(b.items); j++ {
				a, ok := b.items[j].(*attr)
				if !ok {
					break
				}
				width = max(width, len(a.name))
			}
			for ; i < j; i++ {
				a := b.items[i].(*attr)
				w.WriteString(ind + a.name + strings.Repeat(" ", width-len(a.name)) + " = " + a.expr + "\n")
			}
			i--
		}
	}
}

func prev(items []any, i int) any {
	if i == 0 {
		return nil
	}
	return items[i-1]
}

// quote writes s as an HCL quoted string. HCL knows fewer escapes than Go
// (no \x, \a, \b, \f, \v), and "${" and "%{" start templates unless doubled.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04X`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
