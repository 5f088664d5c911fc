package ecs

import (
	"encoding/json"
	"regexp"

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
	var err error
	r.memberOf, r.distinct, err = parseConstraints(r.constraints, 0)
	return err
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
