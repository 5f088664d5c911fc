package task

import (
	"time"

	"github.com/quayside/quayside/internal/model"
)

// Kind is what an Action does.
type Kind int

const (
	Wait         Kind = iota // nothing to do until something changes, or Until
	Done                     // STOPPED and cleaned up: the runner ends
	Advance                  // move the task to Status
	Fail                     // the agent stops the task: StopCode, Reason
	Skip                     // Container will never run (Reason may say why)
	MarkPulled               // every image is ready: pullStoppedAt
	CreateVolume             // create task Volume
	RemoveVolume             // remove task Volume
	Pull                     // make Container's image available (in the background)
	CancelPulls              // abandon the pulls in flight
	Create                   // create Container
	Start                    // start Container
	Stop                     // stop Container with Timeout (in the background)
	Remove                   // remove Container
)

var kindNames = [...]string{"Wait", "Done", "Advance", "Fail", "Skip", "MarkPulled", "CreateVolume",
	"RemoveVolume", "Pull", "CancelPulls", "Create", "Start", "Stop", "Remove"}

func (k Kind) String() string { return kindNames[k] }

// Action is the one thing to do next.
type Action struct {
	Kind      Kind
	Status    string             // Advance
	Container string             // container actions; PauseName for the pause container
	Volume    string             // volume actions
	StopCode  model.TaskStopCode // Fail
	Reason    string             // Fail, Skip
	Timeout   time.Duration      // Stop
	Until     time.Time          // Wait: wake up then even if nothing happens (zero: never)
}

// Reasons as ECS words them.
const (
	ReasonEssentialExited = "Essential container in task exited"
	reasonOOM             = "OutOfMemoryError: Container killed due to memory usage"
)

// Decide compares what the control plane wants (desired: RUNNING or
// STOPPED) with what the agent knows (s) and returns the one next action.
// It is a pure function: the caller applies the action, records the
// outcome in s and calls Decide again.
func Decide(t *Task, desired string, s *State, now time.Time) Action {
	switch {
	case s.Status == model.StatusStopped:
		if a, ok := teardown(t, s); ok {
			return a
		}
		return Action{Kind: Done}
	case desired == model.StatusStopped || s.Stopping || rank(s.Status) >= rank(model.StatusDeactivating):
		return stop(t, s)
	}
	if a, ok := failure(t, s, now); ok {
		return a
	}
	switch s.Status {
	case model.StatusProvisioning:
		return provision(t, s)
	case model.StatusPending:
		return launch(t, s, now)
	case model.StatusActivating:
		return advance(model.StatusRunning)
	}
	return Action{Kind: Wait}
}

func rank(status string) int { return model.TaskStatusRank(status) }

func advance(status string) Action { return Action{Kind: Advance, Status: status} }

func act(k Kind, container string) Action { return Action{Kind: k, Container: container} }

// failure finds a reason to stop a task the control plane wants running.
func failure(t *Task, s *State, now time.Time) (Action, bool) {
	early := rank(s.Status) < rank(model.StatusRunning)
	for _, name := range failureOrder(t) {
		if cs := s.C(name); cs.Failed && early {
			return Action{Kind: Fail, StopCode: model.TaskStopCodeTaskFailedToStart, Reason: cs.Reason, Container: name}, true
		}
	}
	for i := range t.Containers {
		if c := &t.Containers[i]; c.Essential && s.C(c.Name).Phase == PhaseExited {
			return Action{Kind: Fail, StopCode: model.TaskStopCodeEssentialContainerExited, Reason: ReasonEssentialExited}, true
		}
	}
	if t.Awsvpc() && s.C(PauseName).Phase == PhaseExited {
		code := model.TaskStopCodeEssentialContainerExited
		if early {
			code = model.TaskStopCodeTaskFailedToStart
		}
		return Action{Kind: Fail, StopCode: code, Reason: "ResourceInitializationError: the task's network namespace (pause container) exited"}, true
	}
	if !early {
		return Action{}, false
	}
	for i := range t.Containers {
		c := &t.Containers[i]
		cs := s.C(c.Name)
		if cs.Started() || cs.Skipped {
			continue
		}
		if why := blocked(t, s, c, now).never; why != "" {
			if c.Essential {
				return Action{Kind: Fail, StopCode: model.TaskStopCodeTaskFailedToStart, Reason: why}, true
			}
			return Action{Kind: Skip, Container: c.Name, Reason: why}, true
		}
	}
	return Action{}, false
}

// failureOrder is the pause container, then the containers in definition
// order.
func failureOrder(t *Task) []string {
	var names []string
	if t.Awsvpc() {
		names = append(names, PauseName)
	}
	for _, c := range t.Containers {
		names = append(names, c.Name)
	}
	return names
}

// provision readies what the task needs before its containers: the awsvpc
// network namespace.
func provision(t *Task, s *State) Action {
	if !t.Awsvpc() {
		return advance(model.StatusPending)
	}
	p := s.C(PauseName)
	switch {
	case p.Phase == PhaseNone && !p.ImageReady:
		if p.Pulling {
			return Action{Kind: Wait}
		}
		return act(Pull, PauseName)
	case p.Phase == PhaseNone:
		return act(Create, PauseName)
	case p.Phase == PhaseCreated:
		return act(Start, PauseName)
	case p.IP == "":
		return Action{Kind: Fail, StopCode: model.TaskStopCodeTaskFailedToStart,
			Reason: "ResourceInitializationError: the task's network namespace has no address"}
	}
	return advance(model.StatusPending)
}

