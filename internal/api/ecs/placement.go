package ecs

// Placement of RunTask and StartTask: the launch resolved against the store
// becomes a sched.TaskSpec, internal/placement decides and commits it, and
// the outcome becomes tasks and ECS failures[].

import (
	"strconv"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/store"
)

// Failure reasons StartTask adds to the scheduler's.
const (
	reasonMissing  = sched.ReasonMissing
	reasonInactive = sched.ReasonInactive
)

// schedSpec is what the scheduler needs of the launch: the claim, the
// definition's requiresAttributes, both sets of constraints, the
// strategies (RunTask's default: random) and the group.
func (s *taskSpec) schedSpec(strategies []model.PlacementStrategy) sched.TaskSpec {
	t := sched.TaskSpec{
		CPU: s.claim.CPU, Memory: s.claim.Memory, GPU: s.claim.GPU,
		Ports: portNumbers(s.claim.Ports), PortsUDP: portNumbers(s.claim.PortsUDP),
		DynamicPorts: sched.PortCounts{TCP: int(s.claim.DynamicPorts.TCP), UDP: int(s.claim.DynamicPorts.UDP)},
		LaunchType:   string(s.req.launchType),
		Group:        s.group,
	}
	for _, at := range s.td.RequiresAttributes {
		t.Requires = append(t.Requires, sched.Requirement{Name: at.Name, Value: at.Value})
	}
	if s.req.distinct {
		t.Constraints = append(t.Constraints, sched.Constraint{Type: sched.DistinctInstance})
	}
	for _, e := range s.memberOf {
		t.Constraints = append(t.Constraints, sched.Constraint{Type: sched.MemberOf, Expr: e})
	}
	for _, st := range strategies {
		if ss, err := sched.NewStrategy(string(st.Type), st.Field); err == nil { // checked by checkStrategies
			t.Strategies = append(t.Strategies, ss)
		}
	}
	return t
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

// servesLaunchType reports whether an instance runs tasks of launch type
// lt: instances advertising ecs.capability.external take EXTERNAL tasks
// only, the others EC2 tasks.
func servesLaunchType(rec *store.InstanceRecord, lt model.LaunchType) bool {
	external := false
	for _, at := range rec.Attributes {
		if at.Name == sched.ExternalAttribute {
			external = true
		}
	}
	return external == (lt == model.LaunchTypeExternal)
}

// failureSet collects placement failures of one call without repeats.
type failureSet struct {
	list []model.Failure
	seen map[model.Failure]bool
}

func (fs *failureSet) add(fails ...model.Failure) {
	if fs.seen == nil {
		fs.seen = map[model.Failure]bool{}
	}
	for _, f := range fails {
		if !fs.seen[f] {
			fs.seen[f] = true
			fs.list = append(fs.list, f)
		}
	}
}

// planFailures are RunTask's failures: per instance in scope, the first
// filter that rejected the task (ECS gives no detail there).
func planFailures(p *sched.Plan) []model.Failure {
	var fs failureSet
	for _, f := range p.Failures {
		fs.add(model.Failure{Arn: f.Node.ARN, Reason: f.Reason})
	}
	return append([]model.Failure{}, fs.list...)
}
