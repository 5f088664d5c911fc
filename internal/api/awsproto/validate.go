package awsproto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/quayside/quayside/internal/errs"
)

// Validate checks a request body against the input shape of op the way an
// AWS JSON (Coral) service does, in two stages:
//
//  1. Deserialization. The body must be a JSON object, and every member the
//     model knows must have the JSON type its shape wants. Failures are
//     SerializationException, with Coral's wording plus the member's path
//     (for example "STRING_VALUE cannot be converted to Integer at 'count'").
//     Members the model does not know are ignored, as AWS ignores them; a
//     JSON null is the same as an absent member.
//  2. Constraints: required members, enums, numeric min/max (and the int32 /
//     int64 range of integer / long shapes), string, list and map lengths,
//     and patterns. Failures are collected (at most ten) into one error of
//     kind m.ValidationErrorCode (ValidationException unless the service
//     says otherwise; ECS uses InvalidParameterException), worded as AWS
//     words them:
//     "2 validation errors detected: Value null at 'taskDefinition' failed
//     to satisfy constraint: Member must not be null; Value 'X' at
//     'launchType' failed to satisfy constraint: Member must satisfy enum
//     value set: [EC2, FARGATE, EXTERNAL]".
//     Paths use AWS's form: list elements are 'name.N.member' (1-based), map
//     values 'name.KEY.member'.
//
// A body that passes decodes without error into the Go types generated from
// the same model: integers are integral and in range, timestamps are JSON
// numbers, and member names that differ only in case (which encoding/json
// would still match) are checked as the member they would fill.
//
// Validators are compiled once per model, on first use. Validate never
// panics and only returns *errs.Error values of 4xx kinds.
func (m *Model) Validate(op string, body []byte) error {
	mv := m.compiled()
	root, ok := mv.ops[op]
	if !ok {
		return errs.New(errs.UnknownOperation, "The operation %q is not known to this endpoint.", op)
	}
	w := walker{data: body}
	if !w.root(root) {
		return w.serr
	}
	if len(w.verrs) == 0 {
		return nil
	}
	code := m.ValidationErrorCode
	if code == "" {
		code = errs.Validation
	}
	plural := "s"
	if len(w.verrs) == 1 {
		plural = ""
	}
	return errs.New(code, "%d validation error%s detected: %s", len(w.verrs), plural, strings.Join(w.verrs, "; "))
}

// maxValidationErrors caps the errors listed in one message.
const maxValidationErrors = 10

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

// --- compiled shapes --------------------------------------------------------

type vkind uint8

const (
	vStruct vkind = iota
	vList
	vMap
	vString
	vInteger
	vLong
	vDouble
	vFloat
	vBoolean
	vTimestamp
	vBlob
	vAny // unknown shape type: any JSON value
)

// typeNames are the Java-ish names Coral uses in SerializationException
// messages.
var typeNames = [...]string{
	vStruct: "Structure", vList: "List", vMap: "Map", vString: "String",
	vInteger: "Integer", vLong: "Long", vDouble: "Double", vFloat: "Float",
	vBoolean: "Boolean", vTimestamp: "Timestamp", vBlob: "Blob", vAny: "Document",
}

type vshape struct {
	kind vkind

	// structures
	members  map[string]*vmember
	all      []*vmember // sorted by name; for case-insensitive matching
	required []*vmember // sorted by name

	// lists (elem) and maps (key, elem)
	elem, key *vshape

	// constraints
	enum      map[string]struct{}
	enumText  string // "[A, B]"
	min, max  float64
	hasMin    bool
	hasMax    bool
	pattern   *regexp.Regexp
	patSource string
}

type vmember struct {
	name   string
	shape  *vshape
	reqIdx int // index into the struct's required list, or -1
}

func (s *vshape) hasStringConstraints() bool {
	return s.enum != nil || s.hasMin || s.hasMax || s.pattern != nil
}

type modelValidator struct {
	ops map[string]*vshape // input shape per operation; nil: no input
}

var compiledModels sync.Map // *Model -> *modelValidator

func (m *Model) compiled() *modelValidator {
	if v, ok := compiledModels.Load(m); ok {
		return v.(*modelValidator)
	}
	v, _ := compiledModels.LoadOrStore(m, compileModel(m))
	return v.(*modelValidator)
}

// Precompile builds the model's validators now rather than on the first
// request.
func (m *Model) Precompile() { m.compiled() }

