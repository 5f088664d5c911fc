package agent_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/agent"
	"github.com/quayside/quayside/internal/agent/runtime/fake"
	"github.com/quayside/quayside/internal/server"
)

// TestHollowNodes runs many agents on fake engines against one control
// plane (HOLLOW_NODES nodes, default 100), starts tasks across them and
// stops them all.
func TestHollowNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("hollow nodes take a few seconds")
	}
	nodes := 100
	if v, err := strconv.Atoi(os.Getenv("HOLLOW_NODES")); err == nil && v > 0 {
		nodes = v
	}
	// At the default heartbeat period: 1,000 nodes at 200ms would be 5,000
	// heartbeats a second.
	e := newEnv(t, func(c *server.Config) { c.HeartbeatPeriod = 0 })
	fakes := make([]*fake.Runtime, nodes)
	for i := range fakes {
		fakes[i] = fake.New(fake.Options{})
		dir := t.TempDir()
		rt := fakes[i]
		e.start(func(c *agent.Config) { c.DataDir, c.Runtime = dir, rt })
	}
	e.eventually("every node registers", func() bool {
		l, err := e.h.ECS.ListContainerInstances(t.Context(), &ecs.ListContainerInstancesInput{Cluster: aws.String(e.cluster), MaxResults: aws.Int32(100)})
		if err != nil {
			return false
		}
		n := len(l.ContainerInstanceArns)
		for tok := l.NextToken; tok != nil && err == nil; tok = l.NextToken {
			l, err = e.h.ECS.ListContainerInstances(t.Context(), &ecs.ListContainerInstancesInput{Cluster: aws.String(e.cluster), NextToken: tok, MaxResults: aws.Int32(100)})
			n += len(l.ContainerInstanceArns)
		}
		return n == nodes
	})
	def := e.register("hollow", container("app"))
	var arns []string
	begin := time.Now()
	for len(arns) < 3*nodes {
		out, err := e.h.ECS.RunTask(t.Context(), &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String(def), Count: aws.Int32(10)})
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		for _, tk := range out.Tasks {
			arns = append(arns, aws.ToString(tk.TaskArn))
		}
	}
	for i := 0; i < len(arns); i += 100 {
		e.waitRunning(arns[i:min(i+100, len(arns))]...)
	}
	t.Logf("%d tasks RUNNING on %d nodes in %v", len(arns), nodes, time.Since(begin))
	running := 0
	for _, f := range fakes {
		running += f.Stats().Running
	}
	if running != len(arns) {
		t.Errorf("%d containers running for %d tasks", running, len(arns))
	}
	begin = time.Now()
	for _, arn := range arns {
		e.stop(arn)
	}
	for i := 0; i < len(arns); i += 100 {
		e.waitStopped(arns[i:min(i+100, len(arns))]...)
	}
	t.Logf("%d tasks STOPPED in %v", len(arns), time.Since(begin))
	e.eventually("every container is removed", func() bool {
		for _, f := range fakes {
			if f.Stats().Containers > 0 {
				return false
			}
		}
		return true
	})
}
