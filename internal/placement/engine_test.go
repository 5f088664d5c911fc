package placement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/sched/cql"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

var testScope = arn.Scope{Partition: "aws", Region: "us-east-1", Account: "123456789012"}

type env struct {
	t  testing.TB
	st store.Store
	e  *Engine
}

func newEnv(t testing.TB, opts bolt.Options) *env {
	return newEnvWith(t, opts, Deps{Seed: 42})
}

func newEnvWith(t testing.TB, opts bolt.Options, d Deps) *env {
	t.Helper()
	st, err := bolt.Open(t.TempDir()+"/state.db", opts)
	if err != nil {
		t.Fatal(err)
	}
	d.Store = st
	e := New(d)
	t.Cleanup(func() {
		e.Close()
		st.Close()
	})
	en := &env{t: t, st: st, e: e}
	en.update(func(tx store.Tx) error {
		return store.PutJSON(tx, store.ClusterKey("c"), &model.Cluster{ClusterName: "c", ClusterArn: testScope.Cluster("c"), Status: "ACTIVE"})
	})
	return en
}

func (en *env) update(fn func(store.Tx) error) int64 {
	en.t.Helper()
	rev, err := en.st.Update(context.Background(), fn)
	if err != nil {
		en.t.Fatal(err)
	}
	return rev
}

// register stores an ACTIVE instance with cpu units, MiB and attributes.
func (en *env) register(id string, cpu, mem int64, attrs ...model.Attribute) {
	en.t.Helper()
	rs := []model.Resource{model.IntResource("CPU", cpu), model.IntResource("MEMORY", mem),
		model.SetResource("PORTS", model.DefaultReservedPorts), model.SetResource("PORTS_UDP", nil),
		model.SetResource("GPU", []string{"gpu-a", "gpu-b"})}
	en.update(func(tx store.Tx) error {
		var c model.Cluster
		if _, _, err := store.GetJSON(tx, store.ClusterKey("c"), &c); err != nil {
			return err
		}
		_, err := store.RegisterInstance(tx, &c, id, testScope.ContainerInstance("c", id),
			&store.InstanceRegistration{Resources: rs, Attributes: attrs}, time.Now())
		return err
	})
}

func (en *env) instance(id string) store.InstanceRecord {
	en.t.Helper()
	var rec store.InstanceRecord
	err := en.st.View(context.Background(), func(tx store.ReadTx) error {
		_, _, err := store.GetJSON(tx, store.InstanceKey("c", id), &rec)
		return err
	})
	if err != nil {
		en.t.Fatal(err)
	}
	return rec
}

func request(task *sched.TaskSpec, count int) *Request {
	return &Request{Cluster: "c", Task: task, Count: count, Build: func(inst *store.InstanceRecord) (*store.TaskRecord, error) {
		id := arn.NewID()
		t := &store.TaskRecord{Cluster: "c", ID: id, InstanceID: inst.ID, Claim: store.Claim{CPU: task.CPU, Memory: task.Memory, GPU: task.GPU}}
		for _, p := range task.Ports {
			t.Claim.Ports = append(t.Claim.Ports, fmt.Sprint(p))
		}
		t.TaskArn, t.Group, t.LastStatus, t.DesiredStatus = testScope.Task("c", id), task.Group, "PENDING", "RUNNING"
		t.ContainerInstanceArn = inst.ContainerInstanceArn
		return t, nil
	}}
}

func (en *env) place(req *Request) *Result {
	en.t.Helper()
	res, err := en.e.Place(context.Background(), req)
	if err != nil {
		en.t.Fatalf("Place: %v", err)
	}
	return res
}

func instancesOf(res *Result) []string {
	var out []string
	for _, t := range res.Tasks {
		out = append(out, t.InstanceID)
	}
	return out
}

func TestPlaceSavesTasksAndClaims(t *testing.T) {
	en := newEnv(t, bolt.Options{})
	en.register("i1", 1024, 2048)
	res := en.place(request(&sched.TaskSpec{CPU: 256, Memory: 512, GPU: 1, Group: "g"}, 3))
	if len(res.Tasks) != 2 || res.Plan.Unplaced != 1 || res.Rev == 0 {
		t.Fatalf("placed %d, unplaced %d, rev %d; failures %+v", len(res.Tasks), res.Plan.Unplaced, res.Rev, res.Plan.Failures)
	}
	if f := res.Plan.Failures; len(f) != 1 || f[0].Reason != sched.ReasonGPU {
		t.Errorf("failures = %+v", f)
	}
	in := en.instance("i1")
	if model.ResourceInt(in.RemainingResources, "CPU") != 512 || model.ResourceInt(in.RemainingResources, "MEMORY") != 1024 ||
		len(model.ResourceSet(in.RemainingResources, "GPU")) != 0 || in.TaskGroups["g"] != 2 || in.RunningTasksCount != 2 {
		t.Errorf("instance after placing = %+v groups %v", in.RemainingResources, in.TaskGroups)
	}
	if ids := [][]string{res.Tasks[0].Claim.GPUIDs, res.Tasks[1].Claim.GPUIDs}; !slices.Equal(ids[0], []string{"gpu-a"}) || !slices.Equal(ids[1], []string{"gpu-b"}) {
		t.Errorf("GPU ids = %v", ids)
	}
	// The view holds what was committed: nothing fits now.
	res = en.place(request(&sched.TaskSpec{CPU: 600, Group: "g"}, 1))
	if len(res.Tasks) != 0 || res.Plan.Failures[0].Reason != sched.ReasonCPU {
		t.Errorf("after the commit: %+v", res.Plan)
	}
}

