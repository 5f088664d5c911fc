package taskgc

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return t0.Add(-d) }

func TestDecideTasks(t *testing.T) {
	tests := []struct {
		name       string
		task       Task
		del, stamp bool
		next       time.Time
	}{
		{"running", Task{}, false, false, time.Time{}},
		{"just stopped", Task{Stopped: true, StoppedAt: ago(time.Second)}, false, false, t0.Add(time.Hour - time.Second)},
		{"stopped 59 minutes ago", Task{Stopped: true, StoppedAt: ago(59 * time.Minute)}, false, false, t0.Add(time.Minute)},
		{"stopped exactly an hour ago", Task{Stopped: true, StoppedAt: ago(time.Hour)}, true, false, time.Time{}},
		{"stopped a day ago", Task{Stopped: true, StoppedAt: ago(24 * time.Hour)}, true, false, time.Time{}},
		{"stopped, no stoppedAt", Task{Stopped: true}, false, true, t0.Add(time.Hour)},
		{"running with a stoppedAt (never deleted)", Task{StoppedAt: ago(24 * time.Hour)}, false, false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.task.Cluster, tt.task.ID = "c", "t"
			a := Decide(Observed{Tasks: []Task{tt.task}}, t0, time.Hour)
			if got := len(a.DeleteTasks) == 1; got != tt.del {
				t.Errorf("delete = %v, want %v", got, tt.del)
			}
			if got := len(a.StampTasks) == 1; got != tt.stamp {
				t.Errorf("stamp = %v, want %v", got, tt.stamp)
			}
			if !a.Next.Equal(tt.next) {
				t.Errorf("next = %v, want %v", a.Next, tt.next)
			}
			if got := TaskDue(tt.task, t0, time.Hour); got != tt.del {
				t.Errorf("TaskDue = %v, want %v", got, tt.del)
			}
		})
	}
}

func TestDecideServices(t *testing.T) {
	tests := []struct {
		name     string
		svc      Service
		del, fix bool
	}{
		{"active", Service{Events: 100}, false, false},
		{"active with too many events", Service{Events: 101}, false, true},
		{"draining", Service{Events: 3}, false, false},
		{"inactive, not yet stamped", Service{Inactive: true}, false, true},
		{"inactive for 10 minutes", Service{Inactive: true, InactiveAt: ago(10 * time.Minute)}, false, false},
		{"inactive for 10 minutes, too many events", Service{Inactive: true, InactiveAt: ago(10 * time.Minute), Events: 150}, false, true},
		{"inactive for an hour", Service{Inactive: true, InactiveAt: ago(time.Hour), Events: 150}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Decide(Observed{Services: []Service{tt.svc}}, t0, time.Hour)
			if got := len(a.DeleteServices) == 1; got != tt.del {
				t.Errorf("delete = %v, want %v", got, tt.del)
			}
			if got := len(a.FixServices) == 1; got != tt.fix {
				t.Errorf("fix = %v, want %v", got, tt.fix)
			}
			if got := ServiceDue(tt.svc, t0, time.Hour); got != tt.del {
				t.Errorf("ServiceDue = %v, want %v", got, tt.del)
			}
		})
	}
}

func TestDecideTaskDefinitions(t *testing.T) {
	arn := func(r int) string { return fmt.Sprint("arn:aws:ecs:us-east-1:000000000000:task-definition/web:", r) }
	defs := []TaskDef{
		{Family: "web", Revision: 1, ARN: arn(1), DeleteInProgress: true}, // only stopped tasks and an INACTIVE service
		{Family: "web", Revision: 2, ARN: arn(2), DeleteInProgress: true}, // a running task
		{Family: "web", Revision: 3, ARN: arn(3), DeleteInProgress: true}, // a draining service's old deployment
		{Family: "web", Revision: 4, ARN: arn(4)},                         // INACTIVE or ACTIVE: kept
		{Family: "web", Revision: 5, ARN: arn(5), DeleteInProgress: true}, // nothing at all
	}
	o := Observed{
		TaskDefs: defs,
		Tasks: []Task{
			{ID: "a", Stopped: true, StoppedAt: ago(time.Minute), TaskDefinition: arn(1)},
			{ID: "b", TaskDefinition: arn(2)},
		},
		Services: []Service{
			{Name: "old", Inactive: true, InactiveAt: ago(time.Minute), TaskDefinitions: []string{arn(1)}},
			{Name: "web", TaskDefinitions: []string{arn(4), arn(3)}},
		},
	}
	var got []int64
	for _, td := range Decide(o, t0, time.Hour).PurgeTaskDefs {
		got = append(got, td.Revision)
	}
	if want := []int64{1, 5}; !slices.Equal(got, want) {
		t.Errorf("purged revisions %v, want %v", got, want)
	}
}

// Whatever is observed, nothing is deleted before its retention period has
// passed, nothing alive is deleted, and Next is the earliest time something
// kept falls due.
func TestDecideProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		keep := time.Duration(rapid.IntRange(1, 120).Draw(rt, "keepMinutes")) * time.Minute
		when := func(label string) time.Time {
			if rapid.IntRange(0, 4).Draw(rt, label+" zero") == 0 {
				return time.Time{}
			}
			return ago(time.Duration(rapid.IntRange(0, 240).Draw(rt, label)) * time.Minute)
		}
		var o Observed
		for i := range rapid.IntRange(0, 20).Draw(rt, "tasks") {
			o.Tasks = append(o.Tasks, Task{ID: fmt.Sprint(i), Stopped: rapid.Bool().Draw(rt, "stopped"), StoppedAt: when("stoppedAt")})
		}
		for i := range rapid.IntRange(0, 10).Draw(rt, "services") {
			o.Services = append(o.Services, Service{Name: fmt.Sprint(i), Inactive: rapid.Bool().Draw(rt, "inactive"),
				InactiveAt: when("inactiveAt"), Events: rapid.IntRange(0, 200).Draw(rt, "events")})
		}
		a := Decide(o, t0, keep)
		for _, d := range a.DeleteTasks {
			if !d.Stopped || d.StoppedAt.IsZero() || t0.Sub(d.StoppedAt) < keep {
				rt.Fatalf("deleted task %+v with retention %v", d, keep)
			}
		}
		for _, d := range a.DeleteServices {
			if !d.Inactive || d.InactiveAt.IsZero() || t0.Sub(d.InactiveAt) < keep {
				rt.Fatalf("deleted service %+v with retention %v", d, keep)
			}
		}
		var next time.Time
		for _, tk := range o.Tasks {
			if tk.Stopped && !slices.Contains(a.DeleteTasks, tk) {
				next = earliest(next, cmpOr(tk.StoppedAt, t0).Add(keep))
			}
		}
		for _, s := range o.Services {
			if s.Inactive && !slices.ContainsFunc(a.DeleteServices, func(d Service) bool { return d.Name == s.Name }) {
				next = earliest(next, cmpOr(s.InactiveAt, t0).Add(keep))
			}
		}
		if !a.Next.Equal(next) {
			rt.Fatalf("Next = %v, want %v", a.Next, next)
		}
		if !a.Next.IsZero() && !a.Next.After(t0) {
			rt.Fatalf("Next %v is not after now", a.Next)
		}
	})
}

func cmpOr(t, otherwise time.Time) time.Time {
	if t.IsZero() {
		return otherwise
	}
	return t
}
