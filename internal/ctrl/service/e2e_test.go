package service_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agent/agenttest"
	"github.com/quayside/quayside/internal/store"
)

// A service through its life on hollow nodes: created and stable, spread
// over the zones; a killed task replaced at once; rolled to a new
// revision; deleted.
func TestServiceLifecycle(t *testing.T) {
	c := newCluster(t, 3, fast)
	rev1 := c.register("web")
	c.create("web", rev1, 6, nil)
	c.waitStable("web")
	s := c.describe("web")
	if s.RunningCount != 6 || s.PendingCount != 0 || len(s.Deployments) != 1 || s.Deployments[0].RunningCount != 6 {
		t.Fatalf("stable service: running %d pending %d deployments %+v", s.RunningCount, s.PendingCount, s.Deployments)
	}
	c.waitCompleted("web")
	for _, n := range c.nodes {
		if k := n.Running(""); k != 2 {
			t.Errorf("a node runs %d tasks; want 2 on each of 3 (spread)", k)
		}
	}
	c.eventually("the steady state event", func() bool { return hasMessage(c.describe("web"), "(service web) has reached a steady state.") })
	if !hasMessage(c.describe("web"), "(service web) has started 6 tasks: (task ") {
		t.Errorf("events: %v", messages(c.describe("web"), 10))
	}

	t.Run("killed task is replaced", func(t *testing.T) {
		victim := aws.ToString(c.running("web")[0].TaskArn)
		begin := time.Now()
		if c.nodeOf(victim).Kill(victim, 137) != 1 {
			t.Fatal("no container killed")
		}
		c.eventually("a replacement runs", func() bool {
			ts := c.running("web")
			return len(ts) == 6 && !slices.ContainsFunc(ts, func(t types.Task) bool { return aws.ToString(t.TaskArn) == victim })
		})
		t.Logf("killed task replaced and RUNNING after %v", time.Since(begin))
		c.waitStable("web")
	})

	t.Run("rolling update", func(t *testing.T) {
		var trough, peak atomic.Int64
		stop := c.watchRange(&trough, &peak)
		rev2 := c.register("web", "VERSION", "2")
		c.update(&ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(rev2)})
		c.waitStable("web")
		stop()
		if lo, hi := trough.Load(), peak.Load(); lo < 6 || hi > 12 {
			t.Errorf("%d to %d containers ran during the rollout; min 100%% and max 200%% of 6 allow 6 to 12", lo, hi)
		}
		c.waitCompleted("web")
		s := c.describe("web")
		if aws.ToString(s.TaskDefinition) != rev2 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
			t.Errorf("after the rollout: %s %+v", aws.ToString(s.TaskDefinition), s.Deployments)
		}
		for _, tk := range c.running("web") {
			if aws.ToString(tk.TaskDefinitionArn) != rev2 {
				t.Errorf("task %s still runs %s", aws.ToString(tk.TaskArn), aws.ToString(tk.TaskDefinitionArn))
			}
		}
		if !hasMessage(s, ") deployment completed.") {
			t.Errorf("events: %v", messages(s, 10))
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := c.h.ECS.DeleteService(c.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		c.waitInactive("web")
		c.eventually("every container stops", func() bool {
			for _, n := range c.nodes {
				if n.Running("") > 0 {
					return false
				}
			}
			return true
		})
	})
}