func TestPlaceSeesItsCallersWrites(t *testing.T) {
	en := newEnv(t, bolt.Options{})
	res := en.place(request(&sched.TaskSpec{CPU: 1}, 1))
	if !res.Plan.NoNodes {
		t.Fatalf("empty cluster: %+v", res.Plan)
	}
	for i := range 20 { // each registration is seen by the next placement
		id := fmt.Sprint("i", i)
		en.register(id, 100, 100, model.Attribute{Name: "n", Value: fmt.Sprint(i)})
		res := en.place(request(&sched.TaskSpec{CPU: 10, Constraints: []sched.Constraint{{Type: sched.MemberOf, Expr: cql.MustParse("attribute:n == " + fmt.Sprint(i))}}}, 1))
		if got := instancesOf(res); !slices.Equal(got, []string{id}) {
			t.Fatalf("placement right after registering %s went to %v (%+v)", id, got, res.Plan.Failures)
		}
	}
	// An attribute change is seen too.
	en.update(func(tx store.Tx) error {
		var rec store.InstanceRecord
		if _, _, err := store.GetJSON(tx, store.InstanceKey("c", "i3"), &rec); err != nil {
			return err
		}
		rec.Attributes = append(rec.Attributes, model.Attribute{Name: "fresh", Value: "yes"})
		return store.PutJSON(tx, store.InstanceKey("c", "i3"), &rec)
	})
	res = en.place(request(&sched.TaskSpec{CPU: 10, Requires: []sched.Requirement{{Name: "fresh"}}}, 1))
	if got := instancesOf(res); !slices.Equal(got, []string{"i3"}) {
		t.Errorf("after PutAttributes-like change: %v %+v", got, res.Plan.Failures)
	}
	// And a deleted record leaves the view.
	en.update(func(tx store.Tx) error { return tx.Delete(store.InstanceKey("c", "i3")) })
	res = en.place(request(&sched.TaskSpec{CPU: 10, Requires: []sched.Requirement{{Name: "fresh"}}}, 1))
	if len(res.Tasks) != 0 || len(res.Plan.Failures) != 19 {
		t.Errorf("after deleting i3: placed %v, %d failures", instancesOf(res), len(res.Plan.Failures))
	}
}

// A commit whose chosen node changed so that it no longer fits is decided
// again on the fresh record.
func TestPlaceRetriesOnStaleNodes(t *testing.T) {
	en := newEnv(t, bolt.Options{})
	en.register("i1", 1000, 1000)
	en.register("i2", 1000, 1000)
	en.place(request(&sched.TaskSpec{CPU: 1}, 1)) // builds the view
	c, _ := en.e.cache(context.Background(), "c")
	// Freeze the view of i1 as it is, then let the store's i1 fill up.
	c.mu.RLock()
	frozen := c.recs["i1"]
	c.mu.RUnlock()
	en.update(func(tx store.Tx) error {
		rec := *frozen.rec
		rec.RemainingResources = model.WithResource(rec.RemainingResources, model.IntResource("CPU", 100))
		return store.PutJSON(tx, store.InstanceKey("c", "i1"), &rec)
	})
	// An attempt decided on the frozen view, forcing i1.
	task := &sched.TaskSpec{CPU: 500, Strategies: []sched.Strategy{{Type: sched.Binpack, Field: "cpu"}}}
	a := attempt{plan: &sched.Plan{}, picks: []pick{{node: toNode(frozen.rec, frozen.createRev, frozen.modRev), rec: frozen}}}
	_, err := en.e.commit(context.Background(), c, request(task, 1), a)
	var stale *staleError
	if !errors.As(err, &stale) || len(stale.fresh) != 1 || stale.fresh[0].rec.ID != "i1" {
		t.Fatalf("commit on a stale node = %v", err)
	}
	// A changed node that still fits is no conflict.
	task.CPU = 50
	if _, err := en.e.commit(context.Background(), c, request(task, 1), a); err != nil {
		t.Fatalf("commit on a changed node that still fits: %v", err)
	}
	if got := model.ResourceInt(en.instance("i1").RemainingResources, "CPU"); got != 50 {
		t.Errorf("i1 CPU left = %d, want 50", got)
	}
	// Place goes around: i1 has 50 left, so i2 takes it.
	task.CPU = 500
	if got := instancesOf(en.place(request(task, 1))); !slices.Equal(got, []string{"i2"}) {
		t.Errorf("placed on %v", got)
	}
}

