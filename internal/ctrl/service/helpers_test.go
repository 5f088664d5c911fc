package service

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

const (
	td1 = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
	td2 = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2"
)

// world is a Decide input under construction.
type world struct {
	in  Input
	ids int
}

// replica is a REPLICA service "web" with desired tasks, its PRIMARY
// deployment "d1" of td1 created an hour ago and still IN_PROGRESS, on
// nodes n1..nN (ACTIVE, connected, zones a, b, c in turn).
func replica(desired int32, nodes int) *world {
	w := &world{}
	w.in = Input{
		Service: &store.ServiceRecord{Cluster: "c", Service: model.Service{
			ServiceName: "web", Status: model.StatusActive, DesiredCount: desired, TaskDefinition: td1,
			SchedulingStrategy: model.SchedulingStrategyReplica,
			Deployments:        []model.Deployment{deployment("d1", deploymentPrimary, td1, desired)},
		}},
		Nodes:        map[string]Node{},
		HealthChecks: map[string]bool{},
		Policy:       Policy{LostAfter: time.Second, SuccessAfter: 10 * time.Second, NewDeploymentID: func() string { return "rollback" }},
		Now:          t0,
	}
	for i := 1; i <= nodes; i++ {
		id := fmt.Sprintf("n%d", i)
		w.in.Nodes[id] = Node{ID: id, Status: model.StatusActive, Connected: true, AZ: string(rune('a' + (i-1)%3)), Eligible: true}
	}
	return w
}

// daemon is replica turned DAEMON (min 0, max 100).
func daemon(nodes int) *world {
	w := replica(0, nodes)
	w.in.Service.SchedulingStrategy = model.SchedulingStrategyDaemon
	return w
}

func deployment(id, status, td string, desired int32) model.Deployment {
	return model.Deployment{Id: id, Status: status, TaskDefinition: td, DesiredCount: desired,
		CreatedAt: model.At(t0.Add(-time.Hour)), RolloutState: model.DeploymentRolloutStateInProgress}
}

func (w *world) limits(minPct, maxPct int32) *world {
	w.in.Service.DeploymentConfiguration = &model.DeploymentConfiguration{MinimumHealthyPercent: &minPct, MaximumPercent: &maxPct}
	return w
}

func (w *world) breaker(rollback bool) *world {
	if w.in.Service.DeploymentConfiguration == nil {
		w.limits(100, 200)
	}
	w.in.Service.DeploymentConfiguration.DeploymentCircuitBreaker = &model.DeploymentCircuitBreaker{Enable: true, Rollback: rollback}
	return w
}

// update starts deployment d2 of td2 (created now); d1 becomes ACTIVE and
// COMPLETED, the last completed one.
func (w *world) update() *world {
	s := w.in.Service
	s.Deployments[0].Status = deploymentActive
	s.Deployments[0].RolloutState = model.DeploymentRolloutStateCompleted
	s.LastCompleted = new(s.Deployments[0])
	d2 := deployment("d2", deploymentPrimary, td2, s.DesiredCount)
	d2.CreatedAt = model.At(t0.Add(-time.Minute))
	s.Deployments = append([]model.Deployment{d2}, s.Deployments...)
	s.TaskDefinition = td2
	return w
}

func (w *world) node(id string, mod func(*Node)) *world {
	n := w.in.Nodes[id]
	mod(&n)
	w.in.Nodes[id] = n
	return w
}

// task adds a task of deployment dep on node; its state is a word list:
// running (RUNNING for an hour), young (RUNNING for a second), settled
// (created after the crashes, RUNNING for 19 s), pending,
// stopped, failed (never ran), crashed (ran a second, exited), stopping
// (asked to stop), unhealthy, healthy.
func (w *world) task(dep, node string, state ...string) string {
	w.ids++
	id := fmt.Sprintf("t%02d", w.ids)
	td := td1
	if dep == "d2" {
		td = td2
	}
	t := Task{ID: id, Deployment: dep, TaskDefinition: td, Instance: node, LastStatus: model.StatusPending,
		DesiredStatus: model.StatusRunning, CreatedAt: t0.Add(-time.Hour + time.Duration(w.ids)*time.Second)}
	for _, s := range state {
		w.apply(&t, s)
	}
	w.in.Tasks = append(w.in.Tasks, t)
	return id
}

