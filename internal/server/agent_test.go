package server_test

// The agent protocol end to end: a real server (servertest), the SDK for
// the user's side and agentproto.Client playing the node agent.

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/server/servertest"
)

// agentEnv is a server with a cluster "c1" and one task definition "web".
type agentEnv struct {
	t  *testing.T
	h  *servertest.Harness
	ag *agentproto.Client
}

func startAgentEnv(t *testing.T, opts ...func(*server.Config)) *agentEnv {
	t.Helper()
	opts = append([]func(*server.Config){func(c *server.Config) {
		c.HeartbeatPeriod = 100 * time.Millisecond
		c.PollWait = 2 * time.Second
	}}, opts...)
	e := &agentEnv{t: t, h: servertest.Start(t, opts...)}
	e.ag = agentproto.NewClient(e.h.Server.URL(), e.h.Server.AgentToken(), nil)
	ctx := t.Context()
	if _, err := e.h.ECS.CreateCluster(ctx, &awsecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.h.ECS.RegisterTaskDefinition(ctx, &awsecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("quayside/echo"), Memory: aws.Int32(64), Cpu: 128,
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *agentEnv) ctx() context.Context { return e.t.Context() }

func nodeRegistration(arn string) *agentproto.RegisterRequest {
	return &agentproto.RegisterRequest{
		Cluster:              "c1",
		ContainerInstanceArn: arn,
		EC2InstanceID:        "i-0123456789abcdef0",
		TotalResources: []model.Resource{
			model.IntResource(model.ResourceCPU, 2048), model.IntResource(model.ResourceMemory, 1024),
			model.SetResource(model.ResourcePorts, []string{"22", "2375", "2376", "51678", "51679"}),
		},
		Attributes:  []model.Attribute{{Name: "ecs.os-type", Value: "linux"}, {Name: "ecs.cpu-architecture", Value: "x86_64"}, {Name: "rack", Value: "r1"}},
		VersionInfo: model.VersionInfo{AgentVersion: "0.1.0", DockerVersion: "20.10.24"},
	}
}

func (e *agentEnv) register() string {
	e.t.Helper()
	out, err := e.ag.Register(e.ctx(), nodeRegistration(""))
	if err != nil {
		e.t.Fatalf("Register: %v", err)
	}
	if out.HeartbeatPeriod != 100*time.Millisecond || out.PollWait != 2*time.Second {
		e.t.Errorf("timing = %+v", out)
	}
	return out.ContainerInstanceArn
}

// heartbeats keeps node connected until the test ends, as an agent does.
func (e *agentEnv) heartbeats(node string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_, _ = e.ag.Heartbeat(ctx, &agentproto.HeartbeatRequest{ContainerInstanceArn: node})
			}
		}
	}()
}

func (e *agentEnv) runTask(node string) string {
	e.t.Helper()
	out, err := e.h.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("c1"), TaskDefinition: aws.String("web"), ContainerInstances: []string{node}})
	if err != nil || len(out.Tasks) != 1 {
		e.t.Fatalf("StartTask: %v %+v", err, out)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func (e *agentEnv) instance(node string) types.ContainerInstance {
	e.t.Helper()
	out, err := e.h.ECS.DescribeContainerInstances(e.ctx(), &awsecs.DescribeContainerInstancesInput{Cluster: aws.String("c1"), ContainerInstances: []string{node}})
	if err != nil || len(out.ContainerInstances) != 1 {
		e.t.Fatalf("DescribeContainerInstances: %v %+v", err, out)
	}
	return out.ContainerInstances[0]
}

func (e *agentEnv) task(arn string) types.Task {
	e.t.Helper()
	out, err := e.h.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("c1"), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		e.t.Fatalf("DescribeTasks: %v %+v", err, out)
	}
	return out.Tasks[0]
}

func (e *agentEnv) poll(node string, after int64) *agentproto.AssignmentsResponse {
	e.t.Helper()
	out, err := e.ag.Assignments(e.ctx(), &agentproto.AssignmentsRequest{ContainerInstanceArn: node, After: after})
	if err != nil {
		e.t.Fatalf("Assignments: %v", err)
	}
	return out
}

func (e *agentEnv) report(node string, rs ...agentproto.TaskReport) []agentproto.Ack {
	e.t.Helper()
	out, err := e.ag.Report(e.ctx(), &agentproto.ReportRequest{ContainerInstanceArn: node, Reports: rs})
	if err != nil {
		e.t.Fatalf("Report: %v", err)
	}
	return out.Acked
}

