package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/quayside/quayside/internal/store"
)

// Deleting stopped tasks leaves every counter, claim and group count as it
// was; a task that has not stopped is refused and nothing is written.
func TestDeleteTaskKeepsTheBooks(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nInst := rapid.IntRange(1, 3).Draw(rt, "instances")
		s := openBolt(t)
		seed(t, s, nInst, false)
		n := rapid.IntRange(1, 8).Draw(rt, "tasks")
		var tasks []*store.TaskRecord
		for i := range n {
			tasks = append(tasks, genTask(rt, i, nInst, false))
		}
		update(t, s, func(tx store.Tx) error {
			for _, tk := range cloneTasks(tasks) {
				if err := store.SaveTask(tx, tk); err != nil {
					return err
				}
			}
			return nil
		})
		stop := map[string]bool{}
		update(t, s, func(tx store.Tx) error {
			for _, tk := range snap(t, s).Tasks {
				if rapid.Bool().Draw(rt, "stop "+tk.ID) {
					stop[tk.ID] = true
					tk.LastStatus, tk.DesiredStatus = "STOPPED", "STOPPED"
					if err := store.SaveTask(tx, &tk); err != nil {
						return err
					}
				}
			}
			return nil
		})
		before := snap(t, s)
		for _, tk := range tasks {
			_, err := s.Update(context.Background(), func(tx store.Tx) error {
				return store.DeleteTask(tx, "c", tk.ID)
			})
			if stop[tk.ID] != (err == nil) || err != nil && !errors.Is(err, store.ErrTaskNotStopped) {
				rt.Fatalf("DeleteTask(%s, stopped %v) = %v", tk.ID, stop[tk.ID], err)
			}
		}
		after := snap(t, s)
		if diff := cmp.Diff(before.Cluster, after.Cluster); diff != "" {
			rt.Fatalf("cluster changed (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(before.Instances, after.Instances); diff != "" {
			rt.Fatalf("instances changed (-before +after):\n%s", diff)
		}
		for _, tk := range tasks {
			if _, ok := after.Tasks[tk.ID]; ok == stop[tk.ID] {
				rt.Fatalf("task %s present %v after delete, stopped %v", tk.ID, ok, stop[tk.ID])
			}
		}
	})
}

func TestDeleteAbsentTask(t *testing.T) {
	s := openBolt(t)
	update(t, s, func(tx store.Tx) error { return store.DeleteTask(tx, "c", "nope") })
}