func compileModel(m *Model) *modelValidator {
	c := compiler{m: m, done: map[string]*vshape{}}
	mv := &modelValidator{ops: make(map[string]*vshape, len(m.Operations))}
	for name, op := range m.Operations {
		if op.Input == nil || op.Input.Shape == "" {
			mv.ops[name] = &vshape{kind: vStruct}
			continue
		}
		mv.ops[name] = c.shape(op.Input.Shape)
	}
	return mv
}

type compiler struct {
	m    *Model
	done map[string]*vshape
}

func (c *compiler) shape(name string) *vshape {
	if v, ok := c.done[name]; ok {
		return v
	}
	v := &vshape{kind: vAny}
	c.done[name] = v // before recursing: shapes may refer to themselves
	s := c.m.Shapes[name]
	if s == nil {
		return v
	}
	switch s.Type {
	case "structure":
		v.kind = vStruct
		v.members = make(map[string]*vmember, len(s.Members))
		req := make(map[string]bool, len(s.Required))
		for _, r := range s.Required {
			req[r] = true
		}
		for mname, ref := range s.Members {
			mm := &vmember{name: mname, shape: c.shape(ref.Shape), reqIdx: -1}
			v.members[mname] = mm
			v.all = append(v.all, mm)
		}
		sort.Slice(v.all, func(i, j int) bool { return v.all[i].name < v.all[j].name })
		for _, mm := range v.all {
			if req[mm.name] {
				mm.reqIdx = len(v.required)
				v.required = append(v.required, mm)
			}
		}
	case "list":
		v.kind = vList
		v.elem = c.refShape(s.Member)
	case "map":
		v.kind = vMap
		v.key = c.refShape(s.Key)
		v.elem = c.refShape(s.Value)
	case "string":
		v.kind = vString
		if len(s.Enum) > 0 {
			v.enum = make(map[string]struct{}, len(s.Enum))
			for _, e := range s.Enum {
				v.enum[e] = struct{}{}
			}
			v.enumText = "[" + strings.Join(s.Enum, ", ") + "]"
		}
		if s.Pattern != "" {
			// Java and Go agree on the patterns botocore models use
			// (classes, \p{L}, quantifiers); one Go cannot compile is
			// not enforced.
			if re, err := regexp.Compile(`^(?:` + s.Pattern + `)$`); err == nil {
				v.pattern, v.patSource = re, s.Pattern
			}
		}
	case "integer":
		v.kind = vInteger
	case "long":
		v.kind = vLong
	case "double":
		v.kind = vDouble
	case "float":
		v.kind = vFloat
	case "boolean":
		v.kind = vBoolean
	case "timestamp":
		v.kind = vTimestamp
	case "blob":
		v.kind = vBlob
	}
	if s.Min != nil {
		v.min, v.hasMin = *s.Min, true
	}
	if s.Max != nil {
		v.max, v.hasMax = *s.Max, true
	}
	return v
}

func (c *compiler) refShape(r *ShapeRef) *vshape {
	if r == nil {
		return &vshape{kind: vAny}
	}
	return c.shape(r.Shape)
}

// --- the walker: one pass over the body, directed by the shape --------------

type pathSeg struct {
	name  string // member name or map key
	index int    // > 0: list element (1-based)
	elem  bool   // list element or map value: rendered as "<name|index>.member"
}

type walker struct {
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
			if w.pos < len(w.data) && w.data[w.pos] == 'n' {
				if !w.literal("null") {
					return false
				}
				w.fail("null", "Member must not be null")
			} else if !w.value(s.elem) {
				return false
			}
			w.path = w.path[:len(w.path)-1]
			w.skipSpace()
			if w.pos >= len(w.data) {
				return w.syntax("Unexpected end-of-input: expected close marker for ARRAY")
			}
			if w.data[w.pos] == ',' {
				w.pos++
				continue
			}
			if w.data[w.pos] == ']' {
				w.pos++
				break
			}
			return w.unexpected("was expecting comma to separate ARRAY entries")
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
			if w.pos < len(w.data) && w.data[w.pos] == 'n' {
				if !w.literal("null") {
					return false
				}
				w.fail("null", "Member must not be null")
			} else if !w.value(s.elem) {
				return false
			}
			w.path = w.path[:len(w.path)-1]
			w.skipSpace()
			if w.pos >= len(w.data) {
				return w.syntax("Unexpected end-of-input: expected close marker for OBJECT")
			}
			if w.data[w.pos] == ',' {
				w.pos++
				continue
			}
			if w.data[w.pos] == '}' {
				w.pos++
				break
			}
			return w.unexpected("was expecting comma to separate OBJECT entries")
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
		if seg.index > 0 {
			b.WriteString(strconv.Itoa(seg.index))
		} else {
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
