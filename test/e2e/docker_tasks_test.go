package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The tests in this file run a `quayside server` and a `quayside agent`
// process on the local Docker engine and drive them only through the SDK,
// the way a user does.

// description is what the echo server answers on GET /.
type description struct {
	Hostname  string            `json:"hostname"`
	Env       map[string]string `json:"env"`
	Addresses []string          `json:"addresses"`
}

func (e *dockerEnv) getDescription(url string) description {
	e.t.Helper()
	body := e.httpDo("GET", url)
	var d description
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		e.t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return d
}

// TestDockerRunServeStop: run-task → RUNNING → the container answers on its
// dynamic host port → stop-task → STOPPED with the container's exit code
// (the code the program chose on SIGTERM) and stopCode UserInitiated; the
// agent removes the container.
func TestDockerRunServeStop(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	def := e.family("web", withPort(e.echo("web", "GREETING", "hello", "SIGTERM_CODE", "42")))
	arn := e.run(def, 1)[0]
	e.waitRunning(arn)

	tk := e.describeOne(arn)
	web := containerNamed(t, tk, "web")
	if aws.ToString(web.LastStatus) != "RUNNING" || tk.StartedAt == nil {
		t.Errorf("running task: %s", e.summary([]string{arn}))
	}
	dc := e.dockerContainers(arn)
	if len(dc) != 1 || dc[0].ID != aws.ToString(web.RuntimeId) || dc[0].State != "running" {
		t.Fatalf("engine containers of the task: %+v; runtimeId %s", dc, aws.ToString(web.RuntimeId))
	}
	d := e.getDescription(fmt.Sprintf("http://127.0.0.1:%d/", hostPort(t, tk, "web")))
	if d.Env["GREETING"] != "hello" {
		t.Errorf("the container's environment: %v", d.Env)
	}

	e.stop("e2e: done", arn)
	e.waitStopped(arn)
	tk = e.describeOne(arn)
	web = containerNamed(t, tk, "web")
	switch {
	case tk.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != "e2e: done":
		t.Errorf("stopCode %q, stoppedReason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	case aws.ToString(web.LastStatus) != "STOPPED" || web.ExitCode == nil || *web.ExitCode != 42:
		t.Errorf("stopped container: %s", e.summary([]string{arn}))
	case tk.StoppedAt == nil || tk.StoppingAt == nil || tk.StoppedAt.Before(aws.ToTime(tk.StartedAt)):
		t.Errorf("timestamps: startedAt %v stoppingAt %v stoppedAt %v", tk.StartedAt, tk.StoppingAt, tk.StoppedAt)
	}
	e.waitRemoved()
}

// TestDockerEssentialExit: an essential container exits by itself → the
// task stops with EssentialContainerExited, the exit code is reported, and
// the task's other container is stopped too.
func TestDockerEssentialExit(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	essential := e.echo("main", "EXIT_AFTER", "1.5s", "EXIT_CODE", "3")
	helper := e.echo("helper")
	helper.Essential = aws.Bool(false)
	arn := e.run(e.family("quitter", essential, helper), 1)[0]
	e.waitStopped(arn)

	tk := e.describeOne(arn)
	if tk.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(tk.StoppedReason) != "Essential container in task exited" {
		t.Errorf("stopCode %q, stoppedReason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	if c := containerNamed(t, tk, "main"); c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("main: %s", e.summary([]string{arn}))
	}
	if c := containerNamed(t, tk, "helper"); aws.ToString(c.LastStatus) != "STOPPED" || c.ExitCode == nil {
		t.Errorf("helper: %s", e.summary([]string{arn}))
	}
	e.waitRemoved()
}

// TestDockerNonEssentialExit: a non-essential container exits → it is
// STOPPED with its exit code, the task stays RUNNING and keeps serving.
func TestDockerNonEssentialExit(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	side := e.echo("side", "EXIT_AFTER", "2s", "EXIT_CODE", "7")
	side.Essential = aws.Bool(false)
	arn := e.run(e.family("sidecar", withPort(e.echo("app")), side), 1)[0]
	e.waitRunning(arn)
	var tk types.Task
	e.eventually("the side container is STOPPED", func() bool {
		tk = e.describeOne(arn)
		return aws.ToString(containerNamed(t, tk, "side").LastStatus) == "STOPPED"
	})
	if c := containerNamed(t, tk, "side"); c.ExitCode == nil || *c.ExitCode != 7 {
		t.Errorf("side: %s", e.summary([]string{arn}))
	}
	if aws.ToString(tk.LastStatus) != "RUNNING" || aws.ToString(tk.DesiredStatus) != "RUNNING" ||
		aws.ToString(containerNamed(t, tk, "app").LastStatus) != "RUNNING" {
		t.Errorf("the task did not stay RUNNING: %s", e.summary([]string{arn}))
	}
	e.httpDo("GET", fmt.Sprintf("http://127.0.0.1:%d/health", hostPort(t, tk, "app")))
	if tk = e.describeOne(arn); aws.ToString(tk.LastStatus) != "RUNNING" {
		t.Errorf("the task did not stay RUNNING: %s", e.summary([]string{arn}))
	}
	e.stop("e2e: done", arn)
	e.waitStopped(arn)
	if tk = e.describeOne(arn); tk.StopCode != types.TaskStopCodeUserInitiated {
		t.Errorf("stopCode %q", tk.StopCode)
	}
	e.waitRemoved()
}

// TestDockerDependsOnLinksSharedVolume: a three-container task. The app
// starts only after the writer exited 0 (dependsOn SUCCESS) and the db
// started (START); it reads what the writer left in the task's shared
// volume and reaches the db through its link alias.
func TestDockerDependsOnLinksSharedVolume(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	mount := []types.MountPoint{{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/data")}}
	writer := e.echo("writer", "WRITE_FILE", "/data/greeting", "WRITE_CONTENT", "from-writer", "EXIT_AFTER", "500ms")
	writer.Essential, writer.MountPoints = aws.Bool(false), mount
	db := e.echo("db")
	app := withPort(e.echo("app"))
	app.MountPoints = mount
	app.Links = []string{"db:database"}
	app.DependsOn = []types.ContainerDependency{
		{ContainerName: aws.String("writer"), Condition: types.ContainerConditionSuccess},
		{ContainerName: aws.String("db"), Condition: types.ContainerConditionStart},
	}
	def := e.register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("multi"),
		ContainerDefinitions: []types.ContainerDefinition{writer, db, app},
		Volumes:              []types.Volume{{Name: aws.String("shared")}}})
	arn := e.run(def, 1)[0]
	e.waitRunning(arn)

	tk := e.describeOne(arn)
	if c := containerNamed(t, tk, "writer"); aws.ToString(c.LastStatus) != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("writer: %s", e.summary([]string{arn}))
	}
	states := map[string]container.State{}
	for _, c := range e.dockerContainers(arn) {
		res, err := e.docker.ContainerInspect(t.Context(), c.ID, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatalf("docker inspect: %v", err)
		}
		states[c.Labels[labelContainer]] = *res.Container.State
	}
	if w, a := parseTime(t, states["writer"].FinishedAt), parseTime(t, states["app"].StartedAt); a.Before(w) {
		t.Errorf("app started at %s, before the writer finished at %s", a, w)
	}
	if d, a := parseTime(t, states["db"].StartedAt), parseTime(t, states["app"].StartedAt); a.Before(d) {
		t.Errorf("app started at %s, before db at %s", a, d)
	}
	port := hostPort(t, tk, "app")
	if got := e.httpDo("GET", fmt.Sprintf("http://127.0.0.1:%d/file?path=/data/greeting", port)); got != "from-writer" {
		t.Errorf("the shared volume holds %q", got)
	}
	if got := e.httpDo("GET", fmt.Sprintf("http://127.0.0.1:%d/fetch?url=http://database:8080/health", port)); !strings.Contains(got, "ok") {
		t.Errorf("db through the link: %q", got)
	}
	e.stop("e2e: done", arn)
	e.waitStopped(arn)
	e.waitRemoved()
}

// parseTime reads a time of docker inspect.
func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || tm.IsZero() || tm.Year() < 2000 {
		t.Fatalf("docker time %q: %v", s, err)
	}
	return tm
}

