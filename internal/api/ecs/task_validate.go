package ecs

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched/cql"
)

// Request limits of RunTask and StartTask (facts §7).
const (
	maxRunCount          = 10
	maxStartInstances    = 10
	maxRunStartedBy      = 128
	maxStartStartedBy    = 36 // the model documents 36 for StartTask
	maxGroupLen          = 255
	maxClientToken       = 64
	maxOverridesJSON     = 8192
	maxConstraints       = 10
	maxStrategies        = 5
	maxExpressionLen     = 2000
	maxSubnets           = 16
	maxSecurityGroups    = 5
	defaultStoppedReason = "Task stopped by user"
)

var startedByRE = regexp.MustCompile(`^[A-Za-z0-9\-/_]+$`)

// launchRequest is what RunTask and StartTask have in common, checked
// without reading the store.
type launchRequest struct {
	taskDefinition string
	launchType     model.LaunchType
	group          string
	startedBy      string
	overrides      *model.TaskOverride
	network        *model.NetworkConfiguration
	constraints    []model.PlacementConstraint
	memberOf       []*cql.Expr // parsed memberOf expressions of constraints
	distinct       bool
	tags           []model.Tag
	propagate      model.PropagateTags
	managedTags    bool
	execCmd        bool
}

// check validates the fields every launch shares. maxStartedBy differs
// between RunTask and StartTask.
func (r *launchRequest) check(maxStartedBy int) error {
	if r.startedBy != "" && (len(r.startedBy) > maxStartedBy || !startedByRE.MatchString(r.startedBy)) {
		return errs.New(errs.InvalidParameter,
			"startedBy must be up to %d letters (uppercase and lowercase), numbers, hyphens (-), forward slashes (/), and underscores (_).", maxStartedBy)
	}
	if len(r.group) > maxGroupLen {
		return errs.New(errs.InvalidParameter, "group must be at most %d characters.", maxGroupLen)
	}
	if r.propagate == model.PropagateTagsService {
		return errs.New(errs.InvalidParameter, "The SERVICE option of propagateTags is only valid for tasks started by a service.")
	}
	if err := checkOverridesSize(r.overrides); err != nil {
		return err
	}
	if err := checkNetworkShape(r.network); err != nil {
		return err
	}
	if err := validateTags(r.tags); err != nil {
		return err
	}
	return r.checkConstraints()
}

func checkOverridesSize(o *model.TaskOverride) error {
	if o == nil {
		return nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if len(b) > maxOverridesJSON {
		return errs.New(errs.InvalidParameter, "Container Overrides length must be at most %d", maxOverridesJSON)
	}
	return nil
}

func checkNetworkShape(nc *model.NetworkConfiguration) error {
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return nil
	}
	vpc := nc.AwsvpcConfiguration
	switch {
	case len(vpc.Subnets) == 0:
		return errs.New(errs.InvalidParameter, "subnets can not be empty.")
	case len(vpc.Subnets) > maxSubnets:
		return errs.New(errs.InvalidParameter, "At most %d subnets can be given.", maxSubnets)
	case len(vpc.SecurityGroups) > maxSecurityGroups:
		return errs.New(errs.InvalidParameter, "At most %d security groups can be given.", maxSecurityGroups)
	}
	return nil
}

// checkConstraints validates the request's own placement constraints and
// parses their expressions (the task definition's are added later).
func (r *launchRequest) checkConstraints() error {
	if len(r.constraints) > maxConstraints {
		return errs.New(errs.InvalidParameter, "At most %d placement constraints can be given.", maxConstraints)
	}
	for _, c := range r.constraints {
		switch c.Type {
		case model.PlacementConstraintTypeDistinctInstance:
			if c.Expression != "" {
				return errs.New(errs.InvalidParameter, "An expression cannot be given for a distinctInstance placement constraint.")
			}
			r.distinct = true
		case model.PlacementConstraintTypeMemberOf:
			e, err := parseConstraint(c.Expression)
			if err != nil {
				return err
			}
			r.memberOf = append(r.memberOf, e)
		default:
			return errs.New(errs.InvalidParameter, "Placement constraint type %q is not valid; it must be distinctInstance or memberOf.", c.Type)
		}
	}
	return nil
}

// parseConstraint parses a memberOf expression.
func parseConstraint(expr string) (*cql.Expr, error) {
	if expr == "" {
		return nil, errs.New(errs.InvalidParameter, "An expression is required for a memberOf placement constraint.")
	}
	if len(expr) > maxExpressionLen {
		return nil, errs.New(errs.InvalidParameter, "A placement constraint expression can be at most %d characters.", maxExpressionLen)
	}
	return parseFilter(expr)
}

// checkStrategies validates placement strategies. They are accepted but
// placement is first fit for now.
func checkStrategies(ss []model.PlacementStrategy) error {
	if len(ss) > maxStrategies {
		return errs.New(errs.InvalidParameter, "At most %d placement strategies can be given.", maxStrategies)
	}
	for _, s := range ss {
		if err := checkStrategy(s); err != nil {
			return err
		}
	}
	return nil
}

func checkStrategy(s model.PlacementStrategy) error {
	switch s.Type {
	case model.PlacementStrategyTypeRandom:
		if s.Field != "" {
			return errs.New(errs.InvalidParameter, "A field cannot be given for the random placement strategy.")
		}
	case model.PlacementStrategyTypeBinpack:
		if f := strings.ToLower(s.Field); f != "cpu" && f != "memory" {
			return errs.New(errs.InvalidParameter, "The binpack placement strategy field must be cpu or memory.")
		}
	case model.PlacementStrategyTypeSpread:
		f := s.Field
		name, isAttr := strings.CutPrefix(f, "attribute:")
		if !strings.EqualFold(f, "instanceId") && !strings.EqualFold(f, "host") && (!isAttr || name == "") {
			return errs.New(errs.InvalidParameter, "The spread placement strategy field must be instanceId, host or attribute:<name>.")
		}
	default:
		return errs.New(errs.InvalidParameter, "Placement strategy type %q is not valid; it must be random, spread or binpack.", s.Type)
	}
	return nil
}

// checkClientToken validates a RunTask clientToken: up to 64 characters in
// the range 33-126.
func checkClientToken(tok string) error {
	if len(tok) > maxClientToken {
		return errs.New(errs.InvalidParameter, "clientToken must be at most %d characters.", maxClientToken)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 33 || tok[i] > 126 {
			return errs.New(errs.InvalidParameter, "clientToken may only contain ASCII characters 33 to 126.")
		}
	}
	return nil
}
