package cql

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testTarget() *Target {
	return &Target{
		Attributes: map[string]string{
			"ecs.instance-type":     "t2.small",
			"ecs.availability-zone": "us-east-1a",
			"stack":                 "prod",
			"gpu":                   "",
			"slots":                 "12",
			"label":                 "Web Tier",
		},
		EC2Instance:  "i-abcd1234",
		Connected:    true,
		Version:      "1.14.5",
		Registered:   time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC),
		RunningTasks: 1,
		TaskGroups:   map[string]bool{"databases": true, "service:api": true},
	}
}

func TestEval(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		// examples of the developer guide
		{"attribute:ecs.instance-type == t2.small", true},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", false},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", true},
		{"runningTasksCount == 1", true},
		{"registeredAt < 2018-02-13", false},
		{"attribute:stack exists", true},
		{"task:group == databases", true},
		{"not(task:group == databases)", false},
		// operators in both forms
		{"attribute:ecs.instance-type==t2.small", true},
		{"attribute:ecs.instance-type equals t2.small", true},
		{"attribute:ecs.instance-type EQUALS t2.small", true},
		{"attribute:ecs.instance-type != t2.small", false},
		{"attribute:ecs.instance-type not_equals t2.micro", true},
		{"attribute:slots > 9", true}, // numeric, not lexical
		{"attribute:slots greater_than 12", false},
		{"attribute:slots >= 12", true},
		{"attribute:slots greater_than_equal 13", false},
		{"attribute:slots < 100", true},
		{"attribute:slots less_than 12", false},
		{"attribute:slots <= 11", false},
		{"attribute:slots less_than_equal 12", true},
		{"attribute:stack > abc", true}, // lexical when not numbers
		{"attribute:stack == 'prod'", true},
		{`attribute:stack == "prod"`, true},
		{"attribute:label == 'Web Tier'", true},
		{"attribute:missing == x", false},
		{"attribute:missing != x", true},
		{"attribute:missing > 1", false},
		{"attribute:gpu exists", true},
		{"attribute:missing exists", false},
		{"attribute:missing !exists", true},
		{"attribute:stack not_exists", false},
		{"attribute:ecs.availability-zone in [us-east-1c]", false},
		{"attribute:ecs.availability-zone not_in [us-east-1c, us-east-1d]", true},
		{"attribute:ecs.availability-zone !in [us-east-1a]", false},
		{"attribute:missing not_in [a]", true},
		{"attribute:ecs.instance-type =~ t2.*", true},
		{"attribute:ecs.instance-type =~ t2", false}, // whole value
		{"attribute:ecs.instance-type matches 't2\\.(small|micro)'", true},
		{"attribute:ecs.instance-type !~ g2.*", true},
		{"attribute:ecs.instance-type not_matches t2.*", false},
		{"attribute:stack =~ '\\p{Lower}+'", true},
		{"attribute:stack =~ '[\\p{Upper}]+'", false},
		{"attribute:stack =~ '\\P{Digit}+'", true},
		{"attribute:stack =~ '(?i)PROD'", true},
		{"attribute:label =~ 'Web\\hTier'", true},
		{"attribute:missing !~ x", true},
		// boolean structure and precedence: not > and > or
		{"attribute:stack == prod or attribute:stack == dev", true},
		{"attribute:stack == dev || attribute:stack == qa", false},
		{"attribute:stack == prod && attribute:gpu !exists", false},
		{"attribute:stack == prod AND attribute:gpu exists", true},
		{"not attribute:stack == dev", true},
		{"!(attribute:stack == prod)", false},
		{"! attribute:stack == prod or runningTasksCount == 1", true},
		{"not not attribute:stack == prod", true},
		{"(attribute:stack == dev or attribute:stack == prod) and runningTasksCount == 1", true},
		{"attribute:stack == dev or attribute:stack == prod and runningTasksCount == 2", false},
		{"attribute:stack == prod or attribute:stack == dev and runningTasksCount == 2", true},
		{"((attribute:stack == prod))", true},
		{"attribute:x == and", false}, // "and" as a value
		// task:group
		{"task:group != webs", true},
		{"task:group != databases", false},
		{"task:group in [webs, databases]", true},
		{"task:group not_in [webs, databases]", false},
		{"task:group =~ 'service:.*'", true},
		{"task:group !~ 'family:.*'", true},
		// other subjects
		{"ec2InstanceId == i-wxyx7890", false},
		{"ec2InstanceId =~ i-abcd.*", true},
		{"ec2InstanceId != i-wxyx7890", true},
		{"runningTasksCount >= 1", true},
		{"runningTasksCount < 1", false},
		{"runningTasksCount != 0", true},
		{"agentConnected == true", true},
		{"agentConnected != true", false},
		{"agentConnected == false", false},
		{"agentConnected in [true]", true},
		{"agentConnected =~ 't.*'", true},
		{"agentVersion < 1.100.0", true},
		{"agentVersion < 1.14.10", true},
		{"agentVersion >= 1.14.5", true},
		{"agentVersion > 1.14.5", false},
		{"agentVersion == 1.14.5.0", true},
		{"agentVersion != 1.14", true},
		{"agentVersion <= v1.14.5", true},
		{"registeredAt < 2018-06-19", true},
		{"registeredAt == 2018-06-18", true},
		{"registeredAt != 2018-06-18", false},
		{"registeredAt > 2018-06-17", true},
		{"registeredAt > 2018-06-18T22:28:28Z", false},
		{"registeredAt >= 2018-06-18T22:28:28+00:00", true},
		{"registeredAt < 2018-06-18T23:28:28+01:00", false}, // the same instant
		{"registeredAt < 2018-06-18T22:28:29", true},
		{"registeredAt <= 2018-06-18T22:28:28", true},
		// subjects are case-insensitive
		{"RunningTasksCount == 1 and EC2INSTANCEID == i-abcd1234", true},
	}
	for _, c := range cases {
		e, err := Parse(c.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.expr, err)
			continue
		}
		if got := e.Eval(testTarget()); got != c.want {
			t.Errorf("%q = %v, want %v", c.expr, got, c.want)
		}
		if e.String() != c.expr {
			t.Errorf("String() = %q", e.String())
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		expr string
		pos  int
		msg  string // a part of the message
	}{
		{"", 0, "expected a subject"},
		{"   ", 3, "found the end of the expression"},
		{"attribute:stack", 15, "expected an operator after \"attribute:stack\""},
		{"attribute:stack ==", 18, "expected a value after \"==\""},
		{"attribute:stack == prod and", 27, "expected a subject"},
		{"attribute:stack == prod)", 23, "expected \"and\", \"or\" or the end"},
		{"(attribute:stack == prod", 24, "expected \")\" to close the \"(\" at position 0"},
		{"attribute: == x", 10, "expected an attribute name"},
		{"color == red", 0, "unknown subject \"color\""},
		{"attribute:stack in prod", 19, "expected a list such as [a, b]"},
		{"attribute:stack in [a, ]", 23, "expected a value in the list"},
		{"attribute:stack in [a b]", 22, "expected \",\" or \"]\""},
		{"attribute:stack in [a", 21, "expected a value in the list"[:0] + "expected \",\" or \"]\""},
		{"attribute:stack == 'prod", 19, "expected a closing '"},
		{"runningTasksCount == many", 21, "expected an integer"},
		{"runningTasksCount =~ 1", 18, "cannot be used with runningTasksCount"},
		{"runningTasksCount exists", 18, "cannot be used"},
		{"agentConnected == maybe", 18, "expected true or false"},
		{"agentConnected > true", 15, "cannot be used with agentConnected"},
		{"agentVersion == latest", 16, "expected a version"},
		{"agentVersion in [1.0]", 13, "cannot be used"},
		{"registeredAt < yesterday", 15, "expected a date"},
		{"registeredAt < 2018-13-45", 15, "expected a date"},
		{"ec2InstanceId > i-1", 14, "cannot be used with ec2InstanceId"},
		{"task:group exists", 11, "cannot be used with task:group"},
		{"attribute:x =~ 'a('", 15, "expected a regular expression"},
		{"attribute:x =~ a(b)", 16, "quote a pattern"},
		{"attribute:x =~ [ab]", 15, "quote a pattern"},
		{"attribute:x =~ 'a(?=b)'", 17, "look-ahead"},
		{"attribute:x =~ '(?<!a)b'", 16, "look-behind"},
		{"attribute:x =~ '(a)\\1'", 19, "back-reference"},
		{"attribute:x =~ 'a*+'", 18, "possessive"},
		{"attribute:x =~ '(?>a)'", 16, "atomic group"},
		{"attribute:x =~ '[a-z&&[^e]]'", 20, "intersection"},
		{"attribute:stack == prod attribute:x exists", 24, "expected \"and\", \"or\""},
		{"attribute:stack = prod", 16, "expected an operator"},
		{"attribute:stack == prod or or", 27, "expected a subject"},
		{"not", 3, "expected a subject"},
		{"()", 1, "expected a subject"},
		{"attribute:a == b && || attribute:c == d", 20, "expected a subject"},
		{strings.Repeat("a", 2001), 2000, "at most 2000"},
	}
	for _, c := range cases {
		_, err := Parse(c.expr)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a syntax error", c.expr, err)
			continue
		}
		if se.Pos != c.pos || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("Parse(%q) = %q at %d, want %q at %d", c.expr, se.Msg, se.Pos, c.msg, c.pos)
		}
		if !strings.HasSuffix(se.Error(), "at position "+itoa(c.pos)) {
			t.Errorf("Error() = %q", se.Error())
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestMaxLength(t *testing.T) {
	long := "attribute:a == " + strings.Repeat("x", MaxLen-len("attribute:a == "))
	if _, err := Parse(long); err != nil {
		t.Errorf("an expression of exactly %d characters: %v", MaxLen, err)
	}
}

func TestDynamicAndGroups(t *testing.T) {
	for expr, want := range map[string][2]bool{
		"attribute:a exists":                                   {false, false},
		"attribute:a exists and not(task:group == x)":          {true, true},
		"task:group == x or runningTasksCount == 0":            {true, true},
		"runningTasksCount > 3":                                {false, true},
		"agentConnected == true and registeredAt < 2020-01-01": {false, false},
	} {
		e := MustParse(expr)
		if got := [2]bool{e.UsesTaskGroups(), e.Dynamic()}; got != want {
			t.Errorf("%q: UsesTaskGroups, Dynamic = %v, want %v", expr, got, want)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of a bad expression did not panic")
		}
	}()
	MustParse("nonsense")
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"attribute:a == b", "not(task:group == x) or runningTasksCount < 2", "a in [b, 'c']", "x =~ '(('"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(s) {
				t.Fatalf("Parse(%q) = %v", s, err)
			}
			return
		}
		e.Eval(testTarget()) // must not panic
	})
}
