package sched

import (
	"fmt"
	"strings"
)

// Failure reasons, as ECS reports them in failures[].reason.
const (
	ReasonAgent      = "AGENT"
	ReasonAttribute  = "ATTRIBUTE"
	ReasonCPU        = "RESOURCE:CPU"
	ReasonMemory     = "RESOURCE:MEMORY"
	ReasonGPU        = "RESOURCE:GPU"
	ReasonPorts      = "RESOURCE:PORTS"
	ReasonPortsUDP   = "RESOURCE:PORTS_UDP"
	ReasonMemberOf   = "MemberOf placement constraint unsatisfied."
	ReasonDistinct   = "DistinctInstance placement constraint unsatisfied."
	ReasonMissing    = "MISSING"
	ReasonInactive   = "INACTIVE"
	ReasonLaunchType = "LAUNCH_TYPE" // never reported by RunTask: such nodes are out of scope
)

// A filter is one feasibility check of the pipeline. The pipeline of a
// task holds only the filters that apply to it.
type filter struct {
	reason string
	// static filters read only what a node is (not what it runs), so their
	// verdict holds until the node changes; decisions apply them once, via
	// the view's memo.
	static bool
	// scope filters decide whether a node is considered at all: RunTask
	// reports no failure for a node they reject.
	scope   bool
	check   func(c *call, s int32) bool
	explain func(c *call, s int32) string
}

// pipeline builds the filters that apply to t, in ECS's order.
func pipeline(t *TaskSpec) []filter {
	fs := []filter{statusFilter, launchTypeFilter, agentFilter}
	if len(t.Requires) > 0 {
		fs = append(fs, attributeFilter)
	}
	if t.CPU > 0 {
		fs = append(fs, cpuFilter)
	}
	if t.Memory > 0 {
		fs = append(fs, memoryFilter)
	}
	if t.GPU > 0 {
		fs = append(fs, gpuFilter)
	}
	if len(t.Ports) > 0 || t.DynamicPorts.TCP > 0 {
		fs = append(fs, portsFilter)
	}
	if len(t.PortsUDP) > 0 || t.DynamicPorts.UDP > 0 {
		fs = append(fs, portsUDPFilter)
	}
	for i, con := range t.Constraints {
		if con.Type == MemberOf {
			fs = append(fs, memberOfFilter(i, !con.Expr.Dynamic()))
		}
	}
	if t.distinct() {
		fs = append(fs, distinctFilter)
	}
	return fs
}

var statusFilter = filter{
	reason: ReasonInactive, static: true, scope: true,
	check: func(c *call, s int32) bool { return c.v.nodes[s].Status == StatusActive },
	explain: func(c *call, s int32) string {
		return fmt.Sprintf("The container instance is %s; tasks are placed only on ACTIVE instances.", c.v.nodes[s].Status)
	},
}

var launchTypeFilter = filter{
	reason: ReasonLaunchType, static: true, scope: true,
	check: func(c *call, s int32) bool { return c.v.nodes[s].serves(c.t.launchType()) },
	explain: func(c *call, s int32) string {
		if c.t.launchType() == LaunchTypeExternal {
			return "The container instance is not an external instance (" + ExternalAttribute + "); it takes no EXTERNAL tasks."
		}
		return "The container instance is an external instance; it takes EXTERNAL tasks only."
	},
}

var agentFilter = filter{
	reason: ReasonAgent, static: true,
	check: func(c *call, s int32) bool { return c.v.nodes[s].AgentConnected },
	explain: func(*call, int32) string {
		return "The container instance's agent is not connected."
	},
}

var attributeFilter = filter{
	reason: ReasonAttribute, static: true,
	check: func(c *call, s int32) bool { return missingAttribute(c.v.nodes[s], c.t.Requires) == nil },
	explain: func(c *call, s int32) string {
		r := missingAttribute(c.v.nodes[s], c.t.Requires)
		if r.Value != "" {
			return fmt.Sprintf("The task definition requires attribute %s=%s, which the container instance lacks.", r.Name, r.Value)
		}
		return fmt.Sprintf("The task definition requires attribute %s, which the container instance lacks.", r.Name)
	},
}

