package service

import (
	"slices"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// lbWrite is the load balancing part of a plan's transaction: what it
// registered, deregistered and began to drain, for the service's events.
type lbWrite struct {
	used         map[string][]string // store.TargetGroupUsers, read once
	groups       map[string]*store.TargetGroupRecord
	registered   map[string]int   // by group ARN
	deregistered map[string]int   // by group ARN
	order        []string         // group ARNs in the order first met
	draining     int              // tasks that began to drain
	tasks        map[string]*Task // the observed tasks by ID, when needed
}

func (l *lbWrite) reset() { *l = lbWrite{} }

func (l *lbWrite) note(m *map[string]int, group string) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[group]++
	if !slices.Contains(l.order, group) {
		l.order = append(l.order, group)
	}
}

// events are the messages of what the transaction did with targets.
func (l *lbWrite) events(svc string) (before, after []string) {
	if l.draining > 0 {
		before = append(before, msgDraining(svc, l.draining))
	}
	for _, g := range l.order {
		if n := l.deregistered[g]; n > 0 {
			before = append(before, msgDeregistered(svc, n, g))
		}
		if n := l.registered[g]; n > 0 {
			after = append(after, msgRegistered(svc, n, g))
		}
	}
	return before, after
}

// group reads a target group by ID (nil when it is gone).
func (l *lbWrite) group(tx store.Tx, id string) (*store.TargetGroupRecord, error) {
	if tg, ok := l.groups[id]; ok {
		return tg, nil
	}
	tg := new(store.TargetGroupRecord)
	_, ok, err := store.GetJSON(tx, store.TargetGroupKey(id), tg)
	if err != nil {
		return nil, err
	}
	if !ok {
		tg = nil
	}
	if l.groups == nil {
		l.groups = map[string]*store.TargetGroupRecord{}
	}
	l.groups[id] = tg
	return tg, nil
}

func (l *lbWrite) inUse(tx store.Tx, tgID string) (bool, error) {
	if l.used == nil {
		used, err := store.TargetGroupUsers(tx)
		if err != nil {
			return false, err
		}
		l.used = used
	}
	return len(l.used[tgID]) > 0, nil
}

// balance applies the plan's drains, deregistrations and registrations.
func (w *write) balance(tx store.Tx) error {
	for _, s := range w.plan.Drains {
		if err := w.drain(tx, s); err != nil {
			return err
		}
	}
	for _, id := range w.plan.Deregister {
		if err := w.deregisterTask(tx, id); err != nil {
			return err
		}
	}
	for _, id := range w.plan.Register {
		if err := w.register(tx, id); err != nil {
			return err
		}
	}
	return nil
}

// deregister deregisters the targets registered for t (unless that was
// done already) and returns until when they drain (zero: none drains).
// The caller saves t.
func (w *write) deregister(tx store.Tx, t *store.TaskRecord) (time.Time, error) {
	var until time.Time
	if t.LB == nil || !t.LB.DeregisteredAt.IsZero() {
		return until, nil
	}
	t.LB.DeregisteredAt = model.At(w.now)
	for _, tt := range t.LB.Targets {
		tg, err := w.lb.group(tx, tt.TargetGroupID)
		if err != nil {
			return until, err
		}
		if tg == nil || tg.Arn != tt.TargetGroupArn {
			continue
		}
		used, err := w.lb.inUse(tx, tg.ID)
		if err != nil {
			return until, err
		}
		ok, err := store.DeregisterTarget(tx, tg, tt.ID, tt.Port, used, w.now)
		if err != nil || !ok {
			return until, err
		}
		w.lb.note(&w.lb.deregistered, tg.Arn)
		var rec store.TargetRecord
		_, ok, err = store.GetJSON(tx, store.TargetKey(tg.ID, tt.ID, tt.Port), &rec)
		if err != nil {
			return until, err
		}
		if ok && rec.State == store.TargetDraining && rec.DrainUntil.After(until) {
			until = rec.DrainUntil.Time
		}
	}
	return until, nil
}

