package ecs

import (
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/sched/cql"
)

// Placement limits shared by RunTask, StartTask, CreateService and
// UpdateService.
const (
	maxConstraints   = 10 // including the task definition's
	maxStrategies    = 5
	maxExpressionLen = 2000
)

// checkStrategies validates placement strategies the way the scheduler reads
// them: binpack on cpu or memory, spread on instanceId, host or
// attribute:<name>, random without a field; at most five.
func checkStrategies(ss []model.PlacementStrategy) error {
	if len(ss) > maxStrategies {
		return errs.New(errs.InvalidParameter, "The number of placement strategies exceeds the limit of %d.", maxStrategies)
	}
	for _, s := range ss {
		if _, err := sched.NewStrategy(string(s.Type), s.Field); err != nil {
			return errs.New(errs.InvalidParameter, "%s.", upperFirst(err.Error()))
		}
	}
	return nil
}

// parseConstraints validates a request's placement constraints, counting
// fromDefinition more from the task definition toward the limit of ten, and
// parses their memberOf expressions.
func parseConstraints(cs []model.PlacementConstraint, fromDefinition int) (memberOf []*cql.Expr, distinct bool, err error) {
	if len(cs)+fromDefinition > maxConstraints {
		return nil, false, errs.New(errs.InvalidParameter, "The number of placement constraints exceeds the limit of %d, including those in the task definition.", maxConstraints)
	}
	for _, c := range cs {
		switch c.Type {
		case model.PlacementConstraintTypeDistinctInstance:
			if c.Expression != "" {
				return nil, false, errs.New(errs.InvalidParameter, "An expression cannot be specified for the distinctInstance placement constraint.")
			}
			distinct = true
		case model.PlacementConstraintTypeMemberOf:
			e, err := parseConstraint(c.Expression)
			if err != nil {
				return nil, false, err
			}
			memberOf = append(memberOf, e)
		default:
			return nil, false, errs.New(errs.InvalidParameter, "Invalid placement constraint type %q: valid types are distinctInstance and memberOf.", c.Type)
		}
	}
	return memberOf, distinct, nil
}

// parseConstraint parses a memberOf expression.
func parseConstraint(expr string) (*cql.Expr, error) {
	if expr == "" {
		return nil, errs.New(errs.InvalidParameter, "An expression is required for the memberOf placement constraint.")
	}
	if len(expr) > maxExpressionLen {
		return nil, errs.New(errs.InvalidParameter, "A placement constraint expression can be at most %d characters.", maxExpressionLen)
	}
	return parseFilter(expr)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
