package store

import (
	"fmt"

	"github.com/quayside/quayside/internal/model"
)

// Keys of the ECS state. Every record lives under /ecs/.
const (
	ClustersPrefix  = "/ecs/clusters/"
	TaskDefsPrefix  = "/ecs/taskdefs/"
	FamiliesPrefix  = "/ecs/families/"
	TasksPrefix     = "/ecs/tasks/"
	InstancesPrefix = "/ecs/instances/"
	ServicesPrefix  = "/ecs/services/"
	SettingsPrefix  = "/ecs/settings/"
	TokensPrefix    = "/ecs/tokens/"
)

func ClusterKey(name string) string { return ClustersPrefix + name }

// TaskDefKey sorts revisions numerically within a family.
func TaskDefKey(family string, revision int64) string {
	return fmt.Sprintf("%s%s/%010d", TaskDefsPrefix, family, revision)
}
func FamilyKey(family string) string        { return FamiliesPrefix + family }
func TaskKey(cluster, id string) string     { return TasksPrefix + cluster + "/" + id }
func InstanceKey(cluster, id string) string { return InstancesPrefix + cluster + "/" + id }
func ServiceKey(cluster, name string) string {
	return ServicesPrefix + cluster + "/" + name
}
func SettingKey(principal, name string) string { return SettingsPrefix + principal + "/" + name }

// TaskDefinitionRecord is a stored task definition revision and its tags
// (which ECS returns beside the definition, not inside it).
type TaskDefinitionRecord struct {
	model.TaskDefinition
	DefinitionTags []model.Tag `json:"qTags,omitzero"`
}

// FamilyRecord tracks a family's revision counter: revisions are never
// reused, even after deregistration or deletion. Active counts the ACTIVE
// revisions (ListTaskDefinitionFamilies status filter); Stored counts the
// revision records that still exist in any status — whoever purges a
// DELETE_IN_PROGRESS revision record must decrement it, and a family with
// no stored revision is no longer listed.
type FamilyRecord struct {
	Family       string `json:"family"`
	LastRevision int64  `json:"lastRevision"`
	Active       int64  `json:"active"`
	Stored       int64  `json:"stored"`
}

// TaskRecord is a stored task: what ECS shows plus what Quayside needs to
// account for it.
type TaskRecord struct {
	model.Task
	Cluster     string `json:"qCluster"`
	ID          string `json:"qId"`
	InstanceID  string `json:"qInstance,omitzero"`
	ServiceName string `json:"qService,omitzero"`
	Claim       Claim  `json:"qClaim,omitzero"`
	// ReportedSeq is the highest agent report sequence number applied to
	// the task (see agentproto.TaskReport.Seq).
	ReportedSeq uint64 `json:"qReportedSeq,omitzero"`
	// ServiceStop says why the service scheduler asked the task to stop
	// (one of the ServiceStop* values; empty when it did not), so that a
	// health-check failure can be told from a scale-in without reading
	// the stoppedReason.
	ServiceStop string `json:"qServiceStop,omitzero"`
	// LB is what the service scheduler did with the task's load balancer
	// targets (its service's loadBalancers); nil when it registered none.
	LB *TaskLB `json:"qLB,omitzero"`
}

// TaskLB is what the service scheduler did with a task's load balancer
// targets. It registers them once the task is RUNNING and deregisters them
// before it asks the task to stop (the data plane drains them for their
// groups' deregistration delay) or at once when the task stops on its own.
type TaskLB struct {
	// Targets are the targets it registered for the task.
	Targets []TaskTarget `json:"targets,omitzero"`
	// DeregisteredAt is when it deregistered them; they are not registered
	// again.
	DeregisteredAt model.Time `json:"deregisteredAt,omitzero"`
	// StopAt, when set, is a stop begun by deregistering the targets: the
	// task is asked to stop (ServiceStop StopKind, stoppedReason
	// StopReason) once its targets have drained, at StopAt (when the
	// longest deregistration delay is over) at the latest.
	StopAt     model.Time `json:"stopAt,omitzero"`
	StopKind   string     `json:"stopKind,omitzero"`
	StopReason string     `json:"stopReason,omitzero"`
}

// TaskTarget is a target registered for a task: an instance target (the
// container instance's EC2 instance ID and the host port bound to the
// container port) or an ip target (the task's private IP and the
// container port).
type TaskTarget struct {
	TargetGroupArn string `json:"tgArn"`
	TargetGroupID  string `json:"tgId"`
	ID             string `json:"id"`
	Port           int32  `json:"port"`
}

