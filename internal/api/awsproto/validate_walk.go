package awsproto

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/quayside/quayside/internal/errs"
)

// --- the walker: one pass over the body, directed by the shape --------------

type pathSeg struct {
	name  string // member name or map key
	index int    // > 0: list element (1-based)
	elem  bool   // list element or map value: rendered as "<name|index>.member"
}

type walker struct {
	// lower writes member names in paths lowerCamel, as Query services
	// (whose members are UpperCamel) word their messages.
	lower bool
	data  []byte
	pos   int
	depth int
	path  []pathSeg
	verrs []string
	serr  *errs.Error
}

// root walks the whole body. It returns false after a serialization error
// (w.serr).
func (w *walker) root(s *vshape) bool {
	w.skipSpace()
	if w.pos >= len(w.data) {
		return w.syntax("Unexpected end-of-input: the request body must be a JSON object")
	}
	switch w.data[w.pos] {
	case '{':
		if !w.object(s) {
			return false
		}
	case 'n':
		// JSON null decodes as an empty request.
		if !w.literal("null") {
			return false
		}
		w.requiredMissing(s, 0, nil)
	case '[':
		return w.serialization("Start of list found where not expected")
	default:
		if !w.skipValue() {
			return false
		}
		return w.serialization("Expected structure or null")
	}
	w.skipSpace()
	if w.pos < len(w.data) {
		return w.unexpected("expected end of input after the JSON object")
	}
	return true
}

// value walks one JSON value that should match s. w.pos is at the first
// byte of the value (whitespace skipped).
func (w *walker) value(s *vshape) bool {
	if w.pos >= len(w.data) {
		return w.syntax("Unexpected end-of-input: expected a value")
	}
	c := w.data[w.pos]
	if c == 'n' {
		// null is the same as absent; the caller checks "required".
		return w.literal("null")
	}
	switch s.kind {
	case vAny:
		return w.skipValue()
	case vStruct:
		switch c {
		case '{':
			return w.object(s)
		case '[':
			return w.serialization("Start of list found where not expected")
		}
		if !w.skipValue() {
			return false
		}
		return w.serialization("Expected structure or null")
	case vList:
		switch c {
		case '[':
			return w.list(s)
		case '{':
			return w.serialization("Start of structure or map found where not expected")
		}
		if !w.skipValue() {
			return false
		}
		return w.serialization("Expected list or null")
	case vMap:
		switch c {
		case '{':
			return w.mapValue(s)
		case '[':
			return w.serialization("Start of list found where not expected")
		}
		if !w.skipValue() {
			return false
		}
		return w.serialization("Expected map or null")
	}
	// Scalars.
	switch c {
	case '{':
		return w.serialization("Start of structure or map found where not expected")
	case '[':
		return w.serialization("Start of list found where not expected")
	case '"':
		return w.stringValue(s)
	case 't', 'f':
		lit := "true"
		tok := "TRUE_VALUE"
		if c == 'f' {
			lit, tok = "false", "FALSE_VALUE"
		}
		if !w.literal(lit) {
			return false
		}
		if s.kind != vBoolean {
			return w.serialization(tok + " cannot be converted to " + typeNames[s.kind])
		}
		return true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return w.number(s)
	}
	return w.unexpected("expected a JSON value")
}

