package service

import (
	"slices"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// eligible lists, sorted, the instances that should run the daemon: ACTIVE,
// connected and meeting the service's constraints.
func (v *view) eligible() []string {
	var ids []string
	for id, n := range v.in.Nodes {
		if n.Status == model.StatusActive && n.Connected && n.Eligible {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// decideDaemon keeps exactly one task of the PRIMARY deployment on every
// eligible instance (facts §5.8). Tasks on DRAINING instances and on
// instances that no longer meet the constraints are stopped; an instance
// with a task of an older deployment has it stopped (while
// minimumHealthyPercent of the instances keep a healthy task) and gets a
// new one once it has stopped (maximumPercent is 100: one task per
// instance). The service's desiredCount is the number of eligible
// instances.
func (v *view) decideDaemon() {
	p := v.primary
	nodes := v.eligible()
	v.svc.DesiredCount = int32(len(nodes))
	p.DesiredCount = v.svc.DesiredCount
	v.stopDaemonMisfits()
	lo, _ := v.bounds(len(nodes))
	healthyNodes := 0
	for _, id := range nodes {
		if v.count(func(t *Task) bool { return t.Instance == id && v.healthy(t) }) > 0 {
			healthyNodes++
		}
	}
	reason := "Scaling activity initiated by (deployment " + p.Id + ")"
	var launch []string
	for _, id := range nodes {
		var prim, old []*Task
		v.each(func(t *Task) bool { return t.Instance == id && v.wanted(t) }, func(t *Task) {
			if t.Deployment == p.Id {
				prim = append(prim, t)
			} else {
				old = append(old, t)
			}
		})
		v.daemonStops(prim, old, lo, &healthyNodes, reason)
		if v.count(func(t *Task) bool { return t.Instance == id && v.live(t) }) == 0 {
			launch = append(launch, id)
		}
	}
	if len(launch) > 0 && v.mayLaunch() {
		v.plan.Launch = Launch{Deployment: p.Id, On: launch}
	} else {
		v.plan.Launch = Launch{Deployment: p.Id}
	}
}

// stopDaemonMisfits stops the daemon's tasks on DRAINING instances, on
// ACTIVE ones that no longer meet the constraints, and those failing their
// health checks.
func (v *view) stopDaemonMisfits() {
	v.each(v.wanted, func(t *Task) {
		n, _ := v.node(t)
		switch {
		case n.Status == model.StatusDraining:
			v.stop(t, store.ServiceStopDraining, v.drainingReason())
		case n.Status == model.StatusActive && !n.Eligible:
			v.stop(t, store.ServiceStopIneligible, "Service "+v.svc.ServiceName+": container instance no longer meets the placement constraints")
		default:
			if why := v.unhealthy(t); why != "" {
				v.stop(t, store.ServiceStopUnhealthy, why)
			}
		}
	})
}

// daemonStops handles one instance's wanted tasks: the PRIMARY's beyond
// the first, and those of older deployments (a healthy one only while lo
// instances keep a healthy task).
func (v *view) daemonStops(prim, old []*Task, lo int, healthyNodes *int, reason string) {
	if len(prim) > 1 {
		slices.SortStableFunc(prim, func(a, b *Task) int {
			if ha, hb := v.healthy(a), v.healthy(b); ha != hb {
				if ha {
					return -1
				}
				return 1
			}
			return 0
		})
		for _, t := range prim[1:] {
			v.stop(t, store.ServiceStopScaleIn, reason)
		}
	}
	if len(old) == 0 {
		return
	}
	hadHealthy := slices.ContainsFunc(old, v.healthy) || len(prim) > 0 && v.healthy(prim[0])
	keepsHealthy := len(prim) > 0 && v.healthy(prim[0])
	if hadHealthy && !keepsHealthy {
		if *healthyNodes-1 < lo {
			return
		}
		*healthyNodes--
	}
	for _, t := range old {
		v.stop(t, store.ServiceStopScaleIn, reason)
	}
}