// A crashing revision trips the circuit breaker, which rolls back to the
// last completed deployment.
func TestCircuitBreakerRollsBack(t *testing.T) {
	c := newCluster(t, 2, fast)
	good := c.register("app")
	c.create("app", good, 2, func(in *ecs.CreateServiceInput) {
		in.DeploymentConfiguration = &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	})
	c.waitStable("app")
	first := aws.ToString(c.waitCompleted("app").Id) // the one to roll back to
	bad := c.register("app", "FAKE_RUN_FOR", "20ms", "FAKE_EXIT_CODE", "1")
	c.update(&ecs.UpdateServiceInput{Service: aws.String("app"), TaskDefinition: aws.String(bad)})
	c.eventually("the deployment fails", func() bool {
		return hasMessage(c.describe("app"), ") deployment failed: tasks failed to start.")
	})
	c.waitStable("app")
	c.waitCompleted("app")
	s := c.describe("app")
	d := s.Deployments[0]
	if aws.ToString(s.TaskDefinition) != good || aws.ToString(d.TaskDefinition) != good ||
		aws.ToString(d.RolloutStateReason) != "ECS deployment "+aws.ToString(d.Id)+" completed." {
		t.Errorf("after the rollback: %s %+v", aws.ToString(s.TaskDefinition), d)
	}
	if !hasMessage(s, "(deployment "+aws.ToString(d.Id)+") deployment completed.") || aws.ToString(d.Id) == first {
		t.Errorf("events: %v", messages(s, 10))
	}
	for _, tk := range c.running("app") {
		if aws.ToString(tk.TaskDefinitionArn) != good {
			t.Errorf("task runs %s", aws.ToString(tk.TaskDefinitionArn))
		}
	}
}

// A DRAINING instance's service tasks move to the others; a standalone
// task there stays.
func TestDrainingInstance(t *testing.T) {
	c := newCluster(t, 3, fast)
	def := c.register("web")
	c.create("web", def, 3, nil)
	c.waitStable("web")
	victim := c.running("web")[0]
	inst := aws.ToString(victim.ContainerInstanceArn)
	st, err := c.h.ECS.StartTask(c.ctx, &ecs.StartTaskInput{Cluster: aws.String("c1"), TaskDefinition: aws.String(def), ContainerInstances: []string{inst}})
	if err != nil || len(st.Tasks) != 1 {
		t.Fatalf("StartTask: %v %+v", err, st)
	}
	alone := aws.ToString(st.Tasks[0].TaskArn)
	c.eventually("the standalone task runs", func() bool { return c.nodeOf(alone) != nil })
	if _, err := c.h.ECS.UpdateContainerInstancesState(c.ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c1"), ContainerInstances: []string{inst}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	c.eventually("the service leaves the instance", func() bool {
		ts := c.running("web")
		return len(ts) == 3 && !slices.ContainsFunc(ts, func(t types.Task) bool { return aws.ToString(t.ContainerInstanceArn) == inst })
	})
	c.waitStable("web")
	if c.nodeOf(alone) == nil {
		t.Error("the standalone task was stopped")
	}
	if !hasMessage(c.describe("web"), "has stopped 1 running tasks: (task ") {
		t.Errorf("events: %v", messages(c.describe("web"), 10))
	}
}

// A node cut off the network loses its service tasks to the others within
// the grace period; when it comes back it stops them. Meanwhile the
// containers that may run never exceed maximumPercent.
func TestLostNodeReplaced(t *testing.T) {
	c := newCluster(t, 3, fast)
	def := c.register("web")
	c.create("web", def, 3, func(in *ecs.CreateServiceInput) {
		in.DeploymentConfiguration = &types.DeploymentConfiguration{MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(100)}
	})
	c.waitStable("web")
	var peak atomic.Int64
	stop := c.watchPeak(&peak)
	victim := c.running("web")[0]
	lost := c.nodeOf(aws.ToString(victim.TaskArn))
	inst := aws.ToString(victim.ContainerInstanceArn)
	begin := time.Now()
	lost.Cut()
	c.eventually("the lost node's task is replaced", func() bool {
		ts := c.running("web")
		return len(ts) == 3 && !slices.ContainsFunc(ts, func(t types.Task) bool { return aws.ToString(t.ContainerInstanceArn) == inst })
	})
	t.Logf("lost node's task replaced and RUNNING after %v", time.Since(begin))
	if got := lost.Running(aws.ToString(victim.TaskArn)); got != 1 {
		t.Errorf("the cut-off node runs %d containers of its task; want it still running", got)
	}
	lost.Heal()
	c.eventually("the node stops its replaced task", func() bool { return lost.Running("") == 0 })
	c.eventually("the lost task is STOPPED", func() bool {
		return slices.ContainsFunc(c.tasks("web", types.DesiredStatusStopped), func(t types.Task) bool {
			return aws.ToString(t.TaskArn) == aws.ToString(victim.TaskArn) && aws.ToString(t.LastStatus) == "STOPPED"
		})
	})
	c.waitStable("web")
	stop()
	if p := peak.Load(); p > 4 {
		t.Errorf("up to %d containers ran; maximumPercent 150 of 3 allows 4", p)
	}
}

