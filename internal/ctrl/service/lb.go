package service

import (
	"slices"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// Load balancing (facts §4.4, §4.5): a service with loadBalancers
// registers each task with its target groups once it is RUNNING, and
// deregisters it before stopping it.
//
//   - Registration: an instance target is the container instance's EC2
//     instance ID and the host port bound to the container port (dynamic
//     ports included); an ip target (awsvpc) is the task's private IP and
//     the container port. The task's record lists what was registered.
//   - Health: behind a load balancer a task counts as healthy only once
//     every target of it is healthy (or its group's health checks are
//     disabled, or no listener uses the group). An unhealthy target past
//     healthCheckGracePeriodSeconds has the task replaced, as a failed
//     health check that counts toward the circuit breaker.
//   - Stopping: a task the scheduler stops (scale-in, replacement,
//     draining instance, DeleteService, failed health checks) has its
//     targets deregistered first; the data plane sends them no new
//     requests and lets those in flight finish, for at most the group's
//     deregistration delay. The task is asked to stop once its targets
//     are gone or that delay is over (meanwhile its record says so, and
//     the API shows it DEACTIVATING). A task that stops on its own, or on
//     an instance that is lost, has its targets deregistered at once.

// TargetUnused is the health of a target whose group no listener or rule
// forwards to (DescribeTargetHealth: unused, Target.NotInUse).
const TargetUnused = store.TargetUnused

// balanced reports whether the service registers its tasks with target
// groups.
func (v *view) balanced() bool { return hasTargetGroups(v.svc) }

func hasTargetGroups(svc *store.ServiceRecord) bool {
	return slices.ContainsFunc(svc.LoadBalancers, func(lb model.LoadBalancer) bool { return lb.TargetGroupArn != "" })
}

// holdsTargets: the scheduler registered targets for the task and has not
// deregistered them.
func holdsTargets(t *Task) bool {
	return !t.Deregistered && slices.ContainsFunc(t.Targets, func(g Target) bool { return g.Registered })
}

// targetsHealthy: every target of the task is known and takes requests.
func targetsHealthy(t *Task) bool {
	if t.TargetsMissing || len(t.Targets) == 0 || t.Deregistered {
		return false
	}
	for _, g := range t.Targets {
		switch g.State {
		case store.TargetHealthy, store.TargetUnavailable, TargetUnused:
		default:
			return false
		}
	}
	return true
}

// sickTarget is a target of the task that the load balancer finds
// unhealthy (nil when none is).
func sickTarget(t *Task) *Target {
	if t.Deregistered {
		return nil
	}
	for i := range t.Targets {
		if t.Targets[i].State == store.TargetUnhealthy {
			return &t.Targets[i]
		}
	}
	return nil
}

// balance registers the targets of the tasks that run, deregisters those
// of the tasks that stopped without draining, and stops the tasks whose
// targets have drained.
func (v *view) balance() {
	for _, t := range v.tasks {
		switch {
		case t.Drain != nil:
			if t.DesiredStatus != model.StatusStopped && !reallyStopped(t) && v.drainOver(t) {
				v.stopped[t.ID] = true
				v.plan.Stops = append(v.plan.Stops, Stop{Task: t.ID, Kind: t.Drain.Kind, Reason: t.Drain.Reason})
			}
		case v.stopped[t.ID]:
			// Stopped or drained by this plan (stop).
		case holdsTargets(t) && !v.serving(t):
			v.plan.Deregister = append(v.plan.Deregister, t.ID)
		case v.serving(t) && v.wanted(t) && !t.Deregistered && slices.ContainsFunc(t.Targets, unregistered):
			v.plan.Register = append(v.plan.Register, t.ID)
		}
	}
}

func unregistered(g Target) bool { return g.State == "" }

// serving: the task runs and is meant to.
func (v *view) serving(t *Task) bool {
	return t.DesiredStatus != model.StatusStopped && t.LastStatus == model.StatusRunning && !v.hasStopped(t)
}

// drainOver reports whether a draining task's targets have drained: none
// is still draining (the data plane deletes a drained target), or the
// deregistration delay is over.
func (v *view) drainOver(t *Task) bool {
	if !v.now.Before(t.Drain.Until) {
		return true
	}
	for _, g := range t.Targets {
		if g.Registered && g.State == store.TargetDraining && v.now.Before(g.DrainUntil) {
			v.wakeAt(g.DrainUntil)
			v.wakeAt(t.Drain.Until)
			return false
		}
	}
	return true
}
