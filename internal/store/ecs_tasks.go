package store

import (
	"errors"
	"fmt"
	"slices"

	"github.com/quayside/quayside/internal/model"
)

// SaveTask stores t and, in the same transaction, moves the counters and
// resources that depend on it: the cluster's running/pending task counts, the
// instance's task counts, and the instance's remaining CPU, memory and ports
// (a placed task holds its Claim until it is STOPPED). Every write of a task
// goes through here so the books always balance.
func SaveTask(tx Tx, t *TaskRecord) error {
	var prev TaskRecord
	_, had, err := GetJSON(tx, TaskKey(t.Cluster, t.ID), &prev)
	if err != nil {
		return err
	}
	var old *TaskRecord
	if had {
		old = &prev
	}
	t.Version++
	if err := adjustClusterTasks(tx, t.Cluster, old, t); err != nil {
		return err
	}
	if err := adjustInstance(tx, old, t); err != nil {
		return err
	}
	return PutJSON(tx, TaskKey(t.Cluster, t.ID), t)
}

// ErrTaskNotStopped is returned by DeleteTask for a task that has not
// stopped.
var ErrTaskNotStopped = errors.New("store: task has not stopped")

// DeleteTask removes a task record once the task has STOPPED (or gone on to
// DELETED). A stopped task counts in no cluster or instance counter and
// holds no claim, so removing it leaves the books as they are; a task that
// has not stopped is refused with ErrTaskNotStopped and nothing is
// written. Deleting an absent task is not an error.
func DeleteTask(tx Tx, cluster, id string) error {
	var t TaskRecord
	_, had, err := GetJSON(tx, TaskKey(cluster, id), &t)
	if err != nil || !had {
		return err
	}
	if !isStopped(t.LastStatus) {
		return fmt.Errorf("%w: %s is %s", ErrTaskNotStopped, id, t.LastStatus)
	}
	return tx.Delete(TaskKey(cluster, id))
}

type taskCounts struct{ running, pending int32 }

func clusterCounts(t *TaskRecord) taskCounts {
	if t == nil {
		return taskCounts{}
	}
	switch {
	case t.LastStatus == model.StatusRunning:
		return taskCounts{running: 1}
	case model.IsPendingStatus(t.LastStatus):
		return taskCounts{pending: 1}
	}
	return taskCounts{}
}

// instanceCounts follows the ECS definitions: runningTasksCount counts tasks
// whose desiredStatus is RUNNING (and that have not stopped), and
// pendingTasksCount those whose lastStatus is still before RUNNING.
func instanceCounts(t *TaskRecord) taskCounts {
	if t == nil || t.InstanceID == "" || isStopped(t.LastStatus) {
		return taskCounts{}
	}
	var c taskCounts
	if t.DesiredStatus == model.StatusRunning {
		c.running = 1
	}
	if model.IsPendingStatus(t.LastStatus) {
		c.pending = 1
	}
	return c
}

func holdsClaim(t *TaskRecord) bool {
	return t != nil && t.InstanceID != "" && !isStopped(t.LastStatus)
}

// isStopped reports whether a task in lastStatus s has stopped: STOPPED or
// the DELETED that may follow it (a stopped task never takes its claim
// back).
func isStopped(s string) bool {
	return model.TaskStatusRank(s) >= model.TaskStatusRank(model.StatusStopped)
}

func adjustClusterTasks(tx Tx, cluster string, old, cur *TaskRecord) error {
	a, b := clusterCounts(old), clusterCounts(cur)
	if a == b {
		return nil
	}
	var c model.Cluster
	_, ok, err := GetJSON(tx, ClusterKey(cluster), &c)
	if err != nil || !ok {
		return err
	}
	c.RunningTasksCount += b.running - a.running
	c.PendingTasksCount += b.pending - a.pending
	return PutJSON(tx, ClusterKey(cluster), &c)
}

