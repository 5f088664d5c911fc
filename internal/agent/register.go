package agent

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

const (
	capLegacy = "com.amazonaws.ecs.capability."
	capNew    = "ecs.capability."
)

// loggingDrivers are the drivers tasks may ask for. awslogs and
// awsfirelens log with json-file on this node until CloudWatch Logs exists.
var loggingDrivers = []string{"json-file", "syslog", "journald", "gelf", "fluentd", "none", "awslogs"}

// capabilities are what this agent supports of ECS's capability
// attributes (name only). Task and execution roles are accepted but not yet
// served to containers.
var capabilities = []string{
	capLegacy + "privileged-container",
	capLegacy + "ecr-auth",
	capLegacy + "task-iam-role",
	capLegacy + "task-iam-role-network-host",
	capNew + "container-health-check",
	capNew + "container-ordering",
	capNew + "task-cpu-mem-limit",
	capNew + "execution-role-awslogs",
	capNew + "execution-role-ecr-pull",
	capNew + "docker-plugin.local",
	capNew + "network.container-port-range",
}

// registerRequest describes the node: resources from the engine (or the
// overrides), built-in, capability and custom attributes, and versions.
func (a *Agent) registerRequest(info runtime.Info, id identity) *agentproto.RegisterRequest {
	return &agentproto.RegisterRequest{
		Cluster:              a.cfg.Cluster,
		ContainerInstanceArn: id.ContainerInstanceArn,
		EC2InstanceID:        id.EC2InstanceID,
		Address:              a.address(),
		TotalResources:       a.resources(info),
		Attributes:           a.attributes(info),
		VersionInfo: model.VersionInfo{
			AgentVersion:  a.cfg.Version,
			DockerVersion: "DockerVersion: " + info.EngineVersion,
		},
	}
}

// address is the configured node address, or else the local address of
// the route to the control plane (found without sending anything).
func (a *Agent) address() string {
	if a.cfg.Address != "" {
		return a.cfg.Address
	}
	u, err := url.Parse(a.cfg.Server)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	c, err := net.Dial("udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return ""
	}
	defer c.Close()
	if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return ua.IP.String()
	}
	return ""
}

func (a *Agent) resources(info runtime.Info) []model.Resource {
	cpu := a.cfg.CPU
	if cpu == 0 {
		cpu = int64(info.CPUs) * 1024
	}
	mem := a.cfg.MemoryMiB
	if mem == 0 {
		mem = info.MemoryBytes >> 20
	}
	if a.cfg.ReservedMemoryMiB > 0 {
		mem = max(mem-a.cfg.ReservedMemoryMiB, 0)
	}
	return []model.Resource{
		model.IntResource(model.ResourceCPU, cpu),
		model.IntResource(model.ResourceMemory, mem),
		model.SetResource(model.ResourcePorts, append(slices.Clone(model.DefaultReservedPorts), portStrings(a.cfg.ReservedPorts)...)),
		model.SetResource(model.ResourcePortsUDP, portStrings(a.cfg.ReservedPortsUDP)),
	}
}

func portStrings(ports []int) []string {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		out = append(out, strconv.Itoa(p))
	}
	return out
}

func (a *Agent) attributes(info runtime.Info) []model.Attribute {
	attrs := []model.Attribute{
		{Name: "ecs.os-type", Value: cmpOr(info.OS, "linux")},
		{Name: "ecs.os-family", Value: "LINUX"},
		{Name: "ecs.cpu-architecture", Value: cmpOr(info.Arch, "x86_64")},
		{Name: "ecs.availability-zone", Value: a.cfg.AvailabilityZone},
		{Name: "ecs.instance-type", Value: a.cfg.InstanceType},
	}
	names := slices.Clone(capabilities)
	for _, v := range dockerAPIVersions(info.APIVersion) {
		names = append(names, capLegacy+"docker-remote-api."+v)
	}
	for _, d := range loggingDrivers {
		names = append(names, capLegacy+"logging-driver."+d)
	}
	if a.cfg.PauseImage != "" {
		names = append(names, capNew+"task-eni")
	}
	for _, n := range names {
		attrs = append(attrs, model.Attribute{Name: n})
	}
	for _, k := range slices.Sorted(maps.Keys(a.cfg.Attributes)) {
		attrs = append(attrs, model.Attribute{Name: k, Value: a.cfg.Attributes[k]})
	}
	return attrs
}

// dockerAPIVersions lists 1.17 up to the engine's API version.
func dockerAPIVersions(api string) []string {
	top := 41
	if minor, ok := strings.CutPrefix(api, "1."); ok {
		if n, err := strconv.Atoi(minor); err == nil && n >= 17 {
			top = n
		}
	}
	out := make([]string, 0, top-16)
	for v := 17; v <= top; v++ {
		out = append(out, fmt.Sprintf("1.%d", v))
	}
	return out
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// newEC2InstanceID makes up a stable-looking instance id: "i-" and 17 hex
// digits.
func newEC2InstanceID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "i-" + hex.EncodeToString(b)[:17]
}
