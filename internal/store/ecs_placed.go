package store

import (
	"fmt"

	"github.com/quayside/quayside/internal/model"
)

// SaveNewTasks stores tasks that have never been saved (the tasks of one
// placement) with exactly SaveTask's bookkeeping, done once per record
// instead of once per task: the cluster's counts are read and written once,
// and each instance once. instances holds, under its id, the current record
// (as stored in tx) of every instance a task is placed on; the caller has
// usually decoded them already to re-check the placement. They are updated
// in place, TaskGroups included, and written back; on success they are what
// is stored. All tasks must belong to one cluster.
func SaveNewTasks(tx Tx, tasks []*TaskRecord, instances map[string]*InstanceRecord) error {
	if len(tasks) == 0 {
		return nil
	}
	cluster := tasks[0].Cluster
	var delta taskCounts
	var touched []*InstanceRecord
	for _, t := range tasks {
		if err := checkNewTask(tx, t, cluster); err != nil {
			return err
		}
		t.Version++
		c := clusterCounts(t)
		delta.running += c.running
		delta.pending += c.pending
		in, err := placedOn(t, instances)
		if err != nil {
			return err
		}
		if in != nil {
			if !contains(touched, in) {
				touched = append(touched, in)
			}
			takeNewTask(in, t)
		}
		if err := PutJSON(tx, TaskKey(t.Cluster, t.ID), t); err != nil {
			return err
		}
	}
	for _, in := range touched {
		if err := PutJSON(tx, InstanceKey(in.Cluster, in.ID), in); err != nil {
			return err
		}
	}
	return addClusterCounts(tx, cluster, delta)
}

func checkNewTask(tx Tx, t *TaskRecord, cluster string) error {
	if t.Cluster != cluster {
		return fmt.Errorf("store: SaveNewTasks: task %s is in cluster %s, not %s", t.ID, t.Cluster, cluster)
	}
	_, exists, err := tx.Get(TaskKey(t.Cluster, t.ID))
	if err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("store: SaveNewTasks: task %s already exists", t.ID)
	}
	return nil
}

// placedOn is the record of the instance t is placed on; nil when t has no
// instance.
func placedOn(t *TaskRecord, instances map[string]*InstanceRecord) (*InstanceRecord, error) {
	if t.InstanceID == "" {
		return nil, nil
	}
	in := instances[t.InstanceID]
	if in == nil || in.ID != t.InstanceID || in.Cluster != t.Cluster {
		return nil, fmt.Errorf("store: SaveNewTasks: no record given for instance %s of task %s", t.InstanceID, t.ID)
	}
	return in, nil
}

// takeNewTask is adjustInstance for a task that did not exist before.
func takeNewTask(in *InstanceRecord, t *TaskRecord) {
	c := instanceCounts(t)
	hasClaim := holdsClaim(t)
	if c == (taskCounts{}) && !hasClaim {
		return
	}
	in.RunningTasksCount += c.running
	in.PendingTasksCount += c.pending
	if hasClaim {
		in.moveClaim(t, -1)
	}
	in.Version++
}

func contains(list []*InstanceRecord, in *InstanceRecord) bool {
	for _, x := range list {
		if x == in {
			return true
		}
	}
	return false
}

func addClusterCounts(tx Tx, cluster string, d taskCounts) error {
	if d == (taskCounts{}) {
		return nil
	}
	var c model.Cluster
	_, ok, err := GetJSON(tx, ClusterKey(cluster), &c)
	if err != nil || !ok {
		return err
	}
	c.RunningTasksCount += d.running
	c.PendingTasksCount += d.pending
	return PutJSON(tx, ClusterKey(cluster), &c)
}