// healthChecked adds the echo image's health check with the shortest
// interval ECS allows.
func healthChecked(c types.ContainerDefinition) types.ContainerDefinition {
	c.HealthCheck = &types.HealthCheck{Command: []string{"CMD", "/echo", "healthcheck"},
		Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1)}
	return c
}

// TestDockerHealthChecks: container and task healthStatus follow the
// container's health check: HEALTHY, then UNHEALTHY once the server is told
// to fail it; a container unhealthy from the start is UNHEALTHY.
func TestDockerHealthChecks(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	good := e.run(e.family("good", withPort(healthChecked(e.echo("web")))), 1)[0]
	sick := e.run(e.family("sick", healthChecked(e.echo("web", "UNHEALTHY", "1"))), 1)[0]
	e.waitRunning(good, sick)
	health := func(arn string, want types.HealthStatus) func() bool {
		return func() bool {
			tk := e.describeOne(arn)
			return tk.HealthStatus == want && containerNamed(t, tk, "web").HealthStatus == want
		}
	}
	e.eventually("the healthy task is HEALTHY", health(good, types.HealthStatusHealthy))
	e.eventually("the sick task is UNHEALTHY", health(sick, types.HealthStatusUnhealthy))

	port := hostPort(t, e.describeOne(good), "web")
	e.httpDo("POST", fmt.Sprintf("http://127.0.0.1:%d/health?status=unhealthy", port))
	e.eventually("the flipped task is UNHEALTHY", health(good, types.HealthStatusUnhealthy))
	// A standalone task is not stopped for being unhealthy.
	if tk := e.describe(good, sick); aws.ToString(tk[0].LastStatus) != "RUNNING" || aws.ToString(tk[1].LastStatus) != "RUNNING" {
		t.Errorf("unhealthy tasks: %s", e.summary([]string{good, sick}))
	}
	e.stop("e2e: done", good, sick)
	e.waitStopped(good, sick)
	e.waitRemoved()
}

