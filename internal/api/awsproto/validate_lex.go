package awsproto

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// --- JSON lexing (RFC 8259, as strict as encoding/json) -----------------------

func (w *walker) skipSpace() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

func (w *walker) literal(lit string) bool {
	if len(w.data)-w.pos >= len(lit) && string(w.data[w.pos:w.pos+len(lit)]) == lit {
		w.pos += len(lit)
		return true
	}
	// Find the first byte that differs, for the message.
	for i := 0; i < len(lit); i++ {
		if w.pos >= len(w.data) || w.data[w.pos] != lit[i] {
			return w.unexpected("was expecting '" + lit + "'")
		}
		w.pos++
	}
	return w.unexpected("was expecting '" + lit + "'")
}

// scanNumber reads a JSON number and reports whether it has neither a
// fraction nor an exponent.
func (w *walker) scanNumber() (integral, ok bool) {
	d := w.data
	i := w.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		w.pos = i
		return false, w.unexpected("expected digit in numeric value")
	}
	integral = true
	if i < len(d) && d[i] == '.' {
		integral = false
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			w.pos = i
			return false, w.unexpected("expected digit after decimal point")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		integral = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			w.pos = i
			return false, w.unexpected("expected digit in exponent")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	w.pos = i
	return integral, true
}

// str reads a JSON string. raw is the bytes between the quotes; decoded is
// set only when raw holds escapes or bytes that are not valid UTF-8 (so
// callers use string(raw) when decoded is ""). Invalid UTF-8 and lone
// surrogates become U+FFFD, as encoding/json does.
func (w *walker) str() (raw []byte, decoded string, ok bool) {
	d := w.data
	w.pos++ // opening quote
	start := w.pos
	simple := true
	for {
		if w.pos >= len(d) {
			return nil, "", w.syntax("Unexpected end-of-input in a string")
		}
		c := d[w.pos]
		switch {
		case c == '"':
			raw = d[start:w.pos]
			w.pos++
			if simple {
				return raw, "", true
			}
			dec, ok := decodeJSONString(raw)
			if !ok {
				return nil, "", w.syntax("Invalid escape in a string")
			}
			if dec == "" {
				// An escaped empty string cannot happen, but keep the
				// "decoded is set" contract simple for callers.
				return raw, "", true
			}
			return raw, dec, true
		case c == '\\':
			simple = false
			w.pos++
			if w.pos >= len(d) {
				return nil, "", w.syntax("Unexpected end-of-input in a string")
			}
			switch d[w.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				w.pos++
			case 'u':
				w.pos++
				for k := 0; k < 4; k++ {
					if w.pos >= len(d) || !isHex(d[w.pos]) {
						return nil, "", w.unexpected("expected a hex digit in a \\u escape")
					}
					w.pos++
				}
			default:
				return nil, "", w.unexpected("unrecognized character escape")
			}
		case c < 0x20:
			return nil, "", w.unexpected("illegal unquoted character in a string; control characters must be escaped")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d[w.pos:])
			if r == utf8.RuneError && size == 1 {
				simple = false
			}
			w.pos += size
		default:
			w.pos++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// decodeJSONString decodes the inside of a syntactically valid JSON string.
func decodeJSONString(raw []byte) (string, bool) {
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(quoted, '"')
	quoted = append(quoted, raw...)
	quoted = append(quoted, '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}

// skipValue checks the syntax of one JSON value without a shape (members the
// model does not know). It does not recurse, so deep nesting cannot exhaust
// the stack.
func (w *walker) skipValue() bool {
	var stack []byte // '{' or '['
	base := w.depth
	defer func() { w.depth = base }()
	for {
		w.skipSpace()
		if w.pos >= len(w.data) {
			return w.syntax("Unexpected end-of-input: expected a value")
		}
		// One value.
		switch c := w.data[w.pos]; c {
		case '{', '[':
			if !w.enter() {
				return false
			}
			stack = append(stack, c)
			w.pos++
			w.skipSpace()
			if w.pos < len(w.data) && (c == '{' && w.data[w.pos] == '}' || c == '[' && w.data[w.pos] == ']') {
				w.pos++
				stack = stack[:len(stack)-1]
				w.depth--
				break
			}
			if c == '{' {
				if !w.objectKey() {
					return false
				}
			}
			continue
		case '"':
			if _, _, ok := w.str(); !ok {
				return false
			}
		case 't':
			if !w.literal("true") {
				return false
			}
		case 'f':
			if !w.literal("false") {
				return false
			}
		case 'n':
			if !w.literal("null") {
				return false
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			if _, ok := w.scanNumber(); !ok {
				return false
			}
		default:
			return w.unexpected("expected a JSON value")
		}
		// After a value: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				return true
			}
			w.skipSpace()
			if w.pos >= len(w.data) {
				return w.syntax("Unexpected end-of-input: expected close marker")
			}
			top := stack[len(stack)-1]
			c := w.data[w.pos]
			if c == ',' {
				w.pos++
				if top == '{' {
					w.skipSpace()
					if !w.objectKey() {
						return false
					}
				}
				break
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				w.pos++
				stack = stack[:len(stack)-1]
				w.depth--
				continue
			}
			if top == '{' {
				return w.unexpected("was expecting comma to separate OBJECT entries")
			}
			return w.unexpected("was expecting comma to separate ARRAY entries")
		}
	}
}

// objectKey reads `"key" :` inside an object being skipped.
func (w *walker) objectKey() bool {
	if w.pos >= len(w.data) || w.data[w.pos] != '"' {
		return w.unexpected("was expecting double-quote to start field name")
	}
	if _, _, ok := w.str(); !ok {
		return false
	}
	w.skipSpace()
	if w.pos >= len(w.data) || w.data[w.pos] != ':' {
		return w.unexpected("was expecting a colon to separate field name and value")
	}
	w.pos++
	return true
}

// --- rendering values in messages -----------------------------------------------

// quoteValue renders a value as AWS does in validation messages: 'text'.
func quoteValue(v string) string { return "'" + clip(v) + "'" }

// clip keeps messages bounded.
func clip(v string) string {
	const max = 1024
	if len(v) <= max {
		return v
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "..."
}

// renderJSON renders a list or map the way Java's toString would:
// [a, b] and {k=v}.
func renderJSON(raw []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	var b strings.Builder
	renderAny(&b, v)
	return b.String()
}

func renderAny(b *strings.Builder, v any) {
	if b.Len() > 2048 {
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(x)
	case json.Number:
		b.WriteString(x.String())
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			renderAny(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			renderAny(b, x[k])
		}
		b.WriteByte('}')
	}
}
