package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/testimages"
)

// Labels the agent puts on what it creates (internal/agent/runtime): the
// tests find a cluster's containers and volumes by them, as an operator
// would with `docker ps --filter label=...`.
const (
	labelCluster   = "com.quayside.cluster"
	labelTask      = "com.quayside.task-arn"
	labelContainer = "com.quayside.container-name"
)

// waitLimit bounds every wait of the Docker tests: CI machines are slow, but
// nothing here takes more than a few seconds when it works.
const waitLimit = 60 * time.Second

// dockerEnv is one test's world: a `quayside server` process, a cluster of
// its own, a node agent process on the local Docker engine, an SDK client
// and a Docker client to look at the engine.
type dockerEnv struct {
	t        *testing.T
	srv      *proc
	ecs      *ecs.Client
	docker   *client.Client
	images   testimages.Images
	cluster  string
	agentDir string
	agentLog string
	// nodeAddress, when set, is the agent's --address: where load
	// balancers reach the node's host ports.
	nodeAddress string
	agent       *agentProc
	logs        []string // process logs shown when the test fails
}

// requireDocker returns a client of the local engine. Without an engine the
// test fails under CI=true and is skipped elsewhere.
func requireDocker(t *testing.T) *client.Client {
	t.Helper()
	dk, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = dk.Ping(ctx, client.PingOptions{})
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Docker is required under CI=true: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	t.Cleanup(func() { dk.Close() })
	return dk
}

// newDockerEnv starts a server and creates the test's cluster; the agent is
// started with startAgent. The test runs in parallel with the others.
// Everything labelled with the cluster is removed at the end.
func newDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	t.Parallel()
	dk := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	imgs, err := testimages.Ensure(ctx, "")
	if err != nil {
		t.Fatalf("test images: %v", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &dockerEnv{t: t, docker: dk, images: imgs, cluster: "e2e-" + hex.EncodeToString(b),
		agentDir: t.TempDir(), agentLog: filepath.Join(t.TempDir(), "agent.log")}
	e.logs = append(e.logs, e.agentLog)
	e.startServer(t.TempDir(), freePort(t))
	// Registered after the server's own cleanup, so it runs before it; the
	// agent's (registered later still) runs first.
	t.Cleanup(e.cleanup)
	mustAWS(e.ecs.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(e.cluster)}))(t)
	return e
}

// startServer (re)starts the control plane on a data directory and address.
func (e *dockerEnv) startServer(dataDir, listen string) {
	e.t.Helper()
	e.srv = startServer(e.t, dataDir, listen)
	e.logs = append(e.logs, e.srv.Log)
	e.ecs = e.srv.ecsClient(e.t)
}

// restartServer starts the control plane again on the same data directory
// and address, after it was killed or stopped.
func (e *dockerEnv) restartServer() {
	e.t.Helper()
	e.startServer(e.srv.DataDir, e.srv.Listen)
}

// cleanup removes the cluster's containers and volumes, and shows the
// process logs when the test failed.
func (e *dockerEnv) cleanup() {
	if e.t.Failed() {
		for _, l := range e.logs {
			e.t.Logf("---- %s (tail)\n%s", l, tail(l, 150))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := client.Filters{}.Add("label", labelCluster+"="+e.cluster)
	cs, err := e.docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		e.t.Errorf("cleanup: list containers: %v", err)
	}
	for _, c := range cs.Items {
		if _, err := e.docker.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			e.t.Errorf("cleanup: remove container %s: %v", c.ID, err)
		}
	}
	vs, err := e.docker.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		e.t.Errorf("cleanup: list volumes: %v", err)
	}
	for _, v := range vs.Items {
		if _, err := e.docker.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
			e.t.Errorf("cleanup: remove volume %s: %v", v.Name, err)
		}
	}
}

// tail is the end of a log file.
func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// agentProc is a `quayside agent` process.
type agentProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// startAgent runs `quayside agent` on the env's data directory, the way an
// operator starts it on a node, and waits until its container instance is
// connected.
func (e *dockerEnv) startAgent() *agentProc {
	e.t.Helper()
	logf, err := os.OpenFile(e.agentLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "==== agent started %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(quaysideBinary(e.t), "agent",
		"--server", e.srv.URL(),
		"--token-file", filepath.Join(e.srv.DataDir, "agent-token"),
		"--cluster", e.cluster,
		"--data-dir", e.agentDir,
		"--pause-image", e.images.Pause,
		"--log-level", "debug")
	if e.nodeAddress != "" {
		cmd.Args = append(cmd.Args, "--address", e.nodeAddress)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	a := &agentProc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	e.t.Cleanup(a.kill)
	e.agent = a
	e.waitConnected()
	return a
}

// kill sends SIGKILL: no shutdown code runs, the containers stay.
func (a *agentProc) kill() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
}

