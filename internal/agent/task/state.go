package task

import (
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

// Phase is a container's state on the engine, as last observed.
type Phase int

const (
	PhaseNone    Phase = iota // not created (or removed before it ran)
	PhaseCreated              // created, not started
	PhaseRunning              // running
	PhaseExited               // ran and exited (or vanished after it ran)
)

// State is what the agent knows about one task: the last status it reported
// and what it observed of the task's containers and volumes.
type State struct {
	Status string // task lastStatus as last reported

	// Stopping is set once the agent decided to stop the task itself
	// (StopCode says why).
	Stopping      bool
	StopCode      model.TaskStopCode
	StoppedReason string

	PullStartedAt, PullStoppedAt   time.Time
	ConnectivityAt                 time.Time // the task's network is ready
	StartedAt, StoppingAt          time.Time
	ExecutionStoppedAt, StoppedAt  time.Time
	Containers                     map[string]*ContainerState // by name; PauseName too for awsvpc
	VolumesCreated, VolumesRemoved map[string]bool
}

// ContainerState is what the agent knows about one container.
type ContainerState struct {
	// Known is the container lastStatus last reported; the status never
	// goes back from it.
	Known string

	// Observed on the engine.
	RuntimeID   string
	Phase       Phase
	ExitCode    *int32
	OOM         bool
	Health      string // engine words: "", "starting", "healthy", "unhealthy"
	Ports       []runtime.PortBinding
	IP          string
	StartedAt   time.Time
	FinishedAt  time.Time
	ImageDigest string
	Removed     bool // removed from the engine (by the agent, or found gone)

	// Agent bookkeeping.
	ImageReady bool   // EnsureImage succeeded
	Pulling    bool   // EnsureImage in flight
	Stopping   bool   // StopContainer in flight
	Skipped    bool   // will never run
	Failed     bool   // could not be pulled, created or started (Reason says why)
	Reason     string // the container's `reason`
}

// NewState is the state of a task nothing has happened to yet, in the
// status the control plane created it with.
func NewState(t *Task, status string) *State {
	if model.TaskStatusRank(status) == 0 {
		status = model.StatusPending
	}
	s := &State{
		Status:         status,
		Containers:     map[string]*ContainerState{},
		VolumesCreated: map[string]bool{},
		VolumesRemoved: map[string]bool{},
	}
	for _, c := range t.Containers {
		s.Containers[c.Name] = &ContainerState{Known: model.StatusPending}
	}
	if t.Awsvpc() {
		s.Containers[PauseName] = &ContainerState{Known: model.StatusPending}
	}
	return s
}

// C returns the state of the named container (a blank one for an unknown
// name, so callers need no nil checks).
func (s *State) C(name string) *ContainerState {
	if cs, ok := s.Containers[name]; ok {
		return cs
	}
	cs := &ContainerState{Known: model.StatusPending}
	s.Containers[name] = cs
	return cs
}

// Started reports whether the container has run (it may have exited).
func (cs *ContainerState) Started() bool {
	return cs.Phase >= PhaseRunning || model.TaskStatusRank(cs.Known) >= model.TaskStatusRank(model.StatusRunning)
}

// Observe records what the engine says about the container.
func (cs *ContainerState) Observe(st runtime.ContainerStatus) {
	cs.RuntimeID, cs.Removed = st.ID, false
	if st.ImageDigest != "" {
		cs.ImageDigest = st.ImageDigest
	}
	cs.Health = st.Health
	if st.IPAddress != "" {
		cs.IP = st.IPAddress
	}
	if !st.StartedAt.IsZero() {
		cs.StartedAt = st.StartedAt
	}
	switch {
	case st.Running:
		cs.Phase = PhaseRunning
		if len(st.Ports) > 0 {
			cs.Ports = st.Ports
		}
	case st.State == "created" && cs.Phase <= PhaseCreated && !cs.Started():
		cs.Phase = PhaseCreated
	default:
		cs.Phase = PhaseExited
		code := int32(st.ExitCode)
		cs.ExitCode, cs.OOM, cs.FinishedAt = &code, st.OOMKilled, st.FinishedAt
	}
}

// ObserveGone records that the engine no longer has the container.
func (cs *ContainerState) ObserveGone() {
	cs.Removed = true
	switch {
	case cs.Started():
		if cs.Phase != PhaseExited && cs.Reason == "" {
			cs.Reason = "The container was removed from the engine while it ran"
		}
		cs.Phase = PhaseExited
	default:
		// It never ran: it may be created again.
		cs.Phase, cs.RuntimeID, cs.Removed = PhaseNone, "", false
	}
	cs.Stopping = false
}

// Restore rebuilds the state of a task from the last report the agent made
// (or, when the agent lost it, from the task as the control plane has it).
// The engine's view is merged in afterwards with Observe.
func Restore(t *Task, r *agentproto.TaskReport) *State {
	s := NewState(t, r.LastStatus)
	s.StopCode, s.StoppedReason = r.StopCode, r.StoppedReason
	s.Stopping = r.StopCode != ""
	s.PullStartedAt, s.PullStoppedAt = r.PullStartedAt.Time, r.PullStoppedAt.Time
	s.ConnectivityAt = r.ConnectivityAt.Time
	s.StartedAt, s.StoppingAt = r.StartedAt.Time, r.StoppingAt.Time
	s.ExecutionStoppedAt, s.StoppedAt = r.ExecutionStoppedAt.Time, r.StoppedAt.Time
	for _, cr := range r.Containers {
		cs, ok := s.Containers[cr.Name]
		if !ok {
			continue
		}
		cs.Known, cs.RuntimeID, cs.Reason, cs.ImageDigest = cr.LastStatus, cr.RuntimeID, cr.Reason, cr.ImageDigest
		cs.ExitCode = cr.ExitCode
		switch cr.LastStatus {
		case model.StatusRunning:
			cs.Phase = PhaseRunning
		case model.StatusStopped:
			cs.Phase = PhaseExited
			cs.Skipped = cr.ExitCode == nil && cr.RuntimeID == ""
		}
		if cs.Phase == PhaseNone && cs.RuntimeID != "" {
			cs.Phase = PhaseCreated
		}
	}
	if t.Awsvpc() && model.TaskStatusRank(s.Status) > model.TaskStatusRank(model.StatusProvisioning) {
		p := s.C(PauseName)
		p.Phase, p.IP = PhaseRunning, pauseIP(r.Attachments)
	}
	return s
}

func pauseIP(atts []model.Attachment) string {
	for _, a := range atts {
		for _, d := range a.Details {
			if d.Name == "privateIPv4Address" {
				return d.Value
			}
		}
	}
	return ""
}

// ReportOf is the task as the control plane has it, in report form: what a
// restarted agent that lost its own records starts from.
func ReportOf(mt *model.Task) agentproto.TaskReport {
	r := agentproto.TaskReport{
		TaskArn: mt.TaskArn, LastStatus: mt.LastStatus, HealthStatus: mt.HealthStatus,
		StopCode: mt.StopCode, StoppedReason: mt.StoppedReason, Attachments: mt.Attachments,
		PullStartedAt: mt.PullStartedAt, PullStoppedAt: mt.PullStoppedAt, StartedAt: mt.StartedAt, ConnectivityAt: mt.ConnectivityAt,
		StoppingAt: mt.StoppingAt, ExecutionStoppedAt: mt.ExecutionStoppedAt, StoppedAt: mt.StoppedAt,
	}
	for _, c := range mt.Containers {
		r.Containers = append(r.Containers, agentproto.ContainerReport{
			Name: c.Name, RuntimeID: c.RuntimeId, LastStatus: c.LastStatus, ExitCode: c.ExitCode,
			Reason: c.Reason, HealthStatus: c.HealthStatus, NetworkBindings: c.NetworkBindings,
			NetworkInterfaces: c.NetworkInterfaces, ImageDigest: c.ImageDigest,
		})
	}
	return r
}
