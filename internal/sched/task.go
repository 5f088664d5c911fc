package sched

import (
	"fmt"
	"strings"

	"github.com/quayside/quayside/internal/sched/cql"
)

// Limits of one task's placement (facts §5.1).
const (
	MaxConstraints = 10
	MaxStrategies  = 5
)

// TaskSpec is what one task asks of a node and how its nodes are chosen.
type TaskSpec struct {
	CPU, Memory, GPU int64
	// Ports and PortsUDP are the static host ports the task binds.
	Ports, PortsUDP []uint16
	// DynamicPorts counts the host ports it takes from the dynamic range.
	DynamicPorts PortCounts
	// Requires are the definition's requiresAttributes: a node must have
	// each attribute, with the value when one is given.
	Requires   []Requirement
	LaunchType string // LaunchTypeEC2 (the default) or LaunchTypeExternal
	// Group is the task group: spread and distinctInstance count the tasks
	// of this group.
	Group       string
	Constraints []Constraint // of the definition and of the call
	Strategies  []Strategy   // in order; empty: Decide ranks at random
}

// Requirement is one required attribute.
type Requirement struct{ Name, Value string }

// ConstraintType names a placement constraint.
type ConstraintType string

const (
	DistinctInstance ConstraintType = "distinctInstance"
	MemberOf         ConstraintType = "memberOf"
)

// Constraint is a binding placement constraint: Expr for memberOf, nil
// for distinctInstance.
type Constraint struct {
	Type ConstraintType
	Expr *cql.Expr
}

// StrategyType names a placement strategy.
type StrategyType string

const (
	Binpack StrategyType = "binpack"
	Spread  StrategyType = "spread"
	Random  StrategyType = "random"
)

// Strategy is one placement strategy. Field is "cpu" or "memory" for
// binpack; "instanceId", "host" or "attribute:<name>" for spread; empty for
// random.
type Strategy struct {
	Type  StrategyType
	Field string
}

// Default strategies (facts §5.1): RunTask places at random; a service
// spreads across availability zones, then across instances.
var (
	DefaultRunTaskStrategies = []Strategy{{Type: Random}}
	DefaultServiceStrategies = []Strategy{
		{Type: Spread, Field: "attribute:ecs.availability-zone"},
		{Type: Spread, Field: "instanceId"},
	}
)

// NewStrategy checks and normalizes a strategy as ECS accepts it: type and
// binpack field are case-insensitive; spread takes instanceId, host or
// attribute:<name>.
func NewStrategy(typ, field string) (Strategy, error) {
	switch StrategyType(strings.ToLower(typ)) {
	case Random:
		if field != "" {
			return Strategy{}, fmt.Errorf("a field cannot be given for the random placement strategy")
		}
		return Strategy{Type: Random}, nil
	case Binpack:
		f := strings.ToLower(field)
		if f != "cpu" && f != "memory" {
			return Strategy{}, fmt.Errorf("the binpack placement strategy field must be cpu or memory")
		}
		return Strategy{Type: Binpack, Field: f}, nil
	case Spread:
		name, isAttr := strings.CutPrefix(field, "attribute:")
		switch {
		case strings.EqualFold(field, "instanceId"), strings.EqualFold(field, "host"):
			return Strategy{Type: Spread, Field: "instanceId"}, nil
		case isAttr && name != "":
			return Strategy{Type: Spread, Field: field}, nil
		}
		return Strategy{}, fmt.Errorf("the spread placement strategy field must be instanceId, host or attribute:<name>")
	}
	return Strategy{}, fmt.Errorf("placement strategy type %q is not valid; it must be random, spread or binpack", typ)
}

func (t *TaskSpec) launchType() string {
	if t.LaunchType == "" {
		return LaunchTypeEC2
	}
	return t.LaunchType
}

func (t *TaskSpec) distinct() bool {
	for _, c := range t.Constraints {
		if c.Type == DistinctInstance {
			return true
		}
	}
	return false
}

// staticKey identifies the static requirements of t: tasks with the same
// key have the same static candidates.
func (t *TaskSpec) staticKey() string {
	var b strings.Builder
	b.WriteString(t.launchType())
	for _, r := range t.Requires {
		b.WriteString("\x00r")
		b.WriteString(r.Name)
		b.WriteString("=")
		b.WriteString(r.Value)
	}
	for _, c := range t.Constraints {
		if c.Type == MemberOf && !c.Expr.Dynamic() {
			b.WriteString("\x00m")
			b.WriteString(c.Expr.String())
		}
	}
	return b.String()
}
