package model

import (
	"slices"
	"strconv"
	"strings"
)

// fargateLogDrivers are the log drivers Fargate supports.
var fargateLogDrivers = []LogDriver{LogDriverAwslogs, LogDriverSplunk, LogDriverAwsfirelens}

// FargateMemoryValid reports whether cpu units and memory MiB form one of
// the Fargate task sizes. Windows tasks need at least 1 vCPU and at most 4.
func FargateMemoryValid(cpu, memory int64, windows bool) bool {
	const gb = 1024
	between := func(lo, hi, step int64) bool { return memory >= lo && memory <= hi && (memory-lo)%step == 0 }
	if windows && (cpu < 1024 || cpu > 4096) {
		return false
	}
	switch cpu {
	case 256:
		return memory == 512 || memory == 1*gb || memory == 2*gb
	case 512:
		return between(1*gb, 4*gb, gb)
	case 1024:
		return between(2*gb, 8*gb, gb)
	case 2048:
		return between(4*gb, 16*gb, gb)
	case 4096:
		return between(8*gb, 30*gb, gb)
	case 8192:
		return between(16*gb, 60*gb, 4*gb)
	case 16384:
		return between(32*gb, 120*gb, 8*gb)
	}
	return false
}

func isWindows(td *TaskDefinition) bool {
	return td.RuntimePlatform != nil && strings.HasPrefix(string(td.RuntimePlatform.OperatingSystemFamily), "WINDOWS")
}

// checkCompatibilities validates td against each launch type it requires.
func checkCompatibilities(td *TaskDefinition) error {
	for _, c := range td.RequiresCompatibilities {
		var err error
		switch c {
		case CompatibilityFargate:
			err = fargateProblem(td)
		case CompatibilityExternal:
			err = externalProblem(td)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// computeCompatibilities lists every launch type td could run on, in the
// order ECS reports them: EXTERNAL, EC2, FARGATE (and MANAGED_INSTANCES when
// the definition asked for it).
func computeCompatibilities(td *TaskDefinition) []Compatibility {
	var out []Compatibility
	if externalProblem(td) == nil {
		out = append(out, CompatibilityExternal)
	}
	out = append(out, CompatibilityEc2)
	if fargateProblem(td) == nil {
		out = append(out, CompatibilityFargate)
	}
	if slices.Contains(td.RequiresCompatibilities, CompatibilityManagedInstances) {
		out = append(out, CompatibilityManagedInstances)
	}
	return out
}

// externalProblem says why td cannot run on EXTERNAL (ECS Anywhere) nodes:
// no awsvpc, no EFS or FSx volumes.
func externalProblem(td *TaskDefinition) error {
	if td.EffectiveNetworkMode() == NetworkModeAwsvpc {
		return clientFail("Tasks using the EXTERNAL launch type do not support networkMode awsvpc.")
	}
	if hasVolume(td, func(v Volume) bool { return v.EfsVolumeConfiguration != nil }) {
		return clientFail("Tasks using the EXTERNAL launch type do not support efsVolumeConfiguration.")
	}
	if hasVolume(td, func(v Volume) bool { return v.FsxWindowsFileServerVolumeConfiguration != nil }) {
		return clientFail("Tasks using the EXTERNAL launch type do not support fsxWindowsFileServerVolumeConfiguration.")
	}
	return nil
}

// fargateProblem says why td cannot run on Fargate, with ECS's wording
// where it is known.
func fargateProblem(td *TaskDefinition) error {
	if td.EffectiveNetworkMode() != NetworkModeAwsvpc {
		return clientFail("Fargate only supports network mode ‘awsvpc’.")
	}
	if err := fargateSize(td); err != nil {
		return err
	}
	if err := fargateTaskFields(td); err != nil {
		return err
	}
	for i := range td.ContainerDefinitions {
		if err := fargateContainer(&td.ContainerDefinitions[i], td.ExecutionRoleArn != ""); err != nil {
			return err
		}
	}
	return nil
}

func fargateSize(td *TaskDefinition) error {
	if td.Cpu == "" {
		return clientFail("Fargate requires that 'cpu' be defined at the task level.")
	}
	if td.Memory == "" {
		return clientFail("Fargate requires that 'memory' be defined at the task level.")
	}
	cpu, _ := strconv.ParseInt(td.Cpu, 10, 64)
	mem, _ := strconv.ParseInt(td.Memory, 10, 64)
	if !FargateMemoryValid(cpu, mem, isWindows(td)) {
		return clientFail("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, mem)
	}
	return nil
}

func fargateTaskFields(td *TaskDefinition) error {
	unsupported := func(what string) error {
		return clientFail("Tasks using the Fargate launch type do not support %s.", what)
	}
	switch {
	case td.IpcMode != "":
		return unsupported("ipcMode")
	case td.PidMode == PidModeHost:
		return unsupported("pidMode host")
	case len(td.PlacementConstraints) > 0:
		return unsupported("placementConstraints")
	case len(td.InferenceAccelerators) > 0:
		return unsupported("inferenceAccelerators")
	}
	for _, v := range td.Volumes {
		if v.Host != nil && v.Host.SourcePath != "" {
			return clientFail("Fargate compatible task definitions do not support sourcePath")
		}
		if v.DockerVolumeConfiguration != nil {
			return clientFail("Fargate compatible task definitions do not support dockerVolumeConfiguration")
		}
	}
	return nil
}

func fargateContainer(c *ContainerDefinition, execRole bool) error {
	unsupported := func(what string) error {
		return clientFail("Tasks using the Fargate launch type do not support %s.", what)
	}
	switch {
	case c.Privileged != nil && *c.Privileged:
		return unsupported("privileged containers")
	case len(c.Links) > 0:
		return unsupported("links")
	case len(c.DockerSecurityOptions) > 0:
		return unsupported("dockerSecurityOptions")
	case c.LinuxParameters != nil && len(c.LinuxParameters.Devices) > 0:
		return unsupported("devices")
	case slices.ContainsFunc(c.ResourceRequirements, func(r ResourceRequirement) bool { return r.Type == ResourceTypeGpu }):
		return unsupported("GPU resource requirements")
	}
	for _, t := range []struct {
		name string
		v    *int32
	}{{"stopTimeout", c.StopTimeout}, {"startTimeout", c.StartTimeout}} {
		if t.v != nil && (*t.v < 2 || *t.v > 120) {
			return clientFail("Invalid '%s' setting for container '%s'. Fargate supports values between 2 and 120 seconds.", t.name, c.Name)
		}
	}
	return fargateLogging(c, execRole)
}

func fargateLogging(c *ContainerDefinition, execRole bool) error {
	lc := c.LogConfiguration
	if lc == nil {
		return nil
	}
	if !slices.Contains(fargateLogDrivers, lc.LogDriver) {
		return clientFail("Tasks using the Fargate launch type do not support log driver %s.", lc.LogDriver)
	}
	if lc.LogDriver != LogDriverAwslogs {
		return nil
	}
	if !execRole {
		return clientFail("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
	}
	if missing := missingOptions(lc.Options, []string{"awslogs-stream-prefix"}); len(missing) > 0 {
		return clientFail("Log driver awslogs requires options: %s", strings.Join(missing, ", "))
	}
	return nil
}
