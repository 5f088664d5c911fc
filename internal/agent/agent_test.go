package agent_test

import (
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/agent"
	"github.com/quayside/quayside/internal/store"
)

func attr(ci types.ContainerInstance, name string) (string, bool) {
	for _, a := range ci.Attributes {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value), true
		}
	}
	return "", false
}

func resource(ci types.ContainerInstance, name string) types.Resource {
	for _, r := range ci.RegisteredResources {
		if aws.ToString(r.Name) == name {
			return r
		}
	}
	return types.Resource{}
}

func TestRegistersTheNode(t *testing.T) {
	e := newEnv(t)
	e.start(func(c *agent.Config) {
		c.Attributes = map[string]string{"stack": "blue"}
		c.ReservedPorts = []int{8000}
	})
	ci := e.instance()
	if got := resource(ci, "CPU").IntegerValue; got != 2048 {
		t.Errorf("CPU = %d, want 2048 (2 cores)", got)
	}
	if got := resource(ci, "MEMORY").IntegerValue; got != 4096-256 {
		t.Errorf("MEMORY = %d, want 3840 (4 GiB minus the reserve)", got)
	}
	if got := resource(ci, "PORTS").StringSetValue; !slices.Equal(got, []string{"22", "2375", "2376", "8000", "51678", "51679"}) {
		t.Errorf("PORTS = %v", got)
	}
	for name, want := range map[string]string{
		"ecs.os-type": "linux", "ecs.os-family": "LINUX", "ecs.cpu-architecture": "x86_64",
		"ecs.availability-zone": "local-1a", "ecs.instance-type": "quayside.local", "stack": "blue",
		"ecs.capability.task-eni": "", "ecs.capability.container-health-check": "",
		"com.amazonaws.ecs.capability.docker-remote-api.1.41": "", "com.amazonaws.ecs.capability.logging-driver.json-file": "",
	} {
		if got, ok := attr(ci, name); !ok || got != want {
			t.Errorf("attribute %s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	if v := ci.VersionInfo; v == nil || !strings.HasPrefix(aws.ToString(v.DockerVersion), "DockerVersion: 20.10") || aws.ToString(v.AgentVersion) == "" {
		t.Errorf("versionInfo = %+v", ci.VersionInfo)
	}
	if id := aws.ToString(ci.Ec2InstanceId); len(id) != 19 || !strings.HasPrefix(id, "i-") {
		t.Errorf("ec2InstanceId = %q, want i- and 17 hex digits", id)
	}
}

func TestRunAndStopTask(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.instance()
	web := container("web", "GREETING", "hi")
	web.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	def := e.register("web", web)
	arn := e.run(def)
	e.waitRunning(arn)

	task := e.describe(arn)
	c := task.Containers[0]
	if aws.ToString(c.LastStatus) != "RUNNING" || aws.ToString(c.RuntimeId) == "" || len(c.NetworkBindings) != 1 {
		t.Fatalf("running container = %+v", c)
	}
	eng := e.containerOf(arn, "web")
	if eng.ID != aws.ToString(c.RuntimeId) || !eng.Running || eng.Ports[0].HostPort != int(aws.ToInt32(c.NetworkBindings[0].HostPort)) {
		t.Errorf("engine container %+v does not match the reported one %+v", eng, c)
	}
	if task.StartedAt == nil || task.PullStartedAt == nil || task.PullStoppedAt == nil {
		t.Errorf("timestamps missing: started %v pull %v–%v", task.StartedAt, task.PullStartedAt, task.PullStoppedAt)
	}

	e.stop(arn)
	e.waitStopped(arn)
	task = e.describe(arn)
	if task.StopCode != types.TaskStopCodeUserInitiated || aws.ToInt32(task.Containers[0].ExitCode) != 0 || task.Containers[0].ExitCode == nil {
		t.Errorf("stopped task: stopCode %s, exit %v", task.StopCode, task.Containers[0].ExitCode)
	}
	if task.StoppingAt == nil || task.ExecutionStoppedAt == nil || task.StoppedAt == nil {
		t.Errorf("stop timestamps missing: %v %v %v", task.StoppingAt, task.ExecutionStoppedAt, task.StoppedAt)
	}
	e.eventually("the task's containers are removed", func() bool { return len(e.containers(arn)) == 0 })
}

// TestRegistersTheNodeAddress: without --address the node registers the
// address it reaches the control plane from (loopback here); with one, that.
func TestRegistersTheNodeAddress(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", "127.0.0.1"}, {"10.1.2.3", "10.1.2.3"}} {
		e := newEnv(t)
		e.start(func(c *agent.Config) { c.Address = tc.set })
		ci := e.instance()
		var rec store.InstanceRecord
		err := e.h.Server.Store().View(t.Context(), func(tx store.ReadTx) error {
			_, _, err := store.GetJSON(tx, store.InstanceKey(e.cluster, path.Base(aws.ToString(ci.ContainerInstanceArn))), &rec)
			return err
		})
		if err != nil || rec.Address != tc.want {
			t.Errorf("address %q: stored %q (%v), want %q", tc.set, rec.Address, err, tc.want)
		}
	}
}
