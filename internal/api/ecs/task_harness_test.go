package ecs_test

// A test server for the instance, attribute and task operations: the real
// server (servertest), whose store the test can also reach directly (to write clusters and task definitions
// without depending on those operations, and to play the agent by saving
// task state changes).

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/server/servertest"
	"github.com/quayside/quayside/internal/store"
)

const tkAccount = "123456789012"

// tkEnv is a running test server whose store the test can also reach.
type tkEnv struct {
	t     testing.TB
	h     *servertest.Harness
	st    store.Store
	ECS   *awsecs.Client
	scope arn.Scope
}

func startTK(t testing.TB) *tkEnv {
	t.Helper()
	e := &tkEnv{t: t, h: servertest.Start(t, func(c *server.Config) { c.Account = tkAccount })}
	e.bind()
	return e
}

func (e *tkEnv) bind() {
	e.st, e.ECS, e.scope = e.h.Server.Store(), e.h.ECS, e.h.Server.Scope()
}

// restart stops the server and starts it again on the same data and port.
func (e *tkEnv) restart() {
	e.t.Helper()
	e.h.Restart()
	e.bind()
}

func (e *tkEnv) ctx() context.Context { return e.t.Context() }

func (e *tkEnv) update(fn func(store.Tx) error) {
	e.t.Helper()
	if _, err := e.st.Update(e.ctx(), fn); err != nil {
		e.t.Fatalf("store update: %v", err)
	}
}

// createCluster writes an ACTIVE cluster record.
func (e *tkEnv) createCluster(name string) {
	e.t.Helper()
	e.update(func(tx store.Tx) error {
		return store.PutJSON(tx, store.ClusterKey(name), &model.Cluster{
			ClusterArn: e.scope.Cluster(name), ClusterName: name, Status: model.StatusActive,
		})
	})
}

func (e *tkEnv) cluster(name string) model.Cluster {
	e.t.Helper()
	var c model.Cluster
	err := e.st.View(e.ctx(), func(tx store.ReadTx) error {
		_, _, err := store.GetJSON(tx, store.ClusterKey(name), &c)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// putTaskDef writes an ACTIVE task definition revision (EC2 and EXTERNAL
// compatible unless td says otherwise) and returns its ARN.
func (e *tkEnv) putTaskDef(td model.TaskDefinition, tags ...model.Tag) string {
	e.t.Helper()
	if td.Revision == 0 {
		td.Revision = 1
	}
	if td.Status == "" {
		td.Status = model.TaskDefinitionStatusActive
	}
	if td.Compatibilities == nil {
		td.Compatibilities = []model.Compatibility{model.CompatibilityEc2, "EXTERNAL"}
	}
	td.TaskDefinitionArn = e.scope.TaskDefinition(td.Family, int64(td.Revision))
	e.update(func(tx store.Tx) error {
		return store.PutJSON(tx, store.TaskDefKey(td.Family, int64(td.Revision)),
			&store.TaskDefinitionRecord{TaskDefinition: td, DefinitionTags: tags})
	})
	return td.TaskDefinitionArn
}

// simpleTaskDef is a one-container definition needing cpu units and MiB.
func (e *tkEnv) simpleTaskDef(family string, cpu, mem int32, ports ...model.PortMapping) string {
	return e.putTaskDef(model.TaskDefinition{Family: family, ContainerDefinitions: []model.ContainerDefinition{{
		Name: "app", Image: "nginx:latest", Cpu: cpu, Memory: aws.Int32(mem), PortMappings: ports,
	}}})
}

// register registers a container instance by hand and returns it.
func (e *tkEnv) register(cluster string, cpu, mem int32, attrs ...types.Attribute) types.ContainerInstance {
	e.t.Helper()
	out, err := e.ECS.RegisterContainerInstance(e.ctx(), &awsecs.RegisterContainerInstanceInput{
		Cluster: aws.String(cluster),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678", "51679"}},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
		},
		Attributes:  attrs,
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String("1.80.0"), DockerVersion: aws.String("25.0.3")},
	})
	if err != nil {
		e.t.Fatalf("RegisterContainerInstance: %v", err)
	}
	return *out.ContainerInstance
}

func (e *tkEnv) describeInstance(cluster, ref string) types.ContainerInstance {
	e.t.Helper()
	out, err := e.ECS.DescribeContainerInstances(e.ctx(), &awsecs.DescribeContainerInstancesInput{
		Cluster: aws.String(cluster), ContainerInstances: []string{ref},
	})
	if err != nil || len(out.ContainerInstances) != 1 {
		e.t.Fatalf("DescribeContainerInstances %s: %v %+v", ref, err, out)
	}
	return out.ContainerInstances[0]
}

func (e *tkEnv) describeTask(cluster, ref string) types.Task {
	e.t.Helper()
	out, err := e.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{ref}, Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil || len(out.Tasks) != 1 {
		e.t.Fatalf("DescribeTasks %s: %v %+v", ref, err, out)
	}
	return out.Tasks[0]
}

func (e *tkEnv) runTask(in *awsecs.RunTaskInput) *awsecs.RunTaskOutput {
	e.t.Helper()
	out, err := e.ECS.RunTask(e.ctx(), in)
	if err != nil {
		e.t.Fatalf("RunTask: %v", err)
	}
	return out
}

// agentReports plays the agent: it moves the task's lastStatus (and its
// containers') to status through store.SaveTask.
func (e *tkEnv) agentReports(cluster, taskARN, status string) {
	e.t.Helper()
	id := taskARN[len(taskARN)-32:]
	e.update(func(tx store.Tx) error {
		var t store.TaskRecord
		if _, _, err := store.GetJSON(tx, store.TaskKey(cluster, id), &t); err != nil {
			return err
		}
		t.LastStatus = status
		for i := range t.Containers {
			t.Containers[i].LastStatus = status
		}
		if status == model.StatusStopped {
			t.StoppedAt = model.At(time.Now())
		}
		return store.SaveTask(tx, &t)
	})
}

// resInt and resSet read a resource of a described instance.
func tkResInt(rs []types.Resource, name string) int32 {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r.IntegerValue
		}
	}
	return -1
}

func tkResSet(rs []types.Resource, name string) []string {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r.StringSetValue
		}
	}
	return nil
}

// errCode is the AWS error code of err ("" when err is nil or not an API
// error).
func tkErrCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func tkErrMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// wantErr fails unless err is the AWS error code (and, when msg is not
// empty, has exactly that message).
func tkWantErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	if tkErrCode(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	if msg != "" && tkErrMessage(err) != msg {
		t.Fatalf("message = %q, want %q", tkErrMessage(err), msg)
	}
}
