package model

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var portNameRE = regexp.MustCompile(`^[a-z0-9_][a-z0-9_-]{0,63}$`)

// MaxPortRangesPerContainer is how many containerPortRange mappings one
// container may have.
const MaxPortRangesPerContainer = 100

// portSpan is the container ports one mapping covers.
type portSpan struct {
	lo, hi int32
	proto  TransportProtocol
}

// normalisePortMappings checks a container's port mappings against the
// network mode and fills in protocol (tcp) and hostPort: equal to the
// container port under awsvpc and host, 0 (dynamic) under bridge.
func normalisePortMappings(c *ContainerDefinition, tc *taskCtx) error {
	if len(c.PortMappings) == 0 {
		return nil
	}
	if tc.mode == NetworkModeNone {
		return clientFail("Port mappings are not supported when networkMode=none.")
	}
	pms := slices.Clone(c.PortMappings)
	var spans []portSpan
	ranges := 0
	for i := range pms {
		pm := &pms[i]
		span, err := normalisePortMapping(pm, c.Name, tc)
		if err != nil {
			return err
		}
		if pm.ContainerPortRange != "" {
			ranges++
		}
		if err := checkSpanOverlap(spans, span, c.Name); err != nil {
			return err
		}
		spans = append(spans, span)
	}
	if ranges > MaxPortRangesPerContainer {
		return clientFail("Invalid 'containerPortRange' setting for container '%s'. At most %d port ranges are allowed per container.", c.Name, MaxPortRangesPerContainer)
	}
	c.PortMappings = pms
	return nil
}

func normalisePortMapping(pm *PortMapping, container string, tc *taskCtx) (portSpan, error) {
	switch pm.Protocol {
	case "":
		pm.Protocol = TransportProtocolTcp
	case TransportProtocolTcp, TransportProtocolUdp:
	default:
		return portSpan{}, clientFail("Invalid 'protocol' setting for container '%s'. Valid values are tcp and udp.", container)
	}
	if pm.Name != "" && !portNameRE.MatchString(pm.Name) {
		return portSpan{}, clientFail("Invalid port mapping name '%s' for container '%s'. Names are up to 64 lowercase letters, numbers, underscores and hyphens, and cannot start with a hyphen.", pm.Name, container)
	}
	if pm.ContainerPortRange != "" {
		return portRangeSpan(pm, container, tc)
	}
	if pm.ContainerPort == nil || *pm.ContainerPort < 1 || *pm.ContainerPort > 65535 {
		return portSpan{}, clientFail("Invalid 'containerPort' setting for container '%s'.", container)
	}
	if err := normaliseHostPort(pm, container, tc.mode); err != nil {
		return portSpan{}, err
	}
	return portSpan{lo: *pm.ContainerPort, hi: *pm.ContainerPort, proto: pm.Protocol}, nil
}

func normaliseHostPort(pm *PortMapping, container string, mode NetworkMode) error {
	cp := *pm.ContainerPort
	if mode == NetworkModeAwsvpc || mode == NetworkModeHost {
		if pm.HostPort != nil && *pm.HostPort != 0 && *pm.HostPort != cp {
			return clientFail("When networkMode=%s, the host ports and container ports in port mappings must match.", mode)
		}
		pm.HostPort = int32Ptr(cp)
		return nil
	}
	if pm.HostPort == nil {
		pm.HostPort = int32Ptr(0) // dynamic
		return nil
	}
	if *pm.HostPort < 0 || *pm.HostPort > 65535 {
		return clientFail("Invalid 'hostPort' setting for container '%s'.", container)
	}
	return nil
}

