package cql

import (
	"fmt"
	"iter"
	"time"
)

// MaxLen is the longest expression AWS accepts.
const MaxLen = 2000

// Instance is what an expression is evaluated against: one container
// instance.
type Instance interface {
	// Attribute returns the value of the named attribute ("" for a
	// name-only attribute) and whether the instance has it.
	Attribute(name string) (value string, ok bool)
	EC2InstanceID() string
	AgentConnected() bool
	AgentVersion() string
	RegisteredAt() time.Time
	RunningTasksCount() int
	// InGroup reports whether the instance runs a task of group.
	InGroup(group string) bool
	// Groups yields the group of each task the instance runs, once each.
	Groups() iter.Seq[string]
}

// Expr is a parsed expression. It is immutable and safe for concurrent use.
type Expr struct {
	src  string
	root node
}

// Eval reports whether in satisfies the expression.
func (e *Expr) Eval(in Instance) bool { return e.root.eval(in) }

// String returns the expression as it was written.
func (e *Expr) String() string { return e.src }

// UsesTaskGroups reports whether evaluation consults the instance's task
// groups (a task:group predicate).
func (e *Expr) UsesTaskGroups() bool { return e.root.uses()&usesGroups != 0 }

// Dynamic reports whether the value can change when tasks are placed on or
// leave an instance (task:group or runningTasksCount predicates). Other
// expressions depend only on what the instance is, not on what it runs.
func (e *Expr) Dynamic() bool { return e.root.uses()&(usesGroups|usesCount) != 0 }

// SyntaxError says where an expression is malformed and what was expected
// there.
type SyntaxError struct {
	Pos int    // byte offset of the problem in the expression (0: its start)
	Msg string // what was found and what was expected
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at position %d", e.Msg, e.Pos)
}

// Parse parses an expression. Its error is always a *SyntaxError.
func Parse(src string) (*Expr, error) {
	if len(src) > MaxLen {
		return nil, &SyntaxError{Pos: MaxLen, Msg: fmt.Sprintf("expression is %d characters long; at most %d are allowed", len(src), MaxLen)}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errAt(t, "expected \"and\", \"or\" or the end of the expression but found %s", t.describe())
	}
	return &Expr{src: src, root: root}, nil
}

// MustParse is Parse for expressions known to be valid; it panics on error.
func MustParse(src string) *Expr {
	e, err := Parse(src)
	if err != nil {
		panic(fmt.Sprintf("cql.MustParse(%q): %v", src, err))
	}
	return e
}

// Target is a plain Instance, for callers that have an instance's fields at
// hand.
type Target struct {
	Attributes   map[string]string // name → value ("" for name-only)
	EC2Instance  string
	Connected    bool
	Version      string
	Registered   time.Time
	RunningTasks int
	TaskGroups   map[string]bool
}

func (t *Target) Attribute(name string) (string, bool) {
	v, ok := t.Attributes[name]
	return v, ok
}
func (t *Target) EC2InstanceID() string     { return t.EC2Instance }
func (t *Target) AgentConnected() bool      { return t.Connected }
func (t *Target) AgentVersion() string      { return t.Version }
func (t *Target) RegisteredAt() time.Time   { return t.Registered }
func (t *Target) RunningTasksCount() int    { return t.RunningTasks }
func (t *Target) InGroup(group string) bool { return t.TaskGroups[group] }
func (t *Target) Groups() iter.Seq[string] {
	return func(yield func(string) bool) {
		for g, in := range t.TaskGroups {
			if in && !yield(g) {
				return
			}
		}
	}
}
