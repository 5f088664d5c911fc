package service

import (
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// The launch throttle (facts §4.4): when a service's tasks keep stopping
// before they reach RUNNING, the scheduler waits longer and longer between
// launches, up to 15 minutes. The first throttleAfter-1 failures in a row
// are replaced at once.
const (
	throttleAfter = 3
	throttleBase  = 5 * time.Second
	throttleMax   = 15 * time.Minute
)

// Circuit breaker threshold bounds (facts §4.4).
const (
	breakerMin = 3
	breakerMax = 200
)

// reallyStopped: the task reported STOPPED.
func reallyStopped(t *Task) bool {
	return model.TaskStatusRank(t.LastStatus) >= model.TaskStatusRank(model.StatusStopped)
}

// requested reports whether someone asked the task to stop (StopTask, or
// this scheduler for any reason but a failed health check, draining it
// first included).
func requested(t *Task) bool {
	kind := stopKind(t)
	if kind == store.ServiceStopUnhealthy {
		return false
	}
	return kind != "" || t.StopCode == model.TaskStopCodeUserInitiated ||
		t.StopCode == model.TaskStopCodeServiceSchedulerInitiated
}

// stopKind is why this scheduler stopped the task or began to drain it
// ("" when it did neither).
func stopKind(t *Task) string {
	if t.ServiceStop == "" && t.Drain != nil {
		return t.Drain.Kind
	}
	return t.ServiceStop
}

// ranFor is how long the task ran (until now if it still runs).
func (v *view) ranFor(t *Task) time.Duration {
	if t.StartedAt.IsZero() {
		return 0
	}
	end := t.StoppedAt
	if end.IsZero() {
		end = v.now
	}
	return end.Sub(t.StartedAt)
}

// failed: the task stopped for a failed health check, or stopped on its
// own before it had run SuccessAfter (never reaching RUNNING included).
func (v *view) failed(t *Task) bool {
	if !reallyStopped(t) {
		return false
	}
	return stopKind(t) == store.ServiceStopUnhealthy ||
		!requested(t) && v.ranFor(t) < v.in.Policy.SuccessAfter
}

// succeeded: the task has run healthy for SuccessAfter, or did before it
// was stopped without failing.
func (v *view) succeeded(t *Task) bool {
	if t.StartedAt.IsZero() || v.ranFor(t) < v.in.Policy.SuccessAfter {
		return false
	}
	if reallyStopped(t) {
		return !v.failed(t)
	}
	return v.healthy(t)
}

// streak is the deployment's failedTasks: its failed tasks created after
// its latest successful one.
func (v *view) streak(dep string) int {
	var lastOK time.Time
	v.each(func(t *Task) bool { return t.Deployment == dep && v.succeeded(t) }, func(t *Task) {
		lastOK = t.CreatedAt
	})
	n := 0
	v.each(func(t *Task) bool { return t.Deployment == dep && t.CreatedAt.After(lastOK) }, func(t *Task) {
		if v.failed(t) {
			n++
		}
	})
	if n > 0 {
		// A task that runs on will reset it: look again when it has run
		// long enough.
		v.each(func(t *Task) bool { return t.Deployment == dep && v.healthy(t) }, func(t *Task) {
			v.wakeAt(t.StartedAt.Add(v.in.Policy.SuccessAfter))
		})
	}
	return n
}

// throttledUntil is when the launch throttle lets the service launch
// again (zero: it does now). It counts the tasks that stopped without ever
// reaching RUNNING, created after the latest one that did, since the
// service was last updated or its PRIMARY deployment started.
func (v *view) throttledUntil() (time.Time, int) {
	from := v.svc.ThrottleFrom.Time
	if v.primary != nil && v.primary.CreatedAt.After(from) {
		from = v.primary.CreatedAt.Time
	}
	var reached time.Time
	v.each(func(t *Task) bool { return !t.CreatedAt.Before(from) && !t.StartedAt.IsZero() }, func(t *Task) {
		reached = t.CreatedAt
	})
	n, last := 0, time.Time{}
	v.each(func(t *Task) bool { return !t.CreatedAt.Before(from) && t.CreatedAt.After(reached) }, func(t *Task) {
		if reallyStopped(t) && t.StartedAt.IsZero() && !requested(t) {
			n++
			if t.StoppedAt.After(last) {
				last = t.StoppedAt
			}
		}
	})
	if n < throttleAfter {
		return time.Time{}, n
	}
	d := throttleMax
	if shift := n - throttleAfter; shift < 10 {
		d = min(throttleMax, throttleBase<<shift)
	}
	return last.Add(d), n
}

// throttled reports whether launches must wait, and says so in an event.
func (v *view) throttled() bool {
	until, _ := v.throttledUntil()
	if !until.After(v.now) {
		return false
	}
	v.wakeAt(until)
	v.event(msgThrottled(v.svc.ServiceName))
	return true
}

// breakerThreshold is ceil(desired/2) within [3, 200].
func breakerThreshold(desired int) int {
	return min(max((desired+1)/2, breakerMin), breakerMax)
}

// checkBreaker fails the PRIMARY deployment when its failedTasks reaches
// the circuit breaker's threshold and, with rollback, starts a deployment
// of the last completed one.
func (v *view) checkBreaker() {
	dc := v.svc.DeploymentConfiguration
	p := v.primary
	if dc == nil || dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Enable ||
		p.RolloutState != model.DeploymentRolloutStateInProgress {
		return
	}
	if v.streak(p.Id) < breakerThreshold(v.desired()) {
		return
	}
	p.RolloutState = model.DeploymentRolloutStateFailed
	p.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
	p.UpdatedAt = model.At(v.now)
	v.event(msgDeploymentFailed(v.svc.ServiceName, p.Id))
	last := v.svc.LastCompleted
	if dc.DeploymentCircuitBreaker.Rollback && last != nil && last.TaskDefinition != p.TaskDefinition {
		v.rollback(*last)
	}
}

// rollback makes a new PRIMARY deployment of the definition and settings
// of last; the failed one becomes ACTIVE and is replaced.
func (v *view) rollback(last model.Deployment) {
	now := model.At(v.now)
	d := model.Deployment{
		Id:                          v.in.Policy.NewDeploymentID(),
		Status:                      deploymentPrimary,
		TaskDefinition:              last.TaskDefinition,
		DesiredCount:                v.svc.DesiredCount,
		CreatedAt:                   now,
		UpdatedAt:                   now,
		LaunchType:                  last.LaunchType,
		CapacityProviderStrategy:    last.CapacityProviderStrategy,
		PlatformVersion:             last.PlatformVersion,
		PlatformFamily:              last.PlatformFamily,
		NetworkConfiguration:        last.NetworkConfiguration,
		RolloutState:                model.DeploymentRolloutStateInProgress,
		RolloutStateReason:          "ECS deployment circuit breaker: rolling back to deploymentId " + last.Id + ".",
		ServiceConnectConfiguration: last.ServiceConnectConfiguration,
		VolumeConfigurations:        last.VolumeConfigurations,
		VpcLatticeConfigurations:    last.VpcLatticeConfigurations,
	}
	for i := range v.svc.Deployments {
		if v.svc.Deployments[i].Status == deploymentPrimary {
			v.svc.Deployments[i].Status = deploymentActive
		}
	}
	v.svc.Deployments = append([]model.Deployment{d}, v.svc.Deployments...)
	v.svc.TaskDefinition = last.TaskDefinition
	v.primary = primaryOf(v.svc)
}

// desired is the count the PRIMARY deployment aims at: desiredCount, or
// for DAEMON the number of instances that should run the daemon.
func (v *view) desired() int {
	if v.daemon() {
		return len(v.eligible())
	}
	return int(v.svc.DesiredCount)
}

// bounds are minimumHealthyPercent and maximumPercent applied to desired:
// the floor on healthy tasks, ceil(desired×min/100), and the ceiling on
// live ones, floor(desired×max/100).
func (v *view) bounds(desired int) (lo, hi int) {
	minPct, maxPct := 100, 200
	if v.daemon() {
		minPct, maxPct = 0, 100
	}
	if dc := v.svc.DeploymentConfiguration; dc != nil {
		if dc.MinimumHealthyPercent != nil {
			minPct = int(*dc.MinimumHealthyPercent)
		}
		if dc.MaximumPercent != nil {
			maxPct = int(*dc.MaximumPercent)
		}
	}
	return (desired*minPct + 99) / 100, desired * maxPct / 100
}
