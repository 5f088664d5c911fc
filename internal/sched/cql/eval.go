package cql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// uses says which dynamic parts of an instance a node consults.
type uses uint8

const (
	usesGroups uses = 1 << iota
	usesCount
)

type node interface {
	eval(in Instance) bool
	uses() uses
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ e node }

func (n andNode) eval(in Instance) bool { return n.l.eval(in) && n.r.eval(in) }
func (n orNode) eval(in Instance) bool  { return n.l.eval(in) || n.r.eval(in) }
func (n notNode) eval(in Instance) bool { return !n.e.eval(in) }
func (n andNode) uses() uses            { return n.l.uses() | n.r.uses() }
func (n orNode) uses() uses             { return n.l.uses() | n.r.uses() }
func (n notNode) uses() uses            { return n.e.uses() }

// predicate is one "subject operator argument".
type predicate struct {
	subj subject
	op   string
	args []token
	set  map[string]bool // in and !in
	re   *regexp.Regexp  // =~ and !~
	num  int64           // runningTasksCount
	when time.Time       // registeredAt
	day  bool            // registeredAt given as a date only
	flag bool            // agentConnected with == or !=
}

func (pr *predicate) uses() uses {
	switch pr.subj.kind {
	case subjTaskGroup:
		return usesGroups
	case subjRunningTasksCount:
		return usesCount
	}
	return 0
}

// compile checks and pre-parses the arguments so that evaluation cannot
// fail.
func (pr *predicate) compile() error {
	switch pr.op {
	case "=~", "!~":
		re, err := compilePattern(pr.args[0])
		if err != nil {
			return err
		}
		pr.re = re
	case "in", "!in":
		pr.set = make(map[string]bool, len(pr.args))
		for _, a := range pr.args {
			pr.set[a.text] = true
		}
	}
	for _, a := range pr.args {
		if err := pr.checkValue(a); err != nil {
			return err
		}
	}
	return nil
}

func (pr *predicate) checkValue(a token) error {
	bad := func(what string) error {
		return &SyntaxError{Pos: a.pos, Msg: fmt.Sprintf("expected %s but found %s", what, a.describe())}
	}
	switch pr.subj.kind {
	case subjRunningTasksCount:
		n, err := strconv.ParseInt(a.text, 10, 64)
		if err != nil {
			return bad("an integer")
		}
		pr.num = n
	case subjRegisteredAt:
		t, day, ok := parseTime(a.text)
		if !ok {
			return bad("a date such as 2018-06-18, 2018-06-18T22:28:28, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00")
		}
		pr.when, pr.day = t, day
	case subjAgentVersion:
		if !versionRE.MatchString(a.text) {
			return bad("a version such as 1.14.5")
		}
	case subjAgentConnected:
		if pr.re != nil || pr.set != nil {
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

var versionRE = regexp.MustCompile(`^v?[0-9]+(\.[0-9A-Za-z-]+)*$`)

func parseTime(s string) (t time.Time, day bool, ok bool) {
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

func (pr *predicate) eval(in Instance) bool {
	switch pr.subj.kind {
	case subjAttribute:
		v, ok := in.Attribute(pr.subj.attr)
		return pr.evalString(v, ok)
	case subjTaskGroup:
		return pr.evalGroups(in)
	case subjEC2InstanceID:
		return pr.evalString(in.EC2InstanceID(), true)
	case subjAgentConnected:
		if pr.re != nil || pr.set != nil {
			return pr.evalString(strconv.FormatBool(in.AgentConnected()), true)
		}
		return (in.AgentConnected() == pr.flag) == (pr.op == "==")
	case subjAgentVersion:
		return holds(pr.op, compareVersions(in.AgentVersion(), pr.args[0].text))
	case subjRunningTasksCount:
		return holds(pr.op, compareInts(int64(in.RunningTasksCount()), pr.num))
	case subjRegisteredAt:
		return holds(pr.op, pr.compareTime(in.RegisteredAt()))
	}
	return false
}

// negated reports whether the operator is the negative form of another.
func (pr *predicate) negated() bool {
	switch pr.op {
	case "!=", "!in", "!~", "!exists":
		return true
	}
	return false
}

// evalString applies the operator to a string subject; present is false
// when an attribute is absent, which only the negative operators accept.
func (pr *predicate) evalString(v string, present bool) bool {
	switch pr.op {
	case "exists":
		return present
	case "!exists":
		return !present
	}
	if pr.negated() {
		return !present || !pr.match(v)
	}
	return present && pr.match(v)
}

// match is the positive form of the operator (== for !=, in for !in).
func (pr *predicate) match(v string) bool {
	switch pr.op {
	case "==", "!=":
		return v == pr.args[0].text
	case "in", "!in":
		return pr.set[v]
	case "=~", "!~":
		return pr.re.MatchString(v)
	}
	return holds(pr.op, compareValues(v, pr.args[0].text))
}

// evalGroups: task:group == g holds when the instance runs a task of group
// g; task:group != g when it runs none.
func (pr *predicate) evalGroups(in Instance) bool {
	found := false
	switch pr.op {
	case "==", "!=":
		found = in.InGroup(pr.args[0].text)
	case "in", "!in":
		for _, a := range pr.args {
			if in.InGroup(a.text) {
				found = true
				break
			}
		}
	default:
		for g := range in.Groups() {
			if pr.re.MatchString(g) {
				found = true
				break
			}
		}
	}
	return found != pr.negated()
}

func (pr *predicate) compareTime(at time.Time) int {
	if pr.day {
		y, m, d := at.UTC().Date()
		at = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return at.Compare(pr.when)
}

func holds(op string, c int) bool {
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
// both parts are numbers ("1.14.5" < "1.100.0"); a leading "v" is ignored
// and missing parts count as 0.
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
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