func protoCode(err error) string {
	var pe *agentproto.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestAgentRegisterCreatesInstance(t *testing.T) {
	e := startAgentEnv(t)
	node := e.register()
	ci := e.instance(node)
	if ci.Status == nil || *ci.Status != "ACTIVE" || !ci.AgentConnected || aws.ToString(ci.Ec2InstanceId) != "i-0123456789abcdef0" {
		t.Errorf("instance = %+v", ci)
	}
	if got := aws.ToString(ci.VersionInfo.DockerVersion); got != "20.10.24" {
		t.Errorf("dockerVersion = %q", got)
	}
	cl, _ := e.h.ECS.DescribeClusters(e.ctx(), &awsecs.DescribeClustersInput{Clusters: []string{"c1"}})
	if n := cl.Clusters[0].RegisteredContainerInstancesCount; n != 1 {
		t.Errorf("registeredContainerInstancesCount = %d", n)
	}

	// Registering again with the ARN keeps the identity and the count.
	req := nodeRegistration(node)
	req.VersionInfo.AgentVersion = "0.2.0"
	out, err := e.ag.Register(e.ctx(), req)
	if err != nil || out.ContainerInstanceArn != node {
		t.Fatalf("re-register = %+v, %v", out, err)
	}
	if got := aws.ToString(e.instance(node).VersionInfo.AgentVersion); got != "0.2.0" {
		t.Errorf("agentVersion after re-register = %q", got)
	}
	cl, _ = e.h.ECS.DescribeClusters(e.ctx(), &awsecs.DescribeClustersInput{Clusters: []string{"c1"}})
	if n := cl.Clusters[0].RegisteredContainerInstancesCount; n != 1 {
		t.Errorf("registeredContainerInstancesCount after re-register = %d", n)
	}

	// An unknown ARN registers a new instance; an unknown cluster is refused.
	fresh, err := e.ag.Register(e.ctx(), nodeRegistration(node[:len(node)-4]+"beef"))
	if err != nil || fresh.ContainerInstanceArn == node {
		t.Errorf("register with unknown ARN = %+v, %v", fresh, err)
	}
	req = nodeRegistration("")
	req.Cluster = "nope"
	if _, err := e.ag.Register(e.ctx(), req); protoCode(err) != agentproto.CodeClusterNotFound {
		t.Errorf("register in unknown cluster: %v", err)
	}
}

func TestAgentAuthAndDeregistration(t *testing.T) {
	e := startAgentEnv(t)
	node := e.register()
	bad := agentproto.NewClient(e.h.Server.URL(), "wrong", nil)
	_, err := bad.Heartbeat(e.ctx(), &agentproto.HeartbeatRequest{ContainerInstanceArn: node})
	var pe *agentproto.Error
	if !errors.As(err, &pe) || pe.Code != agentproto.CodeUnauthorized {
		t.Errorf("bad token: %v", err)
	}
	// SigV4 does not guard the agent path, and the token does not open the AWS API.
	resp, err := http.Post(e.h.Server.URL()+agentproto.PathHeartbeat, "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %v %v", resp.Status, err)
	}
	resp.Body.Close()

	if _, err := e.h.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{Cluster: aws.String("c1"), ContainerInstance: aws.String(node)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.Heartbeat(e.ctx(), &agentproto.HeartbeatRequest{ContainerInstanceArn: node}); protoCode(err) != agentproto.CodeInstanceInactive {
		t.Errorf("heartbeat after deregistration: %v", err)
	}
	if _, err := e.ag.Register(e.ctx(), nodeRegistration(node)); protoCode(err) != agentproto.CodeInstanceInactive {
		t.Errorf("register after deregistration: %v", err)
	}
	if _, err := e.ag.Assignments(e.ctx(), &agentproto.AssignmentsRequest{ContainerInstanceArn: node}); protoCode(err) != agentproto.CodeInstanceInactive {
		t.Errorf("assignments after deregistration: %v", err)
	}
}

func TestAgentTokenFile(t *testing.T) {
	e := startAgentEnv(t)
	tok := e.h.Server.AgentToken()
	fi, err := os.Stat(server.AgentTokenFile(e.h.Dir))
	if err != nil || fi.Mode().Perm() != 0o600 || len(tok) < 32 {
		t.Fatalf("token file %v %v, token %q", fi, err, tok)
	}
	e.h.Restart()
	if got := e.h.Server.AgentToken(); got != tok {
		t.Errorf("token after restart = %q, want %q", got, tok)
	}
}

func TestAgentTokenConfigured(t *testing.T) {
	h := servertest.Start(t, func(c *server.Config) { c.AgentToken = "given-token" })
	if got := h.Server.AgentToken(); got != "given-token" {
		t.Errorf("AgentToken = %q", got)
	}
	if _, err := os.Stat(server.AgentTokenFile(h.Dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a configured token was written: %v", err)
	}
	_, err := agentproto.NewClient(h.Server.URL(), "given-token", nil).Heartbeat(t.Context(), &agentproto.HeartbeatRequest{ContainerInstanceArn: "arn:aws:ecs:us-east-1:000000000000:container-instance/c/x"})
	if protoCode(err) != agentproto.CodeInstanceNotFound {
		t.Errorf("heartbeat with the configured token: %v", err)
	}
}
