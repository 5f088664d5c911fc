package ecs_test

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// tdRichDefinition returns a registration that uses many task definition
// features, and the definition ECS should answer with (identity fields left
// for the caller).
func tdRichDefinition() (*ecs.RegisterTaskDefinitionInput, types.TaskDefinition) {
	in := &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("rich"),
		TaskRoleArn:             aws.String("arn:aws:iam::000000000000:role/task"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::000000000000:role/exec"),
		NetworkMode:             types.NetworkModeBridge,
		Cpu:                     aws.String("1 vCPU"),
		Memory:                  aws.String("2GB"),
		PidMode:                 types.PidModeTask,
		IpcMode:                 types.IpcModeTask,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
		PlacementConstraints: []types.TaskDefinitionPlacementConstraint{{
			Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.os-type == linux"),
		}},
		Volumes:              tdRichVolumes(false),
		ContainerDefinitions: tdRichContainers(false),
	}
	want := types.TaskDefinition{
		Family:                  in.Family,
		Revision:                1,
		Status:                  types.TaskDefinitionStatusActive,
		TaskRoleArn:             in.TaskRoleArn,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		NetworkMode:             types.NetworkModeBridge,
		Cpu:                     aws.String("1024"),
		Memory:                  aws.String("2048"),
		PidMode:                 types.PidModeTask,
		IpcMode:                 types.IpcModeTask,
		RequiresCompatibilities: in.RequiresCompatibilities,
		Compatibilities:         []types.Compatibility{types.CompatibilityExternal, types.CompatibilityEc2},
		PlacementConstraints:    in.PlacementConstraints,
		Volumes:                 tdRichVolumes(true),
		ContainerDefinitions:    tdRichContainers(true),
		EnableFaultInjection:    aws.Bool(false),
		RequiresAttributes:      tdAttributes(tdRichAttributes),
	}
	return in, want
}

var tdRichAttributes = []string{
	"com.amazonaws.ecs.capability.task-iam-role",
	"ecs.capability.pid-ipc-namespace-sharing",
	"com.amazonaws.ecs.capability.docker-remote-api.1.25",
	"com.amazonaws.ecs.capability.ecr-auth",
	"ecs.capability.execution-role-ecr-pull",
	"com.amazonaws.ecs.capability.logging-driver.awslogs",
	"com.amazonaws.ecs.capability.docker-remote-api.1.19",
	"ecs.capability.execution-role-awslogs",
	"com.amazonaws.ecs.capability.docker-remote-api.1.28",
	"com.amazonaws.ecs.capability.docker-remote-api.1.21",
	"com.amazonaws.ecs.capability.docker-remote-api.1.18",
	"ecs.capability.container-health-check",
	"com.amazonaws.ecs.capability.docker-remote-api.1.24",
	"ecs.capability.container-ordering",
	"ecs.capability.secrets.ssm.environment-variables",
	"com.amazonaws.ecs.capability.docker-remote-api.1.29",
}

func tdAttributes(names []string) []types.Attribute {
	out := make([]types.Attribute, len(names))
	for i, n := range names {
		out[i] = types.Attribute{Name: aws.String(n)}
	}
	return out
}

func tdRichVolumes(described bool) []types.Volume {
	vs := []types.Volume{
		{Name: aws.String("data"), Host: &types.HostVolumeProperties{SourcePath: aws.String("/srv/data")}},
		{Name: aws.String("cache"), DockerVolumeConfiguration: &types.DockerVolumeConfiguration{
			Scope: types.ScopeShared, Autoprovision: aws.Bool(true), Driver: aws.String("local"),
			DriverOpts: map[string]string{"type": "tmpfs"}, Labels: map[string]string{"app": "rich"},
		}},
		{Name: aws.String("scratch")},
	}
	if described {
		vs[2].Host = &types.HostVolumeProperties{} // an empty volume is a host volume
	}
	return vs
}

