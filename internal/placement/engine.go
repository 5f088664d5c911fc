package placement

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

// Defaults of Deps.
const (
	DefaultMaxAttempts = 4
	DefaultBarrierWait = time.Second
)

// Deps are what an Engine needs.
type Deps struct {
	Store  store.Store
	Logger *slog.Logger
	// MaxAttempts bounds how many times one placement is decided and
	// committed when its commit finds chosen nodes that can no longer take
	// their tasks (default DefaultMaxAttempts). The last attempt decides
	// inside the commit, where no other placement can intervene.
	MaxAttempts int
	// BarrierWait bounds how long a placement waits for the views to catch
	// up with the store before deciding anyway (default
	// DefaultBarrierWait); the commit's re-check keeps even a late view
	// from overcommitting.
	BarrierWait time.Duration
	// Seed makes decisions reproducible; 0 seeds from crypto/rand.
	Seed uint64
}

// Engine places tasks. It is safe for concurrent use.
type Engine struct {
	st          store.Store
	log         *slog.Logger
	maxAttempts int
	barrierWait time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	start  sync.Once
	ensure chan *ensureReq
	done   chan struct{}

	mu       sync.Mutex
	clusters map[string]*clusterCache
	rev      int64         // every view has applied the revisions up to rev
	advanced chan struct{} // closed when rev moves
	err      error         // why the watcher stopped

	rngMu sync.Mutex
	rng   *rand.Rand
}

type ensureReq struct {
	cluster string
	done    chan error
}

// New returns an engine over d.Store. Its watch starts with the first
// placement and ends when the store closes or Close is called.
func New(d Deps) *Engine {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = DefaultMaxAttempts
	}
	if d.BarrierWait <= 0 {
		d.BarrierWait = DefaultBarrierWait
	}
	seed := d.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		st: d.Store, log: d.Logger, maxAttempts: d.MaxAttempts, barrierWait: d.BarrierWait,
		ctx: ctx, cancel: cancel, ensure: make(chan *ensureReq), done: make(chan struct{}),
		clusters: map[string]*clusterCache{}, advanced: make(chan struct{}),
		rng: mrand(seed),
	}
}

func mrand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Close stops the watch.
func (e *Engine) Close() {
	e.cancel()
	e.start.Do(func() { close(e.done) })
	<-e.done
}

// newRand gives one placement its own generator.
func (e *Engine) newRand() *rand.Rand {
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return mrand(e.rng.Uint64())
}

