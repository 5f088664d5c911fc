package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

func openBolt(t testing.TB) store.Store {
	t.Helper()
	s, err := bolt.Open(t.TempDir()+"/state.db", bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func update(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if _, err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func seed(t testing.TB, s store.Store, nInst int, gpuIDs bool) {
	update(t, s, func(tx store.Tx) error {
		if err := store.PutJSON(tx, store.ClusterKey("c"), &model.Cluster{ClusterName: "c", Status: "ACTIVE"}); err != nil {
			return err
		}
		for i := range nInst {
			rs := []model.Resource{model.IntResource("CPU", 4096), model.IntResource("MEMORY", 8192),
				model.SetResource("PORTS", model.DefaultReservedPorts), model.SetResource("PORTS_UDP", nil)}
			if gpuIDs {
				rs = append(rs, model.SetResource("GPU", []string{"gpu-0", "gpu-1", "gpu-2", "gpu-3"}))
			} else {
				rs = append(rs, model.IntResource("GPU", 4))
			}
			rec := &store.InstanceRecord{Cluster: "c", ID: fmt.Sprint("i", i)}
			rec.Status, rec.RegisteredResources, rec.RemainingResources = "ACTIVE", rs, rs
			if err := store.PutJSON(tx, store.InstanceKey("c", rec.ID), rec); err != nil {
				return err
			}
		}
		return nil
	})
}

type snapshot struct {
	Cluster   model.Cluster
	Instances map[string]store.InstanceRecord
	Tasks     map[string]store.TaskRecord
}

func snap(t testing.TB, s store.Store) snapshot {
	t.Helper()
	out := snapshot{Instances: map[string]store.InstanceRecord{}, Tasks: map[string]store.TaskRecord{}}
	err := s.View(context.Background(), func(tx store.ReadTx) error {
		if _, _, err := store.GetJSON(tx, store.ClusterKey("c"), &out.Cluster); err != nil {
			return err
		}
		if err := store.ScanJSON(tx, store.InstancesPrefix, "", func(_ string, in *store.InstanceRecord) (bool, error) {
			out.Instances[in.ID] = *in
			return true, nil
		}); err != nil {
			return err
		}
		return store.ScanJSON(tx, store.TasksPrefix, "", func(_ string, tk *store.TaskRecord) (bool, error) {
			out.Tasks[tk.ID] = *tk
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func genTask(rt *rapid.T, i, nInst int, gpuIDs bool) *store.TaskRecord {
	tk := &store.TaskRecord{Cluster: "c", ID: fmt.Sprint("t", i), InstanceID: fmt.Sprint("i", rapid.IntRange(0, nInst-1).Draw(rt, "inst"))}
	tk.LastStatus = rapid.SampledFrom([]string{"PROVISIONING", "PENDING", "RUNNING"}).Draw(rt, "status")
	tk.DesiredStatus = "RUNNING"
	tk.Group = rapid.SampledFrom([]string{"family:a", "family:b", "service:s"}).Draw(rt, "group")
	tk.Claim = store.Claim{
		CPU: rapid.Int64Range(0, 512).Draw(rt, "cpu"), Memory: rapid.Int64Range(0, 512).Draw(rt, "mem"),
		DynamicPorts: store.PortCounts{TCP: rapid.Int32Range(0, 2).Draw(rt, "dyn")},
	}
	if rapid.Bool().Draw(rt, "port") {
		tk.Claim.Ports = []string{fmt.Sprint(8000 + i)}
	}
	if rapid.Bool().Draw(rt, "gpu") {
		tk.Claim.GPU = 1
		if gpuIDs {
			tk.Claim.GPUIDs = []string{fmt.Sprint("gpu-", i%4)}
		}
	}
	return tk
}

// SaveNewTasks keeps the same books as saving the tasks one by one with
// SaveTask, and SaveTask gives back what they took when they stop.
func TestSaveNewTasksMatchesSaveTask(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nInst := rapid.IntRange(1, 4).Draw(rt, "instances")
		gpuIDs := rapid.Bool().Draw(rt, "gpuIDs")
		batched, single, prepared := openBolt(t), openBolt(t), openBolt(t)
		seed(t, batched, nInst, gpuIDs)
		seed(t, single, nInst, gpuIDs)
		seed(t, prepared, nInst, gpuIDs)
		before := snap(t, single)
		var tasks []*store.TaskRecord
		for i := range rapid.IntRange(1, 10).Draw(rt, "tasks") {
			tasks = append(tasks, genTask(rt, i, nInst, gpuIDs))
		}
		update(t, batched, func(tx store.Tx) error {
			ins := map[string]*store.InstanceRecord{}
			for _, tk := range tasks {
				if ins[tk.InstanceID] == nil {
					in := new(store.InstanceRecord)
					if _, _, err := store.GetJSON(tx, store.InstanceKey("c", tk.InstanceID), in); err != nil {
						return err
					}
					ins[tk.InstanceID] = in
				}
			}
			return store.SaveNewTasks(tx, cloneTasks(tasks), ins)
		})
		update(t, single, func(tx store.Tx) error {
			for _, tk := range cloneTasks(tasks) {
				if err := store.SaveTask(tx, tk); err != nil {
					return err
				}
			}
			return nil
		})
		var p *store.PreparedTasks
		err := prepared.View(context.Background(), func(tx store.ReadTx) error {
			ins, revs := map[string]*store.InstanceRecord{}, map[string]int64{}
			for _, tk := range tasks {
				if ins[tk.InstanceID] == nil {
					in := new(store.InstanceRecord)
					rev, _, err := store.GetJSON(tx, store.InstanceKey("c", tk.InstanceID), in)
					if err != nil {
						return err
					}
					ins[tk.InstanceID], revs[tk.InstanceID] = in, rev
				}
			}
			var err error
			p, err = store.PrepareNewTasks(cloneTasks(tasks), ins, revs)
			return err
		})
		if err != nil {
			rt.Fatal(err)
		}
		if rapid.Bool().Draw(rt, "saveOn") { // the same on records read in the transaction
			update(t, prepared, func(tx store.Tx) error {
				ins := map[string]*store.InstanceRecord{}
				for _, tk := range tasks {
					if ins[tk.InstanceID] == nil {
						in := new(store.InstanceRecord)
						if _, _, err := store.GetJSON(tx, store.InstanceKey("c", tk.InstanceID), in); err != nil {
							return err
						}
						ins[tk.InstanceID] = in
					}
				}
				return p.SaveOn(tx, ins)
			})
		} else {
			update(t, prepared, p.Save)
		}
		if diff := cmp.Diff(snap(t, single), snap(t, batched)); diff != "" {
			rt.Fatalf("SaveNewTasks differs from SaveTask (-SaveTask +SaveNewTasks):\n%s", diff)
		}
		if diff := cmp.Diff(snap(t, single), snap(t, prepared)); diff != "" {
			rt.Fatalf("PrepareNewTasks and Save differ from SaveTask (-SaveTask +prepared):\n%s", diff)
		}
		// Stopping every task gives everything back.
		for _, s := range []store.Store{single, batched} {
			update(t, s, func(tx store.Tx) error {
				for _, tk := range snap(t, s).Tasks {
					tk.LastStatus, tk.DesiredStatus = "STOPPED", "STOPPED"
					if err := store.SaveTask(tx, &tk); err != nil {
						return err
					}
				}
				return nil
			})
		}
		after := snap(t, batched)
		for id, in := range after.Instances {
			was := before.Instances[id]
			if len(in.TaskGroups) != 0 || in.DynamicPorts != (store.PortCounts{}) || in.RunningTasksCount != 0 || in.PendingTasksCount != 0 {
				rt.Fatalf("instance %s after every task stopped: groups %v dynamic %v counts %d/%d", id, in.TaskGroups, in.DynamicPorts, in.RunningTasksCount, in.PendingTasksCount)
			}
			if diff := cmp.Diff(was.RemainingResources, in.RemainingResources); diff != "" {
				rt.Fatalf("instance %s resources not given back:\n%s", id, diff)
			}
		}
	})
}

func cloneTasks(ts []*store.TaskRecord) []*store.TaskRecord {
	out := make([]*store.TaskRecord, len(ts))
	for i, tk := range ts {
		cp := *tk
		out[i] = &cp
	}
	return out
}

func TestSaveNewTasksRefusals(t *testing.T) {
	s := openBolt(t)
	seed(t, s, 1, false)
	tk := &store.TaskRecord{Cluster: "c", ID: "t1", InstanceID: "i0"}
	tk.LastStatus, tk.DesiredStatus = "PENDING", "RUNNING"
	update(t, s, func(tx store.Tx) error { return store.SaveTask(tx, tk) })
	cases := map[string]struct {
		tasks []*store.TaskRecord
		ins   map[string]*store.InstanceRecord
	}{
		"existing task":    {[]*store.TaskRecord{{Cluster: "c", ID: "t1"}}, nil},
		"two clusters":     {[]*store.TaskRecord{{Cluster: "c", ID: "t2"}, {Cluster: "d", ID: "t3"}}, nil},
		"instance missing": {[]*store.TaskRecord{{Cluster: "c", ID: "t4", InstanceID: "i0"}}, map[string]*store.InstanceRecord{}},
	}
	for name, c := range cases {
		_, err := s.Update(context.Background(), func(tx store.Tx) error { return store.SaveNewTasks(tx, c.tasks, c.ins) })
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Save writes nothing and says ErrConflict when an instance changed since
// it was prepared; the transaction can go on.
func TestPreparedSaveConflict(t *testing.T) {
	s := openBolt(t)
	seed(t, s, 1, false)
	var in store.InstanceRecord
	var rev int64
	s.View(context.Background(), func(tx store.ReadTx) error {
		rev, _, _ = store.GetJSON(tx, store.InstanceKey("c", "i0"), &in)
		return nil
	})
	tk := &store.TaskRecord{Cluster: "c", ID: "t1", InstanceID: "i0", Claim: store.Claim{CPU: 10}}
	tk.LastStatus, tk.DesiredStatus = "PENDING", "RUNNING"
	p, err := store.PrepareNewTasks([]*store.TaskRecord{tk}, map[string]*store.InstanceRecord{"i0": &in}, map[string]int64{"i0": rev})
	if err != nil {
		t.Fatal(err)
	}
	if p.InstanceValue("i0") == nil || p.InstanceValue("i9") != nil {
		t.Errorf("InstanceValue")
	}
	update(t, s, func(tx store.Tx) error { // the instance changes
		var cur store.InstanceRecord
		store.GetJSON(tx, store.InstanceKey("c", "i0"), &cur)
		cur.Version++
		return store.PutJSON(tx, store.InstanceKey("c", "i0"), &cur)
	})
	update(t, s, func(tx store.Tx) error {
		if err := p.Save(tx); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Save after a change = %v", err)
		}
		return tx.Put("/other", []byte("x"))
	})
	if got := snap(t, s); len(got.Tasks) != 0 || got.Instances["i0"].RunningTasksCount != 0 || got.Cluster.PendingTasksCount != 0 {
		t.Errorf("a conflicting Save wrote: %+v", got)
	}
	// SaveOn books the prepared task on the record as it is now.
	update(t, s, func(tx store.Tx) error {
		var cur store.InstanceRecord
		store.GetJSON(tx, store.InstanceKey("c", "i0"), &cur)
		return p.SaveOn(tx, map[string]*store.InstanceRecord{"i0": &cur})
	})
	got := snap(t, s)
	inst := got.Instances["i0"]
	if len(got.Tasks) != 1 || inst.RunningTasksCount != 1 || inst.Version != 2 || model.ResourceInt(inst.RemainingResources, "CPU") != 4086 || got.Cluster.PendingTasksCount != 1 {
		t.Errorf("after SaveOn: tasks %d, instance version %d running %d resources %v, cluster pending %d",
			len(got.Tasks), inst.Version, inst.RunningTasksCount, inst.RemainingResources, got.Cluster.PendingTasksCount)
	}
}
