package service

import (
	"github.com/quayside/quayside/internal/model"
)

// settle brings the deployments and the service's counts up to date with
// the plan: counts per deployment, replaced deployments dropped, the
// PRIMARY's rollout COMPLETED, the service's running and pending counts,
// and the steady-state event.
func (v *view) settle() {
	launched := v.plan.Launch.Count + len(v.plan.Launch.On)
	kept := v.svc.Deployments[:0]
	for _, d := range v.svc.Deployments {
		if v.settleDeployment(&d, launched) {
			kept = append(kept, d)
		}
	}
	v.svc.Deployments = kept
	v.primary = primaryOf(v.svc)
	v.svc.RunningCount = int32(v.count(v.running))
	v.svc.PendingCount = int32(v.count(v.pending) + launched)
	if v.svc.Status != model.StatusActive || v.primary == nil {
		return
	}
	v.complete()
	if v.steady() {
		v.event(msgSteady(v.svc.ServiceName))
	}
}

// settleDeployment updates d's counts and reports whether d stays: a
// deployment that is not PRIMARY leaves once none of its tasks is wanted
// or on its way out (it is INACTIVE; ECS drops it from the list).
func (v *view) settleDeployment(d *model.Deployment, launched int) bool {
	mine := func(t *Task) bool { return t.Deployment == d.Id }
	wanted := v.count(func(t *Task) bool { return mine(t) && v.wanted(t) })
	leaving := v.count(func(t *Task) bool { return mine(t) && v.lingering(t) })
	primary := d.Status == deploymentPrimary
	if !primary && wanted+leaving == 0 {
		return false
	}
	old := *d
	d.RunningCount = int32(v.count(func(t *Task) bool { return mine(t) && v.running(t) }))
	d.PendingCount = int32(v.count(func(t *Task) bool { return mine(t) && v.pending(t) }))
	if primary && v.plan.Launch.Deployment == d.Id {
		d.PendingCount += int32(launched)
	}
	d.FailedTasks = int32(v.streak(d.Id))
	if !primary {
		d.DesiredCount = int32(wanted)
	}
	if !sameDeployment(&old, d) {
		d.UpdatedAt = model.At(v.now)
	}
	return true
}

func sameDeployment(a, b *model.Deployment) bool {
	return a.Status == b.Status && a.DesiredCount == b.DesiredCount && a.RunningCount == b.RunningCount &&
		a.PendingCount == b.PendingCount && a.FailedTasks == b.FailedTasks &&
		a.RolloutState == b.RolloutState && a.RolloutStateReason == b.RolloutStateReason
}

// complete marks the PRIMARY's rollout COMPLETED when it is the only
// deployment left, runs its desired count of proven tasks (DAEMON: one on
// every eligible instance), none of them failing, and the plan changes
// nothing.
func (v *view) complete() {
	p := v.primary
	if p.RolloutState != model.DeploymentRolloutStateInProgress || len(v.svc.Deployments) != 1 ||
		!v.planEmpty() || p.FailedTasks > 0 || !v.primaryHealthy() {
		return
	}
	p.RolloutState = model.DeploymentRolloutStateCompleted
	p.RolloutStateReason = "ECS deployment " + p.Id + " completed."
	p.UpdatedAt = model.At(v.now)
	v.svc.LastCompleted = new(*p)
	v.event(msgDeploymentCompleted(v.svc.ServiceName, p.Id))
}

func (v *view) planEmpty() bool {
	p := v.plan
	return p.Launch.Empty() && len(p.Stops) == 0 && len(p.Drains) == 0 && len(p.Register) == 0 && len(p.Deregister) == 0
}

// primaryHealthy reports whether the PRIMARY runs all its tasks proven.
func (v *view) primaryHealthy() bool {
	p := v.primary
	if v.count(func(t *Task) bool { return v.wanted(t) && t.Deployment != p.Id }) > 0 {
		return false
	}
	healthyOn := func(id string) bool {
		return v.count(func(t *Task) bool { return t.Instance == id && t.Deployment == p.Id && v.proven(t) }) > 0
	}
	if v.daemon() {
		for _, id := range v.eligible() {
			if !healthyOn(id) {
				return false
			}
		}
		return true
	}
	return v.count(func(t *Task) bool {
		n, _ := v.node(t)
		return t.Deployment == p.Id && n.Status == model.StatusActive && v.proven(t)
	}) >= int(v.svc.DesiredCount)
}

// proven: healthy for SuccessAfter. A deployment completes only on proven
// tasks: counting a task healthy as soon as it runs (see healthy) would
// otherwise complete a deployment whose tasks crash a moment after they
// start, before the circuit breaker has seen them fail.
func (v *view) proven(t *Task) bool {
	if !v.healthy(t) {
		return false
	}
	at := t.StartedAt.Add(v.in.Policy.SuccessAfter)
	if v.now.Before(at) {
		v.wakeAt(at)
		return false
	}
	return true
}

// steady: one COMPLETED deployment running the desired count, nothing
// pending and nothing to do.
func (v *view) steady() bool {
	p := v.primary
	return len(v.svc.Deployments) == 1 && p.RolloutState == model.DeploymentRolloutStateCompleted &&
		v.svc.RunningCount == v.svc.DesiredCount && v.svc.PendingCount == 0 && v.planEmpty() && v.settled()
}