// Concurrent placements never overcommit a node, whatever the strategy,
// and they all end: with the default attempts, and when every placement
// decides inside its commit (MaxAttempts 1) or right after one optimistic
// try.
func TestPlaceConcurrentNeverOvercommits(t *testing.T) {
	for _, attempts := range []int{0, 1, 2} {
		t.Run(fmt.Sprint("MaxAttempts=", attempts), func(t *testing.T) {
			testConcurrentPlacements(t, newEnvWith(t, bolt.Options{}, Deps{Seed: 7, MaxAttempts: attempts}))
		})
	}
}

func testConcurrentPlacements(t *testing.T, en *env) {
	for i := range 5 {
		en.register(fmt.Sprint("i", i), 1000, 100000)
	}
	strategies := [][]sched.Strategy{nil, {{Type: sched.Binpack, Field: "cpu"}}, {{Type: sched.Spread, Field: "instanceId"}}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed := 0
	for w := range 24 {
		wg.Go(func() {
			for range 5 {
				res, err := en.e.Place(context.Background(), request(&sched.TaskSpec{CPU: 100, Strategies: strategies[w%3]}, 1+w%3))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				placed += len(res.Tasks)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if placed != 50 {
		t.Errorf("placed %d tasks of 100 CPU units on 5 × 1000; want 50", placed)
	}
	for i := range 5 {
		in := en.instance(fmt.Sprint("i", i))
		if cpu := model.ResourceInt(in.RemainingResources, "CPU"); cpu != 0 || in.RunningTasksCount != 10 {
			t.Errorf("i%d: %d CPU left, %d tasks", i, cpu, in.RunningTasksCount)
		}
	}
}

func TestPlaceOnNamedInstances(t *testing.T) {
	en := newEnv(t, bolt.Options{})
	en.register("i1", 1000, 1000)
	en.register("i2", 100, 1000)
	req := request(&sched.TaskSpec{CPU: 600}, 0)
	req.On = []string{"i1", "i2", "i1", "nope"}
	res := en.place(req)
	var reasons []string
	for _, o := range res.Outcomes {
		reasons = append(reasons, o.Reason)
	}
	if !slices.Equal(reasons, []string{"", sched.ReasonCPU, sched.ReasonCPU, sched.ReasonMissing}) || !slices.Equal(instancesOf(res), []string{"i1"}) {
		t.Errorf("outcomes %q, placed on %v", reasons, instancesOf(res))
	}
}

func TestPlaceBeforeAndAfter(t *testing.T) {
	en := newEnv(t, bolt.Options{})
	en.register("i1", 1000, 1000)
	refused := errors.New("refused")
	req := request(&sched.TaskSpec{CPU: 100}, 2)
	req.Before = func(store.Tx) error { return refused }
	if _, err := en.e.Place(context.Background(), req); !errors.Is(err, refused) {
		t.Fatalf("Before's error: %v", err)
	}
	if in := en.instance("i1"); in.RunningTasksCount != 0 {
		t.Fatalf("a refused placement saved tasks")
	}
	req.Before = nil
	req.After = func(tx store.Tx, r *Result) error {
		if len(r.Tasks) != 2 {
			return fmt.Errorf("After saw %d tasks", len(r.Tasks))
		}
		return tx.Put("/ecs/tokens/x", []byte("{}"))
	}
	if res := en.place(req); len(res.Tasks) != 2 {
		t.Fatalf("placed %d", len(res.Tasks))
	}
}

// A watch that falls behind is compacted; the engine lists again and
// stays right.
func TestPlaceSurvivesCompaction(t *testing.T) {
	en := newEnv(t, bolt.Options{WatchHistory: 2, WatchBuffer: 1})
	en.register("i0", 100000, 100000)
	en.place(request(&sched.TaskSpec{CPU: 1}, 1))
	for i := 1; i <= 30; i++ {
		en.register(fmt.Sprint("i", i), 100, 100)
	}
	res := en.place(request(&sched.TaskSpec{CPU: 100, Strategies: []sched.Strategy{{Type: sched.Spread, Field: "instanceId"}}}, 10))
	if len(res.Tasks) != 10 {
		t.Errorf("placed %d of 10 after 30 registrations", len(res.Tasks))
	}
	c, _ := en.e.cache(context.Background(), "c")
	c.mu.RLock()
	n := c.view.Len()
	c.mu.RUnlock()
	if n != 31 {
		t.Errorf("view has %d nodes, want 31", n)
	}
}
