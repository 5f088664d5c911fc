package sched

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The index stays sorted and holds exactly the live slots through moves.
func TestSortedIndexMoves(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := map[int32]int64{}
	x := &sortedIndex{}
	for range 5000 {
		s := int32(r.IntN(50))
		old, present := vals[s]
		keep := r.IntN(5) > 0
		cur := int64(r.IntN(20))
		x.move(s, old, present, cur, keep)
		if keep {
			vals[s] = cur
		} else {
			delete(vals, s)
		}
		if !slices.IsSortedFunc(x.ents, compareEntries) || len(x.ents) != len(vals) {
			t.Fatalf("index %v, values %v", x.ents, vals)
		}
		for _, e := range x.ents {
			if v, ok := vals[e.slot]; !ok || v != e.val {
				t.Fatalf("entry %v, value %v %v", e, v, ok)
			}
		}
	}
}
