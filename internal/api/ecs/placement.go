package ecs

// Placement: a first-fit placer over a cluster's container instances. Each
// filter checks one instance against one need of the task and names the
// ECS failure reason when it rejects it; the first instance (in
// registration order) that passes every filter gets the task, and what the
// task claims is taken from the in-memory node at once so the next task of
// the same call sees less room. Strategies are validated but not applied
// yet: the scheduler replaces this placer.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// Failure reasons of placement as ECS reports them in failures[].reason.
const (
	reasonAgent     = "AGENT"
	reasonAttribute = "ATTRIBUTE"
	reasonCPU       = "RESOURCE:CPU"
	reasonMemory    = "RESOURCE:MEMORY"
	reasonPorts     = "RESOURCE:PORTS"
	reasonPortsUDP  = "RESOURCE:PORTS_UDP"
	reasonMemberOf  = "MemberOf placement constraint unsatisfied."
	reasonDistinct  = "DistinctInstance placement constraint unsatisfied."
	reasonMissing   = "MISSING"
	reasonInactive  = "INACTIVE"
)

// taskNeeds is what one task asks of an instance.
type taskNeeds struct {
	claim    store.Claim
	requires []model.Attribute // the definition's requiresAttributes
	memberOf []cqlExpr
	distinct bool
	group    string
}

// usesTaskGroups reports whether checking the needs requires knowing the
// groups of the tasks already on each instance.
func (n *taskNeeds) usesTaskGroups() bool {
	return n.distinct || slices.ContainsFunc(n.memberOf, cqlExpr.usesTaskGroups)
}

// placementNode is one candidate instance during a placement run: its
// record with the resources left, and the groups of its active tasks.
type placementNode struct {
	rec    *store.InstanceRecord
	groups map[string]bool
}

func (nd *placementNode) attribute(name string) string {
	for _, at := range nd.rec.Attributes {
		if at.Name == name {
			return at.Value
		}
	}
	return ""
}

func (nd *placementNode) hasAttribute(want model.Attribute) bool {
	return slices.ContainsFunc(nd.rec.Attributes, func(at model.Attribute) bool {
		return at.Name == want.Name && (want.Value == "" || at.Value == want.Value)
	})
}

// take records on the node that a task with needs n was placed on it.
func (nd *placementNode) take(n *taskNeeds) {
	nd.rec.RemainingResources = store.ApplyClaim(nd.rec.RemainingResources, n.claim, -1)
	if nd.groups == nil {
		nd.groups = map[string]bool{}
	}
	nd.groups[n.group] = true
}

// placementFilter checks one node for one need; ok=false rejects the node
// with reason.
type placementFilter struct {
	reason string
	ok     func(nd *placementNode, n *taskNeeds) bool
}

var placementFilters = []placementFilter{
	{reasonAgent, func(nd *placementNode, _ *taskNeeds) bool { return nd.rec.AgentConnected }},
	{reasonAttribute, func(nd *placementNode, n *taskNeeds) bool {
		return !slices.ContainsFunc(n.requires, func(at model.Attribute) bool { return !nd.hasAttribute(at) })
	}},
	{reasonCPU, func(nd *placementNode, n *taskNeeds) bool {
		return model.ResourceInt(nd.rec.RemainingResources, model.ResourceCPU) >= n.claim.CPU
	}},
	{reasonMemory, func(nd *placementNode, n *taskNeeds) bool {
		return model.ResourceInt(nd.rec.RemainingResources, model.ResourceMemory) >= n.claim.Memory
	}},
	{reasonPorts, func(nd *placementNode, n *taskNeeds) bool {
		return portsFree(model.ResourceSet(nd.rec.RemainingResources, model.ResourcePorts), n.claim.Ports)
	}},
	{reasonPortsUDP, func(nd *placementNode, n *taskNeeds) bool {
		return portsFree(model.ResourceSet(nd.rec.RemainingResources, model.ResourcePortsUDP), n.claim.PortsUDP)
	}},
	{reasonMemberOf, func(nd *placementNode, n *taskNeeds) bool {
		if len(n.memberOf) == 0 {
			return true
		}
		t := cqlTargetOf(nd.rec, nd.groups)
		return !slices.ContainsFunc(n.memberOf, func(e cqlExpr) bool { return !e.eval(t) })
	}},
	{reasonDistinct, func(nd *placementNode, n *taskNeeds) bool { return !n.distinct || !nd.groups[n.group] }},
}

