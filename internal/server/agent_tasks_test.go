package server_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

func (e *agentEnv) runTaskAPI() string {
	e.t.Helper()
	out, err := e.h.ECS.RunTask(e.ctx(), &awsecs.RunTaskInput{Cluster: aws.String("c1"), TaskDefinition: aws.String("web")})
	if err != nil || len(out.Tasks) != 1 {
		e.t.Fatalf("RunTask: %v %+v", err, out)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func running(arn string, seq uint64) agentproto.TaskReport {
	return agentproto.TaskReport{
		TaskArn: arn, Seq: seq, LastStatus: model.StatusRunning, StartedAt: model.At(time.Now()),
		Containers: []agentproto.ContainerReport{{
			Name: "app", RuntimeID: "c0ffee", LastStatus: model.StatusRunning,
			NetworkBindings: []model.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: new(int32(80)), HostPort: new(int32(8080)), Protocol: model.TransportProtocolTcp}},
		}},
	}
}

func stopped(arn string, seq uint64) agentproto.TaskReport {
	return agentproto.TaskReport{
		TaskArn: arn, Seq: seq, LastStatus: model.StatusStopped, ExecutionStoppedAt: model.At(time.Now()),
		StopCode: model.TaskStopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited",
		Containers: []agentproto.ContainerReport{{Name: "app", LastStatus: model.StatusStopped, ExitCode: new(int32(3))}},
	}
}

func TestAgentTaskLifecycle(t *testing.T) {
	e := startAgentEnv(t)
	node := e.register()
	task := e.runTaskAPI()

	full := e.poll(node, 0)
	if !full.Full || len(full.Tasks) != 1 || full.Tasks[0].Task.TaskArn != task {
		t.Fatalf("full set = %+v", full)
	}
	a := full.Tasks[0]
	if a.Definition.Family != "web" || len(a.Definition.ContainerDefinitions) != 1 || a.ReportedSeq != 0 {
		t.Errorf("assignment = %+v", a)
	}

	if acks := e.report(node, running(task, 1)); len(acks) != 1 || acks[0].Seq != 1 {
		t.Fatalf("acks = %+v", acks)
	}
	w := awsecs.NewTasksRunningWaiter(e.h.ECS, func(o *awsecs.TasksRunningWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 50 * time.Millisecond
	})
	if err := w.Wait(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("c1"), Tasks: []string{task}}, 10*time.Second); err != nil {
		t.Fatalf("TasksRunning: %v", err)
	}
	got := e.task(task)
	if c := got.Containers[0]; aws.ToString(c.RuntimeId) != "c0ffee" || len(c.NetworkBindings) != 1 || aws.ToInt32(c.NetworkBindings[0].HostPort) != 8080 {
		t.Errorf("container = %+v", c)
	}

	// The node's own report is not echoed back; StopTask arrives as a delta
	// within the poll.
	rev := full.Revision
	got2 := make(chan *agentproto.AssignmentsResponse, 1)
	go func() {
		out, err := e.ag.Assignments(e.ctx(), &agentproto.AssignmentsRequest{ContainerInstanceArn: node, After: rev})
		if err != nil {
			t.Error(err)
		}
		got2 <- out
	}()
	time.Sleep(50 * time.Millisecond) // let the poll start waiting
	start := time.Now()
	if _, err := e.h.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("c1"), Task: aws.String(task), Reason: aws.String("by test")}); err != nil {
		t.Fatal(err)
	}
	delta := <-got2
	if delta.Full || len(delta.Tasks) != 1 || delta.Tasks[0].Task.DesiredStatus != model.StatusStopped || delta.Tasks[0].ReportedSeq != 1 {
		t.Fatalf("delta = %+v", delta)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("delta arrived after %v", d)
	}
	t.Logf("StopTask → delta in %v", time.Since(start))

	before := e.instance(node)
	e.report(node, stopped(task, 2))
	got = e.task(task)
	if aws.ToString(got.LastStatus) != "STOPPED" || aws.ToString(got.StoppedReason) != "by test" || got.StopCode != "UserInitiated" || aws.ToInt32(got.Containers[0].ExitCode) != 3 || got.StoppedAt == nil {
		t.Errorf("stopped task = %+v", got)
	}
	after := e.instance(node)
	if cpu(before.RemainingResources) != 2048-128 || cpu(after.RemainingResources) != 2048 || after.RunningTasksCount != 0 {
		t.Errorf("remaining CPU %d → %d, running %d", cpu(before.RemainingResources), cpu(after.RemainingResources), after.RunningTasksCount)
	}
	// The stopped task is no longer in the full set.
	if full := e.poll(node, 0); len(full.Tasks) != 0 {
		t.Errorf("full set after stop = %+v", full.Tasks)
	}
}

func cpu(rs []types.Resource) int32 {
	for _, r := range rs {
		if aws.ToString(r.Name) == "CPU" {
			return r.IntegerValue
		}
	}
	return -1
}

