package placement

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/store"
)

// Request is one placement: Count tasks of Task anywhere in Cluster, or
// one on each instance of On (by id, in order; StartTask).
type Request struct {
	Cluster string
	Task    *sched.TaskSpec
	Count   int
	On      []string
	// Build returns the record of a task placed on inst (its record as it
	// is in the transaction). It runs in the transaction, perhaps more than
	// once, so it must not have effects outside it.
	Build func(inst *store.InstanceRecord) (*store.TaskRecord, error)
	// Before, if set, runs first in the transaction; its error is the
	// placement's.
	Before func(tx store.Tx) error
	// After, if set, runs last in the transaction with what it saves.
	After func(tx store.Tx, r *Result) error
}

// Result is what a placement did.
type Result struct {
	// Plan is the decision of a placement anywhere (nil for On): its
	// failures and, when NoNodes, that the cluster had no node in scope.
	Plan *sched.Plan
	// Outcomes are the decision of a placement On given instances.
	Outcomes []sched.Outcome
	// Tasks are the saved tasks, in the order of Plan.Picks or of the
	// Outcomes without a reason.
	Tasks []*store.TaskRecord
	// Rev is the revision of the commit (0 when nothing was written).
	Rev int64
	// Attempts counts the decisions made.
	Attempts int
}

// Place decides and commits req. Plan.NoNodes answers without a
// transaction.
func (e *Engine) Place(ctx context.Context, req *Request) (*Result, error) {
	c, err := e.cache(ctx, req.Cluster)
	if err != nil {
		return nil, err
	}
	if err := e.barrier(ctx); err != nil {
		return nil, err
	}
	rng := e.newRand()
	for attempt := 1; ; attempt++ {
		if attempt == e.maxAttempts {
			res, err := e.placeInCommit(ctx, c, req, rng)
			if res != nil {
				res.Attempts = attempt
			}
			return res, err
		}
		a := decide(c, req, rng)
		if a.plan != nil && a.plan.NoNodes {
			return &Result{Plan: a.plan, Attempts: attempt}, nil
		}
		res, err := e.commit(ctx, c, req, a)
		var stale *staleError
		if !errors.As(err, &stale) {
			if res != nil {
				res.Attempts = attempt
			}
			return res, err
		}
		c.install(stale.fresh...)
		c.forget(stale.gone...)
	}
}

// maxRefresh bounds how many stale nodes a decision inside the commit
// refreshes before it gives up.
const maxRefresh = 64

// placeInCommit is the last attempt of a contended placement: it decides
// inside the transaction, where nothing else commits, refreshing each
// chosen node that turns out stale and deciding again, so it cannot lose
// to other placements.
func (e *Engine) placeInCommit(ctx context.Context, c *clusterCache, req *Request, rng interface{ Uint64() uint64 }) (*Result, error) {
	var res *Result
	var saved []cached
	var expected []*pendingRec
	defer func() { c.unexpect(expected) }()
	expect := func(rec *store.InstanceRecord, value []byte) {
		pr := &pendingRec{rec: rec, value: value}
		c.expect(pr)
		expected = append(expected, pr)
	}
	rev, err := e.st.Update(ctx, func(tx store.Tx) error {
		res, saved = nil, nil
		if req.Before != nil {
			if err := req.Before(tx); err != nil {
				return err
			}
		}
		for range maxRefresh {
			a := decide(c, req, rng)
			res = &Result{Plan: a.plan, Outcomes: a.outcomes}
			if a.plan != nil && a.plan.NoNodes {
				return nil
			}
			var err error
			res.Tasks, saved, err = commitSlow(tx, c, req, a, nil, expect)
			var stale *staleError
			if errors.As(err, &stale) {
				c.install(stale.fresh...)
				c.forget(stale.gone...)
				continue
			}
			if err != nil {
				return err
			}
			return after(tx, req, res)
		}
		return errContention
	})
	if err != nil {
		return nil, err
	}
	res.Rev = rev
	for i := range saved {
		saved[i].modRev = rev
	}
	c.install(saved...)
	return res, nil
}

// attempt is one decision, with the cached records it was made on.
type attempt struct {
	plan     *sched.Plan
	outcomes []sched.Outcome
	picks    []pick // one per task to save, in order
}

type pick struct {
	node *sched.Node
	rec  cached
}

