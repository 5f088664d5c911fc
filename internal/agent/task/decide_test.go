package task

import (
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/model"
)

const (
	running = model.StatusRunning
	stopped = model.StatusStopped
)

func TestRunThenStop(t *testing.T) {
	m := newSim(t, def(ctr("app")), model.StatusPending)
	want(t, m.run(running), "Pull(app)", "MarkPulled", "Create(app)", "Start(app)", "ACTIVATING", "RUNNING", "Wait")
	if m.s.StartedAt.IsZero() || m.s.PullStartedAt.IsZero() || m.s.PullStoppedAt.IsZero() {
		t.Errorf("timestamps missing: %+v", m.s)
	}
	want(t, m.run(running), "Wait")
	want(t, m.run(stopped), "DEACTIVATING", "STOPPING", "Stop(app)", "DEPROVISIONING", "Remove(app)", "STOPPED", "Done")
	if m.s.StoppingAt.IsZero() || m.s.ExecutionStoppedAt.IsZero() || m.s.StoppedAt.IsZero() {
		t.Errorf("stop timestamps missing: %+v", m.s)
	}
	if m.s.StopCode != "" {
		t.Errorf("StopCode = %q, want none from the agent (the control plane set UserInitiated)", m.s.StopCode)
	}
}

func TestEssentialExitStopsTask(t *testing.T) {
	m := newSim(t, def(ctr("app"), ctr("side", nonEssential)), model.StatusPending)
	m.run(running)
	m.exit("side", 3)
	want(t, m.run(running), "Wait")
	m.exit("app", 1)
	want(t, m.run(running), "Fail(EssentialContainerExited: Essential container in task exited)",
		"DEACTIVATING", "STOPPING", "DEPROVISIONING", "Remove(side)", "Remove(app)", "STOPPED", "Done")
	r := Report(m.t, m.s)
	if r.StopCode != model.TaskStopCodeEssentialContainerExited || *r.Containers[0].ExitCode != 1 || *r.Containers[1].ExitCode != 3 {
		t.Errorf("report = %+v", r)
	}
}

func TestPullFailureFailsToStart(t *testing.T) {
	m := newSim(t, def(ctr("app")), model.StatusPending)
	m.pullErr["app"] = "pull access denied for img/app"
	want(t, m.run(running), "Pull(app)",
		"Fail(TaskFailedToStart: CannotPullContainerError: pull access denied for img/app)",
		"Skip(app)", "DEPROVISIONING", "STOPPED", "Done")
	r := Report(m.t, m.s)
	if r.Containers[0].LastStatus != stopped || r.Containers[0].Reason != "CannotPullContainerError: pull access denied for img/app" {
		t.Errorf("container report = %+v", r.Containers[0])
	}
}

func TestStartFailureStopsStartedContainers(t *testing.T) {
	m := newSim(t, def(ctr("db"), ctr("app", dependsOn("db", model.ContainerConditionStart))), model.StatusPending)
	m.startErr["app"] = "exec: no such file"
	want(t, m.run(running), "Pull(db)", "Pull(app)", "MarkPulled", "Create(db)", "Start(db)", "Create(app)", "Start(app)",
		"Fail(TaskFailedToStart: CannotStartContainerError: exec: no such file)",
		"Stop(db)", "Skip(app)", "DEPROVISIONING", "Remove(app)", "Remove(db)", "STOPPED", "Done")
}

func TestDependsOnSuccess(t *testing.T) {
	td := def(ctr("init", nonEssential), ctr("app", dependsOn("init", model.ContainerConditionSuccess)))
	m := newSim(t, td, model.StatusPending)
	want(t, m.run(running), "Pull(init)", "Pull(app)", "MarkPulled", "Create(init)", "Start(init)", "Create(app)", "Wait")
	m.exit("init", 0)
	want(t, m.run(running), "Start(app)", "ACTIVATING", "RUNNING", "Wait")

	m = newSim(t, td, model.StatusPending)
	m.run(running)
	m.exit("init", 2)
	want(t, m.run(running),
		"Fail(TaskFailedToStart: CannotStartContainerError: container app: dependency init did not exit successfully (exit code 2))",
		"Skip(app)", "DEPROVISIONING", "Remove(app)", "Remove(init)", "STOPPED", "Done")
}