// instance describes the cluster's only container instance (nil when none).
func (e *dockerEnv) instance() *types.ContainerInstance {
	e.t.Helper()
	ctx := e.t.Context()
	l, err := e.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(e.cluster)})
	if err != nil || len(l.ContainerInstanceArns) == 0 {
		return nil
	}
	d, err := e.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(e.cluster), ContainerInstances: l.ContainerInstanceArns})
	if err != nil || len(d.ContainerInstances) != 1 {
		return nil
	}
	return &d.ContainerInstances[0]
}

// waitConnected waits until the node's container instance says
// agentConnected.
func (e *dockerEnv) waitConnected() {
	e.t.Helper()
	e.eventually("the agent's container instance is connected", func() bool {
		ci := e.instance()
		return ci != nil && ci.AgentConnected
	})
}

// eventually polls cond until it holds, failing the test at waitLimit.
func (e *dockerEnv) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting until %s", waitLimit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// echo is a container definition of the echo image; env is pairs of names
// and values.
func (e *dockerEnv) echo(name string, env ...string) types.ContainerDefinition {
	c := types.ContainerDefinition{Name: aws.String(name), Image: aws.String(e.images.Echo),
		Memory: aws.Int32(32), Essential: aws.Bool(true)}
	for i := 0; i+1 < len(env); i += 2 {
		c.Environment = append(c.Environment, types.KeyValuePair{Name: aws.String(env[i]), Value: aws.String(env[i+1])})
	}
	return c
}

// withPort maps the echo server's port 8080 to a dynamic host port.
func withPort(c types.ContainerDefinition) types.ContainerDefinition {
	c.PortMappings = append(c.PortMappings, types.PortMapping{ContainerPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp})
	return c
}

// register registers a task definition and returns its ARN.
func (e *dockerEnv) register(in *ecs.RegisterTaskDefinitionInput) string {
	e.t.Helper()
	out := mustAWS(e.ecs.RegisterTaskDefinition(e.t.Context(), in))(e.t)
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// family registers a bridge-mode task definition of containers.
func (e *dockerEnv) family(name string, cs ...types.ContainerDefinition) string {
	e.t.Helper()
	return e.register(&ecs.RegisterTaskDefinitionInput{Family: aws.String(name), ContainerDefinitions: cs})
}

// run runs count tasks of def and returns their ARNs.
func (e *dockerEnv) run(def string, count int32, muts ...func(*ecs.RunTaskInput)) []string {
	e.t.Helper()
	in := &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String(def), Count: aws.Int32(count)}
	for _, m := range muts {
		m(in)
	}
	out := mustAWS(e.ecs.RunTask(e.t.Context(), in))(e.t)
	if len(out.Tasks) != int(count) {
		e.t.Fatalf("RunTask placed %d of %d tasks; failures: %+v", len(out.Tasks), count, out.Failures)
	}
	arns := make([]string, len(out.Tasks))
	for i, tk := range out.Tasks {
		arns[i] = aws.ToString(tk.TaskArn)
	}
	return arns
}

// describe describes tasks, in the order asked.
func (e *dockerEnv) describe(arns ...string) []types.Task {
	e.t.Helper()
	out := mustAWS(e.ecs.DescribeTasks(e.t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: arns}))(e.t)
	if len(out.Tasks) != len(arns) {
		e.t.Fatalf("DescribeTasks: %d of %d tasks; failures %+v", len(out.Tasks), len(arns), out.Failures)
	}
	byArn := map[string]types.Task{}
	for _, tk := range out.Tasks {
		byArn[aws.ToString(tk.TaskArn)] = tk
	}
	tasks := make([]types.Task, len(arns))
	for i, a := range arns {
		tasks[i] = byArn[a]
	}
	return tasks
}

func (e *dockerEnv) describeOne(arn string) types.Task { e.t.Helper(); return e.describe(arn)[0] }

