package store

import (
	"encoding/json"
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
	for _, t := range tasks {
		if err := checkNewTask(tx, t, tasks[0].Cluster); err != nil {
			return err
		}
	}
	delta, touched, err := bookNewTasks(tasks, instances)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if err := PutJSON(tx, TaskKey(t.Cluster, t.ID), t); err != nil {
			return err
		}
	}
	for _, in := range touched {
		if err := PutJSON(tx, InstanceKey(in.Cluster, in.ID), in); err != nil {
			return err
		}
	}
	return addClusterCounts(tx, tasks[0].Cluster, delta)
}

// bookNewTasks does the bookkeeping of saving new tasks on their instances'
// records (updated in place) and returns the cluster's count changes and
// the instances touched, in order.
func bookNewTasks(tasks []*TaskRecord, instances map[string]*InstanceRecord) (taskCounts, []*InstanceRecord, error) {
	var delta taskCounts
	var touched []*InstanceRecord
	for _, t := range tasks {
		if t.Cluster != tasks[0].Cluster {
			return delta, nil, fmt.Errorf("store: new tasks: task %s is in cluster %s, not %s", t.ID, t.Cluster, tasks[0].Cluster)
		}
		t.Version++
		c := clusterCounts(t)
		delta.running += c.running
		delta.pending += c.pending
		in, err := placedOn(t, instances)
		if err != nil {
			return delta, nil, err
		}
		if in != nil {
			if !contains(touched, in) {
				touched = append(touched, in)
			}
			takeNewTask(in, t)
		}
	}
	return delta, touched, nil
}

// PreparedTasks are new tasks with SaveNewTasks's bookkeeping done and
// every record encoded outside any transaction (PrepareNewTasks), so that
// Save only has to write them, provided the instances have not changed.
type PreparedTasks struct {
	cluster   string
	delta     taskCounts
	recs      []*TaskRecord
	tasks     []encoded
	instances []encoded
}

type encoded struct {
	key    string
	value  []byte
	modRev int64 // instances: the revision the record was read at
}

// PrepareNewTasks is SaveNewTasks without a transaction: instances holds
// the record of each instance the tasks are placed on as stored at
// modRevs[id]; the records are updated in place and everything is
// encoded.
func PrepareNewTasks(tasks []*TaskRecord, instances map[string]*InstanceRecord, modRevs map[string]int64) (*PreparedTasks, error) {
	if len(tasks) == 0 {
		return &PreparedTasks{}, nil
	}
	delta, touched, err := bookNewTasks(tasks, instances)
	if err != nil {
		return nil, err
	}
	p := &PreparedTasks{cluster: tasks[0].Cluster, delta: delta, recs: tasks}
	for _, t := range tasks {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("store: encode task %s: %w", t.ID, err)
		}
		p.tasks = append(p.tasks, encoded{key: TaskKey(t.Cluster, t.ID), value: b})
	}
	for _, in := range touched {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("store: encode instance %s: %w", in.ID, err)
		}
		rev, ok := modRevs[in.ID]
		if !ok {
			return nil, fmt.Errorf("store: PrepareNewTasks: no revision given for instance %s", in.ID)
		}
		p.instances = append(p.instances, encoded{key: InstanceKey(in.Cluster, in.ID), value: b, modRev: rev})
	}
	return p, nil
}

// InstanceValue is the encoded record Save writes for instance id (nil if
// none).
func (p *PreparedTasks) InstanceValue(id string) []byte {
	for _, e := range p.instances {
		if e.key == InstanceKey(p.cluster, id) {
			return e.value
		}
	}
	return nil
}

// Save writes the prepared records in tx. If an instance is no longer
// stored at the revision it was prepared against, or a task already
// exists, it returns ErrConflict having written nothing, and the
// transaction may go on.
func (p *PreparedTasks) Save(tx Tx) error {
	for _, e := range p.instances {
		kv, ok, err := tx.Get(e.key)
		if err != nil {
			return err
		}
		if !ok || kv.ModRev != e.modRev {
			return ErrConflict
		}
	}
	for _, e := range p.tasks {
		if _, ok, err := tx.Get(e.key); err != nil || ok {
			return cmpErr(err, ErrConflict)
		}
	}
	for _, list := range [][]encoded{p.tasks, p.instances} {
		for _, e := range list {
			if err := tx.Put(e.key, e.value); err != nil {
				return err
			}
		}
	}
	return addClusterCounts(tx, p.cluster, p.delta)
}

// SaveOn writes the prepared tasks in tx on instances, the current records
// of their instances as stored in tx (updated in place): Save for when the
// instances changed since they were prepared. The task records are written
// as prepared.
func (p *PreparedTasks) SaveOn(tx Tx, instances map[string]*InstanceRecord) error {
	var touched []*InstanceRecord
	for _, t := range p.recs {
		if err := checkNewTask(tx, t, p.cluster); err != nil {
			return err
		}
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
	}
	for _, e := range p.tasks {
		if err := tx.Put(e.key, e.value); err != nil {
			return err
		}
	}
	for _, in := range touched {
		if err := PutJSON(tx, InstanceKey(in.Cluster, in.ID), in); err != nil {
			return err
		}
	}
	return addClusterCounts(tx, p.cluster, p.delta)
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
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
