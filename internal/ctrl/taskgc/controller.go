package taskgc

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/quayside/quayside/internal/ctrl"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// DefaultPeriod is how often the controller looks when nothing falls due
// sooner.
const DefaultPeriod = time.Minute

// key is the controller's only key: one listing covers the whole store.
const key = "all"

// batch bounds the records one write transaction changes.
const batch = 256

// Deps is what the controller needs.
type Deps struct {
	Store store.Store
	// Retention is how long stopped tasks and INACTIVE services stay
	// describable (default DefaultRetention).
	Retention time.Duration
	// Period is how often to look (default DefaultPeriod, or a quarter of
	// a shorter Retention).
	Period time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns the controller, to run under a ctrl.Manager.
func New(d Deps) *ctrl.Controller {
	if d.Retention <= 0 {
		d.Retention = DefaultRetention
	}
	if d.Period <= 0 {
		d.Period = max(min(DefaultPeriod, d.Retention/4), 100*time.Millisecond)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	g := &gc{d: d}
	return &ctrl.Controller{
		Name:       "taskgc",
		Reconciler: g,
		Sources: []ctrl.Source{
			func(_ context.Context, q *ctrl.Queue) error { q.Add(key); return nil },
			ctrl.Every(d.Period, func(context.Context) ([]string, error) { return []string{key}, nil }),
		},
		Logger: d.Logger,
	}
}

type gc struct{ d Deps }

// Reconcile lists, decides and applies, and asks to run again when the
// next retained task or service falls due.
func (g *gc) Reconcile(ctx context.Context, _ string) (ctrl.Result, error) {
	now := g.d.Now()
	var o Observed
	err := g.d.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		o, err = observe(tx)
		return err
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	a := Decide(o, now, g.d.Retention)
	if !a.Empty() {
		if err := g.apply(ctx, &a, now); err != nil {
			return ctrl.Result{}, err
		}
	}
	if a.Next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(a.Next.Sub(now), time.Second)}, nil
}

func (g *gc) apply(ctx context.Context, a *Actions, now time.Time) error {
	keep := g.d.Retention
	tasks, err := eachInBatches(ctx, g.d.Store, a.DeleteTasks, func(tx store.Tx, t Task) (bool, error) {
		return deleteTask(tx, t, now, keep)
	})
	if err != nil {
		return err
	}
	stamped, err := eachInBatches(ctx, g.d.Store, a.StampTasks, func(tx store.Tx, t Task) (bool, error) {
		return stampTask(tx, t, now)
	})
	if err != nil {
		return err
	}
	services, err := eachInBatches(ctx, g.d.Store, a.DeleteServices, func(tx store.Tx, s Service) (bool, error) {
		return deleteService(tx, s, now, keep)
	})
	if err != nil {
		return err
	}
	fixed, err := eachInBatches(ctx, g.d.Store, a.FixServices, func(tx store.Tx, s Service) (bool, error) {
		return fixService(tx, s, now)
	})
	if err != nil {
		return err
	}
	var purged []string
	if len(a.PurgeTaskDefs) > 0 {
		if purged, err = purgeTaskDefs(ctx, g.d.Store); err != nil {
			return err
		}
	}
	if tasks+services+len(purged) > 0 || stamped+fixed > 0 {
		g.d.Logger.Info("retention", "deletedTasks", tasks, "deletedServices", services,
			"purgedTaskDefinitions", purged, "stampedTasks", stamped, "updatedServices", fixed)
	}
	return nil
}

// eachInBatches calls fn on every item, a batch of items per write
// transaction, and returns how many fn reported done.
func eachInBatches[T any](ctx context.Context, st store.Store, items []T, fn func(store.Tx, T) (bool, error)) (int, error) {
	total := 0
	for chunk := range slices.Chunk(items, batch) {
		n := 0
		_, err := st.Update(ctx, func(tx store.Tx) error {
			n = 0
			for _, it := range chunk {
				done, err := fn(tx, it)
				if err != nil {
					return err
				}
				if done {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// deleteTask deletes t if, as stored now, it is still due.
func deleteTask(tx store.Tx, t Task, now time.Time, keep time.Duration) (bool, error) {
	var m taskMark
	_, ok, err := store.GetJSON(tx, store.TaskKey(t.Cluster, t.ID), &m)
	if err != nil || !ok || !TaskDue(m.task(), now, keep) {
		return false, err
	}
	return true, store.DeleteTask(tx, t.Cluster, t.ID)
}

// stampTask records now as the stoppedAt of a stopped task that has none.
func stampTask(tx store.Tx, t Task, now time.Time) (bool, error) {
	var rec store.TaskRecord
	_, ok, err := store.GetJSON(tx, store.TaskKey(t.Cluster, t.ID), &rec)
	if err != nil || !ok || !stopped(rec.LastStatus) || !rec.StoppedAt.IsZero() {
		return false, err
	}
	rec.StoppedAt = model.At(now)
	return true, store.SaveTask(tx, &rec)
}

// deleteService deletes s if, as stored now, it is still due.
func deleteService(tx store.Tx, s Service, now time.Time, keep time.Duration) (bool, error) {
	var m serviceMark
	k := store.ServiceKey(s.Cluster, s.Name)
	_, ok, err := store.GetJSON(tx, k, &m)
	if err != nil || !ok || !ServiceDue(m.service(), now, keep) {
		return false, err
	}
	return true, tx.Delete(k)
}

// fixService records when an INACTIVE service was first seen so, and keeps
// a service's latest MaxServiceEvents events.
func fixService(tx store.Tx, s Service, now time.Time) (bool, error) {
	var rec store.ServiceRecord
	k := store.ServiceKey(s.Cluster, s.Name)
	_, ok, err := store.GetJSON(tx, k, &rec)
	if err != nil || !ok {
		return false, err
	}
	changed := false
	if rec.Status == model.StatusInactive && rec.InactiveAt.IsZero() {
		rec.InactiveAt, changed = model.At(now), true
	}
	if len(rec.Events) > MaxServiceEvents {
		rec.Events, changed = rec.Events[:MaxServiceEvents], true
	}
	if !changed {
		return false, nil
	}
	return true, store.PutJSON(tx, k, &rec)
}

// purgeTaskDefs deletes, in one write transaction that lists again what
// references them, the DELETE_IN_PROGRESS revisions nothing alive
// references, and takes each off its family's count of stored revisions.
// It is rare (a revision is purged once), so the listing inside the write
// is affordable.
func purgeTaskDefs(ctx context.Context, st store.Store) ([]string, error) {
	var purged []string
	_, err := st.Update(ctx, func(tx store.Tx) error {
		purged = purged[:0]
		o, err := observe(tx)
		if err != nil {
			return err
		}
		for _, td := range purgeable(o) {
			if err := purgeTaskDef(tx, td); err != nil {
				return err
			}
			purged = append(purged, td.ARN)
		}
		return nil
	})
	return purged, err
}

func purgeTaskDef(tx store.Tx, td TaskDef) error {
	if err := tx.Delete(store.TaskDefKey(td.Family, td.Revision)); err != nil {
		return err
	}
	fam := store.FamilyRecord{Family: td.Family}
	_, ok, err := store.GetJSON(tx, store.FamilyKey(td.Family), &fam)
	if err != nil || !ok {
		return err
	}
	fam.Stored = max(fam.Stored-1, 0)
	return store.PutJSON(tx, store.FamilyKey(td.Family), &fam)
}
