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
		default:
			if why := v.unhealthy(t); why != "" {
				v.stop(t, store.ServiceStopUnhealthy, why)
			}
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

// outgoing lists the wanted tasks that are to go: tasks of other
// deployments, tasks on instances that are not ACTIVE, and the PRIMARY's
// tasks beyond desired (chosen in scale-in order). Those not healthy come
// first; the healthy ones follow in the order to stop them, old
// deployments first.
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
	surplus := v.pickScaleIn(kept, len(kept)-desired)
	var sick, fine []*Task
	for _, group := range [][]*Task{old, extra, surplus} {
		var healthy []*Task
		for _, t := range group {
			if v.healthy(t) {
				healthy = append(healthy, t)
			} else {
				sick = append(sick, t)
			}
		}
		fine = append(fine, healthy...)
	}
	return append(sick, fine...)
}

// stopOutgoing stops the outgoing tasks: any that is not healthy, and
// healthy ones while at least lo healthy tasks remain, in scale-in order
// within each group. A FAILED PRIMARY deployment launches nothing, so the
// tasks of older deployments on ACTIVE instances stay. It returns how many
// it stopped.
func (v *view) stopOutgoing(outgoing []*Task, lo int) int {
	healthy := v.count(v.healthy)
	failed := v.primary.RolloutState == model.DeploymentRolloutStateFailed
	keepOld := func(t *Task) bool {
		node, _ := v.node(t)
		return failed && t.Deployment != v.primary.Id && node.Status == model.StatusActive
	}
	var fine []*Task
	n := 0
	for _, t := range outgoing {
		switch {
		case keepOld(t):
		case v.healthy(t):
			fine = append(fine, t)
		default:
			v.stopOutgoingTask(t)
			n++
		}
	}
	for _, t := range v.pickScaleIn(fine, healthy-lo) {
		v.stopOutgoingTask(t)
		n++
	}
	return n
}

func (v *view) stopOutgoingTask(t *Task) {
	if node, _ := v.node(t); node.Status == model.StatusDraining {
		v.stop(t, store.ServiceStopDraining, v.drainingReason())
		return
	}
	v.stop(t, store.ServiceStopScaleIn, "Scaling activity initiated by (deployment "+v.primary.Id+")")
}

// settled reports whether waiting could change nothing: no task is on its
// way up or down, none is on a disconnected instance.
func (v *view) settled() bool {
	return v.count(func(t *Task) bool {
		n, _ := v.node(t)
		return v.pending(t) || v.lingering(t) || v.live(t) && !n.Connected
	}) == 0
}

// pickScaleIn picks k of ts (in their order of groups: old deployments,
// extra, surplus) the way ECS picks tasks to stop by default: first from
// the availability zone with the most of the service's wanted tasks, then
// from the instance with the most, newest first; tasks not healthy before
// healthy ones. It costs k passes over ts.
func (v *view) pickScaleIn(ts []*Task, k int) []*Task {
	k = min(k, len(ts))
	if k <= 0 {
		return nil
	}
	az, inst := map[string]int{}, map[string]int{}
	v.each(v.wanted, func(t *Task) {
		n, _ := v.node(t)
		az[n.AZ]++
		inst[t.Instance]++
	})
	left := append([]*Task(nil), ts...)
	out := make([]*Task, 0, k)
	for len(out) < k {
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
	if ra, rb := v.outRank(a, na), v.outRank(b, nb); ra != rb {
		return ra < rb
	}
	if az[na.AZ] != az[nb.AZ] {
		return az[na.AZ] > az[nb.AZ]
	}
	if inst[a.Instance] != inst[b.Instance] {
		return inst[a.Instance] > inst[b.Instance]
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// outRank orders the tasks to go: older deployments' first, then the
// PRIMARY's on instances that are not ACTIVE, then the PRIMARY's surplus.
func (v *view) outRank(t *Task, n Node) int {
	switch {
	case v.primary == nil || t.Deployment != v.primary.Id:
		return 0
	case n.Status != model.StatusActive:
		return 1
	}
	return 2
}