func (w *walker) object(s *vshape) bool {
	if !w.enter() {
		return false
	}
	w.pos++ // '{'
	var seen uint64
	var seenBig []bool
	if len(s.required) > 64 {
		seenBig = make([]bool, len(s.required))
	}
	w.skipSpace()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
		w.leave()
		w.requiredMissing(s, seen, seenBig)
		return true
	}
	for {
		w.skipSpace()
		if w.pos >= len(w.data) {
			return w.syntax("Unexpected end-of-input: expected close marker for OBJECT")
		}
		if w.data[w.pos] != '"' {
			return w.unexpected("was expecting double-quote to start field name")
		}
		raw, key, ok := w.str()
		if !ok {
			return false
		}
		w.skipSpace()
		if w.pos >= len(w.data) || w.data[w.pos] != ':' {
			return w.unexpected("was expecting a colon to separate field name and value")
		}
		w.pos++
		w.skipSpace()
		mm := s.lookup(raw, key)
		if mm == nil {
			if !w.skipValue() {
				return false
			}
		} else {
			isNull := w.pos < len(w.data) && w.data[w.pos] == 'n'
			w.path = append(w.path, pathSeg{name: mm.name})
			if !w.value(mm.shape) {
				return false
			}
			w.path = w.path[:len(w.path)-1]
			if !isNull && mm.reqIdx >= 0 && (string(raw) == mm.name || key == mm.name) {
				if seenBig != nil {
					seenBig[mm.reqIdx] = true
				} else {
					seen |= 1 << uint(mm.reqIdx)
				}
			}
		}
		w.skipSpace()
		if w.pos >= len(w.data) {
			return w.syntax("Unexpected end-of-input: expected close marker for OBJECT")
		}
		switch w.data[w.pos] {
		case ',':
			w.pos++
			continue
		case '}':
			w.pos++
			w.leave()
			w.requiredMissing(s, seen, seenBig)
			return true
		}
		return w.unexpected("was expecting comma to separate OBJECT entries")
	}
}

// lookup finds the member a key fills: the exact name, else (as
// encoding/json does) a name equal under Unicode case folding.
func (s *vshape) lookup(raw []byte, decoded string) *vmember {
	if s.members == nil {
		return nil
	}
	name := decoded
	if decoded == "" && len(raw) > 0 {
		if mm, ok := s.members[string(raw)]; ok {
			return mm
		}
		name = string(raw)
	} else if mm, ok := s.members[decoded]; ok {
		return mm
	}
	for _, mm := range s.all {
		if strings.EqualFold(mm.name, name) {
			return mm
		}
	}
	return nil
}

func (w *walker) requiredMissing(s *vshape, seen uint64, seenBig []bool) {
	for i, mm := range s.required {
		present := seen&(1<<uint(i)) != 0
		if seenBig != nil {
			present = seenBig[i]
		}
		if !present {
			w.path = append(w.path, pathSeg{name: mm.name})
			w.fail("null", "Member must not be null")
			w.path = w.path[:len(w.path)-1]
		}
	}
}

func (w *walker) list(s *vshape) bool {
	if !w.enter() {
		return false
	}
	start := w.pos
	w.pos++ // '['
	n := 0
	w.skipSpace()
	if w.pos < len(w.data) && w.data[w.pos] == ']' {
		w.pos++
	} else {
		for {
			w.skipSpace()
			n++
			w.path = append(w.path, pathSeg{index: n, elem: true})
			done, ok := w.element(s.elem, ']', "ARRAY")
			if !ok {
				return false
			}
			if done {
				break
			}
		}
	}
	w.leave()
	w.checkLength(s, n, w.data[start:w.pos])
	return true
}

func (w *walker) mapValue(s *vshape) bool {
	if !w.enter() {
		return false
	}
	start := w.pos
	w.pos++ // '{'
	n := 0
	w.skipSpace()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
	} else {
		for {
			w.skipSpace()
			if w.pos >= len(w.data) {
				return w.syntax("Unexpected end-of-input: expected close marker for OBJECT")
			}
			if w.data[w.pos] != '"' {
				return w.unexpected("was expecting double-quote to start field name")
			}
			raw, key, ok := w.str()
			if !ok {
				return false
			}
			if key == "" {
				key = string(raw)
			}
			n++
			w.skipSpace()
			if w.pos >= len(w.data) || w.data[w.pos] != ':' {
				return w.unexpected("was expecting a colon to separate field name and value")
			}
			w.pos++
			w.skipSpace()
			w.path = append(w.path, pathSeg{name: key, elem: true})
			if s.key != nil && s.key.kind == vString && s.key.hasStringConstraints() {
				w.checkString(s.key, key)
			}
			done, ok := w.element(s.elem, '}', "OBJECT")
			if !ok {
				return false
			}
			if done {
				break
			}
		}
	}
	w.leave()
	w.checkLength(s, n, w.data[start:w.pos])
	return true
}

