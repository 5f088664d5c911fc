package agentapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/api/agentapi"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// countingStore counts the store work the handler does.
type countingStore struct {
	store.Store
	views, scans, gets, updates atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(store.ReadTx) error) error {
	defer c.views.Add(1) // counted when done, so a finished count covers its reads
	return c.Store.View(ctx, func(tx store.ReadTx) error { return fn(countingTx{tx, c}) })
}

func (c *countingStore) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

type countingTx struct {
	store.ReadTx
	c *countingStore
}

func (t countingTx) Get(key string) (store.KV, bool, error) {
	t.c.gets.Add(1)
	return t.ReadTx.Get(key)
}

func (t countingTx) Scan(prefix, after string, fn func(store.KV) (bool, error)) error {
	t.c.scans.Add(1)
	return t.ReadTx.Scan(prefix, after, fn)
}

var scope = arn.Scope{Partition: "aws", Region: "us-east-1", Account: "000000000000"}

// TestManyIdlePollers registers many nodes, holds a poll open for each and
// checks that idle polls cost no store work and that a change wakes only its
// node's poll.
func TestManyIdlePollers(t *testing.T) {
	nodes := 1000
	if testing.Short() {
		nodes = 100
	}
	raw, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	st := &countingStore{Store: raw}
	ctx := t.Context()
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		return store.PutJSON(tx, store.ClusterKey("c"), &model.Cluster{ClusterName: "c", ClusterArn: scope.Cluster("c"), Status: model.StatusActive})
	}); err != nil {
		t.Fatal(err)
	}
	h := agentapi.New(agentapi.Deps{Store: st, Scope: scope, Token: "tok", PollWait: 30 * time.Second})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: nodes, MaxConnsPerHost: 0}}
	cl := agentproto.NewClient(srv.URL, "tok", hc)

	start := time.Now()
	arns := make([]string, nodes)
	revs := make([]int64, nodes)
	parallel(nodes, 32, func(i int) error {
		reg, err := cl.Register(ctx, &agentproto.RegisterRequest{Cluster: "c", EC2InstanceID: fmt.Sprintf("i-%017d", i),
			TotalResources: []model.Resource{model.IntResource(model.ResourceCPU, 4096), model.IntResource(model.ResourceMemory, 8192)}})
		if err != nil {
			return err
		}
		arns[i] = reg.ContainerInstanceArn
		full, err := cl.Assignments(ctx, &agentproto.AssignmentsRequest{ContainerInstanceArn: reg.ContainerInstanceArn})
		revs[i] = full.Revision
		return err
	})
	t.Logf("%d nodes registered and polled the full set in %v", nodes, time.Since(start))

	// Heartbeats of connected nodes write nothing.
	updates := st.updates.Load()
	start = time.Now()
	parallel(nodes, 32, func(i int) error {
		_, err := cl.Heartbeat(ctx, &agentproto.HeartbeatRequest{ContainerInstanceArn: arns[i]})
		return err
	})
	t.Logf("%d heartbeats in %v", nodes, time.Since(start))
	if d := st.updates.Load() - updates; d != 0 {
		t.Errorf("heartbeats of connected nodes wrote the store %d times", d)
	}

	// Hold one poll open per node.
	type answer struct {
		i   int
		res *agentproto.AssignmentsResponse
		err error
	}
	answers := make(chan answer, nodes)
	pollCtx, cancelPolls := context.WithCancel(ctx)
	defer cancelPolls()
	for i := range nodes {
		go func() {
			res, err := cl.Assignments(pollCtx, &agentproto.AssignmentsRequest{ContainerInstanceArn: arns[i], After: revs[len(revs)-1]})
			answers <- answer{i, res, err}
		}()
	}
	// Every poll reads its node once on arrival; wait until they all have.
	for deadline := time.Now().Add(30 * time.Second); st.views.Load() < int64(4*nodes+1); {
		if time.Now().After(deadline) {
			t.Fatalf("only %d views", st.views.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	scans, gets := st.scans.Load(), st.gets.Load()
	time.Sleep(500 * time.Millisecond)
	if d := st.scans.Load() - scans; d != 0 {
		t.Errorf("idle polls scanned the store %d times", d)
	}
	if d := st.gets.Load() - gets; d != 0 {
		t.Errorf("idle polls read %d keys", d)
	}

	// A task placed on one node wakes that node's poll only.
	const target = 7
	n := arns[target]
	id := n[len(n)-32:]
	placed := time.Now()
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		rec := &store.TaskRecord{Cluster: "c", ID: "t1", InstanceID: id}
		rec.Task = model.Task{TaskArn: scope.Task("c", "t1"), LastStatus: model.StatusPending, DesiredStatus: model.StatusRunning}
		return store.SaveTask(tx, rec)
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answers:
		if a.err != nil || a.i != target || len(a.res.Tasks) != 1 || a.res.Tasks[0].Task.TaskArn != scope.Task("c", "t1") {
			t.Fatalf("answer = %d %+v %v", a.i, a.res, a.err)
		}
		t.Logf("delta reached the node's poll %v after the commit, among %d idle polls", time.Since(placed), nodes)
	case <-time.After(5 * time.Second):
		t.Fatal("no poll answered")
	}
	select {
	case a := <-answers:
		t.Fatalf("node %d woken too: %+v %v", a.i, a.res, a.err)
	case <-time.After(200 * time.Millisecond):
	}
	// Closing the handler releases every poll at once.
	closed := time.Now()
	h.Close()
	for range nodes - 1 {
		select {
		case a := <-answers:
			if a.err != nil || len(a.res.Tasks) != 0 {
				t.Fatalf("released poll = %+v %v", a.res, a.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("polls not released by Close")
		}
	}
	t.Logf("Close released %d polls in %v", nodes-1, time.Since(closed))
}

// parallel runs fn(0..n-1) on workers goroutines and fails on the first error.
func parallel(n, workers int, fn func(int) error) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	errc := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		panic(err)
	}
}
