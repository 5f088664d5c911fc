package service

import (
	"slices"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func TestDecideReplica(t *testing.T) {
	tests := []struct {
		name  string
		world func() *world
		check func(*testing.T, *Plan)
	}{
		{"new service launches its desired count", func() *world { return replica(3, 3) }, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 3)
			mustStops(t, p)
			if p.Service.PendingCount != 3 || dep(p, "d1").PendingCount != 3 {
				t.Errorf("pending counts %d/%d", p.Service.PendingCount, dep(p, "d1").PendingCount)
			}
		}},
		{"at desired count: completed and steady", func() *world {
			w := replica(2, 2)
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 0)
			d := dep(p, "d1")
			if d.RolloutState != model.DeploymentRolloutStateCompleted || d.RolloutStateReason != "ECS deployment d1 completed." || d.RunningCount != 2 {
				t.Errorf("deployment %+v", d)
			}
			if p.Service.RunningCount != 2 || p.Service.LastCompleted == nil || p.Service.LastCompleted.Id != "d1" {
				t.Errorf("service running %d, last completed %v", p.Service.RunningCount, p.Service.LastCompleted)
			}
			want := []string{"(service web) (deployment d1) deployment completed.", "(service web) has reached a steady state."}
			if !slices.Equal(p.Events, want) {
				t.Errorf("events %q", p.Events)
			}
		}},
		{"a stopped task is replaced at once", func() *world {
			w := replica(2, 2)
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "stopped")
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 1)
			if p.RequeueAfter != 0 {
				t.Errorf("requeue %v", p.RequeueAfter)
			}
		}},
		{"two early failures: still at once", func() *world {
			w := replica(1, 1)
			w.tasks(2, "d1", "n1", "failed")
			return w
		}, func(t *testing.T, p *Plan) { mustLaunch(t, p, 1) }},
		{"three early failures in a row: throttled", func() *world {
			w := replica(1, 1)
			w.tasks(3, "d1", "n1", "failed")
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 0)
			if !hasEvent(p, "is unable to consistently start tasks successfully.") || p.RequeueAfter <= 0 || p.RequeueAfter > throttleBase {
				t.Errorf("events %q requeue %v", p.Events, p.RequeueAfter)
			}
		}},
		{"a task that ran resets the throttle", func() *world {
			w := replica(2, 2)
			w.tasks(3, "d1", "n1", "failed")
			w.task("d1", "n2", "young")
			return w
		}, func(t *testing.T, p *Plan) { mustLaunch(t, p, 1) }},
		{"an update resets the throttle", func() *world {
			w := replica(1, 1)
			w.tasks(3, "d1", "n1", "failed")
			w.in.Service.ThrottleFrom = model.At(t0.Add(-time.Millisecond))
			return w
		}, func(t *testing.T, p *Plan) { mustLaunch(t, p, 1) }},
		{"rolling: new tasks first (min 100, max 200)", func() *world {
			w := replica(3, 3).update()
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			w.task("d1", "n3", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 3)
			mustStops(t, p)
			if len(p.Service.Deployments) != 2 {
				t.Errorf("deployments %+v", p.Service.Deployments)
			}
		}},
		{"rolling: old tasks go as new ones are healthy", func() *world {
			w := replica(3, 3).update()
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			w.task("d1", "n3", "running")
			w.task("d2", "n1", "young")
			w.tasks(2, "d2", "n2", "pending")
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 0)
			if len(p.Stops) != 1 || p.Stops[0].Kind != store.ServiceStopScaleIn {
				t.Errorf("stops %v", stops(p))
			}
			if dep(p, "d1").DesiredCount != 2 {
				t.Errorf("old deployment desired %d", dep(p, "d1").DesiredCount)
			}
		}},
		{"rolling done: old deployment leaves once its tasks stopped", func() *world {
			w := replica(2, 2).update()
			w.tasks(2, "d1", "n1", "stopped")
			w.task("d2", "n1", "settled")
			w.task("d2", "n2", "settled")
			return w
		}, func(t *testing.T, p *Plan) {
			if len(p.Service.Deployments) != 1 || dep(p, "d2").RolloutState != model.DeploymentRolloutStateCompleted {
				t.Errorf("deployments %+v", p.Service.Deployments)
			}
		}},
		{"completed only once the tasks have proven themselves", func() *world {
			w := replica(2, 2).update()
			w.tasks(2, "d1", "n1", "stopped")
			w.task("d2", "n1", "settled")
			w.task("d2", "n2", "young")
			return w
		}, func(t *testing.T, p *Plan) {
			if len(p.Service.Deployments) != 1 || dep(p, "d2").RolloutState != model.DeploymentRolloutStateInProgress || len(p.Events) != 0 {
				t.Errorf("deployments %+v, events %q", p.Service.Deployments, p.Events)
			}
			if p.RequeueAfter != 9*time.Second {
				t.Errorf("requeue %v", p.RequeueAfter)
			}
		}},
		{"old deployment stays while its tasks are stopping", func() *world {
			w := replica(1, 1).update()
			w.task("d1", "n1", "running", "stopping")
			w.task("d2", "n1", "young")
			return w
		}, func(t *testing.T, p *Plan) {
			if len(p.Service.Deployments) != 2 || dep(p, "d2").RolloutState != model.DeploymentRolloutStateInProgress {
				t.Errorf("deployments %+v", p.Service.Deployments)
			}
		}},
		{"min 50 max 100: stop half first", func() *world {
			w := replica(4, 4).update().limits(50, 100)
			for _, n := range []string{"n1", "n2", "n3", "n4"} {
				w.task("d1", n, "running")
			}
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 0)
			if len(p.Stops) != 2 {
				t.Errorf("stops %v", stops(p))
			}
		}},
		{"min 100 max 125 of 3: stuck", func() *world {
			w := replica(3, 3).update().limits(100, 125)
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			w.task("d1", "n3", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 0)
			mustStops(t, p)
			if !hasEvent(p, "was unable to stop or start tasks during a deployment because of the service deployment configuration.") {
				t.Errorf("events %q", p.Events)
			}
		}},
		{"scale in: most loaded instance first", func() *world {
			w := replica(2, 2)
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			w.task("d1", "n2", "running")
			w.task("d1", "n1", "pending")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t04:scale-in", "t03:scale-in")
		}},
		{"unhealthy task is stopped", func() *world {
			w := replica(1, 1)
			w.task("d1", "n1", "running", "unhealthy")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t01:unhealthy")
			mustLaunch(t, p, 1)
		}},
		{"health checks: HEALTHY counts, UNKNOWN does not", func() *world {
			w := replica(1, 1).update()
			w.task("d1", "n1", "running", "healthy")
			w.task("d2", "n1", "young")
			w.in.HealthChecks[td2] = true
			return w
		}, func(t *testing.T, p *Plan) { mustStops(t, p) }},
		{"grace period: RUNNING is not healthy yet", func() *world {
			w := replica(1, 1).update()
			w.task("d1", "n1", "running")
			w.task("d2", "n1", "young")
			w.in.Service.HealthCheckGracePeriodSeconds = new(int32(5))
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			if p.RequeueAfter != 4*time.Second {
				t.Errorf("requeue %v", p.RequeueAfter)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.world().decide()) })
	}
}

