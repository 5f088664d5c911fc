package instancehealth_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/ctrl/instancehealth"
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

func TestCheckDisconnectsSilentNodes(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	put := func(id, status string, connected bool) {
		if _, err := st.Update(ctx, func(tx store.Tx) error {
			rec := store.InstanceRecord{Cluster: "c", ID: id, LastHeartbeatAt: model.At(clk.Now())}
			rec.Status, rec.AgentConnected, rec.Version = status, connected, 1
			return store.PutJSON(tx, store.InstanceKey("c", id), &rec)
		}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(id string) store.InstanceRecord {
		var rec store.InstanceRecord
		if err := st.View(ctx, func(tx store.ReadTx) error {
			_, _, err := store.GetJSON(tx, store.InstanceKey("c", id), &rec)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	put("alive", model.StatusActive, true)
	put("silent", model.StatusActive, true)
	put("gone", model.StatusInactive, false)

	var seenMu sync.Mutex
	seen := map[string]time.Time{}
	c := instancehealth.New(instancehealth.Deps{
		Store: st, Period: time.Second, Now: clk.Now,
		LastSeen: func(_, id string) (time.Time, bool) {
			seenMu.Lock()
			defer seenMu.Unlock()
			t, ok := seen[id]
			return t, ok
		},
	})
	for range 10 {
		clk.Add(time.Second)
		seenMu.Lock()
		seen["alive"] = clk.Now()
		seenMu.Unlock()
		if err := c.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !get("alive").AgentConnected {
		t.Error("alive node disconnected")
	}
	silent := get("silent")
	if silent.AgentConnected || silent.Status != model.StatusActive || silent.Version != 2 {
		t.Errorf("silent node = connected %v, status %s, version %d", silent.AgentConnected, silent.Status, silent.Version)
	}
	// Already disconnected: no more writes.
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if v := get("silent").Version; v != 2 {
		t.Errorf("version after another check = %d", v)
	}
	if get("gone").Version != 1 {
		t.Error("inactive instance written")
	}
}
