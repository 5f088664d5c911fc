package e2e

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// taskSnapshot is what must not change about a running task across a
// restart: when it started and the engine containers it runs in.
type taskSnapshot struct {
	startedAt  time.Time
	containers map[string]string // container name → engine container ID
}

// snapshot records the tasks as the control plane and the engine see them.
func (e *dockerEnv) snapshot(arns []string) map[string]taskSnapshot {
	e.t.Helper()
	out := map[string]taskSnapshot{}
	for _, tk := range e.describe(arns...) {
		s := taskSnapshot{startedAt: aws.ToTime(tk.StartedAt), containers: e.checkOneEach(tk)}
		out[aws.ToString(tk.TaskArn)] = s
	}
	return out
}

// checkOneEach checks that the engine holds exactly one container for each
// container of the task, and that it is the one the control plane reports
// (runtimeId); it returns them by name.
func (e *dockerEnv) checkOneEach(tk types.Task) map[string]string {
	e.t.Helper()
	arn := aws.ToString(tk.TaskArn)
	byName := map[string][]string{}
	for _, c := range e.dockerContainers(arn) {
		n := c.Labels[labelContainer]
		byName[n] = append(byName[n], c.ID)
	}
	ids := map[string]string{}
	for _, c := range tk.Containers {
		name := aws.ToString(c.Name)
		got := byName[name]
		switch {
		case len(got) != 1:
			e.t.Errorf("task %s: %d engine containers for %q, want exactly 1: %v", arn, len(got), name, got)
		case got[0] != aws.ToString(c.RuntimeId):
			e.t.Errorf("task %s: container %q runs as %s, the control plane says %s", arn, name, got[0], aws.ToString(c.RuntimeId))
		default:
			ids[name] = got[0]
		}
		delete(byName, name)
	}
	if len(byName) != 0 {
		e.t.Errorf("task %s: engine containers the task does not have: %v", arn, byName)
	}
	return ids
}

// checkUnchanged checks that tasks kept running through a restart: RUNNING,
// the same start time, the same engine containers, serving HTTP.
func (e *dockerEnv) checkUnchanged(before map[string]taskSnapshot) {
	e.t.Helper()
	arns := slices.Sorted(maps.Keys(before))
	for _, tk := range e.describe(arns...) {
		arn := aws.ToString(tk.TaskArn)
		now := taskSnapshot{startedAt: aws.ToTime(tk.StartedAt), containers: e.checkOneEach(tk)}
		if aws.ToString(tk.LastStatus) != "RUNNING" || !now.startedAt.Equal(before[arn].startedAt) ||
			!maps.Equal(now.containers, before[arn].containers) {
			e.t.Errorf("task %s changed: %s; before %+v, now %+v", arn, aws.ToString(tk.LastStatus), before[arn], now)
		}
		e.httpDo("GET", fmt.Sprintf("http://127.0.0.1:%d/health", hostPort(e.t, tk, "web")))
	}
}

// countContainers counts the engine's containers of tasks.
func (e *dockerEnv) countContainers(arns []string) int {
	e.t.Helper()
	n := 0
	for _, arn := range arns {
		n += len(e.dockerContainers(arn))
	}
	return n
}

// checkTaskList checks that the cluster has exactly these tasks with a
// desired status.
func (e *dockerEnv) checkTaskList(desired types.DesiredStatus, want []string) {
	e.t.Helper()
	out := mustAWS(e.ecs.ListTasks(e.t.Context(), &ecs.ListTasksInput{Cluster: aws.String(e.cluster), DesiredStatus: desired}))(e.t)
	got := slices.Clone(out.TaskArns)
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		e.t.Errorf("%s tasks of the cluster:\n got %v\nwant %v", desired, got, want)
	}
}