// tdRichContainers are the containers as registered, or (described) as ECS
// returns them with its defaults filled in.
func tdRichContainers(described bool) []types.ContainerDefinition {
	web := types.ContainerDefinition{
		Name:              aws.String("web"),
		Image:             aws.String("000000000000.dkr.ecr.us-east-1.amazonaws.com/web:1.2"),
		Cpu:               512,
		Memory:            aws.Int32(1024),
		MemoryReservation: aws.Int32(512),
		Essential:         aws.Bool(true),
		PortMappings: []types.PortMapping{
			{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)},
			{ContainerPort: aws.Int32(9000), Protocol: types.TransportProtocolUdp, Name: aws.String("metrics")},
		},
		EntryPoint:       []string{"/bin/sh", "-c"},
		Command:          []string{"exec web --port 80"},
		Environment:      []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
		MountPoints:      []types.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/data"), ReadOnly: aws.Bool(true)}, {SourceVolume: aws.String("cache"), ContainerPath: aws.String("/cache")}},
		VolumesFrom:      []types.VolumeFrom{{SourceContainer: aws.String("sidecar"), ReadOnly: aws.Bool(true)}},
		Links:            []string{"sidecar:side"},
		Hostname:         aws.String("web"),
		User:             aws.String("1000:1000"),
		WorkingDirectory: aws.String("/srv"),
		DockerLabels:     map[string]string{"com.example.tier": "front"},
		Ulimits:          []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 1024, HardLimit: 4096}},
		LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": "/ecs/rich", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "rich", "mode": "non-blocking",
		}},
		HealthCheck:            &types.HealthCheck{Command: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}, Interval: aws.Int32(10)},
		DependsOn:              []types.ContainerDependency{{ContainerName: aws.String("init"), Condition: types.ContainerConditionSuccess}, {ContainerName: aws.String("sidecar"), Condition: types.ContainerConditionHealthy}},
		StopTimeout:            aws.Int32(20),
		StartTimeout:           aws.Int32(30),
		LinuxParameters:        &types.LinuxParameters{InitProcessEnabled: aws.Bool(true), Capabilities: &types.KernelCapabilities{Drop: []string{"NET_RAW"}}},
		Secrets:                []types.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("/rich/db-password")}},
		ExtraHosts:             []types.HostEntry{{Hostname: aws.String("db.local"), IpAddress: aws.String("10.0.0.5")}},
		DnsServers:             []string{"10.0.0.2"},
		SystemControls:         []types.SystemControl{{Namespace: aws.String("net.core.somaxconn"), Value: aws.String("1024")}},
		ReadonlyRootFilesystem: aws.Bool(true),
		Privileged:             aws.Bool(false),
		Interactive:            aws.Bool(false),
		PseudoTerminal:         aws.Bool(false),
	}
	sidecar := types.ContainerDefinition{
		Name:              aws.String("sidecar"),
		Image:             aws.String("busybox@sha256:" + strings.Repeat("ab", 32)),
		MemoryReservation: aws.Int32(64),
		HealthCheck:       &types.HealthCheck{Command: []string{"CMD", "true"}, StartPeriod: aws.Int32(15)},
	}
	initc := types.ContainerDefinition{
		Name:      aws.String("init"),
		Image:     aws.String("busybox"),
		Memory:    aws.Int32(32),
		Essential: aws.Bool(false),
		Command:   []string{"true"},
	}
	if described {
		web.PortMappings[0].Protocol = types.TransportProtocolTcp
		web.PortMappings[1].HostPort = aws.Int32(0)
		web.HealthCheck.Timeout, web.HealthCheck.Retries = aws.Int32(5), aws.Int32(3)
		sidecar.Essential = aws.Bool(true)
		sidecar.HealthCheck.Interval, sidecar.HealthCheck.Timeout, sidecar.HealthCheck.Retries = aws.Int32(30), aws.Int32(5), aws.Int32(3)
		for _, c := range []*types.ContainerDefinition{&sidecar, &initc} {
			c.PortMappings, c.Environment, c.MountPoints = []types.PortMapping{}, []types.KeyValuePair{}, []types.MountPoint{}
			c.VolumesFrom, c.SystemControls = []types.VolumeFrom{}, []types.SystemControl{}
		}
	}
	return []types.ContainerDefinition{web, sidecar, initc}
}
