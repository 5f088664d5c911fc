package service

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/placement"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/store"
)

// write is the application of one plan: the stops, the launches and the
// service record, in one transaction (the placement's, when there are
// launches). The transaction first checks that the service is still as it
// was read (else errStale: decide again), and stops only tasks that are
// still running; the service's events name what it actually did.
type write struct {
	c    *controller
	o    *observed
	plan *Plan
	now  time.Time

	stopped  []string // tasks this transaction asked to stop
	unplaced string   // why some task could not be placed
	lb       lbWrite
}

// apply carries out plan and reports whether some task could not be
// placed (the service waits for capacity).
func (c *controller) apply(ctx context.Context, o *observed, plan *Plan, now time.Time) (bool, error) {
	w := &write{c: c, o: o, plan: plan, now: now}
	if plan.Launch.Empty() {
		if len(plan.Stops) == 0 && len(plan.Events) == 0 && len(plan.Drains) == 0 && len(plan.Register) == 0 &&
			len(plan.Deregister) == 0 && !w.changes(plan.Service, nil) {
			return false, nil
		}
		return false, w.commit(ctx)
	}
	dep := findDeployment(plan.Service, plan.Launch.Deployment)
	ls, why := newLaunchSpec(c.d.Scope, plan.Service, dep, o.defs[dep.TaskDefinition])
	if ls == nil {
		w.unplaced = msgUnlaunchable(o.name, why)
		return true, w.commit(ctx)
	}
	req := &placement.Request{
		Cluster: o.cluster, Task: &ls.spec, Count: plan.Launch.Count, On: plan.Launch.On,
		Build:  func(inst *store.InstanceRecord) (*store.TaskRecord, error) { return ls.build(inst, now), nil },
		Before: w.stop,
		After:  w.finish,
	}
	res, err := c.d.Placement.Place(ctx, req)
	if err != nil {
		return false, err
	}
	if res.Plan != nil && res.Plan.NoNodes {
		// Decided without a transaction: nothing was written yet.
		w.unplaced = msgUnplaced(o.name, true, nil)
		return true, w.commit(ctx)
	}
	return w.unplaced != "", nil
}

// commit stops and stores the service, without launching.
func (w *write) commit(ctx context.Context) error {
	_, err := w.c.d.Store.Update(ctx, func(tx store.Tx) error {
		if err := w.stop(tx); err != nil {
			return err
		}
		return w.putService(tx, nil)
	})
	return err
}

// stop checks that the service is unchanged, asks the plan's tasks to
// stop (those still meant to run; their targets are deregistered at once
// if they have not drained) and does the plan's load balancing.
func (w *write) stop(tx store.Tx) error {
	w.stopped = w.stopped[:0]
	w.lb.reset()
	kv, ok, err := tx.Get(store.ServiceKey(w.o.cluster, w.o.name))
	if err != nil {
		return err
	}
	if !ok || kv.ModRev != w.o.svcRev {
		return errStale
	}
	for _, s := range w.plan.Stops {
		t, ok, err := w.readTask(tx, s.Task)
		if err != nil {
			return err
		}
		if !ok || t.DesiredStatus == model.StatusStopped || reallyStopped(&Task{LastStatus: t.LastStatus}) {
			continue
		}
		if _, err := w.deregister(tx, t); err != nil {
			return err
		}
		if err := w.stopTask(tx, t, s); err != nil {
			return err
		}
	}
	return w.balance(tx)
}

// stopTask asks t to stop for s and saves it.
func (w *write) stopTask(tx store.Tx, t *store.TaskRecord, s Stop) error {
	t.DesiredStatus = model.StatusStopped
	t.StopCode = model.TaskStopCodeServiceSchedulerInitiated
	t.StoppedReason = s.Reason
	t.StoppingAt = model.At(w.now)
	t.ServiceStop = s.Kind
	if err := store.SaveTask(tx, t); err != nil {
		return err
	}
	w.stopped = append(w.stopped, t.ID)
	return nil
}

// finish stores the service after a placement, with what it started and
// why it could not place the rest.
func (w *write) finish(tx store.Tx, r *placement.Result) error {
	w.unplaced = ""
	switch {
	case r.Plan != nil && r.Plan.Unplaced > 0:
		w.unplaced = msgUnplaced(w.o.name, r.Plan.NoNodes, closestFailure(r.Plan.Failures))
	case r.Plan == nil:
		for _, o := range r.Outcomes {
			if o.Reason != "" {
				w.unplaced = msgUnplaced(w.o.name, false, &sched.Failure{Node: o.Node, Reason: o.Reason})
				break
			}
		}
	}
	ids := make([]string, 0, len(r.Tasks))
	for _, t := range r.Tasks {
		ids = append(ids, t.ID)
	}
	return w.putService(tx, ids)
}

// putService stores the plan's service with the events of this
// transaction and the pending counts of the tasks actually placed,
// unless that changes nothing.
func (w *write) putService(tx store.Tx, started []string) error {
	rec := w.final(started)
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if !w.changes(rec, b) {
		return nil
	}
	return tx.Put(store.ServiceKey(w.o.cluster, w.o.name), b)
}

// final is the service to store.
func (w *write) final(started []string) *store.ServiceRecord {
	rec := *w.plan.Service
	rec.Deployments = slices.Clone(rec.Deployments)
	if missing := w.plan.Launch.Count + len(w.plan.Launch.On) - len(started); missing > 0 {
		rec.PendingCount -= int32(missing)
		for i := range rec.Deployments {
			if rec.Deployments[i].Id == w.plan.Launch.Deployment {
				rec.Deployments[i].PendingCount -= int32(missing)
			}
		}
	}
	msgs := slices.Clone(w.plan.Events)
	lbBefore, lbAfter := w.lb.events(w.o.name)
	msgs = append(msgs, lbBefore...)
	if len(w.stopped) > 0 {
		msgs = append(msgs, msgStopped(w.o.name, w.stopped))
	}
	if len(started) > 0 {
		msgs = append(msgs, msgStarted(w.o.name, started))
	}
	msgs = append(msgs, lbAfter...)
	if w.unplaced != "" && !said(rec.Events, w.o.name, w.unplaced, w.now) {
		msgs = append(msgs, w.unplaced)
	}
	rec.Events = AddEvents(rec.Events, msgs, w.now, arn.NewUUID)
	return &rec
}

// changes reports whether rec (encoded as b, when not nil) differs from
// the service as read.
func (w *write) changes(rec *store.ServiceRecord, b []byte) bool {
	if b == nil {
		var err error
		if b, err = json.Marshal(rec); err != nil {
			return true
		}
	}
	was, err := json.Marshal(w.o.svc)
	return err != nil || !bytes.Equal(b, was)
}

func findDeployment(svc *store.ServiceRecord, id string) model.Deployment {
	for _, d := range svc.Deployments {
		if d.Id == id {
			return d
		}
	}
	return model.Deployment{Id: id}
}

// newDeploymentID returns "ecs-svc/" and 19 decimal digits.
func newDeploymentID() string {
	const lo = 1_000_000_000_000_000_000
	return "ecs-svc/" + strconv.FormatUint(lo+rand.Uint64N(9*lo), 10)
}
