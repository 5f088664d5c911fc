package placement

import (
	"maps"
	"slices"
	"strconv"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/store"
)

// DynamicPortRange is the host port range Docker assigns dynamic ports
// from (the Linux ephemeral range, facts §5.7).
var DynamicPortRange = [2]int{32768, 60999}

// toNode is what the scheduler sees of an instance record stored with
// createRev and modRev.
func toNode(rec *store.InstanceRecord, createRev, modRev int64) *sched.Node {
	rem := rec.RemainingResources
	n := &sched.Node{
		ID: rec.ID, ARN: rec.ContainerInstanceArn, Order: createRev, Rev: modRev,
		Status: rec.Status, AgentConnected: rec.AgentConnected, EC2InstanceID: rec.Ec2InstanceId,
		RegisteredAt: rec.RegisteredAt.Time, RunningTasks: int(rec.RunningTasksCount),
		Attributes: make(map[string]string, len(rec.Attributes)),
		CPU:        model.ResourceInt(rem, model.ResourceCPU),
		Memory:     model.ResourceInt(rem, model.ResourceMemory),
		GPU:        gpusLeft(rem),
		Ports:      ports(model.ResourceSet(rem, model.ResourcePorts)),
		PortsUDP:   ports(model.ResourceSet(rem, model.ResourcePortsUDP)),
	}
	if rec.VersionInfo != nil {
		n.AgentVersion = rec.VersionInfo.AgentVersion
	}
	for _, at := range rec.Attributes {
		n.Attributes[at.Name] = at.Value
	}
	n.DynamicFree = sched.PortCounts{
		TCP: dynamicFree(n.Ports, int(rec.DynamicPorts.TCP)),
		UDP: dynamicFree(n.PortsUDP, int(rec.DynamicPorts.UDP)),
	}
	if len(rec.TaskGroups) > 0 {
		n.Groups = make(map[string]int, len(rec.TaskGroups))
		for g, c := range rec.TaskGroups {
			n.Groups[g] = int(c)
		}
	}
	return n
}

// gpusLeft counts the free GPUs: a STRINGSET of device ids or an INTEGER.
func gpusLeft(rs []model.Resource) int64 {
	for _, r := range rs {
		if r.Name == model.ResourceGPU {
			if r.Type == model.ResourceTypeStringSet {
				return int64(len(r.StringSetValue))
			}
			return model.ResourceInt(rs, model.ResourceGPU)
		}
	}
	return 0
}

func ports(set []string) []uint16 {
	out := make([]uint16, 0, len(set))
	for _, p := range set {
		if n, err := strconv.ParseUint(p, 10, 16); err == nil {
			out = append(out, uint16(n))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// dynamicFree is what is left of the dynamic range after the static ports
// inside it and the dynamic ports in use.
func dynamicFree(static []uint16, used int) int {
	free := DynamicPortRange[1] - DynamicPortRange[0] + 1 - used
	for _, p := range static {
		if int(p) >= DynamicPortRange[0] && int(p) <= DynamicPortRange[1] {
			free--
		}
	}
	return max(free, 0)
}

// working is a copy of a cached record that SaveNewTasks may update: the
// record's slices are replaced, never changed in place, except TaskGroups.
func working(rec *store.InstanceRecord) *store.InstanceRecord {
	cp := *rec
	cp.TaskGroups = maps.Clone(rec.TaskGroups)
	return &cp
}
