package service

import (
	"strconv"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/sched/cql"
	"github.com/quayside/quayside/internal/store"
)

// launchSpec is how the tasks of one deployment of a service are built
// and placed. It follows what RunTask does for a definition without
// overrides (internal/api/ecs task_build.go); a test checks that a service
// task and a RunTask task of the same definition claim the same.
type launchSpec struct {
	scope   arn.Scope
	cluster string
	svc     *store.ServiceRecord
	dep     model.Deployment
	td      *store.TaskDefinitionRecord
	mode    model.NetworkMode
	claim   store.Claim
	spec    sched.TaskSpec
	tags    []model.Tag
}

// newLaunchSpec builds the launch of deployment dep; when its tasks cannot
// be launched at all it returns why instead.
func newLaunchSpec(scope arn.Scope, svc *store.ServiceRecord, dep model.Deployment, td *store.TaskDefinitionRecord) (*launchSpec, string) {
	lt := dep.LaunchType
	switch {
	case td == nil:
		return nil, "TaskDefinition not found."
	case lt == "" && len(dep.CapacityProviderStrategy) > 0:
		return nil, "Quayside does not support capacity provider strategies yet; use the EC2 or EXTERNAL launch type."
	case lt == "":
		lt = model.LaunchTypeEc2
	}
	if lt != model.LaunchTypeEc2 && lt != model.LaunchTypeExternal {
		return nil, "Quayside does not run tasks with launch type " + string(lt) + "; use EC2 or EXTERNAL."
	}
	if !compatible(td, lt) {
		return nil, "Task definition does not support launch_type " + string(lt) + "."
	}
	l := &launchSpec{scope: scope, cluster: svc.Cluster, svc: svc, dep: dep, td: td, mode: td.NetworkMode}
	l.dep.LaunchType = lt
	if l.mode == "" {
		l.mode = model.NetworkModeBridge
	}
	if l.mode == model.NetworkModeAwsvpc && (dep.NetworkConfiguration == nil || dep.NetworkConfiguration.AwsvpcConfiguration == nil ||
		len(dep.NetworkConfiguration.AwsvpcConfiguration.Subnets) == 0) {
		return nil, "Network Configuration must be provided when networkMode 'awsvpc' is specified."
	}
	l.claim = store.ClaimOf(&td.TaskDefinition, nil, l.mode)
	spec, err := l.schedSpec()
	if err != nil {
		return nil, err.Error()
	}
	l.spec = spec
	l.tags = l.taskTags()
	return l, ""
}

func compatible(td *store.TaskDefinitionRecord, lt model.LaunchType) bool {
	if len(td.Compatibilities) == 0 {
		return true
	}
	for _, c := range td.Compatibilities {
		if string(c) == string(lt) {
			return true
		}
	}
	return false
}

// group is the task group of a service's tasks.
func group(service string) string { return "service:" + service }

// schedSpec is what the scheduler needs: the claim, requiresAttributes,
// the definition's and the service's constraints, the service's
// strategies (default: spread across availability zones, then instances)
// and the group.
func (l *launchSpec) schedSpec() (sched.TaskSpec, error) {
	c := l.claim
	t := sched.TaskSpec{
		CPU: c.CPU, Memory: c.Memory, GPU: c.GPU,
		Ports: portNumbers(c.Ports), PortsUDP: portNumbers(c.PortsUDP),
		DynamicPorts: sched.PortCounts{TCP: int(c.DynamicPorts.TCP), UDP: int(c.DynamicPorts.UDP)},
		LaunchType:   string(l.dep.LaunchType),
		Group:        group(l.svc.ServiceName),
	}
	cons, err := constraints(l.td, l.svc)
	if err != nil {
		return t, err
	}
	t.Requires, t.Constraints = requirements(l.td), cons
	for _, st := range l.svc.PlacementStrategy {
		if s, err := sched.NewStrategy(string(st.Type), st.Field); err == nil {
			t.Strategies = append(t.Strategies, s)
		}
	}
	if len(t.Strategies) == 0 {
		t.Strategies = sched.DefaultServiceStrategies
	}
	return t, nil
}

func requirements(td *store.TaskDefinitionRecord) []sched.Requirement {
	var out []sched.Requirement
	for _, at := range td.RequiresAttributes {
		out = append(out, sched.Requirement{Name: at.Name, Value: at.Value})
	}
	return out
}

// constraints are the service's placement constraints and the
// definition's memberOf expressions.
func constraints(td *store.TaskDefinitionRecord, svc *store.ServiceRecord) ([]sched.Constraint, error) {
	var out []sched.Constraint
	add := func(expr string) error {
		e, err := cql.Parse(expr)
		if err != nil {
			return err
		}
		out = append(out, sched.Constraint{Type: sched.MemberOf, Expr: e})
		return nil
	}
	for _, c := range svc.PlacementConstraints {
		switch c.Type {
		case model.PlacementConstraintTypeDistinctInstance:
			out = append(out, sched.Constraint{Type: sched.DistinctInstance})
		case model.PlacementConstraintTypeMemberOf:
			if err := add(c.Expression); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range td.PlacementConstraints {
		if err := add(c.Expression); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func portNumbers(ports []string) []uint16 {
	out := make([]uint16, 0, len(ports))
	for _, p := range ports {
		if n, err := strconv.ParseUint(p, 10, 16); err == nil {
			out = append(out, uint16(n))
		}
	}
	return out
}

// taskTags: the service's tags with propagateTags SERVICE, the
// definition's with TASK_DEFINITION, and the ECS managed tags when asked.
func (l *launchSpec) taskTags() []model.Tag {
	var out []model.Tag
	switch l.svc.PropagateTags {
	case model.PropagateTagsService:
		out = append(out, l.svc.Tags...)
	case model.PropagateTagsTaskDefinition:
		out = append(out, l.td.DefinitionTags...)
	}
	if l.svc.EnableECSManagedTags {
		out = append(out, model.Tag{Key: "aws:ecs:clusterName", Value: l.cluster},
			model.Tag{Key: "aws:ecs:serviceName", Value: l.svc.ServiceName})
	}
	return out
}

// build is the record of one task of the launch placed on inst.
func (l *launchSpec) build(inst *store.InstanceRecord, now time.Time) *store.TaskRecord {
	tl := store.TaskLaunch{
		Scope: l.scope, Cluster: l.cluster, Definition: l.td, Mode: l.mode, Claim: l.claim,
		LaunchType: l.dep.LaunchType, Group: group(l.svc.ServiceName), StartedBy: l.dep.Id,
		Service: l.svc.ServiceName, Tags: l.tags, ExecCmd: l.svc.EnableExecuteCommand, Now: now,
	}
	if l.mode == model.NetworkModeAwsvpc {
		tl.Subnet = l.dep.NetworkConfiguration.AwsvpcConfiguration.Subnets[0]
	}
	return store.NewTask(tl, inst)
}
