package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/quayside/quayside/internal/store"
)

// errModel marks a check that failed inside an Update function.
var errModel = errors.New("storetest: model mismatch")

// op is one generated write inside an Update.
type op struct {
	kind  string // put, putif, delete
	key   string
	value string
}

func genOp(prefix string) *rapid.Generator[op] {
	return rapid.Custom(func(t *rapid.T) op {
		return op{
			kind:  rapid.SampledFrom([]string{"put", "put", "putif", "delete"}).Draw(t, "kind"),
			key:   prefix + rapid.SampledFrom([]string{"a", "ab", "b", "b/x", "c", "d"}).Draw(t, "key"),
			value: rapid.StringMatching(`[a-z]{0,3}`).Draw(t, "value"),
		}
	})
}

// testModel runs random Updates (some failing) against a map model and
// checks reads inside the transactions, the committed state with its
// revisions, and the watch stream of each run.
func testModel(t *testing.T, s store.Store) {
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		prefix := fmt.Sprintf("/m/%d/", run)
		watch := s.Watch(rt.Context(), prefix, currentRev(t, s))
		model := map[string]store.KV{}
		var last int64
		for range rapid.IntRange(1, 6).Draw(rt, "updates") {
			ops := rapid.SliceOfN(genOp(prefix), 1, 6).Draw(rt, "ops")
			fail := rapid.IntRange(0, 3).Draw(rt, "fail") == 0
			after := prefix + rapid.SampledFrom([]string{"", "a", "b", "bz"}).Draw(rt, "after")
			if rev, changed := modelUpdate(rt, s, model, ops, fail, prefix, after); changed {
				last = rev
			}
		}
		checkModel(rt, s, prefix, model)
		if last > 0 {
			checkWatchModel(rt, watch, last, model)
		}
	})
}

// modelUpdate runs ops in one Update, checking reads against a copy of
// model, and on success folds the result into model.
// It never fails rt inside the function, which may run on another goroutine.
func modelUpdate(rt *rapid.T, s store.Store, model map[string]store.KV, ops []op, fail bool, prefix, after string) (int64, bool) {
	var local map[string]store.KV
	rev, err := s.Update(rt.Context(), func(tx store.Tx) error {
		local = maps.Clone(model) // fn may run more than once
		for _, o := range ops {
			if err := applyOp(tx, local, o); err != nil {
				return err
			}
		}
		if err := checkScan(tx, local, prefix, after); err != nil {
			return err
		}
		if fail {
			return errTest
		}
		return nil
	})
	if errors.Is(err, errModel) {
		rt.Fatal(err)
	}
	if fail {
		if !errors.Is(err, errTest) {
			rt.Fatalf("failing update returned %v", err)
		}
		return 0, false
	}
	if err != nil {
		rt.Fatalf("update: %v", err)
	}
	return rev, commitModel(model, local, rev)
}

// applyOp performs o on tx and on local, where a pending write has ModRev 0.
func applyOp(tx store.Tx, local map[string]store.KV, o op) error {
	switch o.kind {
	case "delete":
		delete(local, o.key)
		return tx.Delete(o.key)
	case "putif":
		kv, ok, err := tx.Get(o.key)
		if err != nil {
			return err
		}
		if ok != (local[o.key].Key != "") || (ok && string(kv.Value) != string(local[o.key].Value)) {
			return fmt.Errorf("%w: get %s in tx: %+v ok=%v, model %+v", errModel, o.key, kv, ok, local[o.key])
		}
		if err := tx.PutIf(o.key, []byte(o.value), kv.ModRev); err != nil {
			return fmt.Errorf("%w: PutIf with the ModRev just read: %w", errModel, err)
		}
	default:
		if err := tx.Put(o.key, []byte(o.value)); err != nil {
			return err
		}
	}
	local[o.key] = store.KV{Key: o.key, Value: []byte(o.value)}
	return nil
}

// checkScan compares a Scan inside the transaction with local.
func checkScan(tx store.ReadTx, local map[string]store.KV, prefix, after string) error {
	var got []string
	err := tx.Scan(prefix, after, func(kv store.KV) (bool, error) {
		got = append(got, kv.Key+"="+string(kv.Value))
		return true, nil
	})
	if err != nil {
		return err
	}
	var want []string
	for _, k := range slices.Sorted(maps.Keys(local)) {
		if k > after {
			want = append(want, k+"="+string(local[k].Value))
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%w: scan after %q in tx: got %q, want %q", errModel, after, got, want)
	}
	return nil
}

// commitModel gives the keys local changed their committed revisions and
// stores them in model; it reports whether anything changed.
func commitModel(model, local map[string]store.KV, rev int64) bool {
	changed := false
	for k := range model {
		if _, ok := local[k]; !ok {
			delete(model, k)
			changed = true
		}
	}
	for k, kv := range local {
		if kv.ModRev != 0 {
			continue // untouched by this transaction
		}
		kv.ModRev, kv.CreateRev = rev, rev
		if old, ok := model[k]; ok {
			kv.CreateRev = old.CreateRev
		}
		model[k] = kv
		changed = true
	}
	return changed
}

// checkModel compares the committed state under prefix with model.
func checkModel(rt *rapid.T, s store.Store, prefix string, model map[string]store.KV) {
	var got []store.KV
	err := s.View(rt.Context(), func(tx store.ReadTx) error {
		return tx.Scan(prefix, "", func(kv store.KV) (bool, error) {
			got = append(got, kv)
			return true, nil
		})
	})
	if err != nil {
		rt.Fatal(err)
	}
	want := slices.Collect(maps.Values(model))
	slices.SortFunc(want, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	if !slices.EqualFunc(got, want, sameKV) {
		rt.Fatalf("committed state:\n got %+v\nwant %+v", got, want)
	}
}

// checkWatchModel replays the watch stream up to last and compares the
// result with model.
func checkWatchModel(rt *rapid.T, ch <-chan store.WatchResponse, last int64, model map[string]store.KV) {
	seen := map[string]store.KV{}
	for rev := int64(0); rev < last; {
		var resp store.WatchResponse
		select {
		case resp = <-ch:
		case <-time.After(waitFor):
			rt.Fatalf("watch stalled after rev %d, want up to %d", rev, last)
		}
		if resp.Err != nil || resp.Rev <= rev {
			rt.Fatalf("watch response %+v after rev %d", resp, rev)
		}
		rev = resp.Rev
		for _, e := range resp.Events {
			if e.Type == store.EventDelete {
				delete(seen, e.KV.Key)
				continue
			}
			seen[e.KV.Key] = e.KV
		}
	}
	if !maps.EqualFunc(seen, model, sameKV) {
		rt.Fatalf("watch replay:\n got %+v\nwant %+v", seen, model)
	}
}

func sameKV(a, b store.KV) bool {
	return a.Key == b.Key && string(a.Value) == string(b.Value) && a.CreateRev == b.CreateRev && a.ModRev == b.ModRev
}