func adjustInstance(tx Tx, old, cur *TaskRecord) error {
	if old != nil && old.InstanceID != "" && old.InstanceID != cur.InstanceID {
		return fmt.Errorf("store: task %s moved between instances", cur.ID)
	}
	if cur.InstanceID == "" {
		return nil
	}
	a, b := instanceCounts(old), instanceCounts(cur)
	hadClaim, hasClaim := holdsClaim(old), holdsClaim(cur)
	if a == b && hadClaim == hasClaim {
		return nil
	}
	key := InstanceKey(cur.Cluster, cur.InstanceID)
	var in InstanceRecord
	_, ok, err := GetJSON(tx, key, &in)
	if err != nil || !ok {
		return err
	}
	in.RunningTasksCount += b.running - a.running
	in.PendingTasksCount += b.pending - a.pending
	switch {
	case hasClaim && !hadClaim:
		in.moveClaim(cur, -1)
	case hadClaim && !hasClaim:
		in.moveClaim(cur, +1)
	}
	in.Version++
	return PutJSON(tx, key, &in)
}

// moveClaim takes t's claim from in (sign -1: t starts holding it) or gives
// it back (sign +1): remaining resources, dynamic ports and t's group count.
// It updates in.TaskGroups in place.
func (in *InstanceRecord) moveClaim(t *TaskRecord, sign int64) {
	in.RemainingResources = ApplyClaim(in.RemainingResources, t.Claim, sign)
	in.DynamicPorts.TCP -= int32(sign) * t.Claim.DynamicPorts.TCP
	in.DynamicPorts.UDP -= int32(sign) * t.Claim.DynamicPorts.UDP
	n := in.TaskGroups[t.Group] - int32(sign)
	switch {
	case n <= 0:
		delete(in.TaskGroups, t.Group)
	case in.TaskGroups == nil:
		in.TaskGroups = map[string]int32{t.Group: n}
	default:
		in.TaskGroups[t.Group] = n
	}
}

// ApplyClaim returns remaining resources after taking (sign -1) or giving
// back (sign +1) a claim. Taking a claim adds its static ports to the
// instance's used-port sets; giving it back removes them.
func ApplyClaim(rs []model.Resource, c Claim, sign int64) []model.Resource {
	cpu := model.ResourceInt(rs, model.ResourceCPU) + sign*c.CPU
	mem := model.ResourceInt(rs, model.ResourceMemory) + sign*c.Memory
	rs = model.WithResource(rs, model.IntResource(model.ResourceCPU, cpu))
	rs = model.WithResource(rs, model.IntResource(model.ResourceMemory, mem))
	rs = model.WithResource(rs, model.SetResource(model.ResourcePorts, movePorts(model.ResourceSet(rs, model.ResourcePorts), c.Ports, sign)))
	if len(c.PortsUDP) > 0 || model.ResourceSet(rs, model.ResourcePortsUDP) != nil {
		rs = model.WithResource(rs, model.SetResource(model.ResourcePortsUDP, movePorts(model.ResourceSet(rs, model.ResourcePortsUDP), c.PortsUDP, sign)))
	}
	if c.GPU != 0 || len(c.GPUIDs) > 0 {
		rs = applyGPUClaim(rs, c, sign)
	}
	return rs
}

// applyGPUClaim moves a claim's GPUs: an instance registers its GPUs as a
// STRINGSET of device ids (the ones still free remain in the set) or as an
// INTEGER count.
func applyGPUClaim(rs []model.Resource, c Claim, sign int64) []model.Resource {
	i := slices.IndexFunc(rs, func(r model.Resource) bool { return r.Name == model.ResourceGPU })
	if i < 0 {
		return rs
	}
	if rs[i].Type == model.ResourceTypeStringSet {
		return model.WithResource(rs, model.SetResource(model.ResourceGPU, movePorts(rs[i].StringSetValue, c.GPUIDs, -sign)))
	}
	return model.WithResource(rs, model.IntResource(model.ResourceGPU, model.ResourceInt(rs, model.ResourceGPU)+sign*c.GPU))
}

func movePorts(set, ports []string, sign int64) []string {
	out := slices.Clone(set)
	if sign < 0 {
		return append(out, ports...)
	}
	return slices.DeleteFunc(out, func(p string) bool { return slices.Contains(ports, p) })
}