func portsFree(used, want []string) bool {
	return !slices.ContainsFunc(want, func(p string) bool { return slices.Contains(used, p) })
}

// rejection is the reason nd cannot take a task with needs n, or "" if it
// can.
func rejection(nd *placementNode, n *taskNeeds) string {
	for _, f := range placementFilters {
		if !f.ok(nd, n) {
			return f.reason
		}
	}
	return ""
}

// placeFirstFit picks the first node that can take the task. When none
// can, it returns the failures: one per node, naming the node's ARN and the
// first filter that rejected it.
func placeFirstFit(nodes []*placementNode, n *taskNeeds) (*placementNode, []model.Failure) {
	var fails []model.Failure
	for _, nd := range nodes {
		r := rejection(nd, n)
		if r == "" {
			return nd, nil
		}
		fails = append(fails, model.Failure{Arn: nd.rec.ContainerInstanceArn, Reason: r})
	}
	return nil, fails
}

// loadPlacementNodes reads the ACTIVE instances of cluster that serve
// launch type lt, in registration order (the store revision that created
// each record). Instances advertising ecs.capability.external take
// EXTERNAL tasks only; the others EC2 tasks.
func loadPlacementNodes(tx store.ReadTx, cluster string, lt model.LaunchType, n *taskNeeds) ([]*placementNode, error) {
	var nodes []*placementNode
	var revs []int64
	err := tx.Scan(store.InstancesPrefix+cluster+"/", "", func(kv store.KV) (bool, error) {
		rec := new(store.InstanceRecord)
		if err := json.Unmarshal(kv.Value, rec); err != nil {
			return false, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		if rec.Status == model.StatusActive && servesLaunchType(rec, lt) {
			nodes = append(nodes, &placementNode{rec: rec})
			revs = append(revs, kv.CreateRev)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	order := make(map[*placementNode]int64, len(nodes))
	for i, nd := range nodes {
		order[nd] = revs[i]
	}
	slices.SortStableFunc(nodes, func(x, y *placementNode) int { return cmp.Compare(order[x], order[y]) })
	return nodes, fillTaskGroups(tx, cluster, nodes, n)
}

// fillTaskGroups sets each node's groups when the needs depend on them.
func fillTaskGroups(tx store.ReadTx, cluster string, nodes []*placementNode, n *taskNeeds) error {
	if !n.usesTaskGroups() || len(nodes) == 0 {
		return nil
	}
	groups, err := activeTaskGroups(tx, cluster)
	if err != nil {
		return err
	}
	for _, nd := range nodes {
		nd.groups = groups[nd.rec.ID]
	}
	return nil
}

func servesLaunchType(rec *store.InstanceRecord, lt model.LaunchType) bool {
	external := slices.ContainsFunc(rec.Attributes, func(at model.Attribute) bool { return at.Name == "ecs.capability.external" })
	return external == (lt == model.LaunchTypeExternal)
}

// failureSet collects placement failures of one call without repeats.
type failureSet struct {
	list []model.Failure
	seen map[model.Failure]bool
}

func (fs *failureSet) add(fails ...model.Failure) {
	if fs.seen == nil {
		fs.seen = map[model.Failure]bool{}
	}
	for _, f := range fails {
		if !fs.seen[f] {
			fs.seen[f] = true
			fs.list = append(fs.list, f)
		}
	}
}
