package service

import (
	"slices"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// view is one Decide: the input, the service being rewritten and the
// plan being built.
type view struct {
	in      *Input
	now     time.Time
	svc     *store.ServiceRecord // the copy Decide rewrites
	primary *model.Deployment    // in svc.Deployments; nil without ECS deployments
	tasks   []*Task
	stopped map[string]bool // tasks this plan stops
	plan    *Plan
	next    time.Time // earliest time to look again
}

func newView(in *Input) *view {
	svc := cloneService(in.Service)
	v := &view{in: in, now: in.Now, svc: svc, stopped: map[string]bool{}, plan: &Plan{Service: svc}}
	for i := range in.Tasks {
		v.tasks = append(v.tasks, &in.Tasks[i])
	}
	// Oldest first: scale-in and replacement pick from the end.
	slices.SortStableFunc(v.tasks, func(a, b *Task) int { return a.CreatedAt.Compare(b.CreatedAt) })
	v.primary = primaryOf(svc)
	return v
}

// cloneService copies what Decide may change: the deployments, events and
// the last completed deployment.
func cloneService(rec *store.ServiceRecord) *store.ServiceRecord {
	cp := *rec
	cp.Deployments = slices.Clone(rec.Deployments)
	cp.Events = slices.Clone(rec.Events)
	if rec.LastCompleted != nil {
		cp.LastCompleted = new(*rec.LastCompleted)
	}
	return &cp
}

func primaryOf(svc *store.ServiceRecord) *model.Deployment {
	for i := range svc.Deployments {
		if svc.Deployments[i].Status == deploymentPrimary {
			return &svc.Deployments[i]
		}
	}
	return nil
}

func (v *view) daemon() bool {
	return v.svc.SchedulingStrategy == model.SchedulingStrategyDaemon
}

// wakeAt asks to look again at t (if it is in the future).
func (v *view) wakeAt(t time.Time) {
	if t.After(v.now) && (v.next.IsZero() || t.Before(v.next)) {
		v.next = t
	}
}

// ---- tasks and nodes ----

func (v *view) node(t *Task) (Node, bool) {
	n, ok := v.in.Nodes[t.Instance]
	return n, ok
}

// hasStopped reports whether the task has stopped (or is about to: its
// container instance is gone, so nothing runs it any more).
func (v *view) hasStopped(t *Task) bool {
	if model.TaskStatusRank(t.LastStatus) >= model.TaskStatusRank(model.StatusStopped) {
		return true
	}
	n, ok := v.node(t)
	return !ok || n.Status == model.StatusInactive
}

// live tasks may be running: they count toward maximumPercent, even when
// asked to stop, until they are known to have stopped.
func (v *view) live(t *Task) bool { return !v.hasStopped(t) }

// wanted tasks are live and meant to run (not asked to stop, here or
// before, nor draining to stop).
func (v *view) wanted(t *Task) bool {
	return v.live(t) && t.DesiredStatus != model.StatusStopped && t.Drain == nil && !v.stopped[t.ID]
}

// lingering tasks are live, asked to stop, on a node that is still
// connected: they are on their way out and still hold their deployment
// open. A task asked to stop on a disconnected node is as good as gone
// for its deployment (it still counts toward maximumPercent).
func (v *view) lingering(t *Task) bool {
	if !v.live(t) || v.wanted(t) {
		return false
	}
	n, _ := v.node(t)
	return n.Connected
}

// drained reports whether the task is STOPPING or further on, or gone
// with its node (the DeleteService rule).
func (v *view) drained(t *Task) bool {
	if v.hasStopped(t) || model.TaskStatusRank(t.LastStatus) >= model.TaskStatusRank(model.StatusStopping) {
		return true
	}
	n, _ := v.node(t)
	return !v.wanted(t) && !n.Connected
}

func (v *view) running(t *Task) bool { return v.wanted(t) && t.LastStatus == model.StatusRunning }

func (v *view) pending(t *Task) bool {
	return v.wanted(t) && model.IsPendingStatus(t.LastStatus)
}

func (v *view) grace() time.Duration {
	if g := v.svc.HealthCheckGracePeriodSeconds; g != nil && *g > 0 {
		return time.Duration(*g) * time.Second
	}
	return 0
}

// healthy: RUNNING on a connected node and, when an essential container
// has a health check, HEALTHY; behind a load balancer, its targets
// healthy too. Without health checks or a load balancer ECS waits 40 s
// after RUNNING; Quayside counts the task healthy once it is RUNNING and
// past the service's healthCheckGracePeriodSeconds (default 0), so that
// rolling deployments and tests do not wait for nothing. A service that
// wants a soak period sets the grace period.
func (v *view) healthy(t *Task) bool {
	if !v.running(t) {
		return false
	}
	if n, _ := v.node(t); !n.Connected {
		return false
	}
	checked := v.in.HealthChecks[t.TaskDefinition]
	if checked && t.Health != model.HealthStatusHealthy {
		return false
	}
	if v.balanced() {
		return targetsHealthy(t)
	}
	if checked {
		return true
	}
	ready := t.StartedAt.Add(v.grace())
	if v.now.Before(ready) {
		v.wakeAt(ready)
		return false
	}
	return true
}

// unhealthy says why a task is to be replaced for failing health checks
// ("" when it is not): RUNNING, past the grace period, with a failing
// container health check or a target the load balancer finds unhealthy.
func (v *view) unhealthy(t *Task) string {
	if !v.running(t) {
		return ""
	}
	container := v.in.HealthChecks[t.TaskDefinition] && t.Health == model.HealthStatusUnhealthy
	sick := sickTarget(t)
	if !container && sick == nil {
		return ""
	}
	ready := t.StartedAt.Add(v.grace())
	if v.now.Before(ready) {
		v.wakeAt(ready)
		return ""
	}
	if container {
		return "Task failed container health checks"
	}
	v.event(msgTargetUnhealthy(v.svc.ServiceName, sick))
	return "Task failed ELB health checks in (target-group " + sick.Group + ")"
}

// lost reports whether node n has been disconnected for LostAfter.
func (v *view) lost(n Node) bool {
	if n.Connected || n.Status == model.StatusInactive {
		return false
	}
	if n.DisconnectedSince.IsZero() {
		return false
	}
	at := n.DisconnectedSince.Add(v.in.Policy.LostAfter)
	if v.now.Before(at) {
		v.wakeAt(at)
		return false
	}
	return true
}

// stop adds a stop to the plan. A task registered with target groups
// drains first (its targets are deregistered, and it is stopped once they
// have drained), unless its instance is lost: then it stops and its
// targets are deregistered at once.
func (v *view) stop(t *Task, kind, reason string) {
	if v.stopped[t.ID] {
		return
	}
	v.stopped[t.ID] = true
	s := Stop{Task: t.ID, Kind: kind, Reason: reason}
	switch {
	case !holdsTargets(t):
		v.plan.Stops = append(v.plan.Stops, s)
	case kind == store.ServiceStopLost:
		v.plan.Stops = append(v.plan.Stops, s)
		v.plan.Deregister = append(v.plan.Deregister, t.ID)
	default:
		v.plan.Drains = append(v.plan.Drains, s)
	}
}

// each calls fn for the tasks that pass keep, oldest first.
func (v *view) each(keep func(*Task) bool, fn func(*Task)) {
	for _, t := range v.tasks {
		if keep(t) {
			fn(t)
		}
	}
}

func (v *view) count(keep func(*Task) bool) int {
	n := 0
	v.each(keep, func(*Task) { n++ })
	return n
}

// ---- steps every scheduler shares ----

// stopLost stops the tasks of instances lost for LostAfter: they are
// replaced elsewhere, and stopped by their agent if it comes back.
func (v *view) stopLost() {
	v.each(v.wanted, func(t *Task) {
		if n, _ := v.node(t); v.lost(n) {
			v.stop(t, store.ServiceStopLost, "Service "+v.svc.ServiceName+": container instance "+n.ID+" stopped answering (agent disconnected); the task was replaced.")
		}
	})
}

// decideDeleted stops every task of a DRAINING service and makes it
// INACTIVE once they are all STOPPING or STOPPED.
func (v *view) decideDeleted() {
	reason := "Scaling activity initiated by (deployment " + v.deploymentID() + ")"
	v.each(v.wanted, func(t *Task) { v.stop(t, store.ServiceStopDeleted, reason) })
	if v.count(func(t *Task) bool { return !v.drained(t) }) == 0 {
		v.svc.Status = model.StatusInactive
		if v.svc.InactiveAt.IsZero() {
			v.svc.InactiveAt = model.At(v.now)
		}
	}
}

func (v *view) deploymentID() string {
	if v.primary != nil {
		return v.primary.Id
	}
	return ""
}

// finish completes the plan.
func (v *view) finish() *Plan {
	if !v.next.IsZero() {
		v.plan.RequeueAfter = v.next.Sub(v.now)
	}
	return v.plan
}