func TestDependsOnHealthyWithStartTimeout(t *testing.T) {
	db := ctr("db", func(c *model.ContainerDefinition) {
		c.HealthCheck = &model.HealthCheck{Command: []string{"CMD", "true"}}
		c.StartTimeout = ptr(int32(30))
	})
	m := newSim(t, def(db, ctr("app", dependsOn("db", model.ContainerConditionHealthy))), model.StatusPending)
	m.run(running)
	a := Decide(m.t, running, m.s, m.now)
	if a.Kind != Wait || !a.Until.Equal(m.now.Add(30*time.Second)) {
		t.Fatalf("waiting on a HEALTHY dependency: %+v, want Wait until the startTimeout", a)
	}
	m.health("db", "healthy")
	want(t, m.run(running), "Start(app)", "ACTIVATING", "RUNNING", "Wait")
	if r := Report(m.t, m.s); r.HealthStatus != model.HealthStatusUnknown || r.Containers[0].HealthStatus != model.HealthStatusHealthy {
		t.Errorf("health: task %s, db %s; want UNKNOWN (app has no check), HEALTHY", r.HealthStatus, r.Containers[0].HealthStatus)
	}

	m = newSim(t, def(db, ctr("app", dependsOn("db", model.ContainerConditionHealthy))), model.StatusPending)
	m.run(running)
	m.now = m.now.Add(31 * time.Second)
	got := m.run(running)
	if got[0] != "Fail(TaskFailedToStart: CannotStartContainerError: container app: dependency db did not reach condition HEALTHY within its startTimeout of 30s)" {
		t.Errorf("after the startTimeout: %v", got)
	}
}

func TestNonEssentialWithUnmetDependencyIsSkipped(t *testing.T) {
	td := def(ctr("app"), ctr("init", nonEssential), ctr("report", nonEssential, dependsOn("init", model.ContainerConditionSuccess)))
	m := newSim(t, td, model.StatusPending)
	m.run(running)
	m.exit("init", 1)
	got := m.run(running)
	want(t, got, "Skip(report)", "ACTIVATING", "RUNNING", "Wait")
	if r := Report(m.t, m.s).Containers[2]; r.LastStatus != stopped || r.Reason == "" {
		t.Errorf("skipped container report = %+v", r)
	}
}

func TestStopInReverseDependencyOrder(t *testing.T) {
	td := def(ctr("db"), ctr("web", dependsOn("db", model.ContainerConditionStart)))
	m := newSim(t, td, model.StatusPending)
	m.run(running)
	// web must stop before db; with web's stop in flight, db waits.
	m.step(stopped)
	m.step(stopped)
	a := Decide(m.t, stopped, m.s, m.now)
	if a.Kind != Stop || a.Container != "web" || a.Timeout != DefaultStopTimeout {
		t.Fatalf("first stop = %+v, want web with the default timeout", a)
	}
	m.s.Apply(a, m.now)
	if a := Decide(m.t, stopped, m.s, m.now); a.Kind != Wait {
		t.Fatalf("with web stopping, got %+v, want Wait", a)
	}
	m.exit("web", 0)
	m.s.StopDone("web")
	want(t, m.run(stopped), "Stop(db)", "DEPROVISIONING", "Remove(web)", "Remove(db)", "STOPPED", "Done")
}

func TestStopWhilePulling(t *testing.T) {
	m := newSim(t, def(ctr("app")), model.StatusPending)
	a := Decide(m.t, running, m.s, m.now)
	m.s.Apply(a, m.now) // the pull is in flight
	want(t, m.run(stopped), "CancelPulls", "Skip(app)", "DEPROVISIONING", "STOPPED", "Done")
}

