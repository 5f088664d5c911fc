package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/testimages"
)

// The agent's container labels (internal/agent/runtime), as an operator
// filters `docker ps` by them.
const (
	labelCluster = "com.quayside.cluster"
	labelTask    = "com.quayside.task-arn"
)

const (
	qCluster = "quayside-bench"
	qService = "bench-echo"
	// qPoll is how often the Quayside half asks the ECS API.
	qPoll = 10 * time.Millisecond
)

type quayside struct {
	dk    *client.Client
	imgs  testimages.Images
	o     options
	dir   string
	logs  string
	srv   *exec.Cmd
	agent *exec.Cmd
	ecs   *ecs.Client
	url   string
	rng   *rand.Rand
}

func newQuayside(dk *client.Client, imgs testimages.Images, o options) *quayside {
	return &quayside{dk: dk, imgs: imgs, o: o, rng: rand.New(rand.NewPCG(1, 2))}
}

func (q *quayside) name() string { return "quayside" }

// setup builds the binary if needed, removes what an earlier run may have
// left, and starts the server and one agent on the local engine.
func (q *quayside) setup(ctx context.Context) error {
	var err error
	if q.dir, err = os.MkdirTemp("", "quayside-bench-"); err != nil {
		return err
	}
	q.logs = filepath.Join(q.dir, "logs")
	if err := os.MkdirAll(q.logs, 0o755); err != nil {
		return err
	}
	if err := q.removeContainers(ctx); err != nil {
		return err
	}
	bin := q.o.binary
	if bin == "" {
		bin = filepath.Join(q.dir, "quayside")
		logf("quayside: building %s", bin)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/quayside/quayside/cmd/quayside").CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	data := filepath.Join(q.dir, "server")
	q.url = "http://" + listen
	if q.srv, err = q.start(bin, "server.log", "server", "--listen", listen, "--data-dir", data, "--log-level", q.o.logLevel); err != nil {
		return err
	}
	if err := poll(ctx, 30*time.Second, 20*time.Millisecond, "server healthy", func(context.Context) (bool, error) {
		resp, err := http.Get(q.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil, nil
	}); err != nil {
		return err
	}
	if q.ecs, err = ecsClient(ctx, data, q.url); err != nil {
		return err
	}
	if _, err := q.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(qCluster)}); err != nil {
		return err
	}
	if q.agent, err = q.start(bin, "agent.log", "agent", "--server", q.url,
		"--token-file", filepath.Join(data, "agent-token"), "--cluster", qCluster,
		"--data-dir", filepath.Join(q.dir, "agent"), "--pause-image", q.imgs.Pause, "--log-level", q.o.logLevel); err != nil {
		return err
	}
	return poll(ctx, 30*time.Second, 50*time.Millisecond, "agent connected", func(ctx context.Context) (bool, error) {
		l, err := q.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(qCluster)})
		if err != nil || len(l.ContainerInstanceArns) == 0 {
			return false, err
		}
		d, err := q.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(qCluster), ContainerInstances: l.ContainerInstanceArns})
		return err == nil && len(d.ContainerInstances) == 1 && d.ContainerInstances[0].AgentConnected, err
	})
}

func (q *quayside) start(bin, log string, args ...string) (*exec.Cmd, error) {
	f, err := os.Create(filepath.Join(q.logs, log))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	return cmd, cmd.Start()
}

func ecsClient(ctx context.Context, dataDir, url string) (*ecs.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithSharedCredentialsFiles([]string{filepath.Join(dataDir, "credentials")}),
		config.WithSharedConfigFiles([]string{}),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(url),
		// Polling every few milliseconds makes the SDK warn now and then that
		// it could not drain a response body from a connection the transport
		// had just closed as idle (aws/aws-sdk-go-v2#2737): noise here.
		config.WithLogger(logging.Nop{}),
	)
	if err != nil {
		return nil, err
	}
	return ecs.NewFromConfig(cfg), nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (q *quayside) createAndWaitSteady(ctx context.Context) (time.Duration, error) {
	td, err := q.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(qService),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("echo"), Image: aws.String(q.imgs.Echo), Memory: aws.Int32(32), Essential: aws.Bool(true),
		}},
	})
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	_, err = q.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(qCluster), ServiceName: aws.String(qService),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(int32(q.o.replicas)),
	})
	if err != nil {
		return 0, err
	}
	if err := q.waitSteady(ctx); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// waitSteady waits for what the ServicesStable waiter accepts: runningCount
// == desiredCount and a single deployment.
func (q *quayside) waitSteady(ctx context.Context) error {
	var last string
	err := poll(ctx, q.o.waitLimit, qPoll, "service steady", func(ctx context.Context) (bool, error) {
		out, err := q.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(qCluster), Services: []string{qService}})
		if err != nil || len(out.Services) != 1 {
			return false, err
		}
		s := out.Services[0]
		last = fmt.Sprintf("running %d pending %d desired %d, %d deployments", s.RunningCount, s.PendingCount, s.DesiredCount, len(s.Deployments))
		return s.RunningCount == s.DesiredCount && s.DesiredCount == int32(q.o.replicas) && len(s.Deployments) == 1, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last seen: %s; is the service controller running?)", err, last)
	}
	return nil
}

