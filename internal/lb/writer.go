package lb

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// writer writes what the data plane finds to the store, batched: health
// transitions (so DescribeTargetHealth shows them) and the deletion of
// targets whose draining is over. Each batch is one transaction that
// re-reads every record, so it never overwrites a newer registration or a
// draining record.
type writer struct {
	st     store.Store
	now    func() time.Time
	log    *slog.Logger
	kick   chan struct{}
	mu     sync.Mutex
	health map[targetKey]*backend
	drains map[targetKey]time.Time // DrainUntil of the drain that ended
}

// batchWindow is how long the writer gathers changes before writing them.
const batchWindow = 20 * time.Millisecond

func newWriter(st store.Store, now func() time.Time, log *slog.Logger) *writer {
	return &writer{
		st: st, now: now, log: log,
		kick:   make(chan struct{}, 1),
		health: map[targetKey]*backend{},
		drains: map[targetKey]time.Time{},
	}
}

// enqueue asks for the backend's current health to be written if its
// record shows another.
func (w *writer) enqueue(b *backend) {
	w.mu.Lock()
	w.health[b.key] = b
	w.mu.Unlock()
	w.poke()
}

// drained asks for the target's record to be deleted if it is still the
// draining record that ends at until.
func (w *writer) drained(k targetKey, until time.Time) {
	w.mu.Lock()
	w.drains[k] = until
	w.mu.Unlock()
	w.poke()
}

func (w *writer) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *writer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			w.flush(context.Background()) // what is pending still lands
			return
		case <-w.kick:
		}
		sleep(ctx, batchWindow)
		w.flush(ctx)
	}
}

func (w *writer) flush(ctx context.Context) {
	w.mu.Lock()
	health, drains := w.health, w.drains
	w.health, w.drains = map[targetKey]*backend{}, map[targetKey]time.Time{}
	w.mu.Unlock()
	if len(health) == 0 && len(drains) == 0 {
		return
	}
	now := model.At(w.now())
	_, err := w.st.Update(ctx, func(tx store.Tx) error {
		for k, b := range health {
			if b.gone.Load() {
				continue
			}
			if err := writeHealth(tx, k, b.healthNow(), b.anomalyNow(), now); err != nil {
				return err
			}
		}
		for k, until := range drains {
			if err := deleteDrained(tx, k, until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.log.Warn("lb: writing target health", "err", err, "targets", len(health), "drained", len(drains))
		// Put them back for the next round unless newer ones arrived.
		w.mu.Lock()
		for k, b := range health {
			if _, ok := w.health[k]; !ok {
				w.health[k] = b
			}
		}
		for k, u := range drains {
			if _, ok := w.drains[k]; !ok {
				w.drains[k] = u
			}
		}
		w.mu.Unlock()
		if ctx.Err() == nil {
			sleep(ctx, 200*time.Millisecond)
			w.poke()
		}
	}
}

// writeHealth writes a target's health and anomaly detection result to
// its record when they differ from what it shows.
func writeHealth(tx store.Tx, k targetKey, h health, a anomaly, now model.Time) error {
	key := store.TargetKey(k.tg, k.id, k.port)
	var rec store.TargetRecord
	ok, err := getJSON(tx, key, &rec)
	if err != nil || !ok || rec.State == store.TargetDraining {
		return err
	}
	sameHealth := rec.State == h.state && rec.Reason == h.reason && rec.Description == h.desc
	if sameHealth && rec.Anomaly == a.result && rec.Mitigating == a.mitigating {
		return nil
	}
	if !sameHealth {
		rec.State, rec.Reason, rec.Description, rec.Since = h.state, h.reason, h.desc, now
	}
	rec.Anomaly, rec.Mitigating = a.result, a.mitigating
	return store.PutJSON(tx, key, &rec)
}

func deleteDrained(tx store.Tx, k targetKey, until time.Time) error {
	key := store.TargetKey(k.tg, k.id, k.port)
	var rec store.TargetRecord
	ok, err := getJSON(tx, key, &rec)
	if err != nil || !ok || rec.State != store.TargetDraining || rec.DrainUntil.UnixMilli() != until.UnixMilli() {
		return err
	}
	return tx.Delete(key)
}

// getJSON reads a record; one it cannot decode counts as absent (the data
// plane leaves it alone rather than failing the whole batch).
func getJSON(tx store.ReadTx, key string, v any) (bool, error) {
	kv, ok, err := tx.Get(key)
	if err != nil || !ok {
		return false, err
	}
	return json.Unmarshal(kv.Value, v) == nil, nil
}
