package ecs

import (
	"errors"
	"testing"
	"time"
)

func cqlTestTarget() *cqlTarget {
	return &cqlTarget{
		Attributes: map[string]string{
			"ecs.instance-type":     "t2.small",
			"ecs.availability-zone": "us-east-1a",
			"stack":                 "prod",
			"gpu":                   "",
			"slots":                 "12",
		},
		EC2InstanceID:     "i-abcd1234",
		AgentConnected:    true,
		AgentVersion:      "1.14.5",
		RegisteredAt:      time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC),
		RunningTasksCount: 1,
		TaskGroups:        map[string]bool{"databases": true},
	}
}

func TestCQLEval(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		{"attribute:ecs.instance-type == t2.small", true},
		{"attribute:ecs.instance-type==t2.small", true},
		{"attribute:ecs.instance-type equals t2.small", true},
		{"attribute:ecs.instance-type != t2.small", false},
		{"attribute:stack == 'prod'", true},
		{"attribute:missing == x", false},
		{"attribute:missing != x", true},
		{"attribute:stack exists", true},
		{"attribute:gpu exists", true},
		{"attribute:missing exists", false},
		{"attribute:missing !exists", true},
		{"attribute:stack not_exists", false},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
		{"attribute:ecs.availability-zone in [us-east-1c]", false},
		{"attribute:ecs.availability-zone not_in [us-east-1c, us-east-1d]", true},
		{"attribute:ecs.availability-zone !in [us-east-1a]", false},
		{"attribute:ecs.instance-type =~ t2.*", true},
		{"attribute:ecs.instance-type =~ g2.*", false},
		{"attribute:ecs.instance-type !~ g2.*", true},
		{"attribute:ecs.instance-type matches t2.* and attribute:ecs.availability-zone != us-east-1d", true},
		{"attribute:slots > 9", true}, // numeric, not lexical
		{"attribute:slots <= 11", false},
		{"attribute:stack == prod or attribute:stack == dev", true},
		{"attribute:stack == dev || attribute:stack == qa", false},
		{"attribute:stack == prod && attribute:gpu !exists", false},
		{"not attribute:stack == dev", true},
		{"!(attribute:stack == prod)", false},
		{"not(task:group == databases)", false},
		{"task:group == databases", true},
		{"task:group != webs", true},
		{"task:group in [webs, databases]", true},
		{"(attribute:stack == dev or attribute:stack == prod) and runningTasksCount == 1", true},
		{"attribute:stack == dev or attribute:stack == prod and runningTasksCount == 2", false}, // and binds tighter
		{"attribute:stack == prod or attribute:stack == dev and runningTasksCount == 2", true},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", true},
		{"ec2InstanceId == i-wxyx7890", false},
		{"ec2InstanceId =~ i-abcd.*", true},
		{"runningTasksCount >= 1", true},
		{"runningTasksCount < 1", false},
		{"agentConnected == true", true},
		{"agentConnected != true", false},
		{"agentConnected == false", false},
		{"agentVersion < 1.100.0", true},
		{"agentVersion >= 1.14.5", true},
		{"agentVersion > 1.14.5", false},
		{"registeredAt < 2018-06-19", true},
		{"registeredAt == 2018-06-18", true},
		{"registeredAt > 2018-06-18T22:28:28Z", false},
		{"registeredAt >= 2018-06-18T22:28:28+00:00", true},
		{"registeredAt < 2018-06-18T22:28:29", true},
	}
	for _, c := range cases {
		e, err := parseCQL(c.expr)
		if err != nil {
			t.Errorf("parseCQL(%q): %v", c.expr, err)
			continue
		}
		if got := e.eval(cqlTestTarget()); got != c.want {
			t.Errorf("%q = %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestCQLSyntaxErrors(t *testing.T) {
	cases := []struct {
		expr string
		pos  int
	}{
		{"", 0},
		{"attribute:stack", 15},
		{"attribute:stack ==", 18},
		{"attribute:stack == prod and", 27},
		{"attribute:stack == prod)", 23},
		{"(attribute:stack == prod", 24},
		{"attribute: == x", 0},
		{"color == red", 0},
		{"attribute:stack in prod", 19},
		{"attribute:stack in [a, ]", 23},
		{"attribute:stack in [a b]", 22},
		{"attribute:stack == 'prod", 19},
		{"runningTasksCount == many", 21},
		{"runningTasksCount =~ 1", 18},
		{"agentConnected == maybe", 18},
		{"agentConnected > true", 15},
		{"registeredAt < yesterday", 15},
		{"ec2InstanceId > i-1", 14},
		{"attribute:x =~ 'a('", 15},
		{"attribute:stack == prod attribute:x exists", 24},
		{"attribute:stack = prod", 16},
	}
	for _, c := range cases {
		_, err := parseCQL(c.expr)
		var se *cqlSyntaxError
		if !errors.As(err, &se) {
			t.Errorf("parseCQL(%q) = %v, want a syntax error", c.expr, err)
			continue
		}
		if se.Pos != c.pos {
			t.Errorf("parseCQL(%q) error at %d (%v), want position %d", c.expr, se.Pos, se, c.pos)
		}
	}
}

func TestCQLUsesTaskGroups(t *testing.T) {
	for expr, want := range map[string]bool{
		"attribute:a exists":                          false,
		"attribute:a exists and not(task:group == x)": true,
		"task:group == x or runningTasksCount == 0":   true,
	} {
		e, err := parseCQL(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.usesTaskGroups(); got != want {
			t.Errorf("%q usesTaskGroups = %v, want %v", expr, got, want)
		}
	}
}
