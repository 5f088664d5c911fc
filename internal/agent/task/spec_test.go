package task

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

const taskARN = "arn:aws:ecs:us-east-1:000000000000:task/prod/0123456789abcdef0123456789abcdef"

func assignment(td model.TaskDefinition, ov *model.TaskOverride) *agentproto.Assignment {
	return &agentproto.Assignment{Task: model.Task{TaskArn: taskARN, Overrides: ov}, Definition: td}
}

func opts() Options { return Options{Cluster: "prod", Instance: "arn:ci", PauseImage: "pause:1"} }

func TestContainerSpecBridge(t *testing.T) {
	web := model.ContainerDefinition{
		Name: "web", Image: "nginx:1", Cpu: 0, Memory: ptr(int32(256)), MemoryReservation: ptr(int32(128)),
		EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"serve"}, WorkingDirectory: "/srv", User: "1000:1000",
		Hostname: "web1", Environment: []model.KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
		PortMappings: []model.PortMapping{
			{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080)), Protocol: model.TransportProtocolTcp},
			{ContainerPort: ptr(int32(53)), Protocol: model.TransportProtocolUdp},
		},
		Links:                  []string{"db:database"},
		MountPoints:            []model.MountPoint{{SourceVolume: "data", ContainerPath: "/data", ReadOnly: ptr(true)}, {SourceVolume: "tmp", ContainerPath: "/tmp"}},
		VolumesFrom:            []model.VolumeFrom{{SourceContainer: "db", ReadOnly: ptr(true)}},
		ReadonlyRootFilesystem: ptr(true),
		Ulimits:                []model.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}},
		DockerLabels:           map[string]string{"team": "a", runtime.LabelTask: "spoofed"},
		StopTimeout:            ptr(int32(5)),
		HealthCheck:            &model.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}, Interval: ptr(int32(10)), Timeout: ptr(int32(2)), Retries: ptr(int32(4))},
		LogConfiguration:       &model.LogConfiguration{LogDriver: model.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g"}},
		LinuxParameters:        &model.LinuxParameters{InitProcessEnabled: ptr(true)},
	}
	td := model.TaskDefinition{Family: "shop", Revision: 7, ContainerDefinitions: []model.ContainerDefinition{{Name: "db", Image: "pg"}, web},
		Volumes: []model.Volume{{Name: "data", Host: &model.HostVolumeProperties{SourcePath: "/srv/data"}}, {Name: "tmp"}}}
	ov := &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{
		Name: "web", Command: []string{"serve", "--debug"}, Environment: []model.KeyValuePair{{Name: "B", Value: "3"}, {Name: "C", Value: "4"}},
		Memory: ptr(int32(512)),
	}}}
	tk := New(assignment(td, ov), opts())
	got := tk.ContainerSpec(tk.Container("web"), map[string]string{"db": "dbid"})
	want := runtime.ContainerSpec{
		Name:  "ecs-shop-7-web-0123456789abcdef0123456789abcdef",
		Image: "nginx:1",
		Labels: map[string]string{
			"team": "a", runtime.LabelManaged: "true", runtime.LabelCluster: "prod", runtime.LabelInstance: "arn:ci",
			runtime.LabelTask: taskARN, runtime.LabelContainer: "web",
			"com.amazonaws.ecs.cluster": "prod", "com.amazonaws.ecs.task-arn": taskARN, "com.amazonaws.ecs.container-name": "web",
			"com.amazonaws.ecs.task-definition-family": "shop", "com.amazonaws.ecs.task-definition-version": "7",
		},
		Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"serve", "--debug"}, Env: []string{"A=1", "B=3", "C=4"},
		WorkingDir: "/srv", User: "1000:1000", Hostname: "web1",
		CPUShares: 2, MemoryMiB: 512, MemoryReservationMiB: 128,
		NetworkMode: "bridge",
		PortBindings: []runtime.PortBinding{
			{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"},
			{ContainerPort: 53, Protocol: "udp"},
		},
		Links: []string{"ecs-shop-7-db-0123456789abcdef0123456789abcdef:database"},
		Mounts: []runtime.Mount{
			{Type: "bind", Source: "/srv/data", Target: "/data", ReadOnly: true},
			{Type: "volume", Source: "ecs-shop-7-tmp-0123456789abcdef0123456789abcdef", Target: "/tmp"},
		},
		VolumesFrom: []string{"dbid:ro"}, ReadonlyRootfs: true, Init: true,
		Ulimits:     []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},
		HealthCheck: &runtime.HealthCheck{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 10 * time.Second, Timeout: 2 * time.Second, Retries: 4},
		StopTimeout: 5 * time.Second,
		LogDriver:   "json-file",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("spec (-want +got):\n%s", d)
	}
	if c := tk.Container("web"); len(c.DependsOn) != 1 || c.DependsOn[0].ContainerName != "db" || c.CreateAfter[0] != "db" {
		t.Errorf("links and volumesFrom imply ordering: %+v", c)
	}
}

func TestContainerSpecAwsvpc(t *testing.T) {
	td := model.TaskDefinition{Family: "f", Revision: 1, NetworkMode: model.NetworkModeAwsvpc,
		ContainerDefinitions: []model.ContainerDefinition{{Name: "app", Image: "a", Cpu: 512,
			PortMappings: []model.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(80))}}}}}
	tk := New(assignment(td, nil), opts())
	got := tk.ContainerSpec(tk.Container("app"), map[string]string{PauseName: "pauseid"})
	if got.NetworkMode != "container:pauseid" || len(got.PortBindings) != 0 || got.CPUShares != 512 {
		t.Errorf("awsvpc spec: mode %q, ports %v, shares %d", got.NetworkMode, got.PortBindings, got.CPUShares)
	}
	p := tk.PauseSpec()
	if p.Image != "pause:1" || p.NetworkMode != "bridge" || p.Labels[runtime.LabelContainer] != PauseName || p.Name != "ecs-f-1-internalecspause-0123456789abcdef0123456789abcdef" {
		t.Errorf("pause spec = %+v", p)
	}
}

func TestNetworkBindingsByMode(t *testing.T) {
	pm := []model.PortMapping{{ContainerPort: ptr(int32(80))}}
	for _, tc := range []struct {
		mode model.NetworkMode
		want int
	}{{model.NetworkModeBridge, 1}, {model.NetworkModeHost, 1}, {model.NetworkModeNone, 0}} {
		td := model.TaskDefinition{Family: "f", NetworkMode: tc.mode, ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "a", PortMappings: pm}}}
		tk := New(assignment(td, nil), opts())
		s := NewState(tk, model.StatusPending)
		s.C("a").Observe(runtime.ContainerStatus{ID: "x", Running: true, State: "running",
			Ports: []runtime.PortBinding{{ContainerPort: 80, HostPort: 32768, Protocol: "tcp", HostIP: "0.0.0.0"}}})
		nb := Report(tk, s).Containers[0].NetworkBindings
		if len(nb) != tc.want {
			t.Errorf("%s: bindings %+v", tc.mode, nb)
			continue
		}
		if tc.mode == model.NetworkModeBridge && *nb[0].HostPort != 32768 {
			t.Errorf("bridge binding = %+v, want the engine's dynamic port", nb[0])
		}
		if tc.mode == model.NetworkModeHost && *nb[0].HostPort != 80 {
			t.Errorf("host binding = %+v, want the container port", nb[0])
		}
	}
}
