package model

import (
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/errs"
)

// Task definition limits (ECS service quotas and the API reference).
const (
	MaxContainersPerTaskDefinition = 10
	MaxTaskDefinitionBytes         = 64 * 1024
	MaxTaskPlacementConstraints    = 10
	MaxPlacementExpression         = 2000
	MinTaskCPU                     = 128
	MaxTaskCPU                     = 196608
	MinContainerMemoryMiB          = 6 // Docker 20.10 reserves at least 6 MiB per container
)

var (
	tdNameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	vcpuRE     = regexp.MustCompile(`(?i)^(\d*\.?\d+)\s*vcpu$`)
	gbRE       = regexp.MustCompile(`(?i)^(\d*\.?\d+)\s*gb$`)
	integerRE  = regexp.MustCompile(`^\d+$`)
	clientFail = func(format string, args ...any) error { return errs.New(errs.Client, format, args...) }
)

// EffectiveNetworkMode is the network mode tasks of td run with: the
// registered one, or bridge when none was given (ECS leaves networkMode out
// of the definition in that case).
func (td *TaskDefinition) EffectiveNetworkMode() NetworkMode {
	if td.NetworkMode == "" {
		return NetworkModeBridge
	}
	return td.NetworkMode
}

// ParseTaskCPU reads a task-level cpu value: an integer number of CPU units
// ("1024") or vCPUs ("1 vCPU", "0.5 vcpu"), which is converted to units.
func ParseTaskCPU(s string) (int64, error) {
	n, ok := parseUnits(s, vcpuRE)
	if !ok {
		return 0, clientFail("Invalid 'cpu' setting for task.")
	}
	return n, nil
}

// ParseTaskMemory reads a task-level memory value: an integer number of MiB
// ("1024") or GB ("1GB", "0.5 GB"), which is converted to MiB.
func ParseTaskMemory(s string) (int64, error) {
	n, ok := parseUnits(s, gbRE)
	if !ok {
		return 0, clientFail("Invalid 'memory' setting for task.")
	}
	return n, nil
}

// parseUnits reads a positive integer, or a decimal with the unit matched by
// unitRE times 1024; the result must be a whole number.
func parseUnits(s string, unitRE *regexp.Regexp) (int64, bool) {
	s = strings.TrimSpace(s)
	if integerRE.MatchString(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n > 0
	}
	m := unitRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	v := f * 1024
	if err != nil || v <= 0 || v != math.Trunc(v) || v > math.MaxInt32 {
		return 0, false
	}
	return int64(v), true
}

// NewTaskDefinition checks a RegisterTaskDefinition request the way ECS
// does and returns the definition it describes: cpu and memory normalised to
// integer strings, container defaults filled in, and the computed
// compatibilities and requiresAttributes set. The caller sets the identity
// and lifecycle fields (ARN, revision, status, registeredAt/By). Every
// client mistake is a ClientException. in is not modified.
func NewTaskDefinition(in *RegisterTaskDefinitionRequest) (*TaskDefinition, error) {
	if err := checkFamily(in.Family); err != nil {
		return nil, err
	}
	if err := checkDefinitionSize(in); err != nil {
		return nil, err
	}
	td, tc, err := taskLevel(in)
	if err != nil {
		return nil, err
	}
	if td.ContainerDefinitions, err = containerDefinitions(in.ContainerDefinitions, tc); err != nil {
		return nil, err
	}
	if err := checkCompatibilities(td); err != nil {
		return nil, err
	}
	td.Compatibilities = computeCompatibilities(td)
	td.RequiresAttributes = requiredAttributes(td)
	return td, nil
}

func checkFamily(f string) error {
	switch {
	case f == "":
		return clientFail("Family can not be blank.")
	case len(f) > 255:
		return clientFail("Family should be 255 characters or less.")
	case !tdNameRE.MatchString(f):
		return clientFail("Family contains invalid characters.")
	}
	return nil
}

func checkDefinitionSize(in *RegisterTaskDefinitionRequest) error {
	req := *in
	req.Tags = nil // tags are not part of the definition
	b, err := json.Marshal(&req)
	if err != nil {
		return err
	}
	if len(b) > MaxTaskDefinitionBytes {
		return clientFail("Task definition size of %d bytes exceeds the maximum of %d bytes.", len(b), MaxTaskDefinitionBytes)
	}
	return nil
}

// taskCtx is what the container checks need to know about the task.
type taskCtx struct {
	mode    NetworkMode // effective network mode
	cpu     int64       // task cpu units, 0 if unset
	memory  int64       // task MiB, 0 if unset
	volumes map[string]bool
}

