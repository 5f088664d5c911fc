package ecs

// The cluster query language (CQL) of memberOf placement constraints and of
// ListContainerInstances filters. This file depends on nothing else in the
// package so it can move to internal/sched/cql unchanged.
//
//	expr      := orExpr
//	orExpr    := andExpr { ("||" | "or") andExpr }
//	andExpr   := unary   { ("&&" | "and") unary }
//	unary     := ("!" | "not") unary | "(" expr ")" | predicate
//	predicate := subject operator [argument]
//	argument  := VALUE | "[" VALUE { "," VALUE } "]"
//
// AWS documents no precedence; here not binds tightest, then and, then or.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// cqlTarget is what an expression is evaluated against: one container
// instance. TaskGroups holds the groups of the instance's active tasks; it is
// only consulted by task:group predicates.
type cqlTarget struct {
	Attributes        map[string]string // name → value ("" for name-only attributes)
	EC2InstanceID     string
	AgentConnected    bool
	AgentVersion      string
	RegisteredAt      time.Time
	RunningTasksCount int
	TaskGroups        map[string]bool
}

// cqlExpr is a parsed expression.
type cqlExpr interface {
	eval(t *cqlTarget) bool
	// usesTaskGroups reports whether evaluation needs cqlTarget.TaskGroups.
	usesTaskGroups() bool
}

// cqlSyntaxError says where and why an expression is malformed.
type cqlSyntaxError struct {
	Pos int // byte offset into the expression
	Msg string
}

func (e *cqlSyntaxError) Error() string {
	return fmt.Sprintf("%s at position %d", e.Msg, e.Pos)
}

// parseCQL parses an expression. The error, if any, is a *cqlSyntaxError.
func parseCQL(src string) (cqlExpr, error) {
	toks, err := cqlLex(src)
	if err != nil {
		return nil, err
	}
	p := &cqlParser{toks: toks, src: src}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errAt(t, "unexpected %q", t.text)
	}
	return e, nil
}

// ---- lexer ----

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokQuoted
	tokOp // comparison operator in symbol form
	tokNot
	tokAnd
	tokOr
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
	tokComma
)

type cqlToken struct {
	kind tokKind
	text string
	pos  int
}

var cqlSymbolOps = []string{"!exists", "!in", "==", "!=", "=~", "!~", ">=", "<=", ">", "<", "&&", "||"}

func cqlLex(s string) ([]cqlToken, error) {
	var toks []cqlToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("()[],", c) >= 0:
			toks = append(toks, cqlToken{kind: punctKind(c), text: string(c), pos: i})
			i++
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, &cqlSyntaxError{Pos: i, Msg: "unterminated quoted value"}
			}
			toks = append(toks, cqlToken{kind: tokQuoted, text: s[i+1 : i+1+end], pos: i})
			i += end + 2
		default:
			t, n := lexOpOrWord(s, i)
			toks = append(toks, t)
			i += n
		}
	}
	return append(toks, cqlToken{kind: tokEOF, pos: len(s)}), nil
}

func punctKind(c byte) tokKind {
	switch c {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case '[':
		return tokLBracket
	case ']':
		return tokRBracket
	}
	return tokComma
}

func lexOpOrWord(s string, i int) (cqlToken, int) {
	for _, op := range cqlSymbolOps {
		if strings.HasPrefix(s[i:], op) && (op[0] != '!' || len(op) == 2 || wordEnds(s, i+len(op))) {
			switch op {
			case "&&":
				return cqlToken{kind: tokAnd, text: op, pos: i}, 2
			case "||":
				return cqlToken{kind: tokOr, text: op, pos: i}, 2
			}
			return cqlToken{kind: tokOp, text: op, pos: i}, len(op)
		}
	}
	if s[i] == '!' {
		return cqlToken{kind: tokNot, text: "!", pos: i}, 1
	}
	j := i
	for j < len(s) && !wordStops(s, j) {
		j++
	}
	if j == i { // a stray '=': let the parser report it
		j++
	}
	w := s[i:j]
	switch strings.ToLower(w) {
	case "and":
		return cqlToken{kind: tokAnd, text: w, pos: i}, j - i
	case "or":
		return cqlToken{kind: tokOr, text: w, pos: i}, j - i
	case "not":
		return cqlToken{kind: tokNot, text: w, pos: i}, j - i
	}
	return cqlToken{kind: tokWord, text: w, pos: i}, j - i
}

