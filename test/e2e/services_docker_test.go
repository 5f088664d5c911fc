package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/client"
)

// The tests in this file run services on the local Docker engine through
// the SDK and its ServicesStable and ServicesInactive waiters: a killed
// container is replaced, a service rolls to a new revision, a crashing
// revision trips the circuit breaker and rolls back, a draining instance's
// tasks move to the other one, and a deleted service goes INACTIVE.

// serviceLimit bounds the waits of a service: a rollout replaces tasks in
// steps, each waiting for the new tasks to be healthy.
const serviceLimit = 3 * time.Minute

// healthy makes c report HEALTHY through the echo image's own check, so a
// deployment counts its tasks as soon as they pass it.
func healthy(c types.ContainerDefinition) types.ContainerDefinition {
	c.HealthCheck = &types.HealthCheck{
		Command:  []string{"CMD", "/echo", "healthcheck"},
		Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1), StartPeriod: aws.Int32(0),
	}
	return c
}

// createService creates a REPLICA service of def with desired tasks.
func (e *dockerEnv) createService(name, def string, desired int32, muts ...func(*ecs.CreateServiceInput)) {
	e.t.Helper()
	in := &ecs.CreateServiceInput{Cluster: aws.String(e.cluster), ServiceName: aws.String(name),
		TaskDefinition: aws.String(def), DesiredCount: aws.Int32(desired)}
	for _, m := range muts {
		m(in)
	}
	mustAWS(e.ecs.CreateService(e.t.Context(), in))(e.t)
}

// describeService describes one service.
func (e *dockerEnv) describeService(name string) types.Service {
	e.t.Helper()
	out := mustAWS(e.ecs.DescribeServices(e.t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{name}}))(e.t)
	if len(out.Services) != 1 {
		e.t.Fatalf("DescribeServices %s: failures %+v", name, out.Failures)
	}
	return out.Services[0]
}

// waitStable waits with the SDK's ServicesStable waiter.
func (e *dockerEnv) waitStable(name string) types.Service {
	e.t.Helper()
	w := ecs.NewServicesStableWaiter(e.ecs, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	in := &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{name}}
	if err := w.Wait(e.t.Context(), in, serviceLimit); err != nil {
		e.t.Fatalf("ServicesStable %s: %v\n%s", name, err, e.serviceSummary(name))
	}
	return e.describeService(name)
}

// waitInactive waits with the SDK's ServicesInactive waiter.
func (e *dockerEnv) waitInactive(name string) {
	e.t.Helper()
	w := ecs.NewServicesInactiveWaiter(e.ecs, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	in := &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{name}}
	if err := w.Wait(e.t.Context(), in, serviceLimit); err != nil {
		e.t.Fatalf("ServicesInactive %s: %v\n%s", name, err, e.serviceSummary(name))
	}
}

// waitCompleted waits until the service's only deployment is COMPLETED
// (its tasks healthy at the desired count; the ServicesStable waiter may
// accept the service a little earlier).
func (e *dockerEnv) waitCompleted(name string) types.Deployment {
	e.t.Helper()
	var d types.Deployment
	deadline := time.Now().Add(serviceLimit)
	for {
		s := e.describeService(name)
		if len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted {
			d = s.Deployments[0]
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no single COMPLETED deployment within %v:\n%s", serviceLimit, e.serviceSummary(name))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if want := "ECS deployment " + aws.ToString(d.Id) + " completed."; aws.ToString(d.RolloutStateReason) != want {
		e.t.Errorf("rolloutStateReason %q, want %q", aws.ToString(d.RolloutStateReason), want)
	}
	return d
}

// serviceSummary shows a service, its deployments, latest events and
// tasks, for failure messages.
func (e *dockerEnv) serviceSummary(name string) string {
	ctx := e.t.Context()
	out, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		return fmt.Sprintf("describe: %v %+v", err, out)
	}
	s := out.Services[0]
	var b strings.Builder
	fmt.Fprintf(&b, "service %s: status %s desired %d running %d pending %d taskDefinition %s\n", name, aws.ToString(s.Status),
		s.DesiredCount, s.RunningCount, s.PendingCount, aws.ToString(s.TaskDefinition))
	for _, d := range s.Deployments {
		fmt.Fprintf(&b, "  deployment %s %s %s rollout %s (%s) desired %d running %d pending %d failed %d\n", aws.ToString(d.Id), aws.ToString(d.Status),
			aws.ToString(d.TaskDefinition), d.RolloutState, aws.ToString(d.RolloutStateReason), d.DesiredCount, d.RunningCount, d.PendingCount, d.FailedTasks)
	}
	for _, ev := range s.Events[:min(len(s.Events), 15)] {
		fmt.Fprintf(&b, "  event %s\n", aws.ToString(ev.Message))
	}
	var arns []string
	for _, st := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		l, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(e.cluster), ServiceName: aws.String(name), DesiredStatus: st})
		if err == nil {
			arns = append(arns, l.TaskArns...)
		}
	}
	for chunk := range slices.Chunk(arns, 100) {
		b.WriteString(e.summary(chunk))
	}
	return b.String()
}

