package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/docker"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/server/servertest"
	"github.com/quayside/quayside/internal/testimages"
)

// newDockerEnv is an env on the local Docker engine with its own cluster;
// everything labelled with that cluster is removed at the end. It fails
// under CI=true and skips elsewhere when no engine answers.
func newDockerEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	return newDockerBenchEnv(t)
}

func newDockerBenchEnv(t testing.TB) *env {
	t.Helper()
	rt, err := docker.New(docker.Options{Logger: testLogger()})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = rt.Info(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Docker is required under CI=true: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	imgs, err := testimages.Ensure(ctx, "")
	if err != nil {
		t.Fatalf("test images: %v", err)
	}
	h := servertest.Start(t, func(c *server.Config) {
		c.HeartbeatPeriod = 500 * time.Millisecond
		c.PollWait = 5 * time.Second
	})
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &env{t: t, h: h, cluster: "dkr-" + hex.EncodeToString(b), eng: rt, pause: imgs.Pause, dir: t.TempDir()}
	t.Cleanup(func() { removeCluster(t, rt, e.cluster); rt.Close() })
	if _, err := h.ECS.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(e.cluster)}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return e
}

// removeCluster removes what the agent of a test cluster left on the engine.
func removeCluster(t testing.TB, rt runtime.Runtime, cluster string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := rt.List(ctx, map[string]string{runtime.LabelCluster: cluster})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, c := range cs {
		_ = rt.StopContainer(ctx, c.ID, time.Second)
		if err := rt.RemoveContainer(ctx, c.ID); err != nil {
			t.Errorf("cleanup: remove %s: %v", c.Name, err)
		}
	}
}

func dockerContainer(name string, env ...string) types.ContainerDefinition {
	c := container(name, env...)
	c.Image = aws.String(testimages.EchoTag)
	return c
}

// get fetches a URL and returns the body.
func get(t *testing.T, url string) string {
	t.Helper()
	var last error
	for range 50 {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("%s: %s", resp.Status, b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

func TestDockerRunServeStop(t *testing.T) {
	e := newDockerEnv(t)
	e.start()
	e.instance()
	web := dockerContainer("web", "GREETING", "hello")
	web.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	web.Cpu = 128
	arn := e.run(e.register("web", web))
	e.waitRunning(arn)
	nb := e.describe(arn).Containers[0].NetworkBindings
	if len(nb) == 0 || aws.ToInt32(nb[0].HostPort) == 0 {
		t.Fatalf("networkBindings = %+v", nb)
	}
	var d struct {
		Env map[string]string `json:"env"`
	}
	body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", aws.ToInt32(nb[0].HostPort)))
	if err := json.Unmarshal([]byte(body), &d); err != nil || d.Env["GREETING"] != "hello" {
		t.Errorf("GET / = %s (%v)", body, err)
	}
	e.stop(arn)
	e.waitStopped(arn)
	c := e.describe(arn).Containers[0]
	if c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("exit code = %v, want 0", c.ExitCode)
	}
	e.eventually("the container is removed", func() bool { return len(e.containers(arn)) == 0 })
}

func TestDockerStopTimeoutKills(t *testing.T) {
	e := newDockerEnv(t)
	e.start()
	e.instance()
	c := dockerContainer("stubborn", "IGNORE_SIGTERM", "1")
	c.StopTimeout = aws.Int32(2)
	arn := e.run(e.register("stubborn", c))
	e.waitRunning(arn)
	time.Sleep(300 * time.Millisecond) // the program installs its handler
	begin := time.Now()
	e.stop(arn)
	e.waitStopped(arn)
	if took := time.Since(begin); took < 2*time.Second {
		t.Errorf("stopped after %v, before the 2s stopTimeout", took)
	}
	if got := e.describe(arn).Containers[0].ExitCode; got == nil || *got != 137 {
		t.Errorf("exit code = %v, want 137 (SIGKILL)", got)
	}
}

func TestDockerLinksDependsOnSharedVolume(t *testing.T) {
	e := newDockerEnv(t)
	e.start()
	e.instance()
	mount := []types.MountPoint{{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/data")}}
	writer := dockerContainer("writer", "WRITE_FILE", "/data/greeting", "WRITE_CONTENT", "from-writer", "EXIT_AFTER", "200ms")
	writer.Essential, writer.MountPoints = aws.Bool(false), mount
	db := dockerContainer("db")
	app := dockerContainer("app")
	app.MountPoints = mount
	app.Links = []string{"db:database"}
	app.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	app.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("writer"), Condition: types.ContainerConditionSuccess}}
	def := e.registerDef(&ecs.RegisterTaskDefinitionInput{Family: aws.String("multi"),
		ContainerDefinitions: []types.ContainerDefinition{writer, db, app},
		Volumes:              []types.Volume{{Name: aws.String("shared")}}})
	arn := e.run(def)
	e.waitRunning(arn)
	port := aws.ToInt32(containerNamed(e.describe(arn), "app").NetworkBindings[0].HostPort)
	if got := get(t, fmt.Sprintf("http://127.0.0.1:%d/file?path=/data/greeting", port)); got != "from-writer" {
		t.Errorf("the shared volume holds %q", got)
	}
	if got := get(t, fmt.Sprintf("http://127.0.0.1:%d/fetch?url=http://database:8080/health", port)); !strings.Contains(got, "ok") {
		t.Errorf("via the link: %q", got)
	}
	e.stop(arn)
	e.waitStopped(arn)
	e.eventually("the containers are removed", func() bool { return len(e.containers(arn)) == 0 })
}

func TestDockerAwsvpc(t *testing.T) {
	e := newDockerEnv(t)
	e.start()
	e.instance()
	c := dockerContainer("app")
	c.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	def := e.registerDef(&ecs.RegisterTaskDefinitionInput{Family: aws.String("vpc"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{c}})
	arn := e.run(def, func(in *ecs.RunTaskInput) {
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	})
	e.waitRunning(arn)
	ni := e.describe(arn).Containers[0].NetworkInterfaces
	if len(ni) != 1 || aws.ToString(ni[0].PrivateIpv4Address) == "" {
		t.Fatalf("networkInterfaces = %+v", ni)
	}
	if got := get(t, "http://"+aws.ToString(ni[0].PrivateIpv4Address)+":8080/health"); !strings.Contains(got, "ok") {
		t.Errorf("GET the task's own address: %q", got)
	}
	e.stop(arn)
	e.waitStopped(arn)
	e.eventually("the containers are removed", func() bool { return len(e.containers(arn)) == 0 })
}