// TestDockerAgentKill9: the agent is killed with SIGKILL while some tasks
// run, some wait for a dependency and some were just placed; restarted on
// the same data directory it ends with every task RUNNING in exactly one
// container per task container, the running ones untouched. Killed again
// right after stop-task, the restarted agent stops everything.
func TestDockerAgentKill9(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	fast := e.family("fast", withPort(e.echo("web")))
	initC := e.echo("init", "EXIT_AFTER", "3s")
	initC.Essential = aws.Bool(false)
	web := withPort(e.echo("web"))
	web.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("init"), Condition: types.ContainerConditionSuccess}}
	slow := e.family("slow", initC, web)

	running := e.run(fast, 2)
	e.waitRunning(running...)
	before := e.snapshot(running)
	waiting := e.run(slow, 2)
	e.eventually("the slow tasks' init containers run", func() bool {
		n := 0
		for _, arn := range waiting {
			for _, c := range e.dockerContainers(arn) {
				if c.Labels[labelContainer] == "init" && c.State == "running" {
					n++
				}
			}
		}
		return n == len(waiting)
	})
	placed := e.run(fast, 2)
	e.agent.kill()
	t.Logf("killed with %d engine containers for 2 just-placed tasks", e.countContainers(placed))
	e.startAgent()

	// Again while the new agent creates containers: as soon as the engine
	// shows the first one of a new batch.
	creating := e.run(fast, 3)
	e.eventually("the engine has a container of the new batch", func() bool { return e.countContainers(creating) > 0 })
	e.agent.kill()
	t.Logf("killed with %d engine containers for 3 tasks being created", e.countContainers(creating))
	e.startAgent()

	all := slices.Concat(running, waiting, placed, creating)
	e.waitRunning(all...)
	e.checkTaskList(types.DesiredStatusRunning, all)
	e.checkUnchanged(before)
	for _, tk := range e.describe(slices.Concat(waiting, placed, creating)...) {
		e.checkOneEach(tk)
		e.httpDo("GET", fmt.Sprintf("http://127.0.0.1:%d/health", hostPort(t, tk, "web")))
	}
	for _, tk := range e.describe(waiting...) {
		if c := containerNamed(t, tk, "init"); aws.ToString(c.LastStatus) != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 0 {
			t.Errorf("init: %s", e.summary([]string{aws.ToString(tk.TaskArn)}))
		}
	}

	e.stop("e2e: done", all...)
	e.agent.kill()
	e.startAgent()
	e.waitStopped(all...)
	for _, tk := range e.describe(all...) {
		if tk.StopCode != types.TaskStopCodeUserInitiated {
			t.Errorf("stopCode %q: %s", tk.StopCode, e.summary([]string{aws.ToString(tk.TaskArn)}))
		}
	}
	e.checkTaskList(types.DesiredStatusStopped, all)
	e.waitRemoved()
}

// TestDockerControlPlaneRestart: the control plane goes away (SIGKILL, or
// SIGTERM) with tasks RUNNING and comes back on the same data directory and
// address. Meanwhile the tasks keep serving, and one exits: the agent
// reports it after reconnecting. The running tasks are untouched, and new
// run-task and stop-task calls work.
func TestDockerControlPlaneRestart(t *testing.T) {
	for _, mode := range []string{"kill-9", "sigterm"} {
		t.Run(mode, func(t *testing.T) {
			e := newDockerEnv(t)
			e.startAgent()
			def := e.family("web", withPort(e.echo("web")))
			tasks := e.run(def, 3)
			e.waitRunning(tasks...)
			keep, quitter := tasks[:2], tasks[2]
			before := e.snapshot(keep)
			quitPort := hostPort(t, e.describeOne(quitter), "web")

			if mode == "kill-9" {
				e.srv.kill()
			} else {
				e.srv.stop()
			}
			e.httpDo("POST", fmt.Sprintf("http://127.0.0.1:%d/exit?code=5", quitPort))
			e.eventually("the quitter's container has exited", func() bool {
				cs := e.dockerContainers(quitter)
				return len(cs) == 0 || cs[0].State == "exited"
			})

			e.restartServer()
			e.waitStopped(quitter)
			tk := e.describeOne(quitter)
			if c := containerNamed(t, tk, "web"); tk.StopCode != types.TaskStopCodeEssentialContainerExited || c.ExitCode == nil || *c.ExitCode != 5 {
				t.Errorf("the task that exited while the control plane was away: %s", e.summary([]string{quitter}))
			}
			e.waitConnected()
			e.checkUnchanged(before)
			fresh := e.run(def, 1)
			e.waitRunning(fresh...)
			e.checkUnchanged(e.snapshot(fresh))
			e.stop("e2e: done", slices.Concat(keep, fresh)...)
			e.waitStopped(slices.Concat(keep, fresh)...)
			e.checkTaskList(types.DesiredStatusRunning, nil)
			e.waitRemoved()
		})
	}
}