// Why the service scheduler stopped a task (TaskRecord.ServiceStop).
const (
	ServiceStopScaleIn    = "scale-in"   // more tasks than desired, or replaced by a newer deployment
	ServiceStopUnhealthy  = "unhealthy"  // failed its container health checks
	ServiceStopDraining   = "draining"   // its container instance is DRAINING
	ServiceStopLost       = "lost"       // its container instance's agent stopped answering
	ServiceStopIneligible = "ineligible" // DAEMON: its instance no longer meets the constraints
	ServiceStopDeleted    = "deleted"    // the service was deleted
)

// Claim is what a placed task holds on its container instance until it
// stops: CPU units, MiB, static host ports, GPUs (GPUIDs names them when the
// instance registered its GPUs by id) and how many host ports it takes from
// the dynamic range.
type Claim struct {
	CPU          int64      `json:"cpu,omitzero"`
	Memory       int64      `json:"memory,omitzero"`
	Ports        []string   `json:"ports,omitzero"`
	PortsUDP     []string   `json:"portsUdp,omitzero"`
	GPU          int64      `json:"gpu,omitzero"`
	GPUIDs       []string   `json:"gpuIds,omitzero"`
	DynamicPorts PortCounts `json:"dynamicPorts,omitzero"`
}

// PortCounts counts host ports by protocol.
type PortCounts struct {
	TCP int32 `json:"tcp,omitzero"`
	UDP int32 `json:"udp,omitzero"`
}

// InstanceRecord is a stored container instance.
type InstanceRecord struct {
	model.ContainerInstance
	Cluster string `json:"qCluster"`
	ID      string `json:"qId"`
	// Address is the node's IP address as its agent registered it, where
	// load balancers reach its tasks' host ports; empty for an instance
	// registered through the ECS API (load balancers use 127.0.0.1).
	Address string `json:"qAddress,omitzero"`
	// LastHeartbeatAt is when the node's agent was last heard from, as last
	// persisted (the server keeps fresher times in memory and writes this
	// only on connectivity changes and now and then). Zero: no agent has
	// spoken the agent protocol for the instance.
	LastHeartbeatAt model.Time `json:"qLastHeartbeatAt,omitzero"`
	// TaskGroups counts, per task group, the tasks on the instance that hold
	// a claim (placed and not yet stopped); DynamicPorts counts the host
	// ports they hold from the dynamic range. SaveTask keeps both; the
	// scheduler reads them for spread, distinctInstance and task:group.
	TaskGroups   map[string]int32 `json:"qGroups,omitzero"`
	DynamicPorts PortCounts       `json:"qDynamicPorts,omitzero"`
}

// ServiceRecord is a stored service. ServiceConnect is the service's
// Service Connect configuration (ECS shows it only inside deployments);
// ClientToken and RequestHash make a retried CreateService idempotent.
// InactiveAt is when the service was first seen INACTIVE (whoever makes it
// INACTIVE may set it; the retention controller sets it otherwise): it is
// purged a retention period later.
type ServiceRecord struct {
	model.Service
	Cluster        string                             `json:"qCluster"`
	ServiceConnect *model.ServiceConnectConfiguration `json:"qServiceConnect,omitzero"`
	ClientToken    string                             `json:"qClientToken,omitzero"`
	RequestHash    string                             `json:"qRequestHash,omitzero"`
	InactiveAt     model.Time                         `json:"qInactiveAt,omitzero"`
	// ThrottleFrom is when the service was last updated: the launch
	// throttle counts only the failures of tasks created since (an
	// UpdateService resets it, as in ECS).
	ThrottleFrom model.Time `json:"qThrottleFrom,omitzero"`
	// LastCompleted is the latest deployment that reached COMPLETED: the
	// one the deployment circuit breaker rolls back to.
	LastCompleted *model.Deployment `json:"qLastCompleted,omitzero"`
}

// ClientTokenRecord remembers what a RunTask clientToken produced, for
// idempotent retries.
type ClientTokenRecord struct {
	RequestHash string          `json:"requestHash"`
	TaskArns    []string        `json:"taskArns"`
	Failures    []model.Failure `json:"failures,omitzero"`
}

// RunTaskTokenKey is where a RunTask clientToken is remembered.
func RunTaskTokenKey(cluster, token string) string {
	return TokensPrefix + "runtask/" + cluster + "/" + token
}