// waitRunning waits with the SDK's TasksRunning waiter.
func (e *dockerEnv) waitRunning(arns ...string) {
	e.t.Helper()
	w := ecs.NewTasksRunningWaiter(e.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(e.t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: arns}, waitLimit); err != nil {
		e.t.Fatalf("TasksRunning: %v\n%s", err, e.summary(arns))
	}
}

// waitStopped waits with the SDK's TasksStopped waiter.
func (e *dockerEnv) waitStopped(arns ...string) {
	e.t.Helper()
	w := ecs.NewTasksStoppedWaiter(e.ecs, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(e.t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: arns}, waitLimit); err != nil {
		e.t.Fatalf("TasksStopped: %v\n%s", err, e.summary(arns))
	}
}

// summary is one line per task and container, for failure messages.
func (e *dockerEnv) summary(arns []string) string {
	out, err := e.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: arns})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, tk := range out.Tasks {
		fmt.Fprintf(&b, "task %s: last=%s desired=%s health=%s stopCode=%s reason=%q\n", aws.ToString(tk.TaskArn),
			aws.ToString(tk.LastStatus), aws.ToString(tk.DesiredStatus), tk.HealthStatus, tk.StopCode, aws.ToString(tk.StoppedReason))
		for _, c := range tk.Containers {
			fmt.Fprintf(&b, "  container %s: last=%s exit=%v health=%s reason=%q runtimeId=%s\n", aws.ToString(c.Name),
				aws.ToString(c.LastStatus), fmtExit(c.ExitCode), c.HealthStatus, aws.ToString(c.Reason), aws.ToString(c.RuntimeId))
		}
	}
	return b.String()
}

func fmtExit(p *int32) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// stop stops tasks with StopTask.
func (e *dockerEnv) stop(reason string, arns ...string) {
	e.t.Helper()
	for _, a := range arns {
		mustAWS(e.ecs.StopTask(e.t.Context(), &ecs.StopTaskInput{Cluster: aws.String(e.cluster), Task: aws.String(a), Reason: aws.String(reason)}))(e.t)
	}
}

// containerNamed is a task's container by name.
func containerNamed(t *testing.T, tk types.Task, name string) types.Container {
	t.Helper()
	for _, c := range tk.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	t.Fatalf("task %s has no container %q", aws.ToString(tk.TaskArn), name)
	return types.Container{}
}

// hostPort is the host port a task's container's port 8080 is bound to.
func hostPort(t *testing.T, tk types.Task, name string) int32 {
	t.Helper()
	for _, nb := range containerNamed(t, tk, name).NetworkBindings {
		if aws.ToInt32(nb.ContainerPort) == 8080 && aws.ToInt32(nb.HostPort) != 0 {
			return aws.ToInt32(nb.HostPort)
		}
	}
	t.Fatalf("container %s has no host port for 8080: %+v", name, containerNamed(t, tk, name).NetworkBindings)
	return 0
}

// dockerContainers lists the engine's containers (running or not) of a
// task, by the label the agent puts on them.
func (e *dockerEnv) dockerContainers(arn string) []container.Summary {
	e.t.Helper()
	f := client.Filters{}.Add("label", labelTask+"="+arn)
	out, err := e.docker.ContainerList(e.t.Context(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		e.t.Fatalf("docker ps: %v", err)
	}
	return out.Items
}

// clusterLeftovers counts the containers and volumes of the cluster still on
// the engine.
func (e *dockerEnv) clusterLeftovers() int {
	e.t.Helper()
	f := client.Filters{}.Add("label", labelCluster+"="+e.cluster)
	cs, err := e.docker.ContainerList(e.t.Context(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		e.t.Fatalf("docker ps: %v", err)
	}
	vs, err := e.docker.VolumeList(e.t.Context(), client.VolumeListOptions{Filters: f})
	if err != nil {
		e.t.Fatalf("docker volume ls: %v", err)
	}
	return len(cs.Items) + len(vs.Items)
}

// waitRemoved waits until the agent has removed everything of the cluster
// from the engine.
func (e *dockerEnv) waitRemoved() {
	e.t.Helper()
	e.eventually("the agent removed the cluster's containers and volumes", func() bool { return e.clusterLeftovers() == 0 })
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// httpDo sends a request until it answers 200 (the server in a fresh
// container may not listen yet) and returns the body.
func (e *dockerEnv) httpDo(method, url string) string {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		body, err := httpOnce(method, url)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s %s: %v", method, url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpOnce(method, url string) (string, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}
