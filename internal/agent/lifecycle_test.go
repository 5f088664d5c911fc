package agent_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func containerNamed(t types.Task, name string) types.Container {
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	return types.Container{}
}

func TestEssentialAndNonEssentialExits(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	side := container("side", "FAKE_RUN_FOR", "50ms", "FAKE_EXIT_CODE", "4")
	side.Essential = aws.Bool(false)
	def := e.register("exits", container("app", "FAKE_RUN_FOR", "400ms", "FAKE_EXIT_CODE", "3"), side)
	arn := e.run(def)
	e.waitRunning(arn)
	e.eventually("the non-essential container is reported stopped", func() bool {
		return aws.ToString(containerNamed(e.describe(arn), "side").LastStatus) == "STOPPED"
	})
	if got := aws.ToString(e.describe(arn).LastStatus); got != "RUNNING" {
		t.Errorf("after a non-essential exit the task is %s, want RUNNING", got)
	}
	e.waitStopped(arn)
	task := e.describe(arn)
	if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(task.StoppedReason) != "Essential container in task exited" {
		t.Errorf("stopCode %s, reason %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if got := aws.ToInt32(containerNamed(task, "app").ExitCode); got != 3 {
		t.Errorf("app exit code = %d, want 3", got)
	}
	if got := aws.ToInt32(containerNamed(task, "side").ExitCode); got != 4 {
		t.Errorf("side exit code = %d, want 4", got)
	}
}

func TestDependsOnOrder(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	initC := container("init", "FAKE_RUN_FOR", "150ms")
	initC.Essential = aws.Bool(false)
	db := container("db")
	app := container("app")
	app.DependsOn = []types.ContainerDependency{
		{ContainerName: aws.String("init"), Condition: types.ContainerConditionSuccess},
		{ContainerName: aws.String("db"), Condition: types.ContainerConditionStart},
	}
	arn := e.run(e.register("ordered", initC, db, app))
	e.waitRunning(arn)
	in, a := e.containerOf(arn, "init"), e.containerOf(arn, "app")
	if a.StartedAt.Before(in.FinishedAt) {
		t.Errorf("app started at %v, before init exited at %v", a.StartedAt, in.FinishedAt)
	}
	if d := e.containerOf(arn, "db"); a.StartedAt.Before(d.StartedAt) {
		t.Errorf("app started before db")
	}
	// On stop, app (which depends on db) stops first.
	e.stop(arn)
	e.waitStopped(arn)
	e.eventually("the containers are removed", func() bool { return len(e.containers(arn)) == 0 })
}

func TestDependencyNeverMetFailsTask(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	initC := container("init", "FAKE_RUN_FOR", "10ms", "FAKE_EXIT_CODE", "1")
	initC.Essential = aws.Bool(false)
	app := container("app")
	app.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("init"), Condition: types.ContainerConditionSuccess}}
	arn := e.run(e.register("unmet", initC, app))
	e.waitStopped(arn)
	task := e.describe(arn)
	if task.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(task.StoppedReason), "did not exit successfully") {
		t.Errorf("stopCode %s, reason %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
}

func TestPullFailureFailsTask(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	c := container("app")
	c.Image = aws.String("registry.invalid/nothing:1")
	arn := e.run(e.register("nopull", c))
	e.waitStopped(arn)
	task := e.describe(arn)
	if task.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(task.StoppedReason), "CannotPullContainerError: ") {
		t.Errorf("stopCode %s, reason %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if r := aws.ToString(task.Containers[0].Reason); !strings.HasPrefix(r, "CannotPullContainerError: ") {
		t.Errorf("container reason %q", r)
	}
}

func TestStartFailureFailsTask(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	arn := e.run(e.register("nostart", container("app", "FAKE_START_ERROR", "exec: \"/nope\": no such file")))
	e.waitStopped(arn)
	task := e.describe(arn)
	if task.StopCode != types.TaskStopCodeTaskFailedToStart || aws.ToString(task.StoppedReason) != "CannotStartContainerError: exec: \"/nope\": no such file" {
		t.Errorf("stopCode %s, reason %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
}

func TestHealthCheckAndOverrides(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	c := container("app", "FAKE_HEALTH_AFTER", "10ms", "MODE", "a")
	c.HealthCheck = &types.HealthCheck{Command: []string{"CMD", "/echo", "healthcheck"}}
	arn := e.run(e.register("healthy", c), func(in *ecs.RunTaskInput) {
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
			Name: aws.String("app"), Command: []string{"serve", "-port", "9000"},
			Environment: []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("b")}},
		}}}
	})
	e.waitRunning(arn)
	e.eventually("the task is HEALTHY", func() bool { return e.describe(arn).HealthStatus == types.HealthStatusHealthy })
	if h := e.describe(arn).Containers[0].HealthStatus; h != types.HealthStatusHealthy {
		t.Errorf("container health = %s", h)
	}
	eng := e.containerOf(arn, "app")
	spec, _ := e.rt.Spec(eng.ID)
	if !slices.Equal(spec.Cmd, []string{"serve", "-port", "9000"}) || !slices.Contains(spec.Env, "MODE=b") || slices.Contains(spec.Env, "MODE=a") {
		t.Errorf("overrides not applied: cmd %v, env %v", spec.Cmd, spec.Env)
	}
	if err := e.rt.SetHealth(eng.ID, "unhealthy"); err != nil {
		t.Fatal(err)
	}
	e.eventually("the task is UNHEALTHY", func() bool { return e.describe(arn).HealthStatus == types.HealthStatusUnhealthy })
	if got := aws.ToString(e.describe(arn).LastStatus); got != "RUNNING" {
		t.Errorf("an unhealthy standalone task is %s, want RUNNING", got)
	}
}

func TestAwsvpcTask(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	c := container("app")
	c.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80)}}
	def := e.registerDef(&ecs.RegisterTaskDefinitionInput{Family: aws.String("vpc"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{c, container("side")}})
	arn := e.run(def, func(in *ecs.RunTaskInput) {
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	})
	e.waitRunning(arn)
	task := e.describe(arn)
	if len(task.Attachments) != 1 || aws.ToString(task.Attachments[0].Status) != "ATTACHED" {
		t.Fatalf("attachments = %+v", task.Attachments)
	}
	var ip string
	for _, d := range task.Attachments[0].Details {
		if aws.ToString(d.Name) == "privateIPv4Address" {
			ip = aws.ToString(d.Value)
		}
	}
	pause := e.containerOf(arn, "~pause")
	if ip == "" || ip != pause.IPAddress {
		t.Errorf("task IP %q, pause container IP %q", ip, pause.IPAddress)
	}
	for _, c := range task.Containers {
		if len(c.NetworkInterfaces) != 1 || aws.ToString(c.NetworkInterfaces[0].PrivateIpv4Address) != ip {
			t.Errorf("container %s networkInterfaces = %+v", aws.ToString(c.Name), c.NetworkInterfaces)
		}
	}
	e.stop(arn)
	e.waitStopped(arn)
	e.eventually("the pause container is removed", func() bool { return len(e.containers(arn)) == 0 })
}
