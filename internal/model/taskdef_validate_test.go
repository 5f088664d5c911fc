package model

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quayside/quayside/internal/errs"
)

func i32(v int32) *int32 { return &v }
func bp(v bool) *bool    { return &v }

// baseRequest is a minimal valid EC2 definition, changed by muts.
func baseRequest(muts ...func(*RegisterTaskDefinitionRequest)) *RegisterTaskDefinitionRequest {
	r := &RegisterTaskDefinitionRequest{
		Family:               "web",
		ContainerDefinitions: []ContainerDefinition{{Name: "app", Image: "nginx:1.25", Memory: i32(256)}},
	}
	for _, m := range muts {
		m(r)
	}
	return r
}

// fargateRequest is a minimal valid Fargate definition, changed by muts.
func fargateRequest(muts ...func(*RegisterTaskDefinitionRequest)) *RegisterTaskDefinitionRequest {
	r := &RegisterTaskDefinitionRequest{
		Family:                  "api",
		NetworkMode:             NetworkModeAwsvpc,
		RequiresCompatibilities: []Compatibility{CompatibilityFargate},
		Cpu:                     "256",
		Memory:                  "512",
		ExecutionRoleArn:        "arn:aws:iam::123456789012:role/exec",
		ContainerDefinitions:    []ContainerDefinition{{Name: "app", Image: "nginx"}},
	}
	for _, m := range muts {
		m(r)
	}
	return r
}

func app(r *RegisterTaskDefinitionRequest) *ContainerDefinition { return &r.ContainerDefinitions[0] }

func addContainer(c ContainerDefinition) func(*RegisterTaskDefinitionRequest) {
	return func(r *RegisterTaskDefinitionRequest) { r.ContainerDefinitions = append(r.ContainerDefinitions, c) }
}