// tasks describes the service's tasks desired RUNNING (which include the
// PENDING ones), and the tasks named in extra.
func (q *quayside) tasks(ctx context.Context, extra ...string) ([]types.Task, error) {
	l, err := q.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(qCluster), ServiceName: aws.String(qService), MaxResults: aws.Int32(100)})
	if err != nil {
		return nil, err
	}
	arns := append(l.TaskArns, extra...)
	if len(arns) == 0 {
		return nil, nil
	}
	d, err := q.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(qCluster), Tasks: arns})
	if err != nil {
		return nil, err
	}
	return d.Tasks, nil
}

// running returns the service's tasks whose lastStatus is RUNNING.
func (q *quayside) running(ctx context.Context) ([]types.Task, error) {
	ts, err := q.tasks(ctx)
	var out []types.Task
	for _, t := range ts {
		if aws.ToString(t.LastStatus) == "RUNNING" {
			out = append(out, t)
		}
	}
	return out, err
}

// killOne kills a random RUNNING task's container and waits until a task
// that was not there before is RUNNING. It logs when the API showed the
// killed task STOPPED and the replacement created, on the way.
func (q *quayside) killOne(ctx context.Context) (time.Duration, error) {
	before, err := q.running(ctx)
	if err != nil {
		return 0, err
	}
	if len(before) == 0 {
		return 0, errors.New("no RUNNING task to kill")
	}
	known := map[string]bool{}
	for _, t := range before {
		known[aws.ToString(t.TaskArn)] = true
	}
	victim := aws.ToString(before[q.rng.IntN(len(before))].TaskArn)
	id, err := runningContainer(ctx, q.dk, labelTask+"="+victim)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if _, err := q.dk.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return 0, fmt.Errorf("docker kill: %w", err)
	}
	var stopped, created, running time.Duration
	err = poll(ctx, q.o.waitLimit, qPoll, "replacement RUNNING", func(ctx context.Context) (bool, error) {
		ts, err := q.tasks(ctx, victim)
		for _, t := range ts {
			arn, status := aws.ToString(t.TaskArn), aws.ToString(t.LastStatus)
			if arn == victim && status == "STOPPED" && stopped == 0 {
				stopped = time.Since(t0)
			}
			if known[arn] {
				continue
			}
			if created == 0 {
				created = time.Since(t0)
			}
			if status == "RUNNING" && running == 0 {
				running = time.Since(t0)
			}
		}
		return running > 0, err
	})
	if err != nil {
		return 0, err
	}
	logf("quayside: killed task STOPPED in the API after %v, replacement created after %v", round(stopped), round(created))
	return running, nil
}

// runningContainer is the ID of the running container with label (k=v).
func runningContainer(ctx context.Context, dk *client.Client, label string) (string, error) {
	out, err := dk.ContainerList(ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("label", label)})
	if err != nil {
		return "", err
	}
	if len(out.Items) == 0 {
		return "", fmt.Errorf("no running container with label %s", label)
	}
	return out.Items[0].ID, nil
}

// cleanup deletes the service (so the agent stops its tasks), stops both
// processes, removes whatever containers of the cluster are left and the
// data directories (the logs too, unless asked to keep them or the run
// failed).
func (q *quayside) cleanup(failed bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if q.ecs != nil && q.agent != nil {
		_, err := q.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(qCluster), Service: aws.String(qService), Force: aws.Bool(true)})
		if err == nil {
			_ = poll(ctx, 30*time.Second, 100*time.Millisecond, "tasks stopped", func(ctx context.Context) (bool, error) {
				ts, err := q.running(ctx)
				return len(ts) == 0, err
			})
		}
	}
	for _, p := range []*exec.Cmd{q.agent, q.srv} {
		stopProcess(p)
	}
	if err := q.removeContainers(ctx); err != nil {
		logf("quayside: cleanup: %v", err)
	}
	if q.dir == "" {
		return
	}
	if q.o.keepLogs || failed {
		for _, sub := range []string{"server", "agent", "quayside"} {
			_ = os.RemoveAll(filepath.Join(q.dir, sub))
		}
		logf("quayside: logs kept in %s", q.logs)
		return
	}
	_ = os.RemoveAll(q.dir)
}

// stopProcess sends SIGTERM, then SIGKILL after 10 s.
func stopProcess(p *exec.Cmd) {
	if p == nil || p.Process == nil {
		return
	}
	done := make(chan struct{})
	go func() { _ = p.Wait(); close(done) }()
	_ = p.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.Process.Kill()
		<-done
	}
}

// removeContainers force-removes every container of the bench cluster.
func (q *quayside) removeContainers(ctx context.Context) error {
	out, err := q.dk.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", labelCluster+"="+qCluster)})
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range out.Items {
		if _, err := q.dk.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