func missingAttribute(n *Node, reqs []Requirement) *Requirement {
	for i, r := range reqs {
		v, ok := n.Attributes[r.Name]
		if !ok || (r.Value != "" && v != r.Value) {
			return &reqs[i]
		}
	}
	return nil
}

var cpuFilter = filter{
	reason: ReasonCPU,
	check:  func(c *call, s int32) bool { return c.left(c.v.cpu[s], c.t.CPU, s) >= c.t.CPU },
	explain: func(c *call, s int32) string {
		return fmt.Sprintf("The task needs %d CPU units; %d remain on the container instance.", c.t.CPU, c.left(c.v.cpu[s], c.t.CPU, s))
	},
}

var memoryFilter = filter{
	reason: ReasonMemory,
	check:  func(c *call, s int32) bool { return c.left(c.v.mem[s], c.t.Memory, s) >= c.t.Memory },
	explain: func(c *call, s int32) string {
		return fmt.Sprintf("The task needs %d MiB of memory; %d MiB remain on the container instance.", c.t.Memory, c.left(c.v.mem[s], c.t.Memory, s))
	},
}

var gpuFilter = filter{
	reason: ReasonGPU,
	check:  func(c *call, s int32) bool { return c.left(c.v.gpu[s], c.t.GPU, s) >= c.t.GPU },
	explain: func(c *call, s int32) string {
		return fmt.Sprintf("The task needs %d GPUs; %d remain on the container instance.", c.t.GPU, c.left(c.v.gpu[s], c.t.GPU, s))
	},
}

var portsFilter = filter{
	reason: ReasonPorts,
	check: func(c *call, s int32) bool {
		return c.portsProblem(c.v.nodes[s].Ports, c.t.Ports, c.v.dynTCP[s], c.t.DynamicPorts.TCP, s) == ""
	},
	explain: func(c *call, s int32) string {
		return c.portsProblem(c.v.nodes[s].Ports, c.t.Ports, c.v.dynTCP[s], c.t.DynamicPorts.TCP, s) + " (TCP)"
	},
}

var portsUDPFilter = filter{
	reason: ReasonPortsUDP,
	check: func(c *call, s int32) bool {
		return c.portsProblem(c.v.nodes[s].PortsUDP, c.t.PortsUDP, c.v.dynUDP[s], c.t.DynamicPorts.UDP, s) == ""
	},
	explain: func(c *call, s int32) string {
		return c.portsProblem(c.v.nodes[s].PortsUDP, c.t.PortsUDP, c.v.dynUDP[s], c.t.DynamicPorts.UDP, s) + " (UDP)"
	},
}

// portsProblem says why the node cannot give the task its host ports ("":
// it can). A task placed on the node earlier in this decision already holds
// the same static ports.
func (c *call) portsProblem(used, want []uint16, dynFree int32, dynWant int, s int32) string {
	var busy []string
	for _, p := range want {
		if hasPort(used, p) || c.k[s] > 0 {
			busy = append(busy, fmt.Sprint(p))
		}
	}
	if len(busy) > 0 {
		return "Host port " + strings.Join(busy, ", ") + " is already in use or reserved on the container instance"
	}
	if left := int64(dynFree) - int64(c.k[s])*int64(dynWant); dynWant > 0 && left < int64(dynWant) {
		return fmt.Sprintf("The task needs %d ports of the dynamic host port range; %d are free", dynWant, max(left, 0))
	}
	return ""
}

func memberOfFilter(i int, static bool) filter {
	return filter{
		reason: ReasonMemberOf, static: static,
		check: func(c *call, s int32) bool {
			c.inst = instance{n: c.v.nodes[s], k: int(c.k[s]), group: c.t.Group}
			return c.t.Constraints[i].Expr.Eval(&c.inst)
		},
		explain: func(c *call, s int32) string {
			return fmt.Sprintf("The container instance does not satisfy memberOf(%s).", c.t.Constraints[i].Expr)
		},
	}
}

var distinctFilter = filter{
	reason: ReasonDistinct,
	check:  func(c *call, s int32) bool { return c.groupCount(s) == 0 },
	explain: func(c *call, s int32) string {
		return fmt.Sprintf("The container instance already runs %d tasks of group %s.", c.groupCount(s), c.t.Group)
	},
}