func TestAgentReportOrder(t *testing.T) {
	e := startAgentEnv(t)
	node := e.register()
	task := e.runTaskAPI()

	e.report(node, running(task, 5))
	// A resent or older report is acknowledged and not applied.
	late := stopped(task, 4)
	if acks := e.report(node, running(task, 5), late); len(acks) != 2 || acks[1].Seq != 4 {
		t.Fatalf("acks = %+v", acks)
	}
	if got := aws.ToString(e.task(task).LastStatus); got != "RUNNING" {
		t.Errorf("lastStatus after old report = %s", got)
	}
	// Several reports of one task in one request apply in order.
	pending := agentproto.TaskReport{TaskArn: task, Seq: 6, LastStatus: model.StatusPending, HealthStatus: model.HealthStatusHealthy}
	e.report(node, pending, stopped(task, 7))
	got := e.task(task)
	if aws.ToString(got.LastStatus) != "STOPPED" || got.HealthStatus != "HEALTHY" || aws.ToString(got.StoppedReason) != "Essential container in task exited" || aws.ToString(got.DesiredStatus) != "STOPPED" {
		t.Errorf("task = %+v", got)
	}
	// A task the store no longer knows is acknowledged.
	gone := task[:len(task)-4] + "beef"
	if acks := e.report(node, stopped(gone, 1)); len(acks) != 1 || acks[0].TaskArn != gone {
		t.Errorf("acks for unknown task = %+v", acks)
	}
	// A task on another node is refused.
	other, err := e.ag.Register(e.ctx(), nodeRegistration(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.Report(e.ctx(), &agentproto.ReportRequest{ContainerInstanceArn: other.ContainerInstanceArn, Reports: []agentproto.TaskReport{stopped(task, 99)}}); protoCode(err) != agentproto.CodeBadRequest {
		t.Errorf("report for another node's task: %v", err)
	}

	// ReportedSeq survives a restart and comes back in the assignments. Two
	// nodes are registered now and RunTask places at random, so the task is
	// started on the first node by name.
	task2 := e.runTask(node)
	e.report(node, running(task2, 3))
	e.h.Restart() // same port and token: the client keeps working
	full := e.poll(node, 0)
	if len(full.Tasks) != 1 || full.Tasks[0].ReportedSeq != 3 {
		t.Fatalf("full set after restart = %+v", full)
	}
	if acks := e.report(node, running(task2, 3)); len(acks) != 1 {
		t.Errorf("resend after restart: %+v", acks)
	}
}

func TestAgentLiveness(t *testing.T) {
	e := startAgentEnv(t)
	node := e.register()
	// Heartbeats keep it connected.
	for range 8 {
		if _, err := e.ag.Heartbeat(e.ctx(), &agentproto.HeartbeatRequest{ContainerInstanceArn: node}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
	}
	if !e.instance(node).AgentConnected {
		t.Fatal("disconnected while heartbeating")
	}
	// Silence disconnects it within missed×period plus a period or so.
	start := time.Now()
	for e.instance(node).AgentConnected {
		if time.Since(start) > 5*time.Second {
			t.Fatal("silent node still connected after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("silent node disconnected after %v (3×100ms heartbeat period)", time.Since(start))
	if _, err := e.ag.Heartbeat(e.ctx(), &agentproto.HeartbeatRequest{ContainerInstanceArn: node}); err != nil {
		t.Fatal(err)
	}
	if !e.instance(node).AgentConnected {
		t.Error("heartbeat did not reconnect the node")
	}
}

func TestAgentPollDeltasAndShutdown(t *testing.T) {
	e := startAgentEnv(t)
	node := e.register()
	e.heartbeats(node)
	full := e.poll(node, 0)
	if !full.Full || len(full.Tasks) != 0 {
		t.Fatalf("full set = %+v", full)
	}
	// Nothing new: the poll ends empty after PollWait.
	start := time.Now()
	empty := e.poll(node, full.Revision)
	if empty.Full || len(empty.Tasks) != 0 || empty.Revision < full.Revision {
		t.Errorf("empty poll = %+v", empty)
	}
	if d := time.Since(start); d < 1900*time.Millisecond || d > 5*time.Second {
		t.Errorf("empty poll took %v, want about PollWait (2s)", d)
	}
	// A task placed on the node arrives as a delta.
	task := e.runTaskAPI()
	delta := e.poll(node, empty.Revision)
	if delta.Full || len(delta.Tasks) != 1 || delta.Tasks[0].Task.TaskArn != task || delta.Tasks[0].Definition.Family != "web" {
		t.Fatalf("delta = %+v", delta)
	}
	// Closing the server releases a poll in flight at once.
	done := make(chan error, 1)
	go func() {
		_, err := e.ag.Assignments(e.ctx(), &agentproto.AssignmentsRequest{ContainerInstanceArn: node, After: delta.Revision})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	e.h.Restart()
	if d := time.Since(start); d > time.Second {
		t.Errorf("restart with a poll in flight took %v", d)
	}
	<-done
	// The restarted server does not remember changes before it started: a
	// poll from before gets the full set (or, if nothing at all was written
	// since, an empty delta), and deltas follow from there.
	again := e.poll(node, delta.Revision)
	if again.Full && len(again.Tasks) != 1 || !again.Full && len(again.Tasks) != 0 {
		t.Errorf("poll after restart = %+v", again)
	}
	if _, err := e.h.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("c1"), Task: aws.String(task)}); err != nil {
		t.Fatal(err)
	}
	if d := e.poll(node, again.Revision); d.Full || len(d.Tasks) != 1 || d.Tasks[0].Task.DesiredStatus != model.StatusStopped {
		t.Errorf("delta after restart = %+v", d)
	}
}
