package taskgc_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quayside/quayside/internal/ctrl"
	"github.com/quayside/quayside/internal/ctrl/taskgc"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func update(t *testing.T, st store.Store, fn func(store.Tx) error) {
	t.Helper()
	if _, err := st.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

const tdARN = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:"

// seedCluster stores cluster c with one instance and the given tasks, all
// through SaveTask so the counters and claims are the books a real run
// keeps.
func seedCluster(t *testing.T, st store.Store, tasks ...*store.TaskRecord) {
	update(t, st, func(tx store.Tx) error {
		if err := store.PutJSON(tx, store.ClusterKey("c"), &model.Cluster{ClusterName: "c", Status: "ACTIVE"}); err != nil {
			return err
		}
		rs := []model.Resource{model.IntResource("CPU", 4096), model.IntResource("MEMORY", 8192)}
		in := &store.InstanceRecord{Cluster: "c", ID: "i0"}
		in.Status, in.RegisteredResources, in.RemainingResources = "ACTIVE", rs, rs
		if err := store.PutJSON(tx, store.InstanceKey("c", "i0"), in); err != nil {
			return err
		}
		for _, tk := range tasks {
			if err := store.SaveTask(tx, tk); err != nil {
				return err
			}
		}
		return nil
	})
}

func task(id, status string, stoppedAt time.Time, rev int) *store.TaskRecord {
	tk := &store.TaskRecord{Cluster: "c", ID: id, InstanceID: "i0", Claim: store.Claim{CPU: 256, Memory: 256}}
	tk.LastStatus, tk.DesiredStatus, tk.Group = status, "RUNNING", "service:web"
	if status == model.StatusStopped {
		tk.DesiredStatus = model.StatusStopped
	}
	tk.StoppedAt = model.At(stoppedAt)
	tk.TaskDefinitionArn = fmt.Sprint(tdARN, rev)
	return tk
}

type books struct {
	Cluster  model.Cluster
	Instance store.InstanceRecord
	Tasks    []string
	Services []string
	Defs     []string
	Family   store.FamilyRecord
}

func read(t *testing.T, st store.Store) books {
	t.Helper()
	var b books
	err := st.View(context.Background(), func(tx store.ReadTx) error {
		b = books{}
		if _, _, err := store.GetJSON(tx, store.ClusterKey("c"), &b.Cluster); err != nil {
			return err
		}
		if _, _, err := store.GetJSON(tx, store.InstanceKey("c", "i0"), &b.Instance); err != nil {
			return err
		}
		if _, _, err := store.GetJSON(tx, store.FamilyKey("web"), &b.Family); err != nil {
			return err
		}
		for prefix, out := range map[string]*[]string{store.TasksPrefix: &b.Tasks, store.ServicesPrefix: &b.Services, store.TaskDefsPrefix: &b.Defs} {
			if err := tx.Scan(prefix, "", func(kv store.KV) (bool, error) {
				*out = append(*out, kv.Key[len(prefix):])
				return true, nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reconcile(t *testing.T, c *ctrl.Controller) ctrl.Result {
	t.Helper()
	res, err := c.Reconciler.Reconcile(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestStoppedTasksOutliveTheirRetentionThenGo(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	now := clk.Now()
	seedCluster(t, st,
		task("running", model.StatusRunning, time.Time{}, 1),
		task("pending", model.StatusPending, time.Time{}, 1),
		task("old", model.StatusStopped, now.Add(-2*time.Hour), 1),
		task("recent", model.StatusStopped, now.Add(-30*time.Minute), 1),
		task("nostamp", model.StatusStopped, time.Time{}, 1),
	)
	before := read(t, st)
	c := taskgc.New(taskgc.Deps{Store: st, Now: clk.Now, Logger: quiet()})

	res := reconcile(t, c)
	b := read(t, st)
	if want := []string{"c/nostamp", "c/pending", "c/recent", "c/running"}; !cmp.Equal(b.Tasks, want) {
		t.Fatalf("tasks after the first run = %v, want %v", b.Tasks, want)
	}
	if res.RequeueAfter != 30*time.Minute {
		t.Errorf("RequeueAfter = %v, want 30m (when \"recent\" falls due)", res.RequeueAfter)
	}
	if diff := cmp.Diff(before.Cluster, b.Cluster); diff != "" {
		t.Errorf("cluster counters moved (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before.Instance, b.Instance); diff != "" {
		t.Errorf("instance books moved (-before +after):\n%s", diff)
	}

	clk.Add(30 * time.Minute)
	reconcile(t, c)
	if b := read(t, st); !cmp.Equal(b.Tasks, []string{"c/nostamp", "c/pending", "c/running"}) {
		t.Fatalf("tasks after 30 more minutes = %v", b.Tasks)
	}
	clk.Add(30 * time.Minute) // an hour after nostamp was first seen stopped
	reconcile(t, c)
	b = read(t, st)
	if !cmp.Equal(b.Tasks, []string{"c/pending", "c/running"}) {
		t.Fatalf("tasks after an hour = %v", b.Tasks)
	}
	if b.Cluster.RunningTasksCount != 1 || b.Cluster.PendingTasksCount != 1 || cmp.Diff(before.Instance, b.Instance) != "" {
		t.Errorf("books after the deletions: cluster %d running %d pending, instance diff %s",
			b.Cluster.RunningTasksCount, b.Cluster.PendingTasksCount, cmp.Diff(before.Instance, b.Instance))
	}
}

func service(name, status string, inactiveAt time.Time, events int, defs ...int) *store.ServiceRecord {
	s := &store.ServiceRecord{Cluster: "c", InactiveAt: model.At(inactiveAt)}
	s.ServiceName, s.Status = name, status
	for i := range events {
		s.Events = append(s.Events, model.ServiceEvent{Id: fmt.Sprint(i), Message: fmt.Sprint("event ", i)})
	}
	for i, r := range defs {
		if i == 0 {
			s.TaskDefinition = fmt.Sprint(tdARN, r)
		}
		s.Deployments = append(s.Deployments, model.Deployment{TaskDefinition: fmt.Sprint(tdARN, r)})
	}
	return s
}

func TestInactiveServicesAreKeptForTheRetentionPeriod(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	seedCluster(t, st)
	update(t, st, func(tx store.Tx) error {
		for _, s := range []*store.ServiceRecord{
			service("active", model.StatusActive, time.Time{}, 130),
			service("draining", model.StatusDraining, time.Time{}, 5),
			service("gone", model.StatusInactive, clk.Now().Add(-time.Hour), 5),
			service("deleted", model.StatusInactive, time.Time{}, 5),
		} {
			if err := store.PutJSON(tx, store.ServiceKey("c", s.ServiceName), s); err != nil {
				return err
			}
		}
		return nil
	})
	c := taskgc.New(taskgc.Deps{Store: st, Now: clk.Now, Logger: quiet(), Retention: time.Hour})
	reconcile(t, c)
	if b := read(t, st); !cmp.Equal(b.Services, []string{"c/active", "c/deleted", "c/draining"}) {
		t.Fatalf("services = %v", b.Services)
	}
	var active, deleted store.ServiceRecord
	err := st.View(context.Background(), func(tx store.ReadTx) error {
		if _, _, err := store.GetJSON(tx, store.ServiceKey("c", "active"), &active); err != nil {
			return err
		}
		_, _, err := store.GetJSON(tx, store.ServiceKey("c", "deleted"), &deleted)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(active.Events) != 100 || active.Events[0].Id != "0" || active.Events[99].Id != "99" {
		t.Errorf("active service keeps %d events (%s..%s), want the newest 100", len(active.Events), active.Events[0].Id, active.Events[len(active.Events)-1].Id)
	}
	if !deleted.InactiveAt.Equal(clk.Now()) {
		t.Errorf("deleted service InactiveAt = %v, want %v", deleted.InactiveAt, clk.Now())
	}
	clk.Add(time.Hour - time.Second)
	reconcile(t, c)
	if b := read(t, st); len(b.Services) != 3 {
		t.Fatalf("services a second early = %v", b.Services)
	}
	clk.Add(time.Second)
	reconcile(t, c)
	if b := read(t, st); !cmp.Equal(b.Services, []string{"c/active", "c/draining"}) {
		t.Fatalf("services after an hour = %v", b.Services)
	}
}

func TestDeleteInProgressRevisionsArePurgedWhenNothingUsesThem(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	seedCluster(t, st,
		task("runs2", model.StatusRunning, time.Time{}, 2),
		task("stopped1", model.StatusStopped, clk.Now(), 1),
	)
	update(t, st, func(tx store.Tx) error {
		statuses := []model.TaskDefinitionStatus{"", "DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", "INACTIVE", "ACTIVE"}
		for r := 1; r <= 5; r++ {
			td := store.TaskDefinitionRecord{}
			td.Family, td.Revision, td.Status, td.TaskDefinitionArn = "web", int32(r), statuses[r], fmt.Sprint(tdARN, r)
			if err := store.PutJSON(tx, store.TaskDefKey("web", int64(r)), &td); err != nil {
				return err
			}
		}
		if err := store.PutJSON(tx, store.FamilyKey("web"), &store.FamilyRecord{Family: "web", LastRevision: 5, Active: 1, Stored: 5}); err != nil {
			return err
		}
		// Revision 3 is still run by a draining service.
		return store.PutJSON(tx, store.ServiceKey("c", "old"), service("old", model.StatusDraining, time.Time{}, 0, 3))
	})
	c := taskgc.New(taskgc.Deps{Store: st, Now: clk.Now, Logger: quiet()})
	reconcile(t, c)
	b := read(t, st)
	if want := []string{"web/0000000002", "web/0000000003", "web/0000000004", "web/0000000005"}; !cmp.Equal(b.Defs, want) {
		t.Fatalf("revisions = %v, want %v", b.Defs, want)
	}
	if b.Family.Stored != 4 || b.Family.LastRevision != 5 {
		t.Errorf("family = %+v, want 4 stored, last revision 5", b.Family)
	}
	// The service goes INACTIVE and the task stops: both revisions go.
	update(t, st, func(tx store.Tx) error {
		if err := store.PutJSON(tx, store.ServiceKey("c", "old"), service("old", model.StatusInactive, clk.Now(), 0, 3)); err != nil {
			return err
		}
		tk := task("runs2", model.StatusStopped, clk.Now(), 2)
		return store.SaveTask(tx, tk)
	})
	reconcile(t, c)
	b = read(t, st)
	if want := []string{"web/0000000004", "web/0000000005"}; !cmp.Equal(b.Defs, want) {
		t.Fatalf("revisions = %v, want %v", b.Defs, want)
	}
	if b.Family.Stored != 2 {
		t.Errorf("family stored = %d, want 2", b.Family.Stored)
	}
}

// The controller runs under the ctrl runtime on its own: a task stopped
// now is still there 59 minutes later and gone a little after the hour,
// without anything else waking the controller.
func TestControllerRunsOnItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		seedCluster(t, st, task("t1", model.StatusStopped, time.Now(), 1))
		c := taskgc.New(taskgc.Deps{Store: st, Period: 10 * time.Minute, Logger: quiet()})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if b := read(t, st); len(b.Tasks) != 1 {
			t.Fatalf("tasks after 59 minutes = %v", b.Tasks)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if b := read(t, st); len(b.Tasks) != 0 {
			t.Fatalf("tasks after 61 minutes = %v", b.Tasks)
		}
	})
}
