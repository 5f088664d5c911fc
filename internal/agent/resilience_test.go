package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/fake"
)

func TestRestartAdoptsContainers(t *testing.T) {
	e := newEnv(t)
	n := e.start()
	e.instance()
	def := e.register("adopt", container("app"), container("side"))
	arns := []string{e.run(def), e.run(def)}
	e.waitRunning(arns...)
	creates := e.rt.Stats().Creates
	n.kill(t)
	// The agent is gone; the tasks' containers keep running.
	for _, arn := range arns {
		if c := e.containerOf(arn, "app"); !c.Running {
			t.Fatalf("container stopped with the agent: %+v", c)
		}
	}
	e.start()
	e.instance()
	time.Sleep(300 * time.Millisecond) // let the new agent sync
	if got := e.rt.Stats().Creates; got != creates {
		t.Errorf("the restarted agent created %d containers, want none", got-creates)
	}
	e.waitRunning(arns...)
	e.stop(arns[0])
	e.waitStopped(arns[0])
	if got := aws.ToString(e.describe(arns[1]).LastStatus); got != "RUNNING" {
		t.Errorf("the other task is %s", got)
	}
}

// A kill while tasks start: whatever the agent had created is adopted, and
// no container of any task exists twice.
func TestKillWhileStartingNoDuplicates(t *testing.T) {
	e := newEnv(t)
	e.rt = fake.New(fake.Options{PullDelay: 20 * time.Millisecond})
	e.eng = e.rt
	n := e.start()
	e.instance()
	def := e.register("busy", container("a"), container("b"), container("c"))
	var arns []string
	for range 5 {
		arns = append(arns, e.run(def))
	}
	time.Sleep(30 * time.Millisecond)
	n.kill(t)
	e.start()
	e.waitRunning(arns...)
	for _, arn := range arns {
		seen := map[string]int{}
		for _, c := range e.containers(arn) {
			seen[c.Labels[runtime.LabelContainer]]++
		}
		for name, count := range seen {
			if count != 1 {
				t.Errorf("task %s has %d containers %s", arn, count, name)
			}
		}
	}
}

func TestReportsQueueWhileControlPlaneUnreachable(t *testing.T) {
	e := newEnv(t)
	n := e.start()
	e.instance()
	def := e.register("offline", container("app"))
	stays, exits := e.run(def), e.run(def)
	e.waitRunning(stays, exits)

	e.down.Store(true)
	if err := e.rt.Exit(e.containerOf(exits, "app").ID, 7); err != nil {
		t.Fatal(err)
	}
	e.eventually("the agent stops the task locally", func() bool { return len(e.containers(exits)) == 0 })
	if got := aws.ToString(e.describe(exits).LastStatus); got != "RUNNING" {
		t.Fatalf("the control plane heard of the stop while cut off: %s", got)
	}
	// Killed and restarted while still cut off: the queued reports are in
	// its journal, and the other task keeps running.
	n.kill(t)
	e.start()
	time.Sleep(200 * time.Millisecond)
	if c := e.containerOf(stays, "app"); !c.Running {
		t.Fatalf("the other task's container stopped: %+v", c)
	}
	e.down.Store(false)
	e.waitStopped(exits)
	task := e.describe(exits)
	if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(task.Containers[0].ExitCode) != 7 {
		t.Errorf("delivered late: stopCode %s, exit %v", task.StopCode, task.Containers[0].ExitCode)
	}
	e.waitRunning(stays)
}

func TestUnknownTasksAreReaped(t *testing.T) {
	e := newEnv(t)
	n := e.start()
	ci := e.instance()
	n.kill(t)
	// A container of this node whose task the control plane never heard of.
	ctx := context.Background()
	_ = e.rt.EnsureImage(ctx, echoImage)
	ghost := "arn:aws:ecs:us-east-1:000000000000:task/default/00000000000000000000000000000000"
	id, err := e.rt.CreateContainer(ctx, runtime.ContainerSpec{Name: "ghost", Image: echoImage, Labels: map[string]string{
		runtime.LabelManaged: "true", runtime.LabelCluster: e.cluster, runtime.LabelInstance: aws.ToString(ci.ContainerInstanceArn),
		runtime.LabelTask: ghost, runtime.LabelContainer: "app"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.eventually("the ghost container is removed", func() bool { return len(e.containers(ghost)) == 0 })
}

func TestEngineRestartIsReconciled(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	arn := e.run(e.register("engine", container("app")))
	e.waitRunning(arn)
	e.rt.Restart()
	e.waitStopped(arn)
	if task := e.describe(arn); task.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("stopCode %s", task.StopCode)
	}
	// The agent follows the engine again: new tasks run.
	again := e.run(e.register("engine2", container("app")))
	e.waitRunning(again)
}

func TestControlPlaneRestart(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	def := e.register("cp", container("app"))
	arn := e.run(def)
	e.waitRunning(arn)
	e.h.Restart()
	e.instance()
	second := e.run(def)
	e.waitRunning(arn, second)
	e.stop(arn)
	e.waitStopped(arn)
}

// A node that lost its journal (but not its identity) picks its tasks up
// from the control plane: it adopts their containers and its reports carry
// on from the sequence number the control plane last applied.
func TestLostJournalRecoversFromControlPlane(t *testing.T) {
	e := newEnv(t)
	n := e.start()
	e.instance()
	arn := e.run(e.register("amnesia", container("app")))
	e.waitRunning(arn)
	creates := e.rt.Stats().Creates
	n.kill(t)
	if err := os.Remove(filepath.Join(e.dir, "agent.db")); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.waitRunning(arn)
	e.stop(arn)
	e.waitStopped(arn)
	if got := e.rt.Stats().Creates; got != creates {
		t.Errorf("%d containers created again", got-creates)
	}
	if task := e.describe(arn); task.Containers[0].ExitCode == nil {
		t.Errorf("the stop was not reported: %+v", task.Containers[0])
	}
}

func TestDeregisteredNodeStops(t *testing.T) {
	e := newEnv(t)
	n := e.start()
	ci := e.instance()
	if _, err := e.h.ECS.DeregisterContainerInstance(t.Context(), &ecs.DeregisterContainerInstanceInput{
		Cluster: aws.String(e.cluster), ContainerInstance: ci.ContainerInstanceArn, Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-n.done:
		if err == nil || !strings.Contains(err.Error(), "deregistered") {
			t.Errorf("agent.Run = %v, want the deregistration", err)
		}
		n.done <- nil
	case <-time.After(waitLimit):
		t.Fatal("the agent of a deregistered node kept running")
	}
}