func TestNewTaskDefinitionRejects(t *testing.T) {
	awslogs := &LogConfiguration{LogDriver: LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1"}}
	cases := []struct {
		name string
		req  *RegisterTaskDefinitionRequest
		want string
	}{
		{"blank family", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Family = "" }), "Family can not be blank."},
		{"family chars", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Family = "web app" }), "Family contains invalid characters."},
		{"family length", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Family = strings.Repeat("f", 256) }), "Family should be 255 characters or less."},
		{"no containers", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.ContainerDefinitions = nil }), "Container list cannot be empty."},
		{"eleven containers", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			for i := range 10 {
				r.ContainerDefinitions = append(r.ContainerDefinitions, ContainerDefinition{Name: "c" + string(rune('a'+i)), Image: "busybox", Memory: i32(8)})
			}
		}), "Too many containers."},
		{"container name missing", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Name = "" }), "Container.name should not be null or empty."},
		{"container name chars", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Name = "my app" }), "Container.name contains invalid characters."},
		{"duplicate names", baseRequest(addContainer(ContainerDefinition{Name: "app", Image: "busybox", Memory: i32(8)})), "Duplicate container name 'app'. Container names must be unique within a task definition."},
		{"image missing", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Image = "" }), "Container.image should not be null or empty."},
		{"image too long", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Image = strings.Repeat("a", 256) }), "Container.image repository should be 255 characters or less."},
		{"image spaces", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Image = "nginx latest" }), "Container.image contains invalid characters."},
		{"image md5 digest", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Image = "nginx@md5:abc" }), "Container.image digest is invalid. Only sha256 digests of 64 hexadecimal characters are supported."},
		{"image short digest", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Image = "nginx@sha256:abcd" }), "Container.image digest is invalid. Only sha256 digests of 64 hexadecimal characters are supported."},
		{"negative stop timeout", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).StopTimeout = i32(-1) }), "Invalid 'stopTimeout' setting for container 'app'."},
		{"no memory anywhere", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Memory = nil }), "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"memory below docker minimum", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Memory = i32(4) }), "Invalid 'memory' setting for container 'app'. The minimum is 6 MiB."},
		{"memory below reservation", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).MemoryReservation = i32(512) }), "Invalid setting for container 'app'. 'memory' must be greater than or equal to 'memoryReservation'."},
		{"container memory over task", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Memory = "128" }), "The 'memory' setting for container 'app' is greater than for the task."},
		{"memory sum over task", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.Memory = "300"
			r.ContainerDefinitions = append(r.ContainerDefinitions, ContainerDefinition{Name: "side", Image: "busybox", MemoryReservation: i32(100)})
		}), "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'."},
		{"cpu sum over task", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.Cpu = "256"
			app(r).Cpu = 200
			r.ContainerDefinitions = append(r.ContainerDefinitions, ContainerDefinition{Name: "side", Image: "busybox", Memory: i32(8), Cpu: 100})
		}), "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."},
		{"task cpu word", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Cpu = "lots" }), "Invalid 'cpu' setting for task."},
		{"task cpu too small", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Cpu = "64" }), "Invalid 'cpu' setting for task."},
		{"task memory word", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Memory = "1 TB" }), "Invalid 'memory' setting for task."},
		{"no essential", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Essential = bp(false) }), "Task definition doesn't have any essential container."},
		{"awsvpc host port", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeAwsvpc
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(80), HostPort: i32(8080)}}
		}), "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{"host mode host port", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeHost
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(80), HostPort: i32(8080)}}
		}), "When networkMode=host, the host ports and container ports in port mappings must match."},
		{"none mode ports", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeNone
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(80)}}
		}), "Port mappings are not supported when networkMode=none."},
		{"container port missing", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).PortMappings = []PortMapping{{HostPort: i32(80)}} }), "Invalid 'containerPort' setting for container 'app'."},
		{"container port too big", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(70000)}}
		}), "Invalid 'containerPort' setting for container 'app'."},
		{"tcp and udp on one port", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(53)}, {ContainerPort: i32(53), Protocol: TransportProtocolUdp}}
		}), "Container 'app' cannot expose container port 53 for both tcp and udp."},
		{"same container port twice", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(80), HostPort: i32(8080)}, {ContainerPort: i32(80), HostPort: i32(8081)}}
		}), "Duplicate port mapping for container port 80 in container 'app'. A port can only be included in one port mapping per container."},
		{"host port twice in task", baseRequest(
			func(r *RegisterTaskDefinitionRequest) {
				app(r).PortMappings = []PortMapping{{ContainerPort: i32(80), HostPort: i32(8080)}}
			},
			addContainer(ContainerDefinition{Name: "b", Image: "busybox", Memory: i32(8), PortMappings: []PortMapping{{ContainerPort: i32(81), HostPort: i32(8080)}}}),
		), "Host port 8080/tcp is mapped more than once in the task definition."},
		{"port name chars", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(80), Name: "-web"}}
		}), "Invalid port mapping name '-web' for container 'app'. Names are up to 64 lowercase letters, numbers, underscores and hyphens, and cannot start with a hyphen."},
		{"port range in host mode", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeHost
			app(r).PortMappings = []PortMapping{{ContainerPortRange: "8000-8010"}}
		}), "containerPortRange is only supported when networkMode is bridge or awsvpc."},
		{"port range backwards", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).PortMappings = []PortMapping{{ContainerPortRange: "9000-8000"}}
		}), "Invalid 'containerPortRange' setting for container 'app'."},
		{"hostname in awsvpc", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeAwsvpc
			app(r).Hostname = "web"
		}), "hostname is not supported on container when networkMode=awsvpc."},
		{"links in awsvpc", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeAwsvpc
			app(r).Links = []string{"db"}
		}, addContainer(ContainerDefinition{Name: "db", Image: "postgres", Memory: i32(64)})), "Links are not supported when networkMode=awsvpc."},
		{"link to nobody", baseRequest(func(r *RegisterTaskDefinitionRequest) { app(r).Links = []string{"db:database"} }),
			"Invalid 'links' setting for container 'app'. Container 'db' does not exist in the task definition."},
		{"unknown volume", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).MountPoints = []MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}
		}), "Unknown volume 'data'."},
		{"unnamed mount volume", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).MountPoints = []MountPoint{{ContainerPath: "/data"}}
		}), "Unknown volume 'null'."},
		{"volumesFrom nobody", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).VolumesFrom = []VolumeFrom{{SourceContainer: "data"}}
		}), "Invalid 'volumesFrom' setting for container 'app'. Container 'data' does not exist in the task definition."},
		{"duplicate volume", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Volumes = []Volume{{Name: "v"}, {Name: "v"}} }),
			"Duplicate volume name 'v'. Volume names must be unique within a task definition."},
		{"volume name chars", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.Volumes = []Volume{{Name: "my vol"}} }), "Volume.name contains invalid characters."},
		{"two volume kinds", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.Volumes = []Volume{{Name: "v", Host: &HostVolumeProperties{}, DockerVolumeConfiguration: &DockerVolumeConfiguration{}}}
		}), "Volume 'v' can only specify one of host, dockerVolumeConfiguration, efsVolumeConfiguration, fsxWindowsFileServerVolumeConfiguration, s3filesVolumeConfiguration or configuredAtLaunch."},
		{"autoprovision task scope", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.Volumes = []Volume{{Name: "v", DockerVolumeConfiguration: &DockerVolumeConfiguration{Scope: ScopeTask, Autoprovision: bp(true)}}}
		}), "Invalid setting for volume 'v'. autoprovision is only supported when the scope is shared."},
		{"depends on nobody", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).DependsOn = []ContainerDependency{{ContainerName: "init", Condition: ContainerConditionStart}}
		}), "Cannot depend on container + 'init' because it does not exist"},
		{"complete on essential", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).DependsOn = []ContainerDependency{{ContainerName: "init", Condition: ContainerConditionSuccess}}
		}, addContainer(ContainerDefinition{Name: "init", Image: "busybox", Memory: i32(8)})),
			"A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
		{"healthy without check", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).DependsOn = []ContainerDependency{{ContainerName: "db", Condition: ContainerConditionHealthy}}
		}, addContainer(ContainerDefinition{Name: "db", Image: "postgres", Memory: i32(64)})),
			"Container 'app' depends on container 'db' being HEALTHY, but 'db' has no health check."},
		{"dependency cycle", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).DependsOn = []ContainerDependency{{ContainerName: "b", Condition: ContainerConditionStart}}
		}, addContainer(ContainerDefinition{Name: "b", Image: "busybox", Memory: i32(8),
			DependsOn: []ContainerDependency{{ContainerName: "app", Condition: ContainerConditionStart}}})),
			"Invalid 'dependsOn' setting. The container dependencies form a cycle: app -> b -> app."},
		{"bad condition", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).DependsOn = []ContainerDependency{{ContainerName: "app", Condition: "READY"}}
		}), "Invalid 'dependsOn' setting for container 'app'. Unknown condition 'READY'; valid values are START, COMPLETE, SUCCESS and HEALTHY."},
		{"health check without CMD", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).HealthCheck = &HealthCheck{Command: []string{"curl", "localhost"}}
		}), "Invalid 'healthCheck' setting for container 'app'. The command must start with CMD or CMD-SHELL followed by the command to run."},
		{"health check interval", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Interval: i32(4)}
		}), "Invalid 'healthCheck' setting for container 'app'. The interval must be between 5 and 300."},
		{"health check timeout", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Timeout: i32(61)}
		}), "Invalid 'healthCheck' setting for container 'app'. The timeout must be between 2 and 60."},
		{"health check retries", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Retries: i32(11)}
		}), "Invalid 'healthCheck' setting for container 'app'. The retries must be between 1 and 10."},
		{"health check start period", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, StartPeriod: i32(301)}
		}), "Invalid 'healthCheck' setting for container 'app'. The startPeriod must be between 0 and 300."},
		{"awslogs without options", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).LogConfiguration = &LogConfiguration{LogDriver: LogDriverAwslogs}
		}), "Log driver awslogs requires options: awslogs-region, awslogs-group"},
		{"unknown log driver", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).LogConfiguration = &LogConfiguration{LogDriver: "loki"}
		}), "Log driver 'loki' is not supported. Valid values are json-file, syslog, journald, gelf, fluentd, awslogs, splunk and awsfirelens."},
		{"unknown ulimit", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).Ulimits = []Ulimit{{Name: "files", SoftLimit: 1, HardLimit: 2}}
		}), "Invalid ulimit name 'files' for container 'app'."},
		{"ulimit soft over hard", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).Ulimits = []Ulimit{{Name: UlimitNameNofile, SoftLimit: 4096, HardLimit: 1024}}
		}), "Invalid ulimit 'nofile' for container 'app'. The softLimit cannot be greater than the hardLimit."},
		{"placement distinctInstance", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.PlacementConstraints = []TaskDefinitionPlacementConstraint{{Type: "distinctInstance"}}
		}), "Invalid placement constraint type 'distinctInstance'. Task definitions only support memberOf."},
		{"eleven placement constraints", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			for range 11 {
				r.PlacementConstraints = append(r.PlacementConstraints, TaskDefinitionPlacementConstraint{Type: TaskDefinitionPlacementConstraintTypeMemberOf, Expression: "attribute:x exists"})
			}
		}), "Too many placement constraints. A task definition can have at most 10."},
		{"too big", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).Environment = []KeyValuePair{{Name: "BIG", Value: strings.Repeat("x", MaxTaskDefinitionBytes)}}
		}), ""}, // message carries the size; checked by prefix below
		{"fargate bridge", fargateRequest(func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = NetworkModeBridge }), "Fargate only supports network mode ‘awsvpc’."},
		{"fargate default mode", fargateRequest(func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = "" }), "Fargate only supports network mode ‘awsvpc’."},
		{"fargate no cpu", fargateRequest(func(r *RegisterTaskDefinitionRequest) { r.Cpu = "" }), "Fargate requires that 'cpu' be defined at the task level."},
		{"fargate no memory", fargateRequest(func(r *RegisterTaskDefinitionRequest) { r.Memory = ""; app(r).Memory = i32(256) }), "Fargate requires that 'memory' be defined at the task level."},
		{"fargate bad size", fargateRequest(func(r *RegisterTaskDefinitionRequest) { r.Cpu = "1 vCPU"; r.Memory = "1GB" }),
			"No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values."},
		{"fargate ipc", fargateRequest(func(r *RegisterTaskDefinitionRequest) { r.IpcMode = IpcModeTask }), "Tasks using the Fargate launch type do not support ipcMode."},
		{"fargate source path", fargateRequest(func(r *RegisterTaskDefinitionRequest) {
			r.Volumes = []Volume{{Name: "v", Host: &HostVolumeProperties{SourcePath: "/srv"}}}
		}), "Fargate compatible task definitions do not support sourcePath"},
		{"fargate awslogs without role", fargateRequest(func(r *RegisterTaskDefinitionRequest) {
			r.ExecutionRoleArn = ""
			app(r).LogConfiguration = awslogs
		}), "Fargate requires task definition to have execution role ARN to support log driver awslogs."},
		{"fargate awslogs without prefix", fargateRequest(func(r *RegisterTaskDefinitionRequest) { app(r).LogConfiguration = awslogs }),
			"Log driver awslogs requires options: awslogs-stream-prefix"},
		{"fargate gelf", fargateRequest(func(r *RegisterTaskDefinitionRequest) {
			app(r).LogConfiguration = &LogConfiguration{LogDriver: LogDriverGelf}
		}), "Tasks using the Fargate launch type do not support log driver gelf."},
		{"fargate stop timeout", fargateRequest(func(r *RegisterTaskDefinitionRequest) { app(r).StopTimeout = i32(300) }),
			"Invalid 'stopTimeout' setting for container 'app'. Fargate supports values between 2 and 120 seconds."},
		{"external awsvpc", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeAwsvpc
			r.RequiresCompatibilities = []Compatibility{CompatibilityExternal}
		}), "Tasks using the EXTERNAL launch type do not support networkMode awsvpc."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTaskDefinition(tc.req)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Client {
				t.Fatalf("err = %v, want a ClientException", err)
			}
			if tc.want == "" {
				if !strings.HasPrefix(e.Message, "Task definition size of ") {
					t.Fatalf("message = %q, want the size limit", e.Message)
				}
				return
			}
			if e.Message != tc.want {
				t.Fatalf("message\n got %q\nwant %q", e.Message, tc.want)
			}
		})
	}
}