// serviceTasks describes the service's tasks of a desired status.
func (e *dockerEnv) serviceTasks(name string, desired types.DesiredStatus) []types.Task {
	e.t.Helper()
	l := mustAWS(e.ecs.ListTasks(e.t.Context(), &ecs.ListTasksInput{Cluster: aws.String(e.cluster), ServiceName: aws.String(name), DesiredStatus: desired}))(e.t)
	if len(l.TaskArns) == 0 {
		return nil
	}
	return e.describe(l.TaskArns...)
}

// arnsOf lists the tasks' ARNs.
func arnsOf(ts []types.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, aws.ToString(t.TaskArn))
	}
	return out
}

// killContainer kills the task's only container with SIGKILL, as `docker
// kill` does.
func (e *dockerEnv) killContainer(arn string) {
	e.t.Helper()
	cs := e.dockerContainers(arn)
	if len(cs) != 1 {
		e.t.Fatalf("task %s has %d containers on the engine", arn, len(cs))
	}
	if _, err := e.docker.ContainerKill(e.t.Context(), cs[0].ID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		e.t.Fatalf("docker kill: %v", err)
	}
}

// hasEvent reports whether one of the service's events starts with prefix.
func hasEvent(s types.Service, prefix string) bool {
	return slices.ContainsFunc(s.Events, func(ev types.ServiceEvent) bool { return strings.HasPrefix(aws.ToString(ev.Message), prefix) })
}

// startNode runs another `quayside agent` process on the same engine (its
// own data directory, so its own container instance) and waits until the
// cluster has want connected instances. It returns the new instance's ARN.
func (e *dockerEnv) startNode(az string, want int) string {
	e.t.Helper()
	before := e.instanceArns()
	dir := e.t.TempDir()
	logPath := filepath.Join(dir, "agent.log")
	logf, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	e.logs = append(e.logs, logPath)
	cmd := exec.Command(quaysideBinary(e.t), "agent",
		"--server", e.srv.URL(),
		"--token-file", filepath.Join(e.srv.DataDir, "agent-token"),
		"--cluster", e.cluster,
		"--data-dir", filepath.Join(dir, "data"),
		"--availability-zone", az,
		"--pause-image", e.images.Pause,
		"--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	a := &agentProc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	e.t.Cleanup(a.kill)
	var added string
	e.eventually(fmt.Sprintf("%d container instances are connected", want), func() bool {
		added = ""
		arns := e.instanceArns()
		if len(arns) != want {
			return false
		}
		d, err := e.ecs.DescribeContainerInstances(e.t.Context(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String(e.cluster), ContainerInstances: arns})
		if err != nil {
			return false
		}
		for _, ci := range d.ContainerInstances {
			if !ci.AgentConnected {
				return false
			}
			if !slices.Contains(before, aws.ToString(ci.ContainerInstanceArn)) {
				added = aws.ToString(ci.ContainerInstanceArn)
			}
		}
		return added != ""
	})
	return added
}

func (e *dockerEnv) instanceArns() []string {
	e.t.Helper()
	l := mustAWS(e.ecs.ListContainerInstances(e.t.Context(), &ecs.ListContainerInstancesInput{Cluster: aws.String(e.cluster)}))(e.t)
	return l.ContainerInstanceArns
}

// TestDockerServiceReplacesKilledContainer: docker kill of a service task's
// container → the task stops (EssentialContainerExited) and a new task
// replaces it; the service is stable again at its desired count.
func TestDockerServiceReplacesKilledContainer(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	def := e.family("svc-kill", e.echo("web"))
	e.createService("web", def, 2)
	e.waitStable("web")
	before := arnsOf(e.serviceTasks("web", types.DesiredStatusRunning))
	if len(before) != 2 {
		t.Fatalf("tasks of a stable service: %v\n%s", before, e.serviceSummary("web"))
	}
	victim := before[0]
	killed := time.Now()
	e.killContainer(victim)
	e.waitStopped(victim)
	if tk := e.describeOne(victim); tk.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("killed task: %s", e.summary([]string{victim}))
	}
	var now []string
	e.eventually("a new task replaces the killed one and is RUNNING", func() bool {
		now = nil
		for _, tk := range e.serviceTasks("web", types.DesiredStatusRunning) {
			if aws.ToString(tk.LastStatus) == "RUNNING" {
				now = append(now, aws.ToString(tk.TaskArn))
			}
		}
		return len(now) == 2 && !slices.Contains(now, victim)
	})
	t.Logf("replacement RUNNING %v after the kill", time.Since(killed).Round(time.Millisecond))
	if !slices.Contains(now, before[1]) {
		t.Errorf("the task that was not killed was replaced too: before %v, now %v", before, now)
	}
	s := e.waitStable("web")
	if s.RunningCount != 2 || s.DesiredCount != 2 || !hasEvent(s, "(service web) has started 1 tasks:") {
		t.Errorf("after the replacement:\n%s", e.serviceSummary("web"))
	}
}