// taskLevel checks and copies the task-level members of in.
func taskLevel(in *RegisterTaskDefinitionRequest) (*TaskDefinition, *taskCtx, error) {
	tc := &taskCtx{}
	td := &TaskDefinition{
		Family:                  in.Family,
		TaskRoleArn:             in.TaskRoleArn,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		NetworkMode:             in.NetworkMode,
		PidMode:                 in.PidMode,
		IpcMode:                 in.IpcMode,
		ProxyConfiguration:      in.ProxyConfiguration,
		InferenceAccelerators:   in.InferenceAccelerators,
		EphemeralStorage:        in.EphemeralStorage,
		RuntimePlatform:         in.RuntimePlatform,
		RequiresCompatibilities: slices.Clone(in.RequiresCompatibilities),
		PlacementConstraints:    nonNilSlice(slices.Clone(in.PlacementConstraints)),
		EnableFaultInjection:    boolOr(in.EnableFaultInjection, false),
	}
	if err := checkEnums(in); err != nil {
		return nil, nil, err
	}
	var err error
	if td.Cpu, tc.cpu, err = taskCPU(in.Cpu); err != nil {
		return nil, nil, err
	}
	if td.Memory, tc.memory, err = taskMemory(in.Memory); err != nil {
		return nil, nil, err
	}
	tc.mode = td.EffectiveNetworkMode()
	if err := checkPlacementConstraints(in.PlacementConstraints); err != nil {
		return nil, nil, err
	}
	if err := checkEphemeralStorage(in.EphemeralStorage); err != nil {
		return nil, nil, err
	}
	if td.Volumes, tc.volumes, err = taskVolumes(in.Volumes); err != nil {
		return nil, nil, err
	}
	if err := checkProxyConfiguration(in.ProxyConfiguration, in.ContainerDefinitions, tc.mode); err != nil {
		return nil, nil, err
	}
	return td, tc, nil
}

// checkEnums rejects values outside the task-level enums that the rest of
// the checks switch on.
func checkEnums(in *RegisterTaskDefinitionRequest) error {
	switch in.NetworkMode {
	case "", NetworkModeBridge, NetworkModeHost, NetworkModeAwsvpc, NetworkModeNone:
	default:
		return clientFail("Invalid networkMode '%s'. Valid values are bridge, host, awsvpc and none.", in.NetworkMode)
	}
	for _, c := range in.RequiresCompatibilities {
		switch c {
		case CompatibilityEc2, CompatibilityFargate, CompatibilityExternal, CompatibilityManagedInstances:
		default:
			return clientFail("Invalid requiresCompatibilities value '%s'.", c)
		}
	}
	switch in.PidMode {
	case "", PidModeHost, PidModeTask:
	default:
		return clientFail("Invalid pidMode '%s'.", in.PidMode)
	}
	switch in.IpcMode {
	case "", IpcModeHost, IpcModeTask, IpcModeNone:
	default:
		return clientFail("Invalid ipcMode '%s'.", in.IpcMode)
	}
	return nil
}

func taskCPU(s string) (string, int64, error) {
	if s == "" {
		return "", 0, nil
	}
	n, err := ParseTaskCPU(s)
	if err != nil {
		return "", 0, err
	}
	if n < MinTaskCPU || n > MaxTaskCPU {
		return "", 0, clientFail("Invalid 'cpu' setting for task.")
	}
	return strconv.FormatInt(n, 10), n, nil
}

func taskMemory(s string) (string, int64, error) {
	if s == "" {
		return "", 0, nil
	}
	n, err := ParseTaskMemory(s)
	if err != nil {
		return "", 0, err
	}
	if n < MinContainerMemoryMiB {
		return "", 0, clientFail("Invalid 'memory' setting for task.")
	}
	return strconv.FormatInt(n, 10), n, nil
}

func checkPlacementConstraints(pcs []TaskDefinitionPlacementConstraint) error {
	if len(pcs) > MaxTaskPlacementConstraints {
		return clientFail("Too many placement constraints. A task definition can have at most %d.", MaxTaskPlacementConstraints)
	}
	for _, pc := range pcs {
		if pc.Type != TaskDefinitionPlacementConstraintTypeMemberOf {
			return clientFail("Invalid placement constraint type '%s'. Task definitions only support memberOf.", pc.Type)
		}
		if strings.TrimSpace(pc.Expression) == "" || len(pc.Expression) > MaxPlacementExpression {
			return clientFail("Invalid placement constraint expression. A memberOf constraint needs an expression of at most %d characters.", MaxPlacementExpression)
		}
	}
	return nil
}

func checkEphemeralStorage(es *EphemeralStorage) error {
	if es != nil && (es.SizeInGiB < 21 || es.SizeInGiB > 200) {
		return clientFail("Invalid 'ephemeralStorage' setting for task. The size must be between 21 and 200 GiB.")
	}
	return nil
}

// checkProxyConfiguration checks the App Mesh proxy settings: awsvpc only, and
// the proxy must be one of the task's containers.
func checkProxyConfiguration(pc *ProxyConfiguration, containers []ContainerDefinition, mode NetworkMode) error {
	if pc == nil {
		return nil
	}
	if mode != NetworkModeAwsvpc {
		return clientFail("Proxy configuration is only supported when networkMode=awsvpc.")
	}
	if !slices.ContainsFunc(containers, func(c ContainerDefinition) bool { return c.Name == pc.ContainerName }) {
		return clientFail("The proxy configuration container '%s' does not exist in the task definition.", pc.ContainerName)
	}
	return nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func boolOr(p *bool, def bool) *bool {
	if p != nil {
		v := *p
		return &v
	}
	return &def
}

func int32Ptr(v int32) *int32 { return &v }