// portRangeSpan checks a containerPortRange mapping ("start-end"), which
// needs bridge or awsvpc mode and no hostPort.
func portRangeSpan(pm *PortMapping, container string, tc *taskCtx) (portSpan, error) {
	bad := clientFail("Invalid 'containerPortRange' setting for container '%s'.", container)
	if tc.mode != NetworkModeBridge && tc.mode != NetworkModeAwsvpc {
		return portSpan{}, clientFail("containerPortRange is only supported when networkMode is bridge or awsvpc.")
	}
	if pm.HostPort != nil || pm.ContainerPort != nil {
		return portSpan{}, clientFail("Invalid 'containerPortRange' setting for container '%s'. Do not set containerPort or hostPort with a containerPortRange.", container)
	}
	a, b, ok := strings.Cut(pm.ContainerPortRange, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo >= hi {
		return portSpan{}, bad
	}
	return portSpan{lo: int32(lo), hi: int32(hi), proto: pm.Protocol}, nil
}

// checkSpanOverlap: a container port may appear in one mapping only, and
// never for both protocols.
func checkSpanOverlap(spans []portSpan, s portSpan, container string) error {
	for _, o := range spans {
		if s.lo > o.hi || o.lo > s.hi {
			continue
		}
		if s.lo == s.hi && o.lo == o.hi && s.proto != o.proto {
			return clientFail("Container '%s' cannot expose container port %d for both tcp and udp.", container, s.lo)
		}
		return clientFail("Duplicate port mapping for container port %d in container '%s'. A port can only be included in one port mapping per container.", max(s.lo, o.lo), container)
	}
	return nil
}

// checkTaskPorts: a static host port (per protocol) and a port mapping name
// may be used once per task definition.
func checkTaskPorts(cs []ContainerDefinition, _ *taskCtx) error {
	hostPorts := map[string]bool{}
	names := map[string]bool{}
	for _, c := range cs {
		for _, pm := range c.PortMappings {
			if pm.Name != "" {
				if names[pm.Name] {
					return clientFail("Port mapping name '%s' is used more than once in the task definition.", pm.Name)
				}
				names[pm.Name] = true
			}
			if pm.HostPort == nil || *pm.HostPort == 0 {
				continue
			}
			key := strconv.Itoa(int(*pm.HostPort)) + "/" + string(pm.Protocol)
			if hostPorts[key] {
				return clientFail("Host port %s is mapped more than once in the task definition.", key)
			}
			hostPorts[key] = true
		}
	}
	return nil
}

// checkLinks: links ("name" or "name:alias") work in bridge mode only and
// must name another container of the task.
func checkLinks(cs []ContainerDefinition, tc *taskCtx) error {
	for _, c := range cs {
		if len(c.Links) == 0 {
			continue
		}
		if tc.mode != NetworkModeBridge {
			return clientFail("Links are not supported when networkMode=%s.", tc.mode)
		}
		for _, l := range c.Links {
			name, alias, hasAlias := strings.Cut(l, ":")
			if name == c.Name || !hasContainer(cs, name) {
				return clientFail("Invalid 'links' setting for container '%s'. Container '%s' does not exist in the task definition.", c.Name, name)
			}
			if hasAlias && (alias == "" || len(alias) > 255 || !tdNameRE.MatchString(alias)) {
				return clientFail("Invalid 'links' setting for container '%s'. The alias '%s' contains invalid characters.", c.Name, alias)
			}
		}
	}
	return nil
}

func checkVolumesFrom(cs []ContainerDefinition, _ *taskCtx) error {
	for _, c := range cs {
		for _, vf := range c.VolumesFrom {
			if vf.SourceContainer == c.Name || !hasContainer(cs, vf.SourceContainer) {
				return clientFail("Invalid 'volumesFrom' setting for container '%s'. Container '%s' does not exist in the task definition.", c.Name, vf.SourceContainer)
			}
		}
	}
	return nil
}

func hasContainer(cs []ContainerDefinition, name string) bool {
	return slices.ContainsFunc(cs, func(c ContainerDefinition) bool { return c.Name == name })
}

func findContainer(cs []ContainerDefinition, name string) *ContainerDefinition {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}