// launch creates the task's volumes, pulls its images, and creates and
// starts its containers as their dependencies allow, one step at a time.
func launch(t *Task, s *State, now time.Time) Action {
	if a, ok := launchVolumes(t, s); ok {
		return a
	}
	pulling := false
	for i := range t.Containers {
		cs := s.C(t.Containers[i].Name)
		if cs.Phase == PhaseNone && !cs.Skipped && !cs.ImageReady {
			if !cs.Pulling {
				return act(Pull, t.Containers[i].Name)
			}
			pulling = true
		}
	}
	if !pulling && !s.PullStartedAt.IsZero() && s.PullStoppedAt.IsZero() {
		return Action{Kind: MarkPulled}
	}
	var until time.Time
	all := true
	for i := range t.Containers {
		c := &t.Containers[i]
		cs := s.C(c.Name)
		if cs.Started() || cs.Skipped {
			continue
		}
		all = false
		if cs.Phase == PhaseNone && cs.ImageReady && canCreate(t, s, c) {
			return act(Create, c.Name)
		}
		if cs.Phase != PhaseCreated {
			continue
		}
		b := blocked(t, s, c, now)
		if b.met {
			return act(Start, c.Name)
		}
		until = earliest(until, b.deadline)
	}
	if all && !pulling {
		return advance(model.StatusActivating)
	}
	return Action{Kind: Wait, Until: until}
}

func launchVolumes(t *Task, s *State) (Action, bool) {
	for _, v := range t.Volumes {
		switch {
		case v.Kind == VolumeUnsupported && volumeUsed(t, v.Name):
			return Action{Kind: Fail, StopCode: model.TaskStopCodeTaskFailedToStart,
				Reason: "ResourceInitializationError: volume " + v.Name + ": EFS, FSx and EBS volumes are not supported on this node"}, true
		case (v.Kind == VolumeTask || v.Kind == VolumeShared && v.Autoprovision) && !s.VolumesCreated[v.Name]:
			return Action{Kind: CreateVolume, Volume: v.Name}, true
		}
	}
	return Action{}, false
}

func volumeUsed(t *Task, name string) bool {
	for _, c := range t.Containers {
		for _, mp := range c.Def.MountPoints {
			if mp.SourceVolume == name {
				return true
			}
		}
	}
	return false
}

// canCreate reports whether the containers c refers to at creation exist.
func canCreate(t *Task, s *State, c *Container) bool {
	if t.Awsvpc() && s.C(PauseName).Phase != PhaseRunning {
		return false
	}
	for _, name := range c.CreateAfter {
		if s.C(name).Phase < PhaseCreated {
			return false
		}
	}
	return true
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// stop takes the task down: DEACTIVATING, STOPPING (containers stopped in
// reverse dependency order), DEPROVISIONING (containers, pause container and
// task volumes removed), STOPPED. A task that never reached RUNNING goes
// straight from stopping its containers to DEPROVISIONING.
func stop(t *Task, s *State) Action {
	early := rank(s.Status) < rank(model.StatusRunning)
	switch s.Status {
	case model.StatusRunning:
		return advance(model.StatusDeactivating)
	case model.StatusDeactivating:
		return advance(model.StatusStopping)
	case model.StatusDeprovisioning:
		if a, ok := teardown(t, s); ok {
			return a
		}
		return advance(model.StatusStopped)
	}
	if !early && s.Status != model.StatusStopping {
		return Action{Kind: Wait}
	}
	for _, cs := range s.Containers {
		if cs.Pulling {
			return Action{Kind: CancelPulls}
		}
	}
	running := false
	for i := range t.Containers {
		c := &t.Containers[i]
		cs := s.C(c.Name)
		switch {
		case !cs.Started() && !cs.Skipped:
			return act(Skip, c.Name)
		case cs.Phase != PhaseRunning:
			continue
		}
		running = true
		if !cs.Stopping && !hasRunningDependents(t, s, c.Name) {
			return Action{Kind: Stop, Container: c.Name, Timeout: c.StopTimeout}
		}
	}
	if running {
		return Action{Kind: Wait}
	}
	return advance(model.StatusDeprovisioning)
}

// hasRunningDependents reports whether a running container depends on name
// (so name must keep running until it stops).
func hasRunningDependents(t *Task, s *State, name string) bool {
	for i := range t.Containers {
		c := &t.Containers[i]
		if s.C(c.Name).Phase != PhaseRunning {
			continue
		}
		for _, d := range c.DependsOn {
			if d.ContainerName == name {
				return true
			}
		}
	}
	return false
}

// teardown removes what is left of the task on the engine: containers, then
// the pause container, then task-scoped volumes.
func teardown(t *Task, s *State) (Action, bool) {
	names := make([]string, 0, len(t.Containers)+1)
	for i := len(t.Containers) - 1; i >= 0; i-- {
		names = append(names, t.Containers[i].Name)
	}
	if t.Awsvpc() {
		names = append(names, PauseName)
	}
	for _, name := range names {
		cs := s.C(name)
		switch {
		case cs.RuntimeID == "" || cs.Removed:
			continue
		case cs.Stopping:
			return Action{Kind: Wait}, true
		case cs.Phase == PhaseRunning:
			timeout := 10 * time.Second
			if c := t.Container(name); c != nil {
				timeout = c.StopTimeout
			}
			return Action{Kind: Stop, Container: name, Timeout: timeout}, true
		}
		return act(Remove, name), true
	}
	for _, v := range t.Volumes {
		if v.Kind == VolumeTask && !s.VolumesRemoved[v.Name] {
			return Action{Kind: RemoveVolume, Volume: v.Name}, true
		}
	}
	return Action{}, false
}
