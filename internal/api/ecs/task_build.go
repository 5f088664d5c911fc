package ecs

import (
	"slices"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched/cql"
	"github.com/quayside/quayside/internal/store"
)

// taskSpec is a launch resolved against the store: the definition, the
// containers with overrides applied, and what each task needs of an
// instance.
type taskSpec struct {
	req       *launchRequest
	cluster   string
	td        *store.TaskDefinitionRecord
	tdRev     int64 // the definition record's revision when resolved
	mode      model.NetworkMode
	claim     store.Claim // what one task holds on its instance
	group     string
	memberOf  []*cql.Expr // the request's and the definition's memberOf expressions
	overrides *model.TaskOverride
	tags      []model.Tag
}

// resolveSpec reads the task definition and checks the request against it.
func (a *API) resolveSpec(tx store.ReadTx, cluster string, req *launchRequest) (*taskSpec, error) {
	td, err := findTaskDefinition(tx, req.taskDefinition)
	if err != nil {
		return nil, err
	}
	if td == nil {
		return nil, errs.New(errs.Client, "TaskDefinition not found.")
	}
	if td.Status != model.TaskDefinitionStatusActive {
		return nil, errs.New(errs.Client, "TaskDefinition is inactive")
	}
	kv, _, err := tx.Get(store.TaskDefKey(td.Family, int64(td.Revision)))
	if err != nil {
		return nil, err
	}
	s := &taskSpec{req: req, cluster: cluster, td: td, tdRev: kv.ModRev, mode: td.NetworkMode}
	if s.mode == "" {
		s.mode = model.NetworkModeBridge
	}
	for _, check := range []func() error{s.checkLaunchType, s.checkNetwork, s.applyOverrides, s.addDefinitionConstraints} {
		if err := check(); err != nil {
			return nil, err
		}
	}
	s.claim = store.ClaimOf(&s.td.TaskDefinition, s.overrides, s.mode)
	s.group = req.group
	if s.group == "" {
		s.group = "family:" + td.Family
	}
	s.tags = s.taskTags()
	return s, nil
}

func (s *taskSpec) checkLaunchType() error {
	lt := s.req.launchType
	supported := len(s.td.Compatibilities) == 0 || slices.Contains(s.td.Compatibilities, model.Compatibility(lt))
	if !supported {
		return errs.New(errs.InvalidParameter, "Task definition does not support launch_type %s.", lt)
	}
	switch lt {
	case model.LaunchTypeEc2, model.LaunchTypeExternal:
		return nil
	}
	return errs.New(errs.UnsupportedFeature, "Quayside does not run tasks with launch type %s; use EC2 or EXTERNAL.", lt)
}

func (s *taskSpec) checkNetwork() error {
	hasConfig := s.req.network != nil && s.req.network.AwsvpcConfiguration != nil
	switch {
	case s.mode == model.NetworkModeAwsvpc && !hasConfig:
		return errs.New(errs.InvalidParameter, "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	case s.mode != model.NetworkModeAwsvpc && s.req.network != nil:
		return errs.New(errs.InvalidParameter, "Network Configuration is not valid for the given networkMode of this task definition.")
	}
	return nil
}

// applyOverrides resolves each container's image and resources after the
// container overrides, and records the overrides as ECS shows them.
func (s *taskSpec) applyOverrides() error {
	o := s.req.overrides
	if o == nil {
		o = &model.TaskOverride{}
	}
	byName := map[string]*model.ContainerOverride{}
	for i := range o.ContainerOverrides {
		co := &o.ContainerOverrides[i]
		if !slices.ContainsFunc(s.td.ContainerDefinitions, func(d model.ContainerDefinition) bool { return d.Name == co.Name }) {
			return errs.New(errs.InvalidParameter, "Override for container named %s is not a container in the TaskDefinition.", co.Name)
		}
		byName[co.Name] = co
	}
	rec := *o
	if rec.ContainerOverrides == nil {
		rec.ContainerOverrides = []model.ContainerOverride{}
	}
	if rec.InferenceAcceleratorOverrides == nil {
		rec.InferenceAcceleratorOverrides = []model.InferenceAcceleratorOverride{}
	}
	s.overrides = &rec
	return nil
}

// addDefinitionConstraints adds the definition's memberOf constraints to
// the request's; together they may number at most ten.
func (s *taskSpec) addDefinitionConstraints() error {
	if len(s.req.constraints)+len(s.td.PlacementConstraints) > maxConstraints {
		return errs.New(errs.InvalidParameter, "The number of placement constraints exceeds the limit of %d, including those in the task definition.", maxConstraints)
	}
	s.memberOf = slices.Clone(s.req.memberOf)
	for _, c := range s.td.PlacementConstraints {
		e, err := parseConstraint(c.Expression)
		if err != nil {
			return err
		}
		s.memberOf = append(s.memberOf, e)
	}
	return nil
}

// taskTags are the request's tags, after the definition's when
// propagateTags is TASK_DEFINITION, plus the ECS managed tag when asked.
func (s *taskSpec) taskTags() []model.Tag {
	var out []model.Tag
	if s.req.propagate == model.PropagateTagsTaskDefinition {
		out = mergeTags(out, s.td.DefinitionTags)
	}
	out = mergeTags(out, s.req.tags)
	if s.req.managedTags {
		out = mergeTags(out, []model.Tag{{Key: "aws:ecs:clusterName", Value: s.cluster}})
	}
	return out
}

// newTask builds the record of one task of s placed on the instance inst.
// The placement saves it.
func (a *API) newTask(s *taskSpec, inst *store.InstanceRecord) *store.TaskRecord {
	l := store.TaskLaunch{
		Scope: a.scope, Cluster: s.cluster, Definition: s.td, Mode: s.mode, Overrides: s.overrides, Claim: s.claim,
		LaunchType: s.req.launchType, Group: s.group, StartedBy: s.req.startedBy, Tags: s.tags,
		ExecCmd: s.req.execCmd, Now: a.now(),
	}
	if s.mode == model.NetworkModeAwsvpc {
		l.Subnet = s.req.network.AwsvpcConfiguration.Subnets[0]
	}
	return store.NewTask(l, inst)
}
