package taskgc

import "time"

// DefaultRetention is how long stopped tasks and INACTIVE services stay
// describable.
const DefaultRetention = time.Hour

// MaxServiceEvents is how many events a service keeps (DescribeServices
// shows the latest 100).
const MaxServiceEvents = 100

// Task is what Decide needs to know of a task.
type Task struct {
	Cluster, ID    string
	Stopped        bool
	StoppedAt      time.Time // zero: not recorded
	TaskDefinition string
}

// Service is what Decide needs to know of a service.
type Service struct {
	Cluster, Name string
	Inactive      bool
	InactiveAt    time.Time // zero: not recorded
	Events        int
	// TaskDefinitions are the revisions the service and its deployments
	// run.
	TaskDefinitions []string
}

// TaskDef is a task definition revision.
type TaskDef struct {
	Family           string
	Revision         int64
	ARN              string
	DeleteInProgress bool
}

// Observed is one listing of the store.
type Observed struct {
	Tasks    []Task
	Services []Service
	TaskDefs []TaskDef
}

// Actions is what Decide wants done.
type Actions struct {
	DeleteTasks    []Task    // stopped longer than the retention period
	StampTasks     []Task    // stopped without a stoppedAt: record now
	DeleteServices []Service // INACTIVE longer than the retention period
	// FixServices are services to stamp (INACTIVE without InactiveAt) or
	// whose events to trim to MaxServiceEvents, or both.
	FixServices   []Service
	PurgeTaskDefs []TaskDef // DELETE_IN_PROGRESS and referenced by nothing alive
	// Next is when the next retained task or service falls due (zero:
	// none waits).
	Next time.Time
}

// Empty reports whether there is nothing to do now.
func (a *Actions) Empty() bool {
	return len(a.DeleteTasks)+len(a.StampTasks)+len(a.DeleteServices)+len(a.FixServices)+len(a.PurgeTaskDefs) == 0
}

// Decide returns what to do at now with retention period keep.
func Decide(o Observed, now time.Time, keep time.Duration) Actions {
	var a Actions
	due := func(at time.Time) bool {
		if at.Add(keep).After(now) {
			a.Next = earliest(a.Next, at.Add(keep))
			return false
		}
		return true
	}
	for _, t := range o.Tasks {
		switch {
		case !t.Stopped:
		case t.StoppedAt.IsZero():
			a.StampTasks = append(a.StampTasks, t)
			a.Next = earliest(a.Next, now.Add(keep))
		case due(t.StoppedAt):
			a.DeleteTasks = append(a.DeleteTasks, t)
		}
	}
	for _, s := range o.Services {
		switch {
		case s.Inactive && !s.InactiveAt.IsZero() && due(s.InactiveAt):
			a.DeleteServices = append(a.DeleteServices, s)
		case s.Inactive && s.InactiveAt.IsZero():
			a.FixServices = append(a.FixServices, s)
			a.Next = earliest(a.Next, now.Add(keep))
		case s.Events > MaxServiceEvents:
			a.FixServices = append(a.FixServices, s)
		}
	}
	a.PurgeTaskDefs = purgeable(o)
	return a
}

// TaskDue reports whether t, as it is now, is to be deleted.
func TaskDue(t Task, now time.Time, keep time.Duration) bool {
	return t.Stopped && !t.StoppedAt.IsZero() && !t.StoppedAt.Add(keep).After(now)
}

// ServiceDue reports whether s, as it is now, is to be deleted.
func ServiceDue(s Service, now time.Time, keep time.Duration) bool {
	return s.Inactive && !s.InactiveAt.IsZero() && !s.InactiveAt.Add(keep).After(now)
}

// purgeable returns the DELETE_IN_PROGRESS revisions that no task still
// before STOPPED and no service still ACTIVE or DRAINING references.
func purgeable(o Observed) []TaskDef {
	var out []TaskDef
	for _, td := range o.TaskDefs {
		if td.DeleteInProgress {
			out = append(out, td)
		}
	}
	if len(out) == 0 {
		return nil
	}
	used := map[string]bool{}
	for _, t := range o.Tasks {
		if !t.Stopped {
			used[t.TaskDefinition] = true
		}
	}
	for _, s := range o.Services {
		if !s.Inactive {
			for _, td := range s.TaskDefinitions {
				used[td] = true
			}
		}
	}
	keep := out[:0]
	for _, td := range out {
		if !used[td.ARN] {
			keep = append(keep, td)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return keep
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
