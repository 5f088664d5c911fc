package task

import (
	"fmt"
	"time"

	"github.com/quayside/quayside/internal/model"
)

// gate is where a container stands with its start dependencies.
type gate struct {
	met      bool      // every condition holds: start it
	never    string    // a condition can never hold: why
	deadline time.Time // when a startTimeout expires (zero: none pending)
}

// blocked evaluates c's dependsOn conditions (and the START conditions its
// links imply) the way ECS does: START waits for the dependency to have
// started, COMPLETE for it to have exited, SUCCESS for exit code 0, HEALTHY
// for a passing health check. A dependency with a startTimeout that has not
// met a COMPLETE, SUCCESS or HEALTHY condition that long after it started
// never will.
func blocked(t *Task, s *State, c *Container, now time.Time) gate {
	g := gate{met: true}
	for _, d := range c.DependsOn {
		ok, never := condition(s.C(d.ContainerName), d.Condition)
		if never == "" && !ok {
			never, g.deadline = timedOut(t, s, d, now, g.deadline)
		}
		if never != "" {
			return gate{never: fmt.Sprintf("CannotStartContainerError: container %s: dependency %s %s", c.Name, d.ContainerName, never)}
		}
		g.met = g.met && ok
	}
	return g
}

// condition says whether dependency ds meets cond, or why it never will.
func condition(ds *ContainerState, cond model.ContainerCondition) (ok bool, never string) {
	exited := ds.Phase == PhaseExited
	if ds.Skipped {
		return false, "will never start"
	}
	switch cond {
	case model.ContainerConditionComplete:
		return exited, ""
	case model.ContainerConditionSuccess:
		if exited && (ds.ExitCode == nil || *ds.ExitCode != 0) {
			return false, fmt.Sprintf("did not exit successfully (exit code %s)", exitText(ds.ExitCode))
		}
		return exited, ""
	case model.ContainerConditionHealthy:
		if exited {
			return false, "exited before it was healthy"
		}
		return ds.Health == "healthy", ""
	default: // START
		return ds.Started(), ""
	}
}

func exitText(code *int32) string {
	if code == nil {
		return "unknown"
	}
	return fmt.Sprint(*code)
}

// timedOut applies the dependency's startTimeout; it returns why the
// condition will never hold, or the earlier of deadline and its expiry.
func timedOut(t *Task, s *State, d model.ContainerDependency, now, deadline time.Time) (string, time.Time) {
	dc := t.Container(d.ContainerName)
	ds := s.C(d.ContainerName)
	if dc == nil || dc.StartTimeout <= 0 || ds.StartedAt.IsZero() || d.Condition == model.ContainerConditionStart {
		return "", deadline
	}
	expiry := ds.StartedAt.Add(dc.StartTimeout)
	if !now.Before(expiry) {
		return fmt.Sprintf("did not reach condition %s within its startTimeout of %v", d.Condition, dc.StartTimeout), deadline
	}
	return "", earliest(deadline, expiry)
}