func TestParseTaskCPUAndMemory(t *testing.T) {
	cpu := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1024", 1024, true}, {"1 vCPU", 1024, true}, {"1 vcpu", 1024, true}, {"0.5 vCPU", 512, true},
		{".25 vcpu", 256, true}, {"2vCPU", 2048, true}, {" 512 ", 512, true},
		{"", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"0.1 vCPU", 0, false}, {"1 core", 0, false}, {"1GB", 0, false},
	}
	for _, c := range cpu {
		got, err := ParseTaskCPU(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseTaskCPU(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	mem := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512", 512, true}, {"1GB", 1024, true}, {"1 GB", 1024, true}, {"0.5GB", 512, true}, {"2 gb", 2048, true},
		{"", 0, false}, {"1 TB", 0, false}, {"0.0001GB", 0, false}, {"1 vCPU", 0, false},
	}
	for _, c := range mem {
		got, err := ParseTaskMemory(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseTaskMemory(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestNewTaskDefinitionDefaults(t *testing.T) {
	r := baseRequest(func(r *RegisterTaskDefinitionRequest) {
		r.Cpu = "0.5 vCPU"
		r.Memory = "1 GB"
		app(r).PortMappings = []PortMapping{{ContainerPort: i32(80)}}
		app(r).HealthCheck = &HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}}
		r.Volumes = []Volume{{Name: "scratch"}, {Name: "cache", DockerVolumeConfiguration: &DockerVolumeConfiguration{Driver: "local"}}}
	})
	td, err := NewTaskDefinition(r)
	if err != nil {
		t.Fatal(err)
	}
	if td.Cpu != "512" || td.Memory != "1024" {
		t.Errorf("cpu, memory = %q, %q; want 512, 1024", td.Cpu, td.Memory)
	}
	if td.NetworkMode != "" || td.EffectiveNetworkMode() != NetworkModeBridge {
		t.Errorf("networkMode = %q (effective %q); want it left out, meaning bridge", td.NetworkMode, td.EffectiveNetworkMode())
	}
	want := ContainerDefinition{
		Name: "app", Image: "nginx:1.25", Memory: i32(256), Cpu: 0, Essential: bp(true),
		PortMappings:   []PortMapping{{ContainerPort: i32(80), HostPort: i32(0), Protocol: TransportProtocolTcp}},
		HealthCheck:    &HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}, Interval: i32(30), Timeout: i32(5), Retries: i32(3)},
		Environment:    []KeyValuePair{},
		MountPoints:    []MountPoint{},
		VolumesFrom:    []VolumeFrom{},
		SystemControls: []SystemControl{},
	}
	if diff := cmp.Diff(want, td.ContainerDefinitions[0]); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	wantVolumes := []Volume{{Name: "scratch", Host: &HostVolumeProperties{}},
		{Name: "cache", DockerVolumeConfiguration: &DockerVolumeConfiguration{Driver: "local", Scope: ScopeTask}}}
	if diff := cmp.Diff(wantVolumes, td.Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	if td.PlacementConstraints == nil || td.RequiresCompatibilities != nil {
		t.Errorf("placementConstraints = %v, requiresCompatibilities = %v; want [] and left out", td.PlacementConstraints, td.RequiresCompatibilities)
	}
	if r.ContainerDefinitions[0].PortMappings[0].HostPort != nil || r.ContainerDefinitions[0].Essential != nil {
		t.Error("NewTaskDefinition modified its input")
	}
}

func TestHostPortDefaults(t *testing.T) {
	for _, mode := range []NetworkMode{NetworkModeAwsvpc, NetworkModeHost} {
		td, err := NewTaskDefinition(baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = mode
			app(r).PortMappings = []PortMapping{{ContainerPort: i32(8080)}, {ContainerPort: i32(53), HostPort: i32(0), Protocol: TransportProtocolUdp}}
		}))
		if err != nil {
			t.Fatal(err)
		}
		pms := td.ContainerDefinitions[0].PortMappings
		if *pms[0].HostPort != 8080 || *pms[1].HostPort != 53 || pms[0].Protocol != TransportProtocolTcp {
			t.Errorf("%s: port mappings = %+v; want hostPort = containerPort, protocol tcp", mode, pms)
		}
	}
}