// watchPeak records the most containers running on the nodes at once
// until stop is called.
func (c *cluster) watchPeak(peak *atomic.Int64) (stop func()) {
	var trough atomic.Int64
	return c.watchRange(&trough, peak)
}

// watchRange records the fewest and the most containers running on the
// nodes at once until stop is called.
func (c *cluster) watchRange(trough, peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	trough.Store(1 << 62)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			n := 0
			for _, node := range c.nodes {
				n += node.Running("")
			}
			peak.Store(max(peak.Load(), int64(n)))
			trough.Store(min(trough.Load(), int64(n)))
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// A DAEMON service runs one task on each instance: joining instances get
// one, draining ones lose theirs.
func TestDaemonService(t *testing.T) {
	c := newCluster(t, 2, fast)
	def := c.register("agent")
	c.create("daemon", def, 0, func(in *ecs.CreateServiceInput) {
		in.DesiredCount, in.SchedulingStrategy = nil, types.SchedulingStrategyDaemon
	})
	// CreateService answers with desiredCount 0 (the stable waiter would
	// pass at once): the scheduler sets it to the eligible instances.
	c.eventually("the daemon's desired count", func() bool { return c.describe("daemon").DesiredCount == 2 })
	c.waitStable("daemon")
	if s := c.describe("daemon"); s.DesiredCount != 2 || s.RunningCount != 2 {
		t.Fatalf("daemon on 2 nodes: desired %d running %d", s.DesiredCount, s.RunningCount)
	}
	third := c.addNode()
	c.eventually("the new node gets its daemon", func() bool { return third.Running("") == 1 })
	c.waitStable("daemon")
	if s := c.describe("daemon"); s.DesiredCount != 3 {
		t.Errorf("desired %d with 3 nodes", s.DesiredCount)
	}
	inst := aws.ToString(c.instances()[0].ContainerInstanceArn)
	if _, err := c.h.ECS.UpdateContainerInstancesState(c.ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c1"), ContainerInstances: []string{inst}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	c.eventually("the drained node's daemon stops", func() bool {
		s := c.describe("daemon")
		return s.DesiredCount == 2 && len(c.running("daemon")) == 2
	})
	c.waitStable("daemon")
	for _, n := range c.nodes {
		if n.Running("") > 1 {
			t.Errorf("a node runs %d daemon tasks", n.Running(""))
		}
	}
}

