package cql

import (
	"fmt"
	"strings"
)

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokOr {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokAnd {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) unary() (node, error) {
	switch t := p.peek(); t.kind {
	case tokNot:
		p.next()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{e}, nil
	case tokLParen:
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, p.errAt(c, "expected \")\" to close the \"(\" at position %d but found %s", t.pos, c.describe())
		}
		return e, nil
	case tokWord:
		return p.predicate()
	default:
		return nil, p.errAt(t, "expected a subject (attribute:<name>, task:group, agentConnected, agentVersion, ec2InstanceId, registeredAt or runningTasksCount), \"not\" or \"(\" but found %s", t.describe())
	}
}

// wordOps maps word-form operators to their symbol form.
var wordOps = map[string]string{
	"equals": "==", "not_equals": "!=", "greater_than": ">", "greater_than_equal": ">=",
	"less_than": "<", "less_than_equal": "<=", "exists": "exists", "not_exists": "!exists",
	"in": "in", "not_in": "!in", "matches": "=~", "not_matches": "!~",
}

func (p *parser) predicate() (node, error) {
	st := p.next()
	subj, err := parseSubject(st)
	if err != nil {
		return nil, err
	}
	ot := p.next()
	op := ""
	switch ot.kind {
	case tokWord:
		op = wordOps[strings.ToLower(ot.text)]
	case tokOp:
		op = ot.text
	}
	if op == "" {
		return nil, p.errAt(ot, "expected an operator after %q (%s) but found %s", st.text, subj.opList(), ot.describe())
	}
	if !subj.allows(op) {
		return nil, p.errAt(ot, "operator %q cannot be used with %s; expected one of %s", ot.text, st.text, subj.opList())
	}
	pr := &predicate{subj: subj, op: op}
	if err := p.argument(pr, ot); err != nil {
		return nil, err
	}
	return pr, nil
}

func (p *parser) argument(pr *predicate, opTok token) error {
	switch pr.op {
	case "exists", "!exists":
		return nil
	case "in", "!in":
		vals, err := p.list(opTok)
		if err != nil {
			return err
		}
		pr.args = vals
	default:
		v := p.next()
		if !v.isValue() {
			return p.errAt(v, "expected a value after %q but found %s%s", opTok.text, v.describe(), quoteHint(pr.op, v))
		}
		pr.args = []token{v}
		if err := p.checkPatternEnd(pr.op, v); err != nil {
			return err
		}
	}
	return pr.compile()
}

// checkPatternEnd catches a bare pattern cut short by a bracket or
// parenthesis written right after it ("a(b|c)").
func (p *parser) checkPatternEnd(op string, v token) error {
	n := p.peek()
	if v.kind != tokWord || (op != "=~" && op != "!~") || n.pos != v.pos+len(v.text) {
		return nil
	}
	if n.kind == tokLParen || n.kind == tokLBracket {
		return p.errAt(n, "expected the end of the pattern but found %s%s", n.describe(), quoteHint(op, n))
	}
	return nil
}

// quoteHint suggests quoting when a pattern was cut short by punctuation.
func quoteHint(op string, v token) string {
	if (op == "=~" || op == "!~") && v.kind != tokEOF {
		return " (quote a pattern that contains spaces, commas, brackets or parentheses: 'a(b|c)')"
	}
	return ""
}

func (p *parser) list(opTok token) ([]token, error) {
	if t := p.next(); t.kind != tokLBracket {
		return nil, p.errAt(t, "expected a list such as [a, b] after %q but found %s", opTok.text, t.describe())
	}
	var vals []token
	for {
		v := p.next()
		if !v.isValue() {
			return nil, p.errAt(v, "expected a value in the list but found %s", v.describe())
		}
		vals = append(vals, v)
		switch t := p.next(); t.kind {
		case tokComma:
		case tokRBracket:
			return vals, nil
		default:
			return nil, p.errAt(t, "expected \",\" or \"]\" in the list but found %s", t.describe())
		}
	}
}

// ---- subjects ----

type subjectKind int

const (
	subjAttribute subjectKind = iota
	subjTaskGroup
	subjAgentConnected
	subjAgentVersion
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasksCount
)

type subject struct {
	kind subjectKind
	attr string // attribute name for subjAttribute
}

var subjects = map[string]subjectKind{
	"task:group": subjTaskGroup, "agentconnected": subjAgentConnected, "agentversion": subjAgentVersion,
	"ec2instanceid": subjEC2InstanceID, "registeredat": subjRegisteredAt, "runningtaskscount": subjRunningTasksCount,
}

func parseSubject(t token) (subject, error) {
	if name, ok := cutPrefixFold(t.text, "attribute:"); ok {
		if name == "" {
			return subject{}, &SyntaxError{Pos: t.pos + len("attribute:"), Msg: "expected an attribute name after \"attribute:\""}
		}
		return subject{kind: subjAttribute, attr: name}, nil
	}
	k, ok := subjects[strings.ToLower(t.text)]
	if !ok {
		return subject{}, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("unknown subject %q; expected attribute:<name>, task:group, agentConnected, agentVersion, ec2InstanceId, registeredAt or runningTasksCount", t.text)}
	}
	return subject{kind: k}, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

const (
	equalityOps = "==, !=, in, not_in, =~, !~"
	orderedOps  = "==, !=, >, >=, <, <="
	allOps      = "==, !=, >, >=, <, <=, exists, !exists, in, not_in, =~, !~"
)

// opList names the operators the subject accepts.
func (s subject) opList() string {
	switch s.kind {
	case subjAttribute:
		return allOps
	case subjAgentVersion, subjRegisteredAt, subjRunningTasksCount:
		return orderedOps
	}
	return equalityOps
}

func (s subject) allows(op string) bool {
	list := s.opList()
	if op == "!in" {
		op = "not_in"
	}
	for _, o := range strings.Split(list, ", ") {
		if o == op {
			return true
		}
	}
	return false
}
