package placement

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/store"
)

// clusterCache is the engine's view of one cluster's container instances.
type clusterCache struct {
	name string
	// floor is the revision the cache was (re)listed at: watch responses
	// up to it are already in. Owned by the watcher goroutine.
	floor int64

	mu   sync.RWMutex
	view *sched.ClusterView
	recs map[string]cached // by instance id

	// pending holds, by instance id, records this engine is committing,
	// with their bytes: the watch often delivers a commit before the
	// committer installs it, and then needs no decoding.
	pmu     sync.Mutex
	pending map[string][]*pendingRec
}

type pendingRec struct {
	rec   *store.InstanceRecord
	value []byte
}

// expect notes records about to be committed with the given bytes.
func (c *clusterCache) expect(p *pendingRec) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.pending == nil {
		c.pending = map[string][]*pendingRec{}
	}
	c.pending[p.rec.ID] = append(c.pending[p.rec.ID], p)
}

// unexpect forgets records noted by expect.
func (c *clusterCache) unexpect(ps []*pendingRec) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for _, p := range ps {
		list := slices.DeleteFunc(c.pending[p.rec.ID], func(x *pendingRec) bool { return x == p })
		if len(list) == 0 {
			delete(c.pending, p.rec.ID)
		} else {
			c.pending[p.rec.ID] = list
		}
	}
}

// expected returns the pending record stored as value, if any.
func (c *clusterCache) expected(id string, value []byte) *store.InstanceRecord {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for _, p := range c.pending[id] {
		if bytes.Equal(p.value, value) {
			return p.rec
		}
	}
	return nil
}

// cached is an instance record as stored at modRev. It is never changed.
type cached struct {
	rec               *store.InstanceRecord
	createRev, modRev int64
}

func newClusterCache(name string) *clusterCache {
	return &clusterCache{name: name, view: sched.NewView(), recs: map[string]cached{}}
}

// install puts records into the cache, keeping for each instance the
// newest version.
func (c *clusterCache) install(recs ...cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		c.installLocked(r)
	}
}

func (c *clusterCache) installLocked(r cached) {
	if old, ok := c.recs[r.rec.ID]; ok && old.modRev >= r.modRev {
		return
	}
	c.recs[r.rec.ID] = r
	c.view.Put(toNode(r.rec, r.createRev, r.modRev))
}

// remove drops an instance deleted at rev.
func (c *clusterCache) removeLocked(id string, rev int64) {
	if old, ok := c.recs[id]; ok && old.modRev < rev {
		delete(c.recs, id)
		c.view.Remove(id)
	}
}

// relist replaces the cache's content with the cluster's instances as of
// tx.
func (c *clusterCache) relist(tx store.ReadTx) error {
	fresh := map[string]cached{}
	err := tx.Scan(store.InstancesPrefix+c.name+"/", "", func(kv store.KV) (bool, error) {
		rec, err := decodeInstance(kv)
		if err != nil {
			return false, err
		}
		fresh[rec.ID] = cached{rec: rec, createRev: kv.CreateRev, modRev: kv.ModRev}
		return true, nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.recs {
		if _, ok := fresh[id]; !ok {
			delete(c.recs, id)
			c.view.Remove(id)
		}
	}
	for _, r := range fresh {
		c.installLocked(r)
	}
	c.floor = tx.Rev()
	return nil
}

func decodeInstance(kv store.KV) (*store.InstanceRecord, error) {
	rec := new(store.InstanceRecord)
	if err := json.Unmarshal(kv.Value, rec); err != nil {
		return nil, fmt.Errorf("placement: decode %s: %w", kv.Key, err)
	}
	return rec, nil
}

// apply applies the instance events of one watch response. Records the
// cache already has (its own commits) are not decoded again.
func (c *clusterCache) apply(rev int64, events []store.Event) error {
	if rev <= c.floor {
		return nil
	}
	var need []int // events to decode
	c.mu.RLock()
	for i, ev := range events {
		if ev.Type != store.EventPut {
			continue
		}
		if old, ok := c.recs[idOf(ev.KV.Key)]; ok && old.modRev >= ev.KV.ModRev {
			continue
		}
		need = append(need, i)
	}
	c.mu.RUnlock()
	fresh := make([]cached, 0, len(need))
	for _, i := range need {
		kv := events[i].KV
		rec := c.expected(idOf(kv.Key), kv.Value)
		if rec == nil {
			var err error
			if rec, err = decodeInstance(kv); err != nil {
				return err
			}
		}
		fresh = append(fresh, cached{rec: rec, createRev: kv.CreateRev, modRev: kv.ModRev})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range fresh {
		c.installLocked(r)
	}
	for _, ev := range events {
		if ev.Type == store.EventDelete {
			c.removeLocked(idOf(ev.KV.Key), ev.KV.ModRev)
		}
	}
	return nil
}

func idOf(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// forget drops instances the store no longer has.
func (c *clusterCache) forget(ids ...string) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.recs, id)
		c.view.Remove(id)
	}
}

// current is a record the caller may change, of the instance stored as kv:
// a copy of one this engine is committing with those bytes, or decoded.
func (c *clusterCache) current(kv store.KV) (*store.InstanceRecord, error) {
	if rec := c.expected(idOf(kv.Key), kv.Value); rec != nil {
		return working(rec), nil
	}
	return decodeInstance(kv)
}