// TestDockerAwsvpc: an awsvpc task gets its own network namespace and IP,
// reported in its ElasticNetworkInterface attachment and the containers'
// networkInterfaces; the host reaches the task on that IP.
func TestDockerAwsvpc(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	app := e.echo("app")
	app.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	def := e.register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("vpc"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{app}})
	arn := e.run(def, 1, func(in *ecs.RunTaskInput) {
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-0e2e"}, SecurityGroups: []string{"sg-0e2e"}}}
	})[0]
	e.waitRunning(arn)

	tk := e.describeOne(arn)
	ip := eniIP(tk)
	if ip == "" {
		t.Fatalf("no privateIPv4Address in the attachments: %+v", tk.Attachments)
	}
	ni := containerNamed(t, tk, "app").NetworkInterfaces
	if len(ni) != 1 || aws.ToString(ni[0].PrivateIpv4Address) != ip {
		t.Errorf("container networkInterfaces %+v, attachment IP %s", ni, ip)
	}
	d := e.getDescription("http://" + ip + ":8080/")
	if !slices.Contains(d.Addresses, ip) {
		t.Errorf("the container's addresses %v lack the task IP %s", d.Addresses, ip)
	}
	// On the engine: the pause container holds the namespace, the app
	// container joins it.
	var pauseID, appMode string
	for _, c := range e.dockerContainers(arn) {
		switch c.Labels[labelContainer] {
		case "~pause":
			pauseID = c.ID
		case "app":
			appMode = c.HostConfig.NetworkMode
		}
	}
	if pauseID == "" || appMode != "container:"+pauseID {
		t.Errorf("pause container %q, app network mode %q", pauseID, appMode)
	}
	e.stop("e2e: done", arn)
	e.waitStopped(arn)
	e.waitRemoved()
}

// eniIP is the private IP in a task's ElasticNetworkInterface attachment.
func eniIP(tk types.Task) string {
	for _, a := range tk.Attachments {
		if aws.ToString(a.Type) != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// TestDockerStopTimeout: a container that ignores SIGTERM is killed after
// its stopTimeout, with exit code 137.
func TestDockerStopTimeout(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	c := withPort(e.echo("stubborn", "IGNORE_SIGTERM", "1"))
	c.StopTimeout = aws.Int32(2)
	arn := e.run(e.family("stubborn", c), 1)[0]
	e.waitRunning(arn)
	// The server answers once it has set SIGTERM aside.
	e.httpDo("GET", fmt.Sprintf("http://127.0.0.1:%d/health", hostPort(t, e.describeOne(arn), "stubborn")))
	begin := time.Now()
	e.stop("e2e: done", arn)
	e.waitStopped(arn)
	took := time.Since(begin)
	if took < 2*time.Second || took > 10*time.Second {
		t.Errorf("STOPPED %v after stop-task; want about the 2s stopTimeout", took)
	}
	if got := containerNamed(t, e.describeOne(arn), "stubborn").ExitCode; got == nil || *got != 137 {
		t.Errorf("exit code %s, want 137 (SIGKILL)", fmtExit(got))
	}
	e.waitRemoved()
}