func decide(c *clusterCache, req *Request, rng interface{ Uint64() uint64 }) attempt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var a attempt
	var nodes []*sched.Node
	if req.On != nil {
		a.outcomes = sched.DecideOn(c.view, req.Task, req.On)
		for _, o := range a.outcomes {
			if o.Reason == "" {
				nodes = append(nodes, o.Node)
			}
		}
	} else {
		a.plan = sched.Decide(c.view, req.Task, req.Count, mrand(rng.Uint64()))
		nodes = a.plan.Picks
	}
	for _, n := range nodes {
		a.picks = append(a.picks, pick{node: n, rec: c.recs[n.ID]})
	}
	return a
}

// staleError aborts a commit whose chosen nodes changed so that they can no
// longer take their tasks; fresh are their records now, gone the ids of
// those deleted.
type staleError struct {
	fresh []cached
	gone  []string
}

func (s *staleError) Error() string {
	return fmt.Sprintf("placement: %d chosen instances changed", len(s.fresh)+len(s.gone))
}

// commit saves the attempt's tasks in one transaction. The records are
// prepared and encoded beforehand on the records the decision was made on;
// if any chosen instance changed since, the transaction re-checks it and
// does the work itself.
func (e *Engine) commit(ctx context.Context, c *clusterCache, req *Request, a attempt) (*Result, error) {
	if len(a.picks) == 0 && req.Before == nil && req.After == nil {
		return &Result{Plan: a.plan, Outcomes: a.outcomes}, nil
	}
	fast, err := prepare(c, req, a)
	if err != nil {
		return nil, err
	}
	var expected []*pendingRec
	defer func() { c.unexpect(expected) }()
	expect := func(rec *store.InstanceRecord, value []byte) {
		pr := &pendingRec{rec: rec, value: value}
		c.expect(pr)
		expected = append(expected, pr)
	}
	if fast != nil {
		for _, r := range fast.saved {
			expect(r.rec, fast.p.InstanceValue(r.rec.ID))
		}
	}
	var res *Result
	var saved []cached
	rev, err := e.st.Update(ctx, func(tx store.Tx) error {
		res = &Result{Plan: a.plan, Outcomes: a.outcomes}
		if req.Before != nil {
			if err := req.Before(tx); err != nil {
				return err
			}
		}
		if fast != nil {
			switch err := fast.p.Save(tx); {
			case err == nil:
				res.Tasks, saved = fast.tasks, fast.saved
				return after(tx, req, res)
			case !errors.Is(err, store.ErrConflict):
				return err
			}
		}
		var err error
		if res.Tasks, saved, err = commitSlow(tx, c, req, a, fast, expect); err != nil {
			return err
		}
		return after(tx, req, res)
	})
	if err != nil {
		return nil, err
	}
	res.Rev = rev
	for i := range saved {
		saved[i].modRev = rev
	}
	c.install(saved...)
	return res, nil
}

func after(tx store.Tx, req *Request, res *Result) error {
	if req.After == nil {
		return nil
	}
	return req.After(tx, res)
}

// prepared is an attempt's commit worked out on the cached records.
type prepared struct {
	p     *store.PreparedTasks
	tasks []*store.TaskRecord
	saved []cached // the instance records as they will be stored
	gpus  bool     // some task holds named GPUs, picked from the records
}

// prepare builds, books and encodes the attempt's tasks on copies of the
// records it was decided on.
func prepare(c *clusterCache, req *Request, a attempt) (*prepared, error) {
	recs := map[string]*store.InstanceRecord{}
	revs := map[string]int64{}
	out := &prepared{}
	for _, p := range a.picks {
		if p.rec.rec == nil {
			return nil, nil
		}
		if recs[p.node.ID] == nil {
			recs[p.node.ID], revs[p.node.ID] = working(p.rec.rec), p.node.Rev
			out.saved = append(out.saved, cached{rec: recs[p.node.ID], createRev: p.node.Order})
		}
	}
	var err error
	if out.tasks, err = build(req, a.picks, recs); err != nil {
		return nil, err
	}
	out.gpus = slices.ContainsFunc(out.tasks, func(t *store.TaskRecord) bool { return len(t.Claim.GPUIDs) > 0 })
	if out.p, err = store.PrepareNewTasks(out.tasks, recs, revs); err != nil {
		return nil, err
	}
	return out, nil
}

