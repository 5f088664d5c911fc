package sched

import (
	"iter"
	"maps"
	"slices"
	"time"
)

// Status of a container instance that can take tasks.
const StatusActive = "ACTIVE"

// ExternalAttribute marks an instance that runs EXTERNAL tasks (ECS
// Anywhere); the others run EC2 tasks.
const ExternalAttribute = "ecs.capability.external"

// Launch types a node can serve.
const (
	LaunchTypeEC2      = "EC2"
	LaunchTypeExternal = "EXTERNAL"
)

// Node is one container instance as the scheduler sees it. A Node is
// immutable once given to a ClusterView: a change is a new Node.
type Node struct {
	ID  string // container instance id
	ARN string
	// Order is the registration order (for example the record's creation
	// revision): failures are listed in it.
	Order int64
	// Rev identifies the version of the record the node was built from.
	// The scheduler does not interpret it; plans carry it so that a commit
	// can tell whether the node changed since.
	Rev int64

	Status         string // ACTIVE, DRAINING, INACTIVE, ...
	AgentConnected bool
	Attributes     map[string]string // name → value ("" for name-only)
	EC2InstanceID  string
	AgentVersion   string
	RegisteredAt   time.Time

	RunningTasks int // runningTasksCount
	// Remaining resources.
	CPU, Memory, GPU int64
	// Ports and PortsUDP are the static host ports in use or reserved,
	// sorted.
	Ports, PortsUDP []uint16
	// DynamicFree counts the host ports still free in the dynamic range.
	DynamicFree PortCounts
	// Groups counts the node's tasks (placed, not stopped) per task group.
	Groups map[string]int
}

// PortCounts counts host ports by protocol.
type PortCounts struct{ TCP, UDP int }

// serves reports whether the node runs tasks of launch type lt.
func (n *Node) serves(lt string) bool {
	_, external := n.Attributes[ExternalAttribute]
	return external == (lt == LaunchTypeExternal)
}

// sameStatic reports whether a and b agree on everything that does not
// change when tasks come and go: what static filters and attribute
// indexes read.
func sameStatic(a, b *Node) bool {
	return a.Status == b.Status && a.AgentConnected == b.AgentConnected && a.EC2InstanceID == b.EC2InstanceID &&
		a.AgentVersion == b.AgentVersion && a.RegisteredAt.Equal(b.RegisteredAt) && a.Order == b.Order &&
		a.ARN == b.ARN && maps.Equal(a.Attributes, b.Attributes)
}

func hasPort(sorted []uint16, p uint16) bool {
	_, found := slices.BinarySearch(sorted, p)
	return found
}

// instance is a node as the cluster query language sees it, with k more
// tasks of group placed on it by the decision under way.
type instance struct {
	n     *Node
	k     int
	group string
}

func (in *instance) Attribute(name string) (string, bool) {
	v, ok := in.n.Attributes[name]
	return v, ok
}
func (in *instance) EC2InstanceID() string   { return in.n.EC2InstanceID }
func (in *instance) AgentConnected() bool    { return in.n.AgentConnected }
func (in *instance) AgentVersion() string    { return in.n.AgentVersion }
func (in *instance) RegisteredAt() time.Time { return in.n.RegisteredAt }
func (in *instance) RunningTasksCount() int  { return in.n.RunningTasks + in.k }
func (in *instance) InGroup(g string) bool {
	return in.n.Groups[g] > 0 || (in.k > 0 && g == in.group)
}
func (in *instance) Groups() iter.Seq[string] {
	return func(yield func(string) bool) {
		for g, c := range in.n.Groups {
			if c > 0 && !yield(g) {
				return
			}
		}
		if in.k > 0 && in.n.Groups[in.group] == 0 {
			yield(in.group)
		}
	}
}