// wordEnds reports whether position j ends a word (so "!exists" is not the
// start of "!existsfoo").
func wordEnds(s string, j int) bool {
	return j >= len(s) || strings.IndexByte(" \t\n\r()[],'\"", s[j]) >= 0
}

// wordStops reports whether a bare word ends before s[j]: at white space,
// punctuation, quotes, and comparison operators written without spaces.
func wordStops(s string, j int) bool {
	if wordEnds(s, j) {
		return true
	}
	switch s[j] {
	case '=', '<', '>':
		return true
	case '!':
		return j+1 < len(s) && (s[j+1] == '=' || s[j+1] == '~')
	case '&':
		return strings.HasPrefix(s[j:], "&&")
	case '|':
		return strings.HasPrefix(s[j:], "||")
	}
	return false
}

// ---- parser ----

type cqlParser struct {
	toks []cqlToken
	i    int
	src  string
}

func (p *cqlParser) peek() cqlToken { return p.toks[p.i] }
func (p *cqlParser) next() cqlToken {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *cqlParser) errAt(t cqlToken, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if t.kind == tokEOF {
		msg = "unexpected end of expression"
	}
	return &cqlSyntaxError{Pos: t.pos, Msg: msg}
}

func (p *cqlParser) or() (cqlExpr, error) {
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
		l = cqlOr{l, r}
	}
	return l, nil
}

func (p *cqlParser) and() (cqlExpr, error) {
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
		l = cqlAnd{l, r}
	}
	return l, nil
}

func (p *cqlParser) unary() (cqlExpr, error) {
	switch t := p.peek(); t.kind {
	case tokNot:
		p.next()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return cqlNot{e}, nil
	case tokLParen:
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, p.errAt(c, "expected ')' but found %q", c.text)
		}
		return e, nil
	case tokWord:
		return p.predicate()
	default:
		return nil, p.errAt(t, "expected a subject but found %q", t.text)
	}
}

// cqlWordOps maps word-form operators to their symbol form.
var cqlWordOps = map[string]string{
	"equals": "==", "not_equals": "!=", "greater_than": ">", "greater_than_equal": ">=",
	"less_than": "<", "less_than_equal": "<=", "exists": "exists", "not_exists": "!exists",
	"in": "in", "not_in": "!in", "matches": "=~", "not_matches": "!~",
}

func (p *cqlParser) predicate() (cqlExpr, error) {
	st := p.next()
	subj, err := parseSubject(st)
	if err != nil {
		return nil, err
	}
	ot := p.next()
	op := ot.text
	if ot.kind == tokWord {
		op = cqlWordOps[strings.ToLower(ot.text)]
	} else if ot.kind != tokOp {
		op = ""
	}
	if op == "" {
		return nil, p.errAt(ot, "expected an operator after %q but found %q", st.text, ot.text)
	}
	if !subj.allows(op) {
		return nil, &cqlSyntaxError{Pos: ot.pos, Msg: fmt.Sprintf("operator %q cannot be used with %s", ot.text, st.text)}
	}
	pr := &cqlPredicate{subj: subj, op: op}
	if err := p.argument(pr, ot); err != nil {
		return nil, err
	}
	return pr, nil
}

func (p *cqlParser) argument(pr *cqlPredicate, opTok cqlToken) error {
	switch pr.op {
	case "exists", "!exists":
		return nil
	case "in", "!in":
		vals, err := p.list()
		if err != nil {
			return err
		}
		pr.args = vals
	default:
		v := p.next()
		if v.kind != tokWord && v.kind != tokQuoted {
			return p.errAt(v, "expected a value after %q but found %q", opTok.text, v.text)
		}
		pr.args = []cqlToken{v}
	}
	return pr.compile()
}