func TestCompatibilities(t *testing.T) {
	cases := []struct {
		name string
		req  *RegisterTaskDefinitionRequest
		want []Compatibility
	}{
		{"bridge", baseRequest(), []Compatibility{CompatibilityExternal, CompatibilityEc2}},
		{"host", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = NetworkModeHost }), []Compatibility{CompatibilityExternal, CompatibilityEc2}},
		{"awsvpc without task size", baseRequest(func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = NetworkModeAwsvpc }), []Compatibility{CompatibilityEc2}},
		{"awsvpc fargate sized", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeAwsvpc
			r.Cpu, r.Memory = "256", "512"
		}), []Compatibility{CompatibilityEc2, CompatibilityFargate}},
		{"fargate required", fargateRequest(), []Compatibility{CompatibilityEc2, CompatibilityFargate}},
		{"awsvpc odd size", baseRequest(func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode = NetworkModeAwsvpc
			r.Cpu, r.Memory = "256", "300"
		}), []Compatibility{CompatibilityEc2}},
	}
	for _, tc := range cases {
		td, err := NewTaskDefinition(tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(td.Compatibilities, tc.want) {
			t.Errorf("%s: compatibilities = %v, want %v", tc.name, td.Compatibilities, tc.want)
		}
	}
}

func TestFargateSizes(t *testing.T) {
	valid := [][2]int64{{256, 512}, {256, 2048}, {512, 4096}, {1024, 8192}, {2048, 16384}, {4096, 30720}, {8192, 61440}, {16384, 122880}}
	invalid := [][2]int64{{256, 4096}, {512, 512}, {1024, 1024}, {8192, 17408}, {16384, 33792}, {128, 512}, {3072, 8192}}
	for _, v := range valid {
		if !FargateMemoryValid(v[0], v[1], false) {
			t.Errorf("%d CPU / %d MiB should be a Fargate size", v[0], v[1])
		}
	}
	for _, v := range invalid {
		if FargateMemoryValid(v[0], v[1], false) {
			t.Errorf("%d CPU / %d MiB should not be a Fargate size", v[0], v[1])
		}
	}
	if FargateMemoryValid(512, 1024, true) || !FargateMemoryValid(1024, 2048, true) {
		t.Error("Windows on Fargate needs 1 to 4 vCPU")
	}
}