// cache returns the view of cluster, listing it on first use.
func (e *Engine) cache(ctx context.Context, cluster string) (*clusterCache, error) {
	if err := e.startWatch(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	c, err := e.clusters[cluster], e.err
	e.mu.Unlock()
	if c != nil || err != nil {
		return c, err
	}
	req := &ensureReq{cluster: cluster, done: make(chan error, 1)}
	select {
	case e.ensure <- req:
	case <-e.done:
		return nil, e.stopped()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case err := <-req.done:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clusters[cluster], nil
}

func (e *Engine) stopped() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	return store.ErrClosed
}

// startWatch starts the watcher on the first call.
func (e *Engine) startWatch(ctx context.Context) error {
	var err error
	e.start.Do(func() {
		var rev int64
		if err = e.st.View(ctx, func(tx store.ReadTx) error { rev = tx.Rev(); return nil }); err != nil {
			close(e.done)
			return
		}
		e.rev = rev
		go e.watch(rev)
	})
	if err != nil {
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
	}
	return err
}

// watch follows every change of the store from rev on: instance records go
// to their cluster's view, and each response moves the engine's revision.
// It also lists clusters seen for the first time, between responses, so a
// new view misses nothing.
func (e *Engine) watch(rev int64) {
	defer close(e.done)
	ch := e.st.Watch(e.ctx, "", rev)
	for {
		select {
		case <-e.ctx.Done():
			e.fail(context.Canceled)
			return
		case req := <-e.ensure:
			req.done <- e.list(req.cluster)
		case resp, ok := <-ch:
			if !ok {
				e.fail(store.ErrClosed)
				return
			}
			var err error
			if ch, err = e.handle(ch, resp); err != nil {
				e.fail(err)
				return
			}
		}
	}
}

// handle applies one response; after ErrCompacted it relists every view and
// returns the new watch.
func (e *Engine) handle(ch <-chan store.WatchResponse, resp store.WatchResponse) (<-chan store.WatchResponse, error) {
	switch {
	case errors.Is(resp.Err, store.ErrCompacted):
		e.log.Warn("placement: watch fell behind; relisting", "err", resp.Err)
		rev, err := e.relistAll()
		if err != nil {
			return nil, err
		}
		return e.st.Watch(e.ctx, "", rev), nil
	case resp.Err != nil:
		return nil, resp.Err
	}
	if err := e.dispatch(resp); err != nil {
		return nil, err
	}
	e.advance(resp.Rev)
	return ch, nil
}

// dispatch hands each cluster's instance events to its view.
func (e *Engine) dispatch(resp store.WatchResponse) error {
	var byCluster map[string][]store.Event
	for _, ev := range resp.Events {
		rest, ok := strings.CutPrefix(ev.KV.Key, store.InstancesPrefix)
		if !ok {
			continue
		}
		cluster, _, _ := strings.Cut(rest, "/")
		if byCluster == nil {
			byCluster = map[string][]store.Event{}
		}
		byCluster[cluster] = append(byCluster[cluster], ev)
	}
	for cluster, evs := range byCluster {
		e.mu.Lock()
		c := e.clusters[cluster]
		e.mu.Unlock()
		if c == nil {
			continue
		}
		if err := c.apply(resp.Rev, evs); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) advance(rev int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rev > e.rev {
		e.rev = rev
		close(e.advanced)
		e.advanced = make(chan struct{})
	}
}

func (e *Engine) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
	}
}

// list creates the view of a cluster seen for the first time.
func (e *Engine) list(cluster string) error {
	e.mu.Lock()
	c := e.clusters[cluster]
	e.mu.Unlock()
	if c != nil {
		return nil
	}
	c = newClusterCache(cluster)
	if err := e.st.View(e.ctx, c.relist); err != nil {
		return err
	}
	e.mu.Lock()
	e.clusters[cluster] = c
	e.mu.Unlock()
	return nil
}

// relistAll lists every view again at one revision, which it returns.
func (e *Engine) relistAll() (int64, error) {
	e.mu.Lock()
	caches := make([]*clusterCache, 0, len(e.clusters))
	for _, c := range e.clusters {
		caches = append(caches, c)
	}
	e.mu.Unlock()
	var rev int64
	err := e.st.View(e.ctx, func(tx store.ReadTx) error {
		rev = tx.Rev()
		for _, c := range caches {
			if err := c.relist(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		e.advance(rev)
	}
	return rev, err
}

// barrier waits until every view has applied what the store committed
// before it was called, or until BarrierWait passes.
func (e *Engine) barrier(ctx context.Context) error {
	var want int64
	if err := e.st.View(ctx, func(tx store.ReadTx) error { want = tx.Rev(); return nil }); err != nil {
		return err
	}
	var timer *time.Timer
	for {
		e.mu.Lock()
		rev, advanced, err := e.rev, e.advanced, e.err
		e.mu.Unlock()
		switch {
		case rev >= want:
			return nil
		case err != nil:
			return err
		case timer == nil:
			timer = time.NewTimer(e.barrierWait)
			defer timer.Stop()
		}
		select {
		case <-advanced:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			e.log.Warn("placement: views behind the store; deciding on them anyway", "have", rev, "want", want)
			return nil
		}
	}
}

// errContention is returned when even the decision inside the commit kept
// finding its chosen nodes stale.
var errContention = errs.New(errs.Server, "The placement could not be committed: the chosen container instances kept changing. Retry the request.")