func (p *cqlParser) list() ([]cqlToken, error) {
	if t := p.next(); t.kind != tokLBracket {
		return nil, p.errAt(t, "expected '[' but found %q", t.text)
	}
	var vals []cqlToken
	for {
		v := p.next()
		if v.kind != tokWord && v.kind != tokQuoted {
			return nil, p.errAt(v, "expected a value in the list but found %q", v.text)
		}
		vals = append(vals, v)
		switch t := p.next(); t.kind {
		case tokComma:
		case tokRBracket:
			return vals, nil
		default:
			return nil, p.errAt(t, "expected ',' or ']' but found %q", t.text)
		}
	}
}

// ---- subjects ----

type cqlSubjectKind int

const (
	subjAttribute cqlSubjectKind = iota
	subjTaskGroup
	subjAgentConnected
	subjAgentVersion
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasksCount
)

type cqlSubject struct {
	kind cqlSubjectKind
	attr string // attribute name for subjAttribute
}

var cqlSubjects = map[string]cqlSubjectKind{
	"task:group": subjTaskGroup, "agentconnected": subjAgentConnected, "agentversion": subjAgentVersion,
	"ec2instanceid": subjEC2InstanceID, "registeredat": subjRegisteredAt, "runningtaskscount": subjRunningTasksCount,
}

func parseSubject(t cqlToken) (cqlSubject, error) {
	if name, ok := strings.CutPrefix(t.text, "attribute:"); ok {
		if name == "" {
			return cqlSubject{}, &cqlSyntaxError{Pos: t.pos, Msg: "attribute name missing after \"attribute:\""}
		}
		return cqlSubject{kind: subjAttribute, attr: name}, nil
	}
	k, ok := cqlSubjects[strings.ToLower(t.text)]
	if !ok {
		return cqlSubject{}, &cqlSyntaxError{Pos: t.pos, Msg: fmt.Sprintf("unknown subject %q", t.text)}
	}
	return cqlSubject{kind: k}, nil
}

func (s cqlSubject) allows(op string) bool {
	const (
		eq      = "== != in !in =~ !~"
		ordered = "== != > >= < <="
	)
	switch s.kind {
	case subjAttribute:
		return true
	case subjAgentVersion, subjRegisteredAt, subjRunningTasksCount:
		return strings.Contains(" "+ordered+" ", " "+op+" ")
	}
	return strings.Contains(" "+eq+" ", " "+op+" ")
}

// ---- predicates ----

type cqlPredicate struct {
	subj cqlSubject
	op   string
	args []cqlToken
	re   *regexp.Regexp // =~ and !~
	num  int64          // runningTasksCount
	when time.Time      // registeredAt
	day  bool           // registeredAt given as a date only
	flag bool           // agentConnected (== and !=)
}

// compile checks and pre-parses the arguments so evaluation cannot fail.
func (pr *cqlPredicate) compile() error {
	if pr.op == "=~" || pr.op == "!~" {
		re, err := regexp.Compile("^(?:" + pr.args[0].text + ")$")
		if err != nil {
			return &cqlSyntaxError{Pos: pr.args[0].pos, Msg: fmt.Sprintf("invalid pattern %q", pr.args[0].text)}
		}
		pr.re = re
	}
	for _, a := range pr.args {
		if err := pr.checkValue(a); err != nil {
			return err
		}
	}
	return nil
}

func (pr *cqlPredicate) checkValue(a cqlToken) error {
	bad := func(what string) error {
		return &cqlSyntaxError{Pos: a.pos, Msg: fmt.Sprintf("%q is not %s", a.text, what)}
	}
	switch pr.subj.kind {
	case subjRunningTasksCount:
		n, err := strconv.ParseInt(a.text, 10, 64)
		if err != nil {
			return bad("an integer")
		}
		pr.num = n
	case subjRegisteredAt:
		t, day, ok := parseCQLTime(a.text)
		if !ok {
			return bad("a date (for example 2018-06-18 or 2018-06-18T22:28:28Z)")
		}
		pr.when, pr.day = t, day
	case subjAgentConnected:
		if pr.re != nil {
			return nil
		}
		b, err := strconv.ParseBool(a.text)
		if err != nil {
			return bad("true or false")
		}
		pr.flag = b
	}
	return nil
}