// TestDockerServiceRollsToNewRevision: UpdateService to a new revision
// replaces every task within the deployment bounds; the waiter sees one
// COMPLETED deployment of the new revision.
func TestDockerServiceRollsToNewRevision(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	v1 := e.family("svc-roll", healthy(e.echo("web", "VERSION", "1")))
	e.createService("web", v1, 2)
	e.waitStable("web")
	e.waitCompleted("web")
	old := arnsOf(e.serviceTasks("web", types.DesiredStatusRunning))
	v2 := e.family("svc-roll", healthy(e.echo("web", "VERSION", "2")))
	mustAWS(e.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String(e.cluster), Service: aws.String("web"), TaskDefinition: aws.String(v2)}))(t)
	s := e.waitStable("web")
	if aws.ToString(s.TaskDefinition) != v2 || aws.ToString(s.Deployments[0].TaskDefinition) != v2 || s.RunningCount != 2 {
		t.Fatalf("after the rollout:\n%s", e.serviceSummary("web"))
	}
	d := e.waitCompleted("web")
	running := e.serviceTasks("web", types.DesiredStatusRunning)
	for _, tk := range running {
		if aws.ToString(tk.TaskDefinitionArn) != v2 || aws.ToString(tk.LastStatus) != "RUNNING" || tk.StartedBy == nil || aws.ToString(tk.StartedBy) != aws.ToString(d.Id) {
			t.Errorf("task after the rollout: %s startedBy %s\n%s", e.summary([]string{aws.ToString(tk.TaskArn)}), aws.ToString(tk.StartedBy), e.serviceSummary("web"))
		}
	}
	e.waitStopped(old...)
	for _, tk := range e.describe(old...) {
		if tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("replaced task: %s", e.summary([]string{aws.ToString(tk.TaskArn)}))
		}
	}
}

