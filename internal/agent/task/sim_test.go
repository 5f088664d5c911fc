package task

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

// sim drives Decide against an instant, obedient engine, the way the agent's
// runner does, and logs the actions.
type sim struct {
	tb       testing.TB
	t        *Task
	s        *State
	now      time.Time
	pullErr  map[string]string
	startErr map[string]string
	log      []string
}

func newSim(tb testing.TB, td model.TaskDefinition, status string) *sim {
	a := &agentproto.Assignment{
		Task:       model.Task{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef0123456789abcdef", LastStatus: status},
		Definition: td,
	}
	if td.NetworkMode == model.NetworkModeAwsvpc {
		a.Task.Attachments = []model.Attachment{{Id: "eni-att", Type: "ElasticNetworkInterface", Status: "PRECREATED",
			Details: []model.KeyValuePair{{Name: "subnetId", Value: "subnet-1"}}}}
	}
	t := New(a, Options{Cluster: "c", Instance: "ci", PauseImage: "pause"})
	return &sim{tb: tb, t: t, s: NewState(t, status), now: time.Unix(1_700_000_000, 0),
		pullErr: map[string]string{}, startErr: map[string]string{}}
}

func (m *sim) step(desired string) Action {
	a := Decide(m.t, desired, m.s, m.now)
	m.s.Apply(a, m.now)
	cs := m.s.C(a.Container)
	switch a.Kind {
	case Pull:
		m.s.PullDone(a.Container, m.pullErr[a.Container], false)
	case Create:
		m.s.Created(a.Container, "id-"+a.Container)
	case Start:
		if e := m.startErr[a.Container]; e != "" {
			m.s.StartFailed(a.Container, e)
			break
		}
		cs.Observe(runtime.ContainerStatus{ID: cs.RuntimeID, Running: true, State: "running", StartedAt: m.now, IPAddress: "172.17.0.9"})
	case Stop:
		m.exit(a.Container, 0)
		m.s.StopDone(a.Container)
	case Remove:
		m.s.Removed(a.Container)
	case CreateVolume:
		m.s.VolumesCreated[a.Volume] = true
	case RemoveVolume:
		m.s.VolumesRemoved[a.Volume] = true
	}
	m.log = append(m.log, describe(a))
	return a
}

// exit makes a running container exit with code.
func (m *sim) exit(name string, code int) {
	cs := m.s.C(name)
	cs.Observe(runtime.ContainerStatus{ID: cs.RuntimeID, State: "exited", ExitCode: code, StartedAt: cs.StartedAt, FinishedAt: m.now})
}

func (m *sim) health(name, h string) {
	m.s.C(name).Health = h
}

// run steps until the task waits or is done, and returns the actions.
func (m *sim) run(desired string) []string {
	m.tb.Helper()
	m.log = nil
	for range 200 {
		if a := m.step(desired); a.Kind == Wait || a.Kind == Done {
			return m.log
		}
	}
	m.tb.Fatalf("no Wait or Done after 200 steps: %v", m.log)
	return nil
}

func describe(a Action) string {
	switch a.Kind {
	case Advance:
		return a.Status
	case Fail:
		return fmt.Sprintf("Fail(%s: %s)", a.StopCode, a.Reason)
	case Wait, Done, MarkPulled, CancelPulls:
		return a.Kind.String()
	case CreateVolume, RemoveVolume:
		return a.Kind.String() + "(" + a.Volume + ")"
	}
	return a.Kind.String() + "(" + a.Container + ")"
}

func want(tb testing.TB, got []string, want ...string) {
	tb.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		tb.Errorf("actions:\n got  %s\n want %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

func def(cs ...model.ContainerDefinition) model.TaskDefinition {
	return model.TaskDefinition{Family: "web", Revision: 3, ContainerDefinitions: cs}
}

func ctr(name string, muts ...func(*model.ContainerDefinition)) model.ContainerDefinition {
	c := model.ContainerDefinition{Name: name, Image: "img/" + name, Essential: ptr(true)}
	for _, m := range muts {
		m(&c)
	}
	return c
}

func nonEssential(c *model.ContainerDefinition) { c.Essential = ptr(false) }

func dependsOn(name string, cond model.ContainerCondition) func(*model.ContainerDefinition) {
	return func(c *model.ContainerDefinition) {
		c.DependsOn = append(c.DependsOn, model.ContainerDependency{ContainerName: name, Condition: cond})
	}
}

func ptr[T any](v T) *T { return &v }

// snapshotStatus is what an engine would say about a container in cs.
func (cs *ContainerState) snapshotStatus() runtime.ContainerStatus {
	st := runtime.ContainerStatus{ID: cs.RuntimeID, StartedAt: cs.StartedAt, IPAddress: cs.IP, Health: cs.Health, Ports: cs.Ports}
	switch cs.Phase {
	case PhaseRunning:
		st.Running, st.State = true, "running"
	case PhaseCreated:
		st.State = "created"
	default:
		st.State = "exited"
	}
	return st
}