// A service task holds on its instance exactly what a RunTask task of the
// same definition holds.
func TestServiceTaskClaimsAsRunTask(t *testing.T) {
	c := newCluster(t, 1, fast)
	out, err := c.h.ECS.RegisterTaskDefinition(c.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("claim"), Cpu: aws.String("0.5 vcpu"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("a"), Image: aws.String("x"), MemoryReservation: aws.Int32(48), Memory: aws.Int32(96),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}, {ContainerPort: aws.Int32(81)}}},
			{Name: aws.String("b"), Image: aws.String("y"), Memory: aws.Int32(32), Essential: aws.Bool(false),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(53), Protocol: types.TransportProtocolUdp}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	def := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	c.create("svc", def, 1, nil)
	c.eventually("the service task exists", func() bool { return len(c.tasks("svc", types.DesiredStatusRunning)) == 1 })
	svcTask := aws.ToString(c.tasks("svc", types.DesiredStatusRunning)[0].TaskArn)
	c.update(&ecs.UpdateServiceInput{Service: aws.String("svc"), DesiredCount: aws.Int32(0)})
	c.eventually("the service task stops (and frees its port)", func() bool {
		return len(c.tasks("svc", types.DesiredStatusRunning)) == 0 &&
			aws.ToString(c.tasks("svc", types.DesiredStatusStopped)[0].LastStatus) == "STOPPED"
	})
	run, err := c.h.ECS.RunTask(c.ctx, &ecs.RunTaskInput{Cluster: aws.String("c1"), TaskDefinition: aws.String(def)})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	claim := func(arn string) store.Claim {
		var rec store.TaskRecord
		id := arn[len(arn)-32:]
		if err := c.h.Server.Store().View(c.ctx, func(tx store.ReadTx) error {
			_, _, err := store.GetJSON(tx, store.TaskKey("c1", id), &rec)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rec.Claim
	}
	a, b := claim(svcTask), claim(aws.ToString(run.Tasks[0].TaskArn))
	if a.CPU != b.CPU || a.Memory != b.Memory || !slices.Equal(a.Ports, b.Ports) || !slices.Equal(a.PortsUDP, b.PortsUDP) ||
		a.DynamicPorts != b.DynamicPorts || a.GPU != b.GPU || a.CPU != 512 {
		t.Errorf("service task claims %+v, RunTask task %+v", a, b)
	}
}

// Tasks failing their container health checks are stopped and replaced;
// the circuit breaker counts them and fails the deployment.
func TestUnhealthyTasksAreReplaced(t *testing.T) {
	c := newCluster(t, 2, fast)
	out, err := c.h.ECS.RegisterTaskDefinition(c.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("sick"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("x"), Memory: aws.Int32(64),
			Environment: []types.KeyValuePair{{Name: aws.String("FAKE_HEALTH"), Value: aws.String("unhealthy")}},
			HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.create("sick", aws.ToString(out.TaskDefinition.TaskDefinitionArn), 1, func(in *ecs.CreateServiceInput) {
		in.DeploymentConfiguration = &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true}}
	})
	c.eventually("the deployment fails", func() bool {
		s := c.describe("sick")
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateFailed
	})
	stopped := c.tasks("sick", types.DesiredStatusStopped)
	if len(stopped) < 3 {
		t.Fatalf("%d stopped tasks", len(stopped))
	}
	for _, tk := range stopped {
		if aws.ToString(tk.StoppedReason) != "Task failed container health checks" || tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("stopped task: %s %s", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
	}
}

// A rollout on a node with room for one extra task goes a task at a time:
// the placement that found no room waits for the capacity an old task
// frees when it stops.
func TestRollingWithLittleRoom(t *testing.T) {
	c := newCluster(t, 0, fast)
	n := agenttest.Start(t, agenttest.Options{
		Server: c.h.Server.URL(), Token: c.h.Server.AgentToken(), Cluster: "c1",
		CPU: 4096, MemoryMiB: 256 + 3*64, // the default reserve, and room for three tasks
	})
	c.nodes = append(c.nodes, n)
	c.waitNodes()
	c.create("web", c.register("web"), 2, nil)
	c.waitStable("web")
	rev2 := c.register("web", "VERSION", "2")
	c.update(&ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(rev2)})
	c.waitStable("web")
	c.waitCompleted("web")
	for _, tk := range c.running("web") {
		if aws.ToString(tk.TaskDefinitionArn) != rev2 {
			t.Errorf("task runs %s", aws.ToString(tk.TaskDefinitionArn))
		}
	}
	if !hasMessage(c.describe("web"), "has insufficient memory available") {
		t.Errorf("events: %v", messages(c.describe("web"), 20))
	}
}

// A restarted control plane picks its services up where they were: the
// running tasks stay, nothing is launched twice.
func TestRestartKeepsTasks(t *testing.T) {
	c := newCluster(t, 2, fast)
	c.create("web", c.register("web"), 4, nil)
	c.waitStable("web")
	var before []string
	for _, tk := range c.running("web") {
		before = append(before, aws.ToString(tk.TaskArn))
	}
	c.h.Restart()
	c.waitNodes()
	// A change the restarted controller must act on.
	c.update(&ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(5)})
	c.eventually("the fifth task runs", func() bool { return len(c.running("web")) == 5 })
	c.waitStable("web")
	var after []string
	for _, tk := range c.running("web") {
		after = append(after, aws.ToString(tk.TaskArn))
	}
	for _, arn := range before {
		if !slices.Contains(after, arn) {
			t.Errorf("task %s was replaced across the restart: before %v, after %v", arn, before, after)
		}
	}
	running := 0
	for _, n := range c.nodes {
		running += n.Running("")
	}
	if running != 5 {
		t.Errorf("%d containers run for 5 tasks", running)
	}
}