func TestDecideBreaker(t *testing.T) {
	tests := []struct {
		name  string
		world func() *world
		check func(*testing.T, *Plan)
	}{
		{"below the threshold", func() *world {
			w := replica(2, 2).update().breaker(true)
			w.tasks(2, "d1", "n1", "running")
			w.tasks(2, "d2", "n2", "crashed")
			return w
		}, func(t *testing.T, p *Plan) {
			if d := dep(p, "d2"); d.FailedTasks != 2 || d.RolloutState != model.DeploymentRolloutStateInProgress {
				t.Errorf("d2 %+v", d)
			}
			mustLaunch(t, p, 2)
		}},
		{"threshold without rollback: FAILED, nothing launched, old tasks stay", func() *world {
			w := replica(2, 2).update().breaker(false)
			w.tasks(2, "d1", "n1", "running")
			w.tasks(3, "d2", "n2", "crashed")
			return w
		}, func(t *testing.T, p *Plan) {
			d := dep(p, "d2")
			if d.RolloutState != model.DeploymentRolloutStateFailed || d.RolloutStateReason != "ECS deployment circuit breaker: tasks failed to start." {
				t.Errorf("d2 %+v", d)
			}
			mustLaunch(t, p, 0)
			mustStops(t, p)
			if !hasEvent(p, "(deployment d2) deployment failed: tasks failed to start.") {
				t.Errorf("events %q", p.Events)
			}
		}},
		{"threshold with rollback: a new PRIMARY of the last completed definition", func() *world {
			w := replica(2, 2).update().breaker(true)
			w.tasks(2, "d1", "n1", "running")
			w.tasks(3, "d2", "n2", "failed")
			w.task("d2", "n2", "pending")
			return w
		}, func(t *testing.T, p *Plan) {
			s := p.Service
			if len(s.Deployments) != 3 || s.Deployments[0].Id != "rollback" || s.Deployments[0].Status != deploymentPrimary ||
				s.Deployments[0].TaskDefinition != td1 || s.TaskDefinition != td1 {
				t.Fatalf("deployments %+v", s.Deployments)
			}
			if r := s.Deployments[0].RolloutStateReason; r != "ECS deployment circuit breaker: rolling back to deploymentId d1." {
				t.Errorf("reason %q", r)
			}
			if d := dep(p, "d2"); d.Status != deploymentActive || d.RolloutState != model.DeploymentRolloutStateFailed {
				t.Errorf("d2 %+v", d)
			}
			// The failed deployment's pending task goes (it counts toward
			// the maximum until it has stopped); the old tasks now belong
			// to an ACTIVE deployment, replaced when the rollback's tasks
			// are healthy.
			mustStops(t, p, "t06:scale-in")
			if p.Launch.Deployment != "rollback" || p.Launch.Count != 1 {
				t.Errorf("launch %+v", p.Launch)
			}
		}},
		{"a successful run resets failedTasks", func() *world {
			w := replica(2, 2).update().breaker(true)
			w.tasks(3, "d2", "n2", "crashed")
			w.task("d2", "n1", "settled")
			return w
		}, func(t *testing.T, p *Plan) {
			if d := dep(p, "d2"); d.FailedTasks != 0 || d.RolloutState == model.DeploymentRolloutStateFailed {
				t.Errorf("d2 %+v", d)
			}
		}},
		{"a completed deployment does not fail", func() *world {
			w := replica(1, 1).breaker(true)
			w.in.Service.Deployments[0].RolloutState = model.DeploymentRolloutStateCompleted
			w.tasks(5, "d1", "n1", "crashed")
			return w
		}, func(t *testing.T, p *Plan) {
			if d := dep(p, "d1"); d.RolloutState != model.DeploymentRolloutStateCompleted {
				t.Errorf("d1 %+v", d)
			}
			mustLaunch(t, p, 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.world().decide()) })
	}
}

