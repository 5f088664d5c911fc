package agent_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agent"
	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/fake"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/server/servertest"
)

const (
	echoImage = "quayside-test/echo:latest"
	waitLimit = 30 * time.Second
)

// env is a control plane, one node's fake engine and the node's data
// directory; agents come and go on them.
type env struct {
	t       testing.TB
	h       *servertest.Harness
	cluster string
	rt      *fake.Runtime   // the fake engine (nil on Docker)
	eng     runtime.Runtime // the engine: rt, or Docker
	pause   string          // the pause image
	dir     string
	down    atomic.Bool // the network between agent and control plane is cut
}

func newEnv(t *testing.T, opts ...func(*server.Config)) *env {
	t.Helper()
	h := servertest.Start(t, append([]func(*server.Config){func(c *server.Config) {
		c.HeartbeatPeriod = 200 * time.Millisecond
		c.PollWait = 2 * time.Second
	}}, opts...)...)
	rt := fake.New(fake.Options{})
	e := &env{t: t, h: h, cluster: "default", rt: rt, eng: rt, pause: "quayside-test/pause:latest", dir: t.TempDir()}
	if _, err := h.ECS.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(e.cluster)}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return e
}

// cutTransport fails every request while the env's network is down.
type cutTransport struct{ e *env }

func (c cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.e.down.Load() {
		return nil, errors.New("network is down")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// node is one running agent.
type node struct {
	cancel context.CancelFunc
	done   chan error
}

func (e *env) config() agent.Config {
	return agent.Config{
		Server:     e.h.Server.URL(),
		Token:      e.h.Server.AgentToken(),
		Cluster:    e.cluster,
		DataDir:    e.dir,
		Runtime:    e.eng,
		PauseImage: e.pause,
		Resync:     time.Second,
		Logger:     testLogger(),
		HTTPClient: &http.Client{Transport: cutTransport{e}},
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("AGENT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start runs an agent until the test ends or kill.
func (e *env) start(muts ...func(*agent.Config)) *node {
	e.t.Helper()
	cfg := e.config()
	for _, m := range muts {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- agent.Run(ctx, cfg) }()
	e.t.Cleanup(func() { n.kill(e.t) })
	return n
}

// kill stops the agent without touching its containers.
func (n *node) kill(t testing.TB) {
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("agent.Run: %v", err)
		}
		n.done <- nil
	case <-time.After(waitLimit):
		t.Fatalf("agent did not stop")
	}
}

// instance waits for the node's container instance to be registered.
func (e *env) instance() types.ContainerInstance {
	e.t.Helper()
	var out types.ContainerInstance
	e.eventually("the node registers", func() bool {
		l, err := e.h.ECS.ListContainerInstances(e.t.Context(), &ecs.ListContainerInstancesInput{Cluster: aws.String(e.cluster)})
		if err != nil || len(l.ContainerInstanceArns) == 0 {
			return false
		}
		d, err := e.h.ECS.DescribeContainerInstances(e.t.Context(), &ecs.DescribeContainerInstancesInput{
			Cluster: aws.String(e.cluster), ContainerInstances: l.ContainerInstanceArns})
		if err != nil || len(d.ContainerInstances) == 0 || !d.ContainerInstances[0].AgentConnected {
			return false
		}
		out = d.ContainerInstances[0]
		return true
	})
	return out
}

// eventually waits for cond.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// register registers a task definition.
func (e *env) register(family string, cs ...types.ContainerDefinition) string {
	e.t.Helper()
	return e.registerDef(&ecs.RegisterTaskDefinitionInput{Family: aws.String(family), ContainerDefinitions: cs})
}

func (e *env) registerDef(in *ecs.RegisterTaskDefinitionInput) string {
	e.t.Helper()
	out, err := e.h.ECS.RegisterTaskDefinition(e.t.Context(), in)
	if err != nil {
		e.t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func container(name string, env ...string) types.ContainerDefinition {
	c := types.ContainerDefinition{Name: aws.String(name), Image: aws.String(echoImage), Memory: aws.Int32(64), Essential: aws.Bool(true)}
	for i := 0; i+1 < len(env); i += 2 {
		c.Environment = append(c.Environment, types.KeyValuePair{Name: aws.String(env[i]), Value: aws.String(env[i+1])})
	}
	return c
}

// run runs one task of def and returns its ARN.
func (e *env) run(def string, muts ...func(*ecs.RunTaskInput)) string {
	e.t.Helper()
	in := &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String(def)}
	for _, m := range muts {
		m(in)
	}
	out, err := e.h.ECS.RunTask(e.t.Context(), in)
	if err != nil {
		e.t.Fatalf("RunTask: %v", err)
	}
	if len(out.Tasks) != 1 {
		e.t.Fatalf("RunTask placed %d tasks; failures %+v", len(out.Tasks), out.Failures)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func (e *env) describe(arn string) types.Task {
	e.t.Helper()
	out, err := e.h.ECS.DescribeTasks(e.t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		e.t.Fatalf("DescribeTasks: %v %+v", err, out)
	}
	return out.Tasks[0]
}

func waiterOpts[T any](o *T) {
	switch v := any(o).(type) {
	case *ecs.TasksRunningWaiterOptions:
		v.MinDelay, v.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	case *ecs.TasksStoppedWaiterOptions:
		v.MinDelay, v.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}
}

// waitRunning waits with the SDK's TasksRunning waiter.
func (e *env) waitRunning(arns ...string) {
	e.t.Helper()
	w := ecs.NewTasksRunningWaiter(e.h.ECS, waiterOpts[ecs.TasksRunningWaiterOptions])
	if err := w.Wait(e.t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: arns}, waitLimit); err != nil {
		e.t.Fatalf("TasksRunning: %v; task: %+v", err, e.describe(arns[0]))
	}
}

// waitStopped waits with the SDK's TasksStopped waiter.
func (e *env) waitStopped(arns ...string) {
	e.t.Helper()
	w := ecs.NewTasksStoppedWaiter(e.h.ECS, waiterOpts[ecs.TasksStoppedWaiterOptions])
	if err := w.Wait(e.t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: arns}, waitLimit); err != nil {
		e.t.Fatalf("TasksStopped: %v; task: %+v", err, e.describe(arns[0]))
	}
}

func (e *env) stop(arn string) {
	e.t.Helper()
	if _, err := e.h.ECS.StopTask(e.t.Context(), &ecs.StopTaskInput{Cluster: aws.String(e.cluster), Task: aws.String(arn)}); err != nil {
		e.t.Fatalf("StopTask: %v", err)
	}
}

// containers lists the engine's containers of a task.
func (e *env) containers(arn string) []runtime.ContainerStatus {
	e.t.Helper()
	cs, err := e.eng.List(context.Background(), map[string]string{runtime.LabelTask: arn})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

// containerOf is the engine's container of a task by container name.
func (e *env) containerOf(arn, name string) runtime.ContainerStatus {
	e.t.Helper()
	for _, c := range e.containers(arn) {
		if c.Labels[runtime.LabelContainer] == name {
			return c
		}
	}
	e.t.Fatalf("task %s has no container %s on the engine", arn, name)
	return runtime.ContainerStatus{}
}
