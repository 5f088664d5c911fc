package service

import (
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// decideReplica keeps desiredCount tasks of the PRIMARY deployment on
// ACTIVE instances. Tasks of older deployments, tasks on DRAINING
// instances and PRIMARY tasks beyond the desired count are stopped; new
// ones are launched. Two bounds hold throughout: live tasks (those asked
// to stop included, until they have stopped, even on a lost instance)
// never exceed maximumPercent of the desired count, and a healthy task is
// stopped only while minimumHealthyPercent of it stay healthy.
func (v *view) decideReplica() {
	v.stopMisfits()
	p := v.primary
	desired := int(v.svc.DesiredCount)
	lo, hi := v.bounds(desired)
	keep := func(t *Task) bool {
		n, _ := v.node(t)
		return v.wanted(t) && t.Deployment == p.Id && n.Status == model.StatusActive
	}
	deficit := desired - v.count(keep)
	room := hi - v.count(v.live)
	launch := max(0, min(deficit, room))
	if launch > 0 && !v.mayLaunch() {
		launch = 0
	}
	v.plan.Launch = Launch{Deployment: p.Id, Count: launch}
	outgoing := v.outgoing(keep, desired)
	stopped := v.stopOutgoing(outgoing, lo)
	if launch == 0 && stopped == 0 && (deficit > 0 || len(outgoing) > 0) && room <= 0 &&
		p.RolloutState != model.DeploymentRolloutStateFailed && v.settled() {
		v.event(msgStuck(v.svc.ServiceName))
	}
}

// stopMisfits stops at once the tasks that cannot stay where they are:
// those not yet RUNNING on a DRAINING instance, and those failing their
// health checks.
func (v *view) stopMisfits() {
	v.each(v.wanted, func(t *Task) {
		n, _ := v.node(t)
		switch {
		case n.Status == model.StatusDraining && model.TaskStatusRank(t.LastStatus) < model.TaskStatusRank(model.StatusRunning):
			v.stop(t, store.ServiceStopDraining, v.drainingReason())
		case v.unhealthy(t):
			v.stop(t, store.ServiceStopUnhealthy, "Task failed container health checks")
		}
	})
}

func (v *view) drainingReason() string {
	return "Service " + v.svc.ServiceName + ": container instance is in DRAINING state"
}

// mayLaunch reports whether the PRIMARY deployment may launch tasks now:
// not FAILED, launchable, not throttled. It says why not in an event.
func (v *view) mayLaunch() bool {
	switch {
	case v.primary.RolloutState == model.DeploymentRolloutStateFailed:
		return false
	case v.in.Unlaunchable != "":
		v.event(msgUnlaunchable(v.svc.ServiceName, v.in.Unlaunchable))
		return false
	}
	return !v.throttled()
}

// outgoing lists the wanted tasks that are to go, healthy ones last:
// tasks of other deployments, tasks on instances that are not ACTIVE, and
// the PRIMARY's tasks beyond desired (chosen by scale-in order).
func (v *view) outgoing(keep func(*Task) bool, desired int) []*Task {
	var old, extra, kept []*Task
	v.each(v.wanted, func(t *Task) {
		switch {
		case keep(t):
			kept = append(kept, t)
		case t.Deployment == v.primary.Id:
			extra = append(extra, t)
		default:
			old = append(old, t)
		}
	})
	surplus := v.scaleInOrder(kept)
	surplus = surplus[:max(0, len(kept)-desired)]
	var sick, fine []*Task
	for _, group := range [][]*Task{v.scaleInOrder(old), v.scaleInOrder(extra), surplus} {
		for _, t := range group {
			if v.healthy(t) {
				fine = append(fine, t)
			} else {
				sick = append(sick, t)
			}
		}
	}
	return append(sick, fine...)
}

// stopOutgoing stops the outgoing tasks: any that is not healthy, and
// healthy ones while at least lo healthy tasks remain. A FAILED PRIMARY
// deployment launches nothing, so the tasks of older deployments on
// ACTIVE instances stay. It returns how many it stopped.
func (v *view) stopOutgoing(outgoing []*Task, lo int) int {
	healthy := v.count(v.healthy)
	failed := v.primary.RolloutState == model.DeploymentRolloutStateFailed
	reason := "Scaling activity initiated by (deployment " + v.primary.Id + ")"
	n := 0
	for _, t := range outgoing {
		node, _ := v.node(t)
		if failed && t.Deployment != v.primary.Id && node.Status == model.StatusActive {
			continue
		}
		if v.healthy(t) {
			if healthy-1 < lo {
				continue
			}
			healthy--
		}
		kind, why := store.ServiceStopScaleIn, reason
		if node.Status == model.StatusDraining {
			kind, why = store.ServiceStopDraining, v.drainingReason()
		}
		v.stop(t, kind, why)
		n++
	}
	return n
}

// settled reports whether waiting could change nothing: no task is on its
// way up or down, none is on a disconnected instance.
func (v *view) settled() bool {
	return v.count(func(t *Task) bool {
		n, _ := v.node(t)
		return v.pending(t) || v.lingering(t) || v.live(t) && !n.Connected
	}) == 0
}

// scaleInOrder orders tasks the way ECS picks tasks to stop by default:
// first from the availability zone with the most of the service's wanted
// tasks, then from the instance with the most, newest first. Tasks not
// healthy come before healthy ones.
func (v *view) scaleInOrder(ts []*Task) []*Task {
	if len(ts) < 2 {
		return ts
	}
	az, inst := map[string]int{}, map[string]int{}
	v.each(v.wanted, func(t *Task) {
		n, _ := v.node(t)
		az[n.AZ]++
		inst[t.Instance]++
	})
	left := append([]*Task(nil), ts...)
	out := make([]*Task, 0, len(ts))
	for len(left) > 0 {
		best := 0
		for i := 1; i < len(left); i++ {
			if v.stopsBefore(left[i], left[best], az, inst) {
				best = i
			}
		}
		t := left[best]
		out = append(out, t)
		left = append(left[:best], left[best+1:]...)
		n, _ := v.node(t)
		az[n.AZ]--
		inst[t.Instance]--
	}
	return out
}

func (v *view) stopsBefore(a, b *Task, az, inst map[string]int) bool {
	if ha, hb := v.healthy(a), v.healthy(b); ha != hb {
		return !ha
	}
	na, _ := v.node(a)
	nb, _ := v.node(b)
	if az[na.AZ] != az[nb.AZ] {
		return az[na.AZ] > az[nb.AZ]
	}
	if inst[a.Instance] != inst[b.Instance] {
		return inst[a.Instance] > inst[b.Instance]
	}
	return a.CreatedAt.After(b.CreatedAt)
}
