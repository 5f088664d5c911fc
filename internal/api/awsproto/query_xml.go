package awsproto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// EncodeQueryResponse renders a handler's output as the XML document of an
// AWS Query response:
//
//	<OpResponse xmlns="<metadata.xmlNamespace>">
//	  <OpResult>…members…</OpResult>        (the output's resultWrapper)
//	  <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata>
//	</OpResponse>
//
// out is first encoded as JSON (so handlers return the same generated types
// they would for a JSON protocol) and then walked along the operation's
// output shape: members are elements named by their locationName or name,
// lists are <member> elements (the list member's locationName when it has
// one; repeated elements when flattened), maps are <entry><key/><value/>
// elements, timestamps ISO 8601 with milliseconds, booleans true/false.
// JSON members the shape does not know are dropped.
func (m *Model) EncodeQueryResponse(op string, out any, requestID string) ([]byte, error) {
	var v any
	if out != nil {
		raw, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	b.WriteString("<" + op + "Response")
	if ns := m.Metadata.XMLNamespace; ns != "" {
		b.WriteString(` xmlns="`)
		escapeXML(&b, ns)
		b.WriteString(`"`)
	}
	b.WriteString(">")
	if o, ok := m.Operations[op]; ok && o.Output != nil && o.Output.Shape != "" {
		if s := m.Shapes[o.Output.Shape]; s != nil {
			obj, _ := v.(map[string]any)
			e := xmlEncoder{m: m, b: &b}
			if w := o.Output.ResultWrapper; w != "" {
				b.WriteString("<" + w + ">")
				e.members(s, obj, 0)
				b.WriteString("</" + w + ">")
			} else {
				e.members(s, obj, 0)
			}
		}
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	escapeXML(&b, requestID)
	b.WriteString("</RequestId></ResponseMetadata></" + op + "Response>")
	return b.Bytes(), nil
}

// QueryErrorXML renders an AWS Query error envelope.
func QueryErrorXML(ns, typ, code, message, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString("<ErrorResponse")
	if ns != "" {
		b.WriteString(` xmlns="`)
		escapeXML(&b, ns)
		b.WriteString(`"`)
	}
	b.WriteString("><Error><Type>")
	escapeXML(&b, typ)
	b.WriteString("</Type><Code>")
	escapeXML(&b, code)
	b.WriteString("</Code><Message>")
	escapeXML(&b, message)
	b.WriteString("</Message></Error><RequestId>")
	escapeXML(&b, requestID)
	b.WriteString("</RequestId></ErrorResponse>")
	return b.Bytes()
}

func escapeXML(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }

type xmlEncoder struct {
	m *Model
	b *bytes.Buffer
}

// maxXMLDepth stops a recursive shape from running away.
const maxXMLDepth = 64

func (e *xmlEncoder) members(s *Shape, obj map[string]any, depth int) {
	if obj == nil || depth > maxXMLDepth {
		return
	}
	names := make([]string, 0, len(s.Members))
	for name := range s.Members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := obj[name]
		if !ok || v == nil {
			continue
		}
		ref := s.Members[name]
		el := name
		if ref.LocationName != "" {
			el = ref.LocationName
		}
		e.value(el, &ref, v, depth+1)
	}
}

// value writes v (of the shape ref names) as element el.
func (e *xmlEncoder) value(el string, ref *ShapeRef, v any, depth int) {
	s := e.m.Shapes[ref.Shape]
	if s == nil || depth > maxXMLDepth {
		return
	}
	switch s.Type {
	case "structure":
		obj, _ := v.(map[string]any)
		e.b.WriteString("<" + el + ">")
		e.members(s, obj, depth)
		e.b.WriteString("</" + el + ">")
	case "list":
		xs, _ := v.([]any)
		if s.Member == nil {
			return
		}
		if s.Flattened || ref.Flattened {
			name := el
			if s.Member.LocationName != "" {
				name = s.Member.LocationName
			}
			for _, x := range xs {
				if x != nil {
					e.value(name, s.Member, x, depth+1)
				}
			}
			return
		}
		name := "member"
		if s.Member.LocationName != "" {
			name = s.Member.LocationName
		}
		e.b.WriteString("<" + el + ">")
		for _, x := range xs {
			if x != nil {
				e.value(name, s.Member, x, depth+1)
			}
		}
		e.b.WriteString("</" + el + ">")
	case "map":
		obj, _ := v.(map[string]any)
		if s.Key == nil || s.Value == nil {
			return
		}
		kname, vname := "key", "value"
		if s.Key.LocationName != "" {
			kname = s.Key.LocationName
		}
		if s.Value.LocationName != "" {
			vname = s.Value.LocationName
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		flat := s.Flattened || ref.Flattened
		if !flat {
			e.b.WriteString("<" + el + ">")
		}
		for _, k := range keys {
			if flat {
				e.b.WriteString("<" + el + ">")
			} else {
				e.b.WriteString("<entry>")
			}
			e.value(kname, s.Key, k, depth+1)
			if obj[k] != nil {
				e.value(vname, s.Value, obj[k], depth+1)
			}
			if flat {
				e.b.WriteString("</" + el + ">")
			} else {
				e.b.WriteString("</entry>")
			}
		}
		if !flat {
			e.b.WriteString("</" + el + ">")
		}
	default:
		e.b.WriteString("<" + el + ">")
		escapeXML(e.b, scalarText(s.Type, v))
		e.b.WriteString("</" + el + ">")
	}
}

func scalarText(typ string, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if typ == "timestamp" {
			if f, err := x.Float64(); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return time.UnixMilli(int64(math.Round(f * 1000))).UTC().Format("2006-01-02T15:04:05.000Z")
			}
		}
		return x.String()
	}
	return fmt.Sprint(v)
}
