package awsproto

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/errs"
)

// DecodeQuery turns the form parameters of an AWS Query request into the
// JSON object the operation's input shape describes, the way clients
// serialize it (botocore serialize.QuerySerializer, aws-sdk-go-v2 awsquery):
//
//   - a member's key is its locationName, else its name, after the parent's
//     key and a dot: Matcher.HttpCode=200;
//   - a list's elements are Key.member.N (N from 1; "member" is the list
//     member's locationName when it has one), or Key.N when the list is
//     flattened; "Key=" alone is an empty list;
//   - a map's entries are Key.entry.N.key / Key.entry.N.value (the key and
//     value names from their locationNames; without ".entry" when
//     flattened);
//   - booleans are true/false, numbers are decimal, timestamps ISO 8601 (or
//     epoch seconds) and become JSON epoch seconds, blobs stay base64.
//
// Parameters the shape does not know are ignored, as Action and Version
// are. Elements are ordered by their index; gaps are closed. A value that
// cannot be converted to its member's type is an error of the model's
// validation kind. The result is then checked by Validate like any JSON
// request body.
func (m *Model) DecodeQuery(op string, form url.Values) ([]byte, error) {
	o, ok := m.Operations[op]
	if !ok {
		return nil, errs.New(errs.UnknownOperation, "The action %s is not valid for this web service.", op)
	}
	root := &formNode{}
	for k, vs := range form {
		if len(vs) == 0 || k == "" {
			continue
		}
		root.insert(k, vs[0])
	}
	d := queryDecoder{m: m}
	var b bytes.Buffer
	if o.Input == nil || o.Input.Shape == "" {
		return []byte("{}"), nil
	}
	s := m.Shapes[o.Input.Shape]
	if s == nil || s.Type != "structure" {
		return []byte("{}"), nil
	}
	if !d.structure(&b, s, root) {
		return nil, d.err
	}
	return b.Bytes(), nil
}

// formNode is one dotted segment of the parameter names.
type formNode struct {
	value    *string
	children map[string]*formNode
}

func (n *formNode) insert(key, value string) {
	for {
		seg, rest, more := strings.Cut(key, ".")
		if n.children == nil {
			n.children = map[string]*formNode{}
		}
		c := n.children[seg]
		if c == nil {
			c = &formNode{}
			n.children[seg] = c
		}
		if !more {
			v := value
			c.value = &v
			return
		}
		n, key = c, rest
	}
}

// indexed returns the children whose names are positive integers, ordered
// by that integer.
func (n *formNode) indexed() []*formNode {
	type ix struct {
		i uint64
		n *formNode
	}
	var xs []ix
	for k, c := range n.children {
		i, err := strconv.ParseUint(k, 10, 64)
		if err != nil || i == 0 {
			continue
		}
		xs = append(xs, ix{i, c})
	}
	sort.Slice(xs, func(a, b int) bool { return xs[a].i < xs[b].i })
	out := make([]*formNode, len(xs))
	for i, x := range xs {
		out[i] = x.n
	}
	return out
}

// maxQueryDepth bounds the nesting the decoder follows (recursive shapes).
const maxQueryDepth = 64

type queryDecoder struct {
	m     *Model
	depth int
	path  []string
	err   error
}

func (d *queryDecoder) fail(format string, args ...any) bool {
	code := d.m.ValidationErrorCode
	if code == "" {
		code = errs.Validation
	}
	d.err = errs.New(code, format, args...)
	return false
}

func (d *queryDecoder) pathString() string { return strings.Join(d.path, ".") }

func (d *queryDecoder) structure(b *bytes.Buffer, s *Shape, n *formNode) bool {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxQueryDepth {
		return d.fail("The request nests parameters too deeply.")
	}
	names := make([]string, 0, len(s.Members))
	for name := range s.Members {
		names = append(names, name)
	}
	sort.Strings(names)
	b.WriteByte('{')
	first := true
	for _, name := range names {
		ref := s.Members[name]
		key := name
		if ref.LocationName != "" {
			key = ref.LocationName
		}
		c := n.children[key]
		if c == nil {
			continue
		}
		ms := d.m.Shapes[ref.Shape]
		if ms == nil {
			continue
		}
		mark := b.Len()
		if !first {
			b.WriteByte(',')
		}
		writeJSONString(b, name)
		b.WriteByte(':')
		d.path = append(d.path, lowerFirst(name))
		wrote, ok := d.value(b, ms, &ref, c)
		d.path = d.path[:len(d.path)-1]
		if !ok {
			return false
		}
		if !wrote {
			b.Truncate(mark)
			continue
		}
		first = false
	}
	b.WriteByte('}')
	return true
}

