package task

import (
	"time"

	"github.com/quayside/quayside/internal/model"
)

// Error prefixes ECS puts on the reasons of tasks that failed to start.
const (
	PrefixPull   = "CannotPullContainerError: "
	PrefixCreate = "CannotCreateContainerError: "
	PrefixStart  = "CannotStartContainerError: "
	PrefixInit   = "ResourceInitializationError: "
)

// Apply records the bookkeeping of an action about to be carried out: the
// whole effect of Advance, Fail, Skip, MarkPulled and CancelPulls, and the
// in-flight marks of Pull and Stop. What the engine answers is recorded with
// the Container... methods afterwards.
func (s *State) Apply(a Action, now time.Time) {
	switch a.Kind {
	case Advance:
		s.advance(a.Status, now)
	case Fail:
		s.Stopping = true
		if s.StopCode == "" {
			s.StopCode, s.StoppedReason = a.StopCode, a.Reason
		}
	case Skip:
		cs := s.C(a.Container)
		cs.Skipped = true
		if a.Reason != "" {
			cs.Reason = a.Reason
		}
	case MarkPulled:
		s.PullStoppedAt = now
	case Pull:
		s.C(a.Container).Pulling = true
		if s.PullStartedAt.IsZero() {
			s.PullStartedAt = now
		}
		if s.ConnectivityAt.IsZero() && s.Status != model.StatusProvisioning {
			s.ConnectivityAt = now
		}
	case CancelPulls:
		for _, cs := range s.Containers {
			cs.Pulling = false
		}
	case Stop:
		s.C(a.Container).Stopping = true
	}
}

func (s *State) advance(status string, now time.Time) {
	if !model.TaskStatusAdvances(s.Status, status) {
		return
	}
	s.Status = status
	set := func(t *time.Time) {
		if t.IsZero() {
			*t = now
		}
	}
	switch status {
	case model.StatusPending:
		set(&s.ConnectivityAt)
	case model.StatusRunning:
		set(&s.StartedAt)
	case model.StatusStopping:
		set(&s.StoppingAt)
	case model.StatusDeprovisioning:
		set(&s.ExecutionStoppedAt)
	case model.StatusStopped:
		set(&s.ExecutionStoppedAt)
		set(&s.StoppedAt)
	}
}

// PullDone records the end of a pull; err is the engine's error text ("" on
// success). A pull abandoned because the task is stopping is not a failure.
func (s *State) PullDone(name, errText string, abandoned bool) {
	cs := s.C(name)
	cs.Pulling = false
	switch {
	case errText == "":
		cs.ImageReady = true
	case !abandoned:
		cs.Failed, cs.Reason = true, PrefixPull+errText
	}
}

// Created records a created container.
func (s *State) Created(name, id string) {
	cs := s.C(name)
	cs.RuntimeID, cs.Phase, cs.Removed = id, PhaseCreated, false
}

// CreateFailed records that a container could not be created.
func (s *State) CreateFailed(name, errText string) {
	cs := s.C(name)
	cs.Failed, cs.Reason = true, PrefixCreate+errText
}

// StartFailed records that a container could not be started.
func (s *State) StartFailed(name, errText string) {
	cs := s.C(name)
	cs.Failed, cs.Reason = true, PrefixStart+errText
}

// StopDone records the end of a stop (the container's state comes from
// the next observation).
func (s *State) StopDone(name string) { s.C(name).Stopping = false }

// Removed records a removed container.
func (s *State) Removed(name string) {
	cs := s.C(name)
	cs.Removed, cs.Stopping = true, false
}