func TestAwsvpcProvisionsPauseContainer(t *testing.T) {
	td := def(ctr("app"))
	td.NetworkMode = model.NetworkModeAwsvpc
	m := newSim(t, td, model.StatusProvisioning)
	want(t, m.run(running), "Pull(~pause)", "Create(~pause)", "Start(~pause)", "PENDING",
		"Pull(app)", "MarkPulled", "Create(app)", "Start(app)", "ACTIVATING", "RUNNING", "Wait")
	r := Report(m.t, m.s)
	if len(r.Attachments) != 1 || r.Attachments[0].Status != "ATTACHED" || pauseIP(r.Attachments) != "172.17.0.9" {
		t.Errorf("attachments = %+v", r.Attachments)
	}
	if ni := r.Containers[0].NetworkInterfaces; len(ni) != 1 || ni[0].PrivateIpv4Address != "172.17.0.9" || ni[0].AttachmentId != "eni-att" {
		t.Errorf("networkInterfaces = %+v", ni)
	}
	want(t, m.run(stopped), "DEACTIVATING", "STOPPING", "Stop(app)", "DEPROVISIONING", "Remove(app)", "Stop(~pause)", "Remove(~pause)", "STOPPED", "Done")
	if r := Report(m.t, m.s); r.Attachments[0].Status != "DELETED" {
		t.Errorf("attachment after stop = %+v", r.Attachments[0])
	}
}

func TestTaskVolumesCreatedAndRemoved(t *testing.T) {
	td := def(ctr("app", func(c *model.ContainerDefinition) {
		c.MountPoints = []model.MountPoint{{SourceVolume: "scratch", ContainerPath: "/s"}, {SourceVolume: "cache", ContainerPath: "/c"}}
	}))
	td.Volumes = []model.Volume{
		{Name: "scratch", Host: &model.HostVolumeProperties{}},
		{Name: "cache", DockerVolumeConfiguration: &model.DockerVolumeConfiguration{Scope: model.ScopeShared, Autoprovision: ptr(true)}},
	}
	m := newSim(t, td, model.StatusPending)
	want(t, m.run(running), "CreateVolume(scratch)", "CreateVolume(cache)", "Pull(app)", "MarkPulled", "Create(app)", "Start(app)", "ACTIVATING", "RUNNING", "Wait")
	want(t, m.run(stopped), "DEACTIVATING", "STOPPING", "Stop(app)", "DEPROVISIONING", "Remove(app)", "RemoveVolume(scratch)", "STOPPED", "Done")
}

func TestRestoredRunningTaskIsAdoptedNotRecreated(t *testing.T) {
	m := newSim(t, def(ctr("app")), model.StatusPending)
	m.run(running)
	r := Report(m.t, m.s)
	s := Restore(m.t, &r)
	// The engine still has the container, running.
	s.C("app").Observe(m.s.C("app").snapshotStatus())
	if a := Decide(m.t, running, s, m.now); a.Kind != Wait {
		t.Fatalf("restored running task: %+v, want Wait", a)
	}
	// The engine lost it: the essential container is gone, so the task stops.
	s = Restore(m.t, &r)
	s.C("app").ObserveGone()
	if a := Decide(m.t, running, s, m.now); a.Kind != Fail || a.StopCode != model.TaskStopCodeEssentialContainerExited {
		t.Fatalf("restored task whose container vanished: %+v", a)
	}
}

func TestStoppedTaskCleansLeftovers(t *testing.T) {
	m := newSim(t, def(ctr("app")), model.StatusPending)
	m.run(running)
	m.s.Status = stopped // e.g. restored after a crash between report and removal
	want(t, m.run(stopped), "Stop(app)", "Remove(app)", "Done")
}

func TestDependsOnComplete(t *testing.T) {
	td := def(ctr("migrate", nonEssential), ctr("app", dependsOn("migrate", model.ContainerConditionComplete)))
	m := newSim(t, td, model.StatusPending)
	m.run(running)
	if a := Decide(m.t, running, m.s, m.now); a.Kind != Wait {
		t.Fatalf("app started before migrate completed: %+v", a)
	}
	m.exit("migrate", 5) // any exit code completes
	want(t, m.run(running), "Start(app)", "ACTIVATING", "RUNNING", "Wait")
}

func TestContainerOOMReason(t *testing.T) {
	m := newSim(t, def(ctr("app")), model.StatusPending)
	m.run(running)
	cs := m.s.C("app")
	cs.Observe(runtime.ContainerStatus{ID: cs.RuntimeID, State: "exited", ExitCode: 137, OOMKilled: true})
	if r := Report(m.t, m.s).Containers[0]; r.Reason != "OutOfMemoryError: Container killed due to memory usage" || *r.ExitCode != 137 {
		t.Errorf("OOM-killed container report = %+v", r)
	}
}