// value writes the JSON for node n of shape s. wrote is false when n holds
// nothing for the shape (the member is then left out).
func (d *queryDecoder) value(b *bytes.Buffer, s *Shape, ref *ShapeRef, n *formNode) (wrote, ok bool) {
	switch s.Type {
	case "structure":
		if len(n.children) == 0 {
			return false, true
		}
		return true, d.structure(b, s, n)
	case "list":
		return d.list(b, s, ref, n)
	case "map":
		return d.mapValue(b, s, ref, n)
	}
	if n.value == nil {
		return false, true
	}
	return true, d.scalar(b, s, *n.value)
}

func (d *queryDecoder) list(b *bytes.Buffer, s *Shape, ref *ShapeRef, n *formNode) (bool, bool) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxQueryDepth {
		return false, d.fail("The request nests parameters too deeply.")
	}
	elems := n
	if !(s.Flattened || ref.Flattened) {
		name := "member"
		if s.Member != nil && s.Member.LocationName != "" {
			name = s.Member.LocationName
		}
		elems = n.children[name]
	}
	if elems == nil {
		if n.value != nil && len(n.children) == 0 {
			b.WriteString("[]") // "Key=": an empty list
			return true, true
		}
		return false, true
	}
	var es *Shape
	if s.Member != nil {
		es = d.m.Shapes[s.Member.Shape]
	}
	b.WriteByte('[')
	for i, c := range elems.indexed() {
		if i > 0 {
			b.WriteByte(',')
		}
		d.path = append(d.path, strconv.Itoa(i+1)+".member")
		var wrote, ok bool
		if es != nil {
			wrote, ok = d.value(b, es, s.Member, c)
		} else {
			ok = true
		}
		d.path = d.path[:len(d.path)-1]
		if !ok {
			return false, false
		}
		if !wrote {
			b.WriteString("null") // Validate reports it as a null member
		}
	}
	b.WriteByte(']')
	return true, true
}

func (d *queryDecoder) mapValue(b *bytes.Buffer, s *Shape, ref *ShapeRef, n *formNode) (bool, bool) {
	entries := n
	if !(s.Flattened || ref.Flattened) {
		entries = n.children["entry"]
	}
	if entries == nil {
		return false, true
	}
	kname, vname := "key", "value"
	if s.Key != nil && s.Key.LocationName != "" {
		kname = s.Key.LocationName
	}
	if s.Value != nil && s.Value.LocationName != "" {
		vname = s.Value.LocationName
	}
	var vs *Shape
	if s.Value != nil {
		vs = d.m.Shapes[s.Value.Shape]
	}
	seen := map[string]bool{}
	b.WriteByte('{')
	first := true
	for _, e := range entries.indexed() {
		k := e.children[kname]
		if k == nil || k.value == nil || seen[*k.value] {
			continue
		}
		v := e.children[vname]
		if v == nil || vs == nil {
			continue
		}
		mark := b.Len()
		if !first {
			b.WriteByte(',')
		}
		writeJSONString(b, *k.value)
		b.WriteByte(':')
		d.path = append(d.path, *k.value+".member")
		wrote, ok := d.value(b, vs, s.Value, v)
		d.path = d.path[:len(d.path)-1]
		if !ok {
			return false, false
		}
		if !wrote {
			b.Truncate(mark)
			continue
		}
		seen[*k.value] = true
		first = false
	}
	b.WriteByte('}')
	return true, true
}

func (d *queryDecoder) scalar(b *bytes.Buffer, s *Shape, v string) bool {
	switch s.Type {
	case "string", "blob", "":
		writeJSONString(b, v)
	case "boolean":
		switch strings.ToLower(v) {
		case "true":
			b.WriteString("true")
		case "false":
			b.WriteString("false")
		default:
			return d.fail("Value '%s' at '%s' failed to satisfy constraint: Member must be a boolean (true or false)", clip(v), d.pathString())
		}
	case "integer", "long":
		bits := 32
		if s.Type == "long" {
			bits = 64
		}
		i, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits)
		if err != nil {
			return d.fail("Value '%s' at '%s' failed to satisfy constraint: Member must be an integer", clip(v), d.pathString())
		}
		b.WriteString(strconv.FormatInt(i, 10))
	case "double", "float":
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return d.fail("Value '%s' at '%s' failed to satisfy constraint: Member must be a number", clip(v), d.pathString())
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case "timestamp":
		t, ok := parseQueryTime(v)
		if !ok {
			return d.fail("Value '%s' at '%s' failed to satisfy constraint: Member must be a timestamp in ISO 8601 format", clip(v), d.pathString())
		}
		b.WriteString(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
	default:
		writeJSONString(b, v)
	}
	return true
}

// parseQueryTime reads ISO 8601 (what clients send) or epoch seconds.
func parseQueryTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e11 {
		return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), true
	}
	return time.Time{}, false
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // strings always encode; invalid UTF-8 becomes U+FFFD
	b.Write(enc)
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+('a'-'A')) + s[1:]
}