func TestRequiresAttributes(t *testing.T) {
	r := fargateRequest(func(r *RegisterTaskDefinitionRequest) {
		r.TaskRoleArn = "arn:aws:iam::123456789012:role/task"
		c := app(r)
		c.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1"
		c.LogConfiguration = &LogConfiguration{LogDriver: LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}
		c.MemoryReservation = i32(128)
		c.HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}}
		c.StopTimeout = i32(30)
		c.Secrets = []Secret{{Name: "DB", ValueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}}
	})
	td, err := NewTaskDefinition(r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range td.RequiresAttributes {
		got = append(got, a.Name)
	}
	for _, want := range []string{
		"ecs.capability.task-eni", "com.amazonaws.ecs.capability.docker-remote-api.1.18",
		"com.amazonaws.ecs.capability.logging-driver.awslogs", "com.amazonaws.ecs.capability.docker-remote-api.1.19",
		"ecs.capability.execution-role-awslogs", "ecs.capability.container-health-check",
		"ecs.capability.container-ordering", "com.amazonaws.ecs.capability.task-iam-role",
		"com.amazonaws.ecs.capability.ecr-auth", "ecs.capability.execution-role-ecr-pull",
		"com.amazonaws.ecs.capability.docker-remote-api.1.21", "ecs.capability.secrets.asm.environment-variables",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("requiresAttributes %v lacks %s", got, want)
		}
	}
	if len(got) != len(slices.Compact(slices.Sorted(slices.Values(got)))) {
		t.Errorf("requiresAttributes has duplicates: %v", got)
	}
	plain, err := NewTaskDefinition(baseRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.RequiresAttributes) != 0 {
		t.Errorf("a plain bridge definition requires %v, want nothing", plain.RequiresAttributes)
	}
}