func (w *walker) checkLength(s *vshape, n int, raw []byte) {
	if s.hasMin && float64(n) < s.min {
		w.fail(quoteValue(renderJSON(raw)), "Member must have length greater than or equal to "+fmtBound(vInteger, s.min))
	}
	if s.hasMax && float64(n) > s.max {
		w.fail(quoteValue(renderJSON(raw)), "Member must have length less than or equal to "+fmtBound(vInteger, s.max))
	}
}

func (w *walker) stringValue(s *vshape) bool {
	raw, decoded, ok := w.str()
	if !ok {
		return false
	}
	switch s.kind {
	case vString:
		if !s.hasStringConstraints() {
			return true
		}
		if decoded == "" {
			decoded = string(raw)
		}
		w.checkString(s, decoded)
		return true
	case vBlob:
		if decoded == "" {
			decoded = string(raw)
		}
		if _, err := base64.StdEncoding.DecodeString(decoded); err != nil {
			return w.serialization("'" + clip(decoded) + "' can not be converted to a Blob: invalid base64")
		}
		return true
	}
	return w.serialization("STRING_VALUE cannot be converted to " + typeNames[s.kind])
}

func (w *walker) checkString(s *vshape, v string) {
	if s.enum != nil {
		if _, ok := s.enum[v]; !ok {
			w.fail(quoteValue(v), "Member must satisfy enum value set: "+s.enumText)
		}
	}
	if s.hasMin || s.hasMax {
		n := utf16Len(v)
		if s.hasMin && float64(n) < s.min {
			w.fail(quoteValue(v), "Member must have length greater than or equal to "+fmtBound(vInteger, s.min))
		}
		if s.hasMax && float64(n) > s.max {
			w.fail(quoteValue(v), "Member must have length less than or equal to "+fmtBound(vInteger, s.max))
		}
	}
	if s.pattern != nil && !s.pattern.MatchString(v) {
		w.fail(quoteValue(v), "Member must satisfy regular expression pattern: "+s.patSource)
	}
}

// utf16Len is the length Java (and so AWS) gives a string: characters
// outside the BMP count twice.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

