package store

import (
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/model"
)

// ClaimOf is what one task of definition td holds on its container instance
// when it runs in network mode mode with the RunTask/StartTask overrides ov
// (nil for none): the task-level cpu and memory when set (the overrides'
// first), else the sum over its containers (memoryReservation, else
// memory); their GPUs; the static host ports and how many dynamic ones it
// takes. RunTask, StartTask and the service scheduler all account tasks
// with it, so a node's books never depend on who placed the task.
func ClaimOf(td *model.TaskDefinition, ov *model.TaskOverride, mode model.NetworkMode) Claim {
	var c Claim
	cpu, cpuSet := taskUnits(model.ParseTaskCPU, overrideOr(ov, func(o *model.TaskOverride) string { return o.Cpu }), td.Cpu)
	mem, memSet := taskUnits(model.ParseTaskMemory, overrideOr(ov, func(o *model.TaskOverride) string { return o.Memory }), td.Memory)
	for _, d := range td.ContainerDefinitions {
		d = model.ApplyContainerOverride(d, containerOverride(ov, d.Name))
		if !cpuSet {
			cpu += int64(d.Cpu)
		}
		if !memSet {
			mem += int64(firstSet(d.MemoryReservation, d.Memory))
		}
		c.GPU += GPUsOf(d.ResourceRequirements)
	}
	c.CPU, c.Memory = cpu, mem
	c.Ports, c.PortsUDP, c.DynamicPorts = hostPorts(td, mode)
	return c
}

func overrideOr(ov *model.TaskOverride, field func(*model.TaskOverride) string) string {
	if ov == nil {
		return ""
	}
	return field(ov)
}

func containerOverride(ov *model.TaskOverride, name string) *model.ContainerOverride {
	if ov == nil {
		return nil
	}
	for i := range ov.ContainerOverrides {
		if ov.ContainerOverrides[i].Name == name {
			return &ov.ContainerOverrides[i]
		}
	}
	return nil
}

// taskUnits reads the first non-empty of the values with parse; ok is
// false when none is set (or it does not parse: registration and RunTask
// have refused such values already).
func taskUnits(parse func(string) (int64, error), values ...string) (int64, bool) {
	for _, v := range values {
		if v != "" {
			n, err := parse(v)
			return n, err == nil
		}
	}
	return 0, false
}

func firstSet(ps ...*int32) int32 {
	for _, p := range ps {
		if p != nil {
			return *p
		}
	}
	return 0
}

// GPUsOf counts the GPUs resource requirements ask for.
func GPUsOf(rr []model.ResourceRequirement) int64 {
	var n int64
	for _, r := range rr {
		if r.Type == model.ResourceTypeGpu {
			v, _ := strconv.ParseInt(r.Value, 10, 64)
			n += v
		}
	}
	return n
}

// hostPorts lists the static host ports the task's containers bind and
// counts the ones Docker assigns from the dynamic range (bridge mode
// without a hostPort). awsvpc and none hold no host port.
func hostPorts(td *model.TaskDefinition, mode model.NetworkMode) (tcp, udp []string, dynamic PortCounts) {
	if mode != model.NetworkModeBridge && mode != model.NetworkModeHost {
		return nil, nil, dynamic
	}
	for _, d := range td.ContainerDefinitions {
		for _, pm := range d.PortMappings {
			isUDP := pm.Protocol == model.TransportProtocolUdp
			hp := firstSet(pm.HostPort)
			if mode == model.NetworkModeHost && hp == 0 {
				hp = firstSet(pm.ContainerPort)
			}
			switch {
			case hp > 0 && isUDP:
				udp = append(udp, strconv.Itoa(int(hp)))
			case hp > 0:
				tcp = append(tcp, strconv.Itoa(int(hp)))
			case mode == model.NetworkModeBridge && isUDP:
				dynamic.UDP += portCount(pm)
			case mode == model.NetworkModeBridge:
				dynamic.TCP += portCount(pm)
			}
		}
	}
	return tcp, udp, dynamic
}

// portCount is how many ports a mapping binds: one, or its
// containerPortRange ("8000-8010").
func portCount(pm model.PortMapping) int32 {
	lo, hi, ok := strings.Cut(pm.ContainerPortRange, "-")
	if !ok {
		return 1
	}
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if errA != nil || errB != nil || b < a {
		return 1
	}
	return int32(b - a + 1)
}