// TestDockerServiceCircuitBreakerRollsBack: a revision whose container
// exits at once (`/echo exit 1`) never becomes healthy; the circuit breaker marks its
// deployment FAILED and, with rollback, the service returns to the last
// completed revision and is stable on it.
func TestDockerServiceCircuitBreakerRollsBack(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	good := e.family("svc-cb", healthy(e.echo("web")))
	e.createService("web", good, 2, func(in *ecs.CreateServiceInput) {
		in.DeploymentConfiguration = &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		}
	})
	e.waitStable("web")
	e.waitCompleted("web") // the deployment a rollback returns to
	crash := healthy(e.echo("web"))
	crash.Command = []string{"exit", "1"} // the echo program exits with 1 at once
	bad := e.family("svc-cb", crash)
	up := mustAWS(e.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String(e.cluster), Service: aws.String("web"), TaskDefinition: aws.String(bad)}))(t)
	badID := aws.ToString(up.Service.Deployments[0].Id)
	if aws.ToString(up.Service.Deployments[0].TaskDefinition) != bad {
		t.Fatalf("UpdateService's PRIMARY deployment: %+v", up.Service.Deployments[0])
	}
	// The failed deployment leaves the list once the rollback replaced its
	// tasks; its FAILED state shows until then, and in the events.
	var failed bool
	deadline := time.Now().Add(serviceLimit)
	for !failed {
		s := e.describeService("web")
		for _, d := range s.Deployments {
			if aws.ToString(d.Id) == badID && d.RolloutState == types.DeploymentRolloutStateFailed {
				failed = true
			}
		}
		if !failed && !slices.ContainsFunc(s.Deployments, func(d types.Deployment) bool { return aws.ToString(d.Id) == badID }) {
			break // already gone: the rollback finished between two looks
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bad deployment did not fail within %v:\n%s", serviceLimit, e.serviceSummary("web"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	s := e.waitStable("web")
	d := s.Deployments[0]
	switch {
	case aws.ToString(s.TaskDefinition) != good || aws.ToString(d.TaskDefinition) != good:
		t.Errorf("not rolled back to %s:\n%s", good, e.serviceSummary("web"))
	case !strings.Contains(aws.ToString(d.RolloutStateReason), "rolling back") && !failed:
		t.Errorf("neither a FAILED deployment nor a rollback reason seen:\n%s", e.serviceSummary("web"))
	}
	for _, tk := range e.serviceTasks("web", types.DesiredStatusRunning) {
		if aws.ToString(tk.TaskDefinitionArn) != good {
			t.Errorf("task of %s still wanted RUNNING after the rollback: %s", aws.ToString(tk.TaskDefinitionArn), e.summary([]string{aws.ToString(tk.TaskArn)}))
		}
	}
}

// TestDockerServiceDrainMovesTasks: with two nodes, draining one moves the
// service's tasks to the other (the service stays at its desired count);
// a standalone task on the drained node is left alone.
func TestDockerServiceDrainMovesTasks(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	first := aws.ToString(e.instance().ContainerInstanceArn)
	second := e.startNode("us-east-1b", 2)
	def := e.family("svc-drain", healthy(e.echo("web")))
	e.createService("web", def, 2)
	e.waitStable("web")
	standalone := mustAWS(e.ecs.StartTask(t.Context(), &ecs.StartTaskInput{Cluster: aws.String(e.cluster),
		TaskDefinition: aws.String(def), ContainerInstances: []string{first}}))(t)
	if len(standalone.Tasks) != 1 {
		t.Fatalf("StartTask: %+v", standalone.Failures)
	}
	alone := aws.ToString(standalone.Tasks[0].TaskArn)
	e.waitRunning(alone)

	mustAWS(e.ecs.UpdateContainerInstancesState(t.Context(), &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String(e.cluster), ContainerInstances: []string{first}, Status: types.ContainerInstanceStatusDraining}))(t)
	deadline := time.Now().Add(serviceLimit)
	for {
		tasks := e.serviceTasks("web", types.DesiredStatusRunning)
		onSecond := 0
		for _, tk := range tasks {
			if aws.ToString(tk.ContainerInstanceArn) == second && aws.ToString(tk.LastStatus) == "RUNNING" {
				onSecond++
			}
		}
		if onSecond == 2 && len(tasks) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service's tasks did not move off the draining node within %v:\n%s", serviceLimit, e.serviceSummary("web"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	s := e.waitStable("web")
	if s.RunningCount != 2 {
		t.Errorf("after draining:\n%s", e.serviceSummary("web"))
	}
	if tk := e.describeOne(alone); aws.ToString(tk.LastStatus) != "RUNNING" || aws.ToString(tk.DesiredStatus) != "RUNNING" {
		t.Errorf("the standalone task on the drained node was touched: %s", e.summary([]string{alone}))
	}
}

// TestDockerServiceDeleteGoesInactive: DeleteService with force drains the
// service (its tasks stop, the agent removes their containers) and the
// ServicesInactive waiter sees it INACTIVE; ListServices no longer lists
// it, and the name can be used again.
func TestDockerServiceDeleteGoesInactive(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	def := e.family("svc-del", e.echo("web"))
	e.createService("web", def, 2)
	e.waitStable("web")
	tasks := arnsOf(e.serviceTasks("web", types.DesiredStatusRunning))
	out := mustAWS(e.ecs.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String(e.cluster), Service: aws.String("web"), Force: aws.Bool(true)}))(t)
	if aws.ToString(out.Service.Status) != "DRAINING" {
		t.Errorf("DeleteService answered status %s", aws.ToString(out.Service.Status))
	}
	e.waitInactive("web")
	e.waitStopped(tasks...)
	l := mustAWS(e.ecs.ListServices(t.Context(), &ecs.ListServicesInput{Cluster: aws.String(e.cluster)}))(t)
	if len(l.ServiceArns) != 0 {
		t.Errorf("ListServices after the delete: %v", l.ServiceArns)
	}
	e.waitRemoved()
	e.createService("web", def, 1)
	e.waitStable("web")
}