func TestDecideInstances(t *testing.T) {
	drain := func(n *Node) { n.Status = model.StatusDraining }
	tests := []struct {
		name  string
		world func() *world
		check func(*testing.T, *Plan)
	}{
		{"draining: pending tasks stop at once", func() *world {
			w := replica(1, 2).node("n1", drain)
			w.task("d1", "n1", "pending")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t01:draining")
			mustLaunch(t, p, 1)
		}},
		{"draining: a running task is replaced first", func() *world {
			w := replica(2, 2).node("n1", drain)
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			mustLaunch(t, p, 1)
		}},
		{"draining: then stopped", func() *world {
			w := replica(2, 2).node("n1", drain)
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			w.task("d1", "n2", "young")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t01:draining")
			mustLaunch(t, p, 0)
		}},
		{"disconnected within the grace period: wait", func() *world {
			w := replica(1, 2).node("n1", func(n *Node) { n.Connected, n.DisconnectedSince = false, t0.Add(-300*time.Millisecond) })
			w.task("d1", "n1", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			mustLaunch(t, p, 0)
			if p.RequeueAfter != 700*time.Millisecond {
				t.Errorf("requeue %v", p.RequeueAfter)
			}
		}},
		{"lost: stopped and replaced", func() *world {
			w := replica(2, 2).node("n1", func(n *Node) { n.Connected, n.DisconnectedSince = false, t0.Add(-2*time.Second) })
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t01:lost")
			mustLaunch(t, p, 1)
			if p.Service.RunningCount != 1 {
				t.Errorf("running %d", p.Service.RunningCount)
			}
		}},
		{"lost with max 100: its task still counts toward the maximum", func() *world {
			w := replica(2, 2).limits(50, 100).node("n1", func(n *Node) { n.Connected, n.DisconnectedSince = false, t0.Add(-2*time.Second) })
			w.task("d1", "n1", "running")
			w.task("d1", "n2", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t01:lost")
			mustLaunch(t, p, 0)
		}},
		{"deregistered instance: its tasks are gone", func() *world {
			w := replica(1, 2).node("n1", func(n *Node) { n.Status, n.Connected = model.StatusInactive, false })
			w.task("d1", "n1", "running")
			return w
		}, func(t *testing.T, p *Plan) { mustLaunch(t, p, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.world().decide()) })
	}
}

func TestDecideDeleted(t *testing.T) {
	w := replica(0, 2)
	w.in.Service.Status = model.StatusDraining
	w.task("d1", "n1", "running")
	w.task("d1", "n2", "stopped")
	p := w.decide()
	mustStops(t, p, "t01:deleted")
	if p.Service.Status != model.StatusDraining {
		t.Errorf("status %s with a running task", p.Service.Status)
	}
	w.in.Tasks[0].DesiredStatus, w.in.Tasks[0].LastStatus = model.StatusStopped, model.StatusStopping
	p = w.decide()
	if p.Service.Status != model.StatusInactive || p.Service.InactiveAt.IsZero() || len(p.Stops) != 0 {
		t.Errorf("status %s, stops %v", p.Service.Status, stops(p))
	}
}

func TestDecideDaemon(t *testing.T) {
	w := daemon(5)
	w.node("n2", func(n *Node) { n.Status = model.StatusDraining })
	w.node("n3", func(n *Node) { n.Eligible = false })
	w.node("n5", func(n *Node) { n.Connected, n.DisconnectedSince = false, t0 })
	w.task("d1", "n1", "running")
	w.task("d1", "n2", "running")
	w.task("d1", "n3", "running")
	w.task("d1", "n1", "pending")
	p := w.decide()
	mustStops(t, p, "t02:draining", "t03:ineligible", "t04:scale-in")
	if p.Service.DesiredCount != 2 || !slices.Equal(p.Launch.On, []string{"n4"}) {
		t.Errorf("desired %d, launch %+v", p.Service.DesiredCount, p.Launch)
	}
}

func TestDecideDaemonRolls(t *testing.T) {
	w := daemon(2).update()
	w.task("d1", "n1", "running")
	w.task("d1", "n2", "running")
	p := w.decide()
	// min 0: every old task stops at once; new ones follow once they have
	// stopped (one task per instance).
	mustStops(t, p, "t01:scale-in", "t02:scale-in")
	if len(p.Launch.On) != 0 {
		t.Errorf("launch %+v", p.Launch)
	}
	w.in.Tasks[0].LastStatus, w.in.Tasks[0].DesiredStatus = model.StatusStopped, model.StatusStopped
	w.in.Tasks[1].DesiredStatus = model.StatusStopped
	p = w.decide()
	if !slices.Equal(p.Launch.On, []string{"n1"}) {
		t.Errorf("launch %+v", p.Launch)
	}
}

func TestSteadyStateIsNotRepeated(t *testing.T) {
	w := replica(1, 1)
	w.in.Service.Deployments[0].RolloutState = model.DeploymentRolloutStateCompleted
	w.task("d1", "n1", "running")
	p := w.decide()
	if !slices.Equal(p.Events, []string{"(service web) has reached a steady state."}) {
		t.Fatalf("events %q", p.Events)
	}
	w.in.Service.Events = AddEvents(nil, p.Events, t0, func() string { return "e1" })
	w.in.Now = t0.Add(time.Hour)
	if p := w.decide(); len(p.Events) != 0 {
		t.Errorf("said again after an hour: %q", p.Events)
	}
	w.in.Now = t0.Add(7 * time.Hour)
	if p := w.decide(); len(p.Events) != 1 {
		t.Errorf("not said again after 7 hours: %q", p.Events)
	}
	w.in.Service.Events = AddEvents(w.in.Service.Events, []string{"(service web) has started 1 tasks: (task x)."}, t0, func() string { return "e2" })
	w.in.Now = t0.Add(time.Minute)
	if p := w.decide(); len(p.Events) != 1 {
		t.Errorf("not said after a start: %q", p.Events)
	}
}

func TestAddEventsKeepsNewestHundred(t *testing.T) {
	var evs []model.ServiceEvent
	for i := range 120 {
		evs = AddEvents(evs, []string{string(rune('A' + i%26))}, t0.Add(time.Duration(i)*time.Second), func() string { return "id" })
	}
	if len(evs) != MaxEvents || !evs[0].CreatedAt.Equal(t0.Add(119*time.Second)) {
		t.Errorf("%d events, newest %v", len(evs), evs[0].CreatedAt)
	}
	evs = AddEvents(nil, []string{"first", "second"}, t0, func() string { return "id" })
	if evs[0].Message != "second" || evs[1].Message != "first" {
		t.Errorf("order %+v", evs)
	}
}
