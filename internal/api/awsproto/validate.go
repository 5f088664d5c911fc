package awsproto

import (
	"regexp"
	"sort"
	"strings"
	"sync"

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
	w := walker{data: body, lower: m.Metadata.Protocol == "query"}
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
