package ecs_test

// A test server for the instance, attribute and task operations: the real
// ECS API behind the real router and SigV4 verifier, over a bolt store the
// test can also reach directly (to write clusters and task definitions
// without depending on those operations, and to play the agent by saving
// task state changes).

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/api/ecs"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

const (
	tkAccessKey = "AKIAQUAYSIDETEST0001"
	tkSecret    = "quayside-test-secret-key-0123456789abcdef"
	tkAccount   = "123456789012"
)

type tkKeys struct{}

func (tkKeys) Lookup(id string) (string, string, bool) {
	return tkSecret, tkAccount, id == tkAccessKey
}

// tkEnv is a running test server.
type tkEnv struct {
	t     testing.TB
	dir   string
	addr  string
	st    *bolt.Store
	srv   *http.Server
	done  chan error
	ECS   *awsecs.Client
	scope arn.Scope
}

func startTK(t testing.TB) *tkEnv {
	t.Helper()
	e := &tkEnv{t: t, dir: t.TempDir(), addr: "127.0.0.1:0",
		scope: arn.Scope{Partition: "aws", Region: "us-east-1", Account: tkAccount}}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *tkEnv) start() {
	e.t.Helper()
	st, err := bolt.Open(filepath.Join(e.dir, "state.db"), bolt.Options{})
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		st.Close()
		e.t.Fatalf("listen: %v", err)
	}
	e.st, e.addr = st, ln.Addr().String()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	router := awsproto.NewRouter(awsproto.Config{Auth: awsproto.NewSigV4(tkKeys{}, nil), Account: tkAccount, Logger: logger})
	router.AddJSON(ecs.New(ecs.Deps{Store: st, Scope: e.scope, Logger: logger}).Service())
	e.srv = &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	e.done = make(chan error, 1)
	go func() { e.done <- e.srv.Serve(ln) }()
	e.ECS = awsecs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(tkAccessKey, tkSecret, ""),
		BaseEndpoint: aws.String("http://" + e.addr),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   &http.Client{Transport: tkTransport{http.DefaultTransport}},
	})
}

// tkTransport works around a client-side race in smithy-go: the SDK closes
// a request body as soon as the response headers arrive, and its body's
// WriteTo then returns io.EOF as an error. When net/http's write loop makes
// its final read of a body larger than its 4 KiB buffer after that (the
// server answered first, which on loopback it can), it takes the EOF for a
// write error and closes the connection under the response being read:
// "deserialization failed, ... use of closed network connection". Hiding
// WriteTo makes that last read an ordinary EOF.
type tkTransport struct{ rt http.RoundTripper }

func (t tkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = tkBody{r.Body}
	}
	return t.rt.RoundTrip(r)
}

type tkBody struct{ io.ReadCloser }

func (e *tkEnv) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("shutdown: %v", err)
	}
	<-e.done
	if err := e.st.Close(); err != nil {
		e.t.Errorf("close store: %v", err)
	}
	e.srv = nil
}

// restart stops the server and starts it again on the same data and port.
func (e *tkEnv) restart() {
	e.t.Helper()
	e.stop()
	e.start()
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