// drain begins a graceful stop: the task's targets are deregistered and
// it is stopped once they have drained, or at once when none drains.
func (w *write) drain(tx store.Tx, s Stop) error {
	t, ok, err := w.readTask(tx, s.Task)
	if err != nil || !ok || t.DesiredStatus == model.StatusStopped || reallyStopped(&Task{LastStatus: t.LastStatus}) ||
		t.LB == nil || !t.LB.StopAt.IsZero() {
		return err
	}
	until, err := w.deregister(tx, t)
	if err != nil {
		return err
	}
	if !until.After(w.now) {
		return w.stopTask(tx, t, s)
	}
	t.LB.StopAt, t.LB.StopKind, t.LB.StopReason = model.At(until), s.Kind, s.Reason
	w.lb.draining++
	return store.SaveTask(tx, t)
}

// deregisterTask deregisters the targets of a task that stopped without
// draining.
func (w *write) deregisterTask(tx store.Tx, id string) error {
	t, ok, err := w.readTask(tx, id)
	if err != nil || !ok || t.LB == nil || !t.LB.DeregisteredAt.IsZero() {
		return err
	}
	if _, err := w.deregister(tx, t); err != nil {
		return err
	}
	return store.SaveTask(tx, t)
}

// register registers the targets a running task does not have yet and
// lists them on its record.
func (w *write) register(tx store.Tx, id string) error {
	t, ok, err := w.readTask(tx, id)
	if err != nil || !ok || t.LastStatus != model.StatusRunning || t.DesiredStatus != model.StatusRunning ||
		t.LB != nil && (!t.LB.DeregisteredAt.IsZero() || !t.LB.StopAt.IsZero()) {
		return err
	}
	seen := w.observedTask(id)
	if seen == nil {
		return nil
	}
	if t.LB == nil {
		t.LB = &store.TaskLB{}
	}
	node := w.o.nodes[t.InstanceID]
	for _, g := range seen.Targets {
		if g.State != "" {
			continue
		}
		tg, err := w.lb.group(tx, g.GroupID)
		if err != nil {
			return err
		}
		if tg == nil || tg.Arn != g.Group {
			continue
		}
		var rec store.TargetRecord
		_, had, err := store.GetJSON(tx, store.TargetKey(tg.ID, g.ID, g.Port), &rec)
		if err != nil {
			return err
		}
		host := ""
		if tg.TargetType == store.TargetTypeInstance {
			host = node.Address
		}
		switch {
		case !had || rec.State == store.TargetDraining:
			if _, err := store.RegisterTarget(tx, tg.ID, g.ID, g.Port, node.AZ, host, w.now); err != nil {
				return err
			}
			w.lb.note(&w.lb.registered, tg.Arn)
		case host != "" && rec.Host != host:
			// Registered before the node said where it is (or it moved).
			if _, err := store.RegisterTarget(tx, tg.ID, g.ID, g.Port, node.AZ, host, w.now); err != nil {
				return err
			}
		}
		tt := store.TaskTarget{TargetGroupArn: tg.Arn, TargetGroupID: tg.ID, ID: g.ID, Port: g.Port}
		if !slices.Contains(t.LB.Targets, tt) {
			t.LB.Targets = append(t.LB.Targets, tt)
		}
	}
	return store.SaveTask(tx, t)
}

func (w *write) readTask(tx store.Tx, id string) (*store.TaskRecord, bool, error) {
	t := new(store.TaskRecord)
	_, ok, err := store.GetJSON(tx, store.TaskKey(w.o.cluster, id), t)
	return t, ok, err
}

// observedTask is the task as observed (nil when it was not).
func (w *write) observedTask(id string) *Task {
	if w.lb.tasks == nil {
		w.lb.tasks = make(map[string]*Task, len(w.o.tasks))
		for i := range w.o.tasks {
			w.lb.tasks[w.o.tasks[i].ID] = &w.o.tasks[i]
		}
	}
	return w.lb.tasks[id]
}