func (w *walker) number(s *vshape) bool {
	start := w.pos
	integral, ok := w.scanNumber()
	if !ok {
		return false
	}
	lit := string(w.data[start:w.pos])
	switch s.kind {
	case vInteger, vLong:
		if !integral {
			return w.serialization("DECIMAL_VALUE cannot be converted to " + typeNames[s.kind])
		}
		lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
		if s.kind == vLong {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		n, err := strconv.ParseInt(lit, 10, 64)
		var f float64
		switch {
		case err == nil:
			f = float64(n)
		case lit[0] == '-':
			f, n = math.Inf(-1), math.MinInt64
		default:
			f, n = math.Inf(1), math.MaxInt64
		}
		bounded := w.checkRange(s, f, lit)
		if !bounded && (err != nil || n < lo || n > hi) {
			if n < lo || (err != nil && lit[0] == '-') {
				w.fail(quoteValue(lit), "Member must have value greater than or equal to "+strconv.FormatInt(lo, 10))
			} else {
				w.fail(quoteValue(lit), "Member must have value less than or equal to "+strconv.FormatInt(hi, 10))
			}
		}
		return true
	case vDouble, vFloat, vTimestamp:
		bits := 64
		if s.kind == vFloat {
			bits = 32
		}
		f, err := strconv.ParseFloat(lit, bits)
		if err != nil {
			return w.serialization("DECIMAL_VALUE cannot be converted to " + typeNames[s.kind] + ": out of range")
		}
		if s.kind != vTimestamp {
			w.checkRange(s, f, lit)
		}
		return true
	}
	tok := "NUMBER_VALUE"
	if !integral {
		tok = "DECIMAL_VALUE"
	}
	return w.serialization(tok + " cannot be converted to " + typeNames[s.kind])
}

// checkRange applies the shape's min and max; it reports whether either
// failed.
func (w *walker) checkRange(s *vshape, f float64, lit string) bool {
	failed := false
	if s.hasMin && f < s.min {
		w.fail(quoteValue(lit), "Member must have value greater than or equal to "+fmtBound(s.kind, s.min))
		failed = true
	}
	if s.hasMax && f > s.max {
		w.fail(quoteValue(lit), "Member must have value less than or equal to "+fmtBound(s.kind, s.max))
		failed = true
	}
	return failed
}

// fmtBound prints a bound as Java would: "1" for integer shapes, "0.0" for
// floating ones.
func fmtBound(k vkind, v float64) string {
	if k == vDouble || k == vFloat {
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatFloat(v, 'f', 1, 64)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<62 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// --- errors -----------------------------------------------------------------

// fail records a constraint violation at the current path.
func (w *walker) fail(value, constraint string) {
	if len(w.verrs) >= maxValidationErrors {
		return
	}
	w.verrs = append(w.verrs, "Value "+value+" at '"+w.pathString()+"' failed to satisfy constraint: "+constraint)
}

func (w *walker) pathString() string {
	var b strings.Builder
	for i, seg := range w.path {
		if i > 0 {
			b.WriteByte('.')
		}
		switch {
		case seg.index > 0:
			b.WriteString(strconv.Itoa(seg.index))
		case w.lower && !seg.elem && seg.name != "":
			b.WriteString(strings.ToLower(seg.name[:1]) + seg.name[1:])
		default:
			b.WriteString(seg.name)
		}
		if seg.elem {
			b.WriteString(".member")
		}
	}
	return b.String()
}

// serialization records a type mismatch at the current path and stops.
func (w *walker) serialization(msg string) bool {
	if len(w.path) > 0 {
		msg += " at '" + w.pathString() + "'"
	}
	w.serr = errs.New(errs.Serialization, "%s", msg)
	return false
}

// syntax records malformed JSON and stops.
func (w *walker) syntax(msg string) bool {
	w.serr = errs.New(errs.Serialization, "%s (at offset %d)", msg, w.pos)
	return false
}

func (w *walker) unexpected(expect string) bool {
	if w.pos >= len(w.data) {
		return w.syntax("Unexpected end-of-input: " + expect)
	}
	c := w.data[w.pos]
	var shown string
	if c >= 0x20 && c < 0x7f && c != '\'' {
		shown = "'" + string(c) + "' "
	}
	return w.syntax("Unexpected character (" + shown + "(code " + strconv.Itoa(int(c)) + ")): " + expect)
}

func (w *walker) enter() bool {
	w.depth++
	if w.depth > maxDepth {
		return w.syntax("Maximum nesting depth exceeded")
	}
	return true
}

func (w *walker) leave() { w.depth-- }

// element checks one list element or map value (whose path segment the
// caller pushed) and consumes the separator after it: done is true at the
// closing bracket; ok is false when the walk must stop.
func (w *walker) element(elem *vshape, closer byte, kind string) (done, ok bool) {
	if w.pos < len(w.data) && w.data[w.pos] == 'n' {
		if !w.literal("null") {
			return false, false
		}
		w.fail("null", "Member must not be null")
	} else if !w.value(elem) {
		return false, false
	}
	w.path = w.path[:len(w.path)-1]
	w.skipSpace()
	switch {
	case w.pos >= len(w.data):
		return false, w.syntax("Unexpected end-of-input: expected close marker for " + kind)
	case w.data[w.pos] == ',':
		w.pos++
		return false, true
	case w.data[w.pos] == closer:
		w.pos++
		return true, true
	}
	return false, w.unexpected("was expecting comma to separate " + kind + " entries")
}