func parseCQLTime(s string) (t time.Time, day bool, ok bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, false, true
		}
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, true
	}
	return time.Time{}, false, false
}

func (pr *cqlPredicate) usesTaskGroups() bool { return pr.subj.kind == subjTaskGroup }

func (pr *cqlPredicate) eval(t *cqlTarget) bool {
	switch pr.subj.kind {
	case subjAttribute:
		v, ok := t.Attributes[pr.subj.attr]
		return pr.evalString(v, ok)
	case subjTaskGroup:
		return pr.evalGroups(t.TaskGroups)
	case subjEC2InstanceID:
		return pr.evalString(t.EC2InstanceID, true)
	case subjAgentConnected:
		if pr.re != nil || pr.op == "in" || pr.op == "!in" {
			return pr.evalString(strconv.FormatBool(t.AgentConnected), true)
		}
		return (t.AgentConnected == pr.flag) == (pr.op == "==")
	case subjAgentVersion:
		return cmpHolds(pr.op, compareVersions(t.AgentVersion, pr.args[0].text))
	case subjRunningTasksCount:
		return cmpHolds(pr.op, compareInts(int64(t.RunningTasksCount), pr.num))
	case subjRegisteredAt:
		return cmpHolds(pr.op, pr.compareTime(t.RegisteredAt))
	}
	return false
}

// evalString applies the operator to a string subject; present is false when
// an attribute is absent, which only the negative operators accept.
func (pr *cqlPredicate) evalString(v string, present bool) bool {
	switch pr.op {
	case "exists":
		return present
	case "!exists":
		return !present
	case "!=", "!in", "!~":
		return !present || !pr.matchString(v)
	}
	return present && pr.matchString(v)
}

// matchString is the positive form of the operator (== for !=, in for !in).
func (pr *cqlPredicate) matchString(v string) bool {
	switch pr.op {
	case "==", "!=":
		return v == pr.args[0].text
	case "in", "!in":
		for _, a := range pr.args {
			if v == a.text {
				return true
			}
		}
		return false
	case "=~", "!~":
		return pr.re.MatchString(v)
	}
	return cmpHolds(pr.op, compareValues(v, pr.args[0].text))
}

func (pr *cqlPredicate) evalGroups(groups map[string]bool) bool {
	found := false
	for g := range groups {
		if pr.matchString(g) {
			found = true
			break
		}
	}
	switch pr.op {
	case "!=", "!in", "!~":
		return !found
	}
	return found
}

func (pr *cqlPredicate) compareTime(at time.Time) int {
	if pr.day {
		y, m, d := at.UTC().Date()
		at = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return at.Compare(pr.when)
}

func cmpHolds(op string, c int) bool {
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

func compareInts(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareValues orders attribute values numerically when both are numbers,
// else lexically (AWS does not document which it does).
func compareValues(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// compareVersions orders dotted versions part by part, numerically where
// both parts are numbers ("1.14.5" < "1.100.0").
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if c := compareValues(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// ---- boolean nodes ----

type cqlAnd struct{ l, r cqlExpr }
type cqlOr struct{ l, r cqlExpr }
type cqlNot struct{ e cqlExpr }

func (e cqlAnd) eval(t *cqlTarget) bool { return e.l.eval(t) && e.r.eval(t) }
func (e cqlOr) eval(t *cqlTarget) bool  { return e.l.eval(t) || e.r.eval(t) }
func (e cqlNot) eval(t *cqlTarget) bool { return !e.e.eval(t) }

func (e cqlAnd) usesTaskGroups() bool { return e.l.usesTaskGroups() || e.r.usesTaskGroups() }
func (e cqlOr) usesTaskGroups() bool  { return e.l.usesTaskGroups() || e.r.usesTaskGroups() }
func (e cqlNot) usesTaskGroups() bool { return e.e.usesTaskGroups() }
