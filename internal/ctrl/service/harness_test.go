package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agent/agenttest"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/server/servertest"
)

const waitLimit = 60 * time.Second

// cluster is a control plane with hollow nodes in cluster "c1".
type cluster struct {
	t     testing.TB
	h     *servertest.Harness
	ctx   context.Context
	nodes []*agenttest.Node
}

// fast makes a cluster quick to notice lost nodes: heartbeats every 200ms
// (disconnected after 600-800ms of silence), replaced 300ms later; and
// quick to complete deployments: tasks prove themselves in 500ms.
func fast(c *server.Config) {
	c.HeartbeatPeriod = 200 * time.Millisecond
	c.PollWait = 2 * time.Second
	c.LostNodeGrace = 300 * time.Millisecond
	c.TaskSuccessAfter = 500 * time.Millisecond
}

func newCluster(t testing.TB, nodes int, opts ...func(*server.Config)) *cluster {
	t.Helper()
	h := servertest.Start(t, opts...)
	c := &cluster{t: t, h: h, ctx: t.Context()}
	if _, err := h.ECS.CreateCluster(c.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	for range nodes {
		c.startNode()
	}
	c.waitNodes()
	return c
}

// addNode starts a hollow node and waits until it is registered.
func (c *cluster) addNode() *agenttest.Node {
	c.t.Helper()
	n := c.startNode()
	c.waitNodes()
	return n
}

// startNode starts a hollow node in zone a, b or c in turn.
func (c *cluster) startNode() *agenttest.Node {
	zone := "local-1" + string(rune('a'+len(c.nodes)%3))
	n := agenttest.Start(c.t, agenttest.Options{
		Server: c.h.Server.URL(), Token: c.h.Server.AgentToken(), Cluster: "c1", AvailabilityZone: zone,
		Attributes: map[string]string{"node": fmt.Sprint(len(c.nodes))},
	})
	c.nodes = append(c.nodes, n)
	return n
}

// waitNodes waits until every node is registered and connected.
func (c *cluster) waitNodes() {
	c.t.Helper()
	want := len(c.nodes)
	c.eventually(fmt.Sprintf("%d nodes register", want), func() bool { return len(c.instances()) == want })
}

// instances lists the connected ACTIVE or DRAINING instances.
func (c *cluster) instances() []types.ContainerInstance {
	var out []types.ContainerInstance
	p := ecs.NewListContainerInstancesPaginator(c.h.ECS, &ecs.ListContainerInstancesInput{Cluster: aws.String("c1")})
	for p.HasMorePages() {
		l, err := p.NextPage(c.ctx)
		if err != nil || len(l.ContainerInstanceArns) == 0 {
			return out
		}
		d, err := c.h.ECS.DescribeContainerInstances(c.ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("c1"), ContainerInstances: l.ContainerInstanceArns})
		if err != nil {
			return nil
		}
		for _, ci := range d.ContainerInstances {
			if ci.AgentConnected {
				out = append(out, ci)
			}
		}
	}
	return out
}

func (c *cluster) eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// register registers family with one container whose environment (pairs)
// scripts the fake engine.
func (c *cluster) register(family string, env ...string) string {
	c.t.Helper()
	ct := types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("quayside-test/echo:latest"), Memory: aws.Int32(64), Essential: aws.Bool(true)}
	for i := 0; i+1 < len(env); i += 2 {
		ct.Environment = append(ct.Environment, types.KeyValuePair{Name: aws.String(env[i]), Value: aws.String(env[i+1])})
	}
	out, err := c.h.ECS.RegisterTaskDefinition(c.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), ContainerDefinitions: []types.ContainerDefinition{ct}})
	if err != nil {
		c.t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func (c *cluster) create(name, def string, desired int32, mod func(*ecs.CreateServiceInput)) {
	c.t.Helper()
	in := &ecs.CreateServiceInput{Cluster: aws.String("c1"), ServiceName: aws.String(name), TaskDefinition: aws.String(def), DesiredCount: aws.Int32(desired)}
	if mod != nil {
		mod(in)
	}
	if _, err := c.h.ECS.CreateService(c.ctx, in); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) update(in *ecs.UpdateServiceInput) {
	c.t.Helper()
	in.Cluster = aws.String("c1")
	if _, err := c.h.ECS.UpdateService(c.ctx, in); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) describe(name string) types.Service {
	c.t.Helper()
	out, err := c.h.ECS.DescribeServices(c.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		c.t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	return out.Services[0]
}

// waitStable waits with the SDK's ServicesStable waiter.
func (c *cluster) waitStable(name string) {
	c.t.Helper()
	w := ecs.NewServicesStableWaiter(c.h.ECS, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(c.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{name}}, waitLimit); err != nil {
		s := c.describe(name)
		c.t.Fatalf("services-stable %s: %v; running %d/%d, deployments %d, events %v", name, err, s.RunningCount, s.DesiredCount, len(s.Deployments), messages(s, 5))
	}
}

// waitCompleted waits until the PRIMARY deployment's rollout is
// COMPLETED.
func (c *cluster) waitCompleted(name string) types.Deployment {
	c.t.Helper()
	var d types.Deployment
	c.eventually(name+" completes its deployment", func() bool {
		s := c.describe(name)
		for _, d = range s.Deployments {
			if aws.ToString(d.Status) == "PRIMARY" {
				return d.RolloutState == types.DeploymentRolloutStateCompleted
			}
		}
		return false
	})
	return d
}

func (c *cluster) waitInactive(name string) {
	c.t.Helper()
	w := ecs.NewServicesInactiveWaiter(c.h.ECS, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(c.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{name}}, waitLimit); err != nil {
		c.t.Fatalf("services-inactive %s: %v", name, err)
	}
}

// messages are the newest n event messages.
func messages(s types.Service, n int) []string {
	var out []string
	for _, e := range s.Events[:min(n, len(s.Events))] {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

// tasks lists the service's tasks with the given desired status (RUNNING:
// the ones meant to run; STOPPED: the others).
func (c *cluster) tasks(name string, desired types.DesiredStatus) []types.Task {
	c.t.Helper()
	l, err := c.h.ECS.ListTasks(c.ctx, &ecs.ListTasksInput{Cluster: aws.String("c1"), ServiceName: aws.String(name), DesiredStatus: desired})
	if err != nil {
		c.t.Fatal(err)
	}
	var out []types.Task
	for arns := range slices.Chunk(l.TaskArns, 100) {
		d, err := c.h.ECS.DescribeTasks(c.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c1"), Tasks: arns})
		if err != nil {
			c.t.Fatal(err)
		}
		out = append(out, d.Tasks...)
	}
	return out
}

// running lists the service's tasks that are RUNNING and meant to run.
func (c *cluster) running(name string) []types.Task {
	var out []types.Task
	for _, t := range c.tasks(name, types.DesiredStatusRunning) {
		if aws.ToString(t.LastStatus) == "RUNNING" {
			out = append(out, t)
		}
	}
	return out
}

// nodeOf is the hollow node that runs the task's containers.
func (c *cluster) nodeOf(taskArn string) *agenttest.Node {
	for _, n := range c.nodes {
		if n.Running(taskArn) > 0 {
			return n
		}
	}
	return nil
}

func hasMessage(s types.Service, sub string) bool {
	for _, e := range s.Events {
		if strings.Contains(aws.ToString(e.Message), sub) {
			return true
		}
	}
	return false
}
