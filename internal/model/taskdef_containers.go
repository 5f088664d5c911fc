package model

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	imageRepoRE   = regexp.MustCompile(`^[A-Za-z0-9._\-/:#]+$`)
	imageDigestRE = regexp.MustCompile(`^sha256:[A-Fa-f0-9]{64}$`)
)

// Health check ranges and defaults (seconds, except retries).
const (
	DefaultHealthCheckInterval = 30
	DefaultHealthCheckTimeout  = 5
	DefaultHealthCheckRetries  = 3
)

// containerCheck checks, and may normalise, one container definition.
type containerCheck func(c *ContainerDefinition, tc *taskCtx) error

// containerChecks run in order on every container; the first failure is the
// answer.
var containerChecks = []containerCheck{
	checkContainerName, checkImage, checkContainerCPU, checkContainerMemory, checkTimeouts,
	normalisePortMappings, checkNetworkOnlyFields, checkMountPoints, checkEnvironment,
	checkLogConfiguration, checkUlimits, normaliseHealthCheck, checkDockerLabels,
	checkEnvironmentFiles, checkRestartPolicy, checkResourceRequirements, checkDependencyConditions,
}

// containerDefinitions checks each container, then the rules that involve
// several containers, and returns the containers with defaults filled in.
func containerDefinitions(in []ContainerDefinition, tc *taskCtx) ([]ContainerDefinition, error) {
	switch {
	case len(in) == 0:
		return nil, clientFail("Container list cannot be empty.")
	case len(in) > MaxContainersPerTaskDefinition:
		return nil, clientFail("Too many containers.")
	}
	out := make([]ContainerDefinition, 0, len(in))
	seen := map[string]bool{}
	for _, c := range in {
		for _, check := range containerChecks {
			if err := check(&c, tc); err != nil {
				return nil, err
			}
		}
		if seen[c.Name] {
			return nil, clientFail("Duplicate container name '%s'. Container names must be unique within a task definition.", c.Name)
		}
		seen[c.Name] = true
		out = append(out, withContainerDefaults(c))
	}
	for _, check := range []func([]ContainerDefinition, *taskCtx) error{
		checkTaskResources, checkTaskPorts, checkLinks, checkVolumesFrom, checkDependencies, checkEssential,
	} {
		if err := check(out, tc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// withContainerDefaults fills in what ECS returns for members left out:
// essential true and empty lists.
func withContainerDefaults(c ContainerDefinition) ContainerDefinition {
	c.Essential = boolOr(c.Essential, true)
	c.PortMappings = nonNilSlice(c.PortMappings)
	c.Environment = nonNilSlice(c.Environment)
	c.MountPoints = nonNilSlice(c.MountPoints)
	c.VolumesFrom = nonNilSlice(c.VolumesFrom)
	c.SystemControls = nonNilSlice(c.SystemControls)
	return c
}

func checkContainerName(c *ContainerDefinition, _ *taskCtx) error {
	switch {
	case c.Name == "":
		return clientFail("Container.name should not be null or empty.")
	case len(c.Name) > 255:
		return clientFail("Container.name should be 255 characters or less.")
	case !tdNameRE.MatchString(c.Name):
		return clientFail("Container.name contains invalid characters.")
	}
	return nil
}

// checkImage applies the image reference rules: at most 255 characters
// (before the "@" of a digest reference), and only sha256 digests.
func checkImage(c *ContainerDefinition, _ *taskCtx) error {
	if strings.TrimSpace(c.Image) == "" {
		return clientFail("Container.image should not be null or empty.")
	}
	repo, digest, hasDigest := strings.Cut(c.Image, "@")
	if hasDigest && !imageDigestRE.MatchString(digest) {
		return clientFail("Container.image digest is invalid. Only sha256 digests of 64 hexadecimal characters are supported.")
	}
	if len(repo) > 255 {
		return clientFail("Container.image repository should be 255 characters or less.")
	}
	if !imageRepoRE.MatchString(repo) {
		return clientFail("Container.image contains invalid characters.")
	}
	return nil
}

func checkContainerCPU(c *ContainerDefinition, _ *taskCtx) error {
	if c.Cpu < 0 {
		return clientFail("Invalid 'cpu' setting for container '%s'.", c.Name)
	}
	return nil
}

func checkTimeouts(c *ContainerDefinition, _ *taskCtx) error {
	for _, t := range []struct {
		name string
		v    *int32
	}{{"startTimeout", c.StartTimeout}, {"stopTimeout", c.StopTimeout}} {
		if t.v != nil && *t.v < 0 {
			return clientFail("Invalid '%s' setting for container '%s'.", t.name, c.Name)
		}
	}
	return nil
}

// checkContainerMemory applies the per-container memory rules; the sums
// are checked by checkTaskResources.
func checkContainerMemory(c *ContainerDefinition, tc *taskCtx) error {
	if c.Memory == nil && c.MemoryReservation == nil && tc.memory == 0 {
		return clientFail("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
	}
	if c.Memory != nil && *c.Memory < MinContainerMemoryMiB {
		return clientFail("Invalid 'memory' setting for container '%s'. The minimum is %d MiB.", c.Name, MinContainerMemoryMiB)
	}
	if c.MemoryReservation != nil && *c.MemoryReservation < MinContainerMemoryMiB {
		return clientFail("Invalid 'memoryReservation' setting for container '%s'. The minimum is %d MiB.", c.Name, MinContainerMemoryMiB)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.Memory < *c.MemoryReservation {
		return clientFail("Invalid setting for container '%s'. 'memory' must be greater than or equal to 'memoryReservation'.", c.Name)
	}
	if c.Memory != nil && tc.memory > 0 && int64(*c.Memory) > tc.memory {
		return clientFail("The 'memory' setting for container '%s' is greater than for the task.", c.Name)
	}
	return nil
}

// reservedMemory is what a container reserves: memoryReservation, else
// memory, else nothing.
func reservedMemory(c *ContainerDefinition) int64 {
	switch {
	case c.MemoryReservation != nil:
		return int64(*c.MemoryReservation)
	case c.Memory != nil:
		return int64(*c.Memory)
	}
	return 0
}

// checkTaskResources: the containers together may not ask for more than the
// task-level cpu and memory.
func checkTaskResources(cs []ContainerDefinition, tc *taskCtx) error {
	var cpu, mem int64
	for i := range cs {
		cpu += int64(cs[i].Cpu)
		mem += reservedMemory(&cs[i])
	}
	if tc.cpu > 0 && cpu > tc.cpu {
		return clientFail("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
	if tc.memory > 0 && mem > tc.memory {
		return clientFail("The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.")
	}
	return nil
}

// checkNetworkOnlyFields rejects container settings the network mode does
// not support.
func checkNetworkOnlyFields(c *ContainerDefinition, tc *taskCtx) error {
	if tc.mode != NetworkModeAwsvpc {
		return nil
	}
	if c.Hostname != "" {
		return clientFail("hostname is not supported on container when networkMode=awsvpc.")
	}
	if len(c.ExtraHosts) > 0 {
		return clientFail("extraHosts is not supported on container when networkMode=awsvpc.")
	}
	return nil
}

func checkMountPoints(c *ContainerDefinition, tc *taskCtx) error {
	for _, mp := range c.MountPoints {
		if !tc.volumes[mp.SourceVolume] {
			name := mp.SourceVolume
			if name == "" {
				name = "null"
			}
			return clientFail("Unknown volume '%s'.", name)
		}
		if mp.ContainerPath == "" {
			return clientFail("Invalid 'containerPath' setting for container '%s'. A mount point needs a container path.", c.Name)
		}
	}
	return nil
}

func checkEnvironment(c *ContainerDefinition, _ *taskCtx) error {
	for _, kv := range c.Environment {
		if kv.Name == "" || strings.ContainsAny(kv.Name, "=\x00") {
			return clientFail("Invalid environment variable name '%s' for container '%s'.", kv.Name, c.Name)
		}
	}
	return nil
}

var awslogsRequired = []string{"awslogs-region", "awslogs-group"}

func checkLogConfiguration(c *ContainerDefinition, tc *taskCtx) error {
	lc := c.LogConfiguration
	if lc == nil {
		return nil
	}
	switch lc.LogDriver {
	case LogDriverJsonFile, LogDriverSyslog, LogDriverJournald, LogDriverGelf, LogDriverFluentd,
		LogDriverAwslogs, LogDriverSplunk, LogDriverAwsfirelens:
	default:
		return clientFail("Log driver '%s' is not supported. Valid values are json-file, syslog, journald, gelf, fluentd, awslogs, splunk and awsfirelens.", lc.LogDriver)
	}
	if lc.LogDriver == LogDriverAwslogs {
		if missing := missingOptions(lc.Options, awslogsRequired); len(missing) > 0 {
			return clientFail("Log driver awslogs requires options: %s", strings.Join(missing, ", "))
		}
	}
	return nil
}

func missingOptions(opts map[string]string, want []string) []string {
	var missing []string
	for _, k := range want {
		if strings.TrimSpace(opts[k]) == "" {
			missing = append(missing, k)
		}
	}
	return missing
}

var ulimitNames = []UlimitName{
	UlimitNameCore, UlimitNameCpu, UlimitNameData, UlimitNameFsize, UlimitNameLocks, UlimitNameMemlock,
	UlimitNameMsgqueue, UlimitNameNice, UlimitNameNofile, UlimitNameNproc, UlimitNameRss, UlimitNameRtprio,
	UlimitNameRttime, UlimitNameSigpending, UlimitNameStack,
}

func checkUlimits(c *ContainerDefinition, _ *taskCtx) error {
	seen := map[UlimitName]bool{}
	for _, u := range c.Ulimits {
		if !slices.Contains(ulimitNames, u.Name) {
			return clientFail("Invalid ulimit name '%s' for container '%s'.", u.Name, c.Name)
		}
		if seen[u.Name] {
			return clientFail("Duplicate ulimit '%s' for container '%s'.", u.Name, c.Name)
		}
		seen[u.Name] = true
		if u.SoftLimit > u.HardLimit {
			return clientFail("Invalid ulimit '%s' for container '%s'. The softLimit cannot be greater than the hardLimit.", u.Name, c.Name)
		}
	}
	return nil
}

// normaliseHealthCheck checks the health check command and ranges and fills
// in the defaults (interval 30, timeout 5, retries 3; startPeriod off).
func normaliseHealthCheck(c *ContainerDefinition, _ *taskCtx) error {
	if c.HealthCheck == nil {
		return nil
	}
	hc := *c.HealthCheck
	cmd := hc.Command
	if len(cmd) < 2 || (cmd[0] != "CMD" && cmd[0] != "CMD-SHELL") || strings.TrimSpace(strings.Join(cmd[1:], "")) == "" {
		return clientFail("Invalid 'healthCheck' setting for container '%s'. The command must start with CMD or CMD-SHELL followed by the command to run.", c.Name)
	}
	for _, r := range []struct {
		field    string
		v        **int32
		lo, hi   int32
		def      int32
		optional bool
	}{
		{"interval", &hc.Interval, 5, 300, DefaultHealthCheckInterval, false},
		{"timeout", &hc.Timeout, 2, 60, DefaultHealthCheckTimeout, false},
		{"retries", &hc.Retries, 1, 10, DefaultHealthCheckRetries, false},
		{"startPeriod", &hc.StartPeriod, 0, 300, 0, true},
	} {
		if *r.v == nil {
			if !r.optional {
				*r.v = int32Ptr(r.def)
			}
			continue
		}
		if v := **r.v; v < r.lo || v > r.hi {
			return clientFail("Invalid 'healthCheck' setting for container '%s'. The %s must be between %d and %d.", c.Name, r.field, r.lo, r.hi)
		}
	}
	c.HealthCheck = &hc
	return nil
}

func checkDockerLabels(c *ContainerDefinition, _ *taskCtx) error {
	for k := range c.DockerLabels {
		if k == "" {
			return clientFail("Invalid 'dockerLabels' setting for container '%s'. Label keys cannot be empty.", c.Name)
		}
	}
	return nil
}

func checkEnvironmentFiles(c *ContainerDefinition, _ *taskCtx) error {
	if len(c.EnvironmentFiles) > 10 {
		return clientFail("Invalid 'environmentFiles' setting for container '%s'. At most 10 environment files are allowed.", c.Name)
	}
	for _, f := range c.EnvironmentFiles {
		if f.Type != EnvironmentFileTypeS3 || !strings.HasPrefix(f.Value, "arn:") || !strings.HasSuffix(f.Value, ".env") {
			return clientFail("Invalid 'environmentFiles' setting for container '%s'. Each file must be of type s3 and name an S3 object ARN with a .env extension.", c.Name)
		}
	}
	return nil
}

func checkRestartPolicy(c *ContainerDefinition, _ *taskCtx) error {
	rp := c.RestartPolicy
	if rp == nil {
		return nil
	}
	if rp.Enabled == nil {
		return clientFail("Invalid 'restartPolicy' setting for container '%s'. 'enabled' must be specified.", c.Name)
	}
	if len(rp.IgnoredExitCodes) > 50 {
		return clientFail("Invalid 'restartPolicy' setting for container '%s'. At most 50 ignored exit codes are allowed.", c.Name)
	}
	if p := rp.RestartAttemptPeriod; p != nil && (*p < 60 || *p > 1800) {
		return clientFail("Invalid 'restartPolicy' setting for container '%s'. The restartAttemptPeriod must be between 60 and 1800 seconds.", c.Name)
	}
	return nil
}

func checkResourceRequirements(c *ContainerDefinition, _ *taskCtx) error {
	for _, r := range c.ResourceRequirements {
		switch r.Type {
		case ResourceTypeGpu:
			if n, err := strconv.Atoi(r.Value); err != nil || n < 1 {
				return clientFail("Invalid 'resourceRequirements' setting for container '%s'. The GPU value must be a positive integer.", c.Name)
			}
		case ResourceTypeInferenceAccelerator:
			if r.Value == "" {
				return clientFail("Invalid 'resourceRequirements' setting for container '%s'. The InferenceAccelerator value must name a device.", c.Name)
			}
		default:
			return clientFail("Invalid 'resourceRequirements' setting for container '%s'. Unknown type '%s'.", c.Name, r.Type)
		}
	}
	return nil
}
