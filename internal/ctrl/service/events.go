package service

import (
	"fmt"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
)

// Service event messages, worded as ECS words them (facts §4.5).

// MaxEvents is how many events a service keeps, newest first.
const MaxEvents = 100

// repeatAfter is how long an identical message is held back while its
// cause persists (ECS: up to 6 hours).
const repeatAfter = 6 * time.Hour

func msgSteady(svc string) string { return "(service " + svc + ") has reached a steady state." }

func msgStarted(svc string, ids []string) string {
	return fmt.Sprintf("(service %s) has started %d tasks: %s.", svc, len(ids), taskList(ids))
}

func msgStopped(svc string, ids []string) string {
	return fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", svc, len(ids), taskList(ids))
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

func msgRegistered(svc string, n int, group string) string {
	return fmt.Sprintf("(service %s) registered %d targets in (target-group %s)", svc, n, group)
}

func msgDeregistered(svc string, n int, group string) string {
	return fmt.Sprintf("(service %s) deregistered %d targets in (target-group %s)", svc, n, group)
}

func msgDraining(svc string, n int) string {
	return fmt.Sprintf("(service %s) has begun draining connections on %d tasks.", svc, n)
}

func msgTargetUnhealthy(svc string, g *Target) string {
	why := g.Description
	if why == "" {
		why = "Health checks failed"
	}
	return fmt.Sprintf("(service %s) (port %d) is unhealthy in (target-group %s) due to (reason %s).", svc, g.Port, g.Group, why)
}

func msgDeploymentCompleted(svc, id string) string {
	return "(service " + svc + ") (deployment " + id + ") deployment completed."
}

func msgDeploymentFailed(svc, id string) string {
	return "(service " + svc + ") (deployment " + id + ") deployment failed: tasks failed to start."
}

func msgThrottled(svc string) string {
	return "(service " + svc + ") is unable to consistently start tasks successfully."
}

func msgStuck(svc string) string {
	return "(service " + svc + ") was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
}

func msgUnlaunchable(svc, why string) string {
	return "(service " + svc + ") was unable to place a task. Reason: " + why
}

// msgUnplaced explains a placement that found no instance for a task: no
// instance at all, or what the closest one lacks.
func msgUnplaced(svc string, noNodes bool, closest *sched.Failure) string {
	head := "(service " + svc + ") was unable to place a task because no container instance met all of its requirements."
	if noNodes || closest == nil || closest.Node == nil {
		return head + " Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	}
	return head + " The closest matching (container-instance " + closest.Node.ID + ") " + lacks(closest.Reason) +
		". For more information, see the Troubleshooting section."
}

func lacks(reason string) string {
	switch reason {
	case sched.ReasonCPU:
		return "has insufficient CPU units available"
	case sched.ReasonMemory:
		return "has insufficient memory available"
	case sched.ReasonGPU:
		return "has insufficient GPU units available"
	case sched.ReasonPorts, sched.ReasonPortsUDP:
		return "is already using a port required by your task"
	case sched.ReasonAttribute:
		return "is missing an attribute required by your task"
	}
	return `encountered error "` + reason + `"`
}

// closeness orders the filters by how far a node got through them: the
// closest matching instance is the one rejected latest.
var closeness = map[string]int{
	sched.ReasonInactive: 0, sched.ReasonLaunchType: 0, sched.ReasonAgent: 1, sched.ReasonAttribute: 2,
	sched.ReasonCPU: 3, sched.ReasonMemory: 4, sched.ReasonGPU: 5, sched.ReasonPorts: 6, sched.ReasonPortsUDP: 7,
	sched.ReasonMemberOf: 8, sched.ReasonDistinct: 9,
}

// closestFailure picks the rejection that got furthest (the first of
// equals, in registration order).
func closestFailure(fs []sched.Failure) *sched.Failure {
	var best *sched.Failure
	for i := range fs {
		if best == nil || closeness[fs[i].Reason] > closeness[best.Reason] {
			best = &fs[i]
		}
	}
	return best
}

// said reports whether msg is among the service's recent events and
// nothing has happened since: newest first, it meets msg within
// repeatAfter before any task was started or stopped or a deployment
// completed.
func said(events []model.ServiceEvent, svc, msg string, now time.Time) bool {
	for _, e := range events {
		if now.Sub(e.CreatedAt.Time) > repeatAfter {
			return false
		}
		if e.Message == msg {
			return true
		}
		if progress(svc, e.Message) {
			return false
		}
	}
	return false
}

func progress(svc, msg string) bool {
	p := "(service " + svc + ") "
	return strings.HasPrefix(msg, p+"has started ") || strings.HasPrefix(msg, p+"has stopped ") ||
		strings.HasPrefix(msg, p+"(deployment ") && strings.HasSuffix(msg, ") deployment completed.")
}

// event adds msg to the plan unless it was said already.
func (v *view) event(msg string) {
	for _, m := range v.plan.Events {
		if m == msg {
			return
		}
	}
	if !said(v.svc.Events, v.svc.ServiceName, msg, v.now) {
		v.plan.Events = append(v.plan.Events, msg)
	}
}

// AddEvents puts msgs (oldest first) at the head of events (newest first)
// with ids from newID, keeping at most MaxEvents.
func AddEvents(events []model.ServiceEvent, msgs []string, now time.Time, newID func() string) []model.ServiceEvent {
	if len(msgs) == 0 {
		return events
	}
	out := make([]model.ServiceEvent, 0, min(len(events)+len(msgs), MaxEvents))
	for i := len(msgs) - 1; i >= 0 && len(out) < MaxEvents; i-- {
		out = append(out, model.ServiceEvent{Id: newID(), CreatedAt: model.At(now), Message: msgs[i]})
	}
	for _, e := range events {
		if len(out) == MaxEvents {
			break
		}
		out = append(out, e)
	}
	return out
}