func (w *world) apply(t *Task, s string) {
	switch s {
	case "running":
		t.LastStatus, t.StartedAt = model.StatusRunning, t.CreatedAt.Add(time.Second)
	case "young":
		t.CreatedAt = t0.Add(-2 * time.Second)
		t.LastStatus, t.StartedAt = model.StatusRunning, t0.Add(-time.Second)
	case "settled":
		t.CreatedAt = t0.Add(-20 * time.Second)
		t.LastStatus, t.StartedAt = model.StatusRunning, t0.Add(-19*time.Second)
	case "new":
		t.CreatedAt = t0.Add(-time.Second)
	case "pending":
	case "stopped":
		t.LastStatus, t.DesiredStatus, t.StoppedAt = model.StatusStopped, model.StatusStopped, t.CreatedAt.Add(time.Minute)
		t.StartedAt = t.CreatedAt.Add(time.Second)
		t.StopCode = model.TaskStopCodeEssentialContainerExited
	case "failed":
		t.CreatedAt = t0.Add(-3*time.Second + time.Duration(w.ids)*time.Millisecond)
		t.LastStatus, t.DesiredStatus, t.StoppedAt = model.StatusStopped, model.StatusStopped, t.CreatedAt.Add(500*time.Millisecond)
		t.StopCode = model.TaskStopCodeTaskFailedToStart
	case "crashed":
		t.CreatedAt = t0.Add(-30*time.Second + time.Duration(w.ids)*time.Second)
		t.LastStatus, t.DesiredStatus = model.StatusStopped, model.StatusStopped
		t.StartedAt, t.StoppedAt = t.CreatedAt.Add(time.Second), t.CreatedAt.Add(2*time.Second)
		t.StopCode = model.TaskStopCodeEssentialContainerExited
	case "stopping":
		t.DesiredStatus, t.StopCode, t.ServiceStop = model.StatusStopped, model.TaskStopCodeServiceSchedulerInitiated, store.ServiceStopScaleIn
	case "unhealthy":
		w.in.HealthChecks[t.TaskDefinition] = true
		t.Health = model.HealthStatusUnhealthy
	case "healthy":
		w.in.HealthChecks[t.TaskDefinition] = true
		t.Health = model.HealthStatusHealthy
	default:
		panic("unknown task state " + s)
	}
}

func (w *world) tasks(n int, dep, node string, state ...string) []string {
	var ids []string
	for range n {
		ids = append(ids, w.task(dep, node, state...))
	}
	return ids
}

func (w *world) decide() *Plan { return Decide(&w.in) }

// stops lists the plan's stops as "id:kind".
func stops(p *Plan) []string {
	var out []string
	for _, s := range p.Stops {
		out = append(out, s.Task+":"+s.Kind)
	}
	return out
}

func hasEvent(p *Plan, sub string) bool {
	for _, m := range p.Events {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

func dep(p *Plan, id string) *model.Deployment {
	for i := range p.Service.Deployments {
		if p.Service.Deployments[i].Id == id {
			return &p.Service.Deployments[i]
		}
	}
	return nil
}

func mustStops(t *testing.T, p *Plan, want ...string) {
	t.Helper()
	got := stops(p)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("stops = %v, want %v", got, want)
	}
}

func mustLaunch(t *testing.T, p *Plan, n int) {
	t.Helper()
	if p.Launch.Count != n {
		t.Errorf("launch %d, want %d (plan %+v, events %q)", p.Launch.Count, n, p.Launch, p.Events)
	}
}