// commitSlow re-checks the chosen instances in tx and saves the tasks on
// their current records: the prepared task records when there are some
// (unless they hold GPUs picked from the old records), else built anew.
func commitSlow(tx store.Tx, c *clusterCache, req *Request, a attempt, fast *prepared, expect func(*store.InstanceRecord, []byte)) ([]*store.TaskRecord, []cached, error) {
	recs, err := recheck(tx, c, req.Task, a.picks)
	if err != nil {
		return nil, nil, err
	}
	var tasks []*store.TaskRecord
	if fast != nil && !fast.gpus {
		tasks = fast.tasks
		err = fast.p.SaveOn(tx, recs)
	} else if tasks, err = build(req, a.picks, recs); err == nil {
		err = store.SaveNewTasks(tx, tasks, recs)
	}
	if err != nil {
		return nil, nil, err
	}
	var saved []cached
	for _, p := range a.picks {
		rec := recs[p.node.ID]
		if slices.ContainsFunc(saved, func(x cached) bool { return x.rec == rec }) {
			continue
		}
		saved = append(saved, cached{rec: rec, createRev: p.node.Order})
		kv, _, err := tx.Get(store.InstanceKey(c.name, rec.ID))
		if err != nil {
			return nil, nil, err
		}
		expect(rec, kv.Value)
	}
	return tasks, saved, nil
}

// recheck reads each chosen instance. One stored as it was decided on is
// taken from the cache; one that changed since must still take all its
// tasks, or the attempt is stale.
func recheck(tx store.Tx, c *clusterCache, task *sched.TaskSpec, picks []pick) (map[string]*store.InstanceRecord, error) {
	count := map[string]int{}
	var order []pick
	for _, p := range picks {
		if count[p.node.ID] == 0 {
			order = append(order, p)
		}
		count[p.node.ID]++
	}
	recs := make(map[string]*store.InstanceRecord, len(order))
	stale := &staleError{}
	for _, p := range order {
		kv, ok, err := tx.Get(store.InstanceKey(c.name, p.node.ID))
		switch {
		case err != nil:
			return nil, err
		case !ok:
			stale.gone = append(stale.gone, p.node.ID)
			continue
		case kv.ModRev == p.node.Rev && p.rec.rec != nil:
			recs[p.node.ID] = working(p.rec.rec)
			continue
		}
		rec, err := c.current(kv)
		if err != nil {
			return nil, err
		}
		if reason, _ := sched.Fits(toNode(rec, kv.CreateRev, kv.ModRev), task, count[p.node.ID]); reason != "" {
			stale.fresh = append(stale.fresh, cached{rec: rec, createRev: kv.CreateRev, modRev: kv.ModRev})
			continue
		}
		recs[p.node.ID] = rec
	}
	if len(stale.fresh)+len(stale.gone) > 0 {
		return nil, stale
	}
	return recs, nil
}

// build makes the records of the tasks and gives each the GPU devices it
// holds when its instance names them.
func build(req *Request, picks []pick, recs map[string]*store.InstanceRecord) ([]*store.TaskRecord, error) {
	tasks := make([]*store.TaskRecord, 0, len(picks))
	taken := map[string][]string{} // GPU ids given out in this commit, by instance
	for _, p := range picks {
		rec := recs[p.node.ID]
		t, err := req.Build(rec)
		if err != nil {
			return nil, err
		}
		t.InstanceID = rec.ID
		if t.Claim.GPU > 0 {
			t.Claim.GPUIDs = gpuIDs(rec, taken, t.Claim.GPU)
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// gpuIDs picks n free device ids of rec not taken yet in this commit (none
// when the instance counts its GPUs instead of naming them).
func gpuIDs(rec *store.InstanceRecord, taken map[string][]string, n int64) []string {
	i := slices.IndexFunc(rec.RemainingResources, func(r model.Resource) bool { return r.Name == model.ResourceGPU })
	if i < 0 || rec.RemainingResources[i].Type != model.ResourceTypeStringSet {
		return nil
	}
	var out []string
	for _, id := range rec.RemainingResources[i].StringSetValue {
		if int64(len(out)) == n {
			break
		}
		if !slices.Contains(taken[rec.ID], id) {
			out = append(out, id)
			taken[rec.ID] = append(taken[rec.ID], id)
		}
	}
	return out
}
