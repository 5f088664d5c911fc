package sched

import (
	"cmp"
	"slices"
)

// sortedIndex orders the view's slots by one resource column (remaining
// CPU or memory), for binpack: the tightest fit is the first feasible
// entry at or above what the task needs.
type sortedIndex struct {
	ents []entry // ascending by (val, slot)
}

type entry struct {
	val  int64
	slot int32
}

func compareEntries(a, b entry) int {
	if c := cmp.Compare(a.val, b.val); c != 0 {
		return c
	}
	return cmp.Compare(a.slot, b.slot)
}

func newSortedIndex(col []int64, nodes []*Node) *sortedIndex {
	x := &sortedIndex{ents: make([]entry, 0, len(nodes))}
	for s, n := range nodes {
		if n != nil {
			x.ents = append(x.ents, entry{col[s], int32(s)})
		}
	}
	slices.SortFunc(x.ents, compareEntries)
	return x
}

// move changes slot s's value from old to cur (present: whether s was in
// the index; keep: whether it stays). A task changes a value a little, so
// the entries between the old and the new place shift by one.
func (x *sortedIndex) move(s int32, old int64, present bool, cur int64, keep bool) {
	i, found := -1, false
	if present {
		i, found = slices.BinarySearchFunc(x.ents, entry{old, s}, compareEntries)
	}
	e := entry{cur, s}
	switch {
	case found && keep:
		j, _ := slices.BinarySearchFunc(x.ents, e, compareEntries)
		if j > i { // moving up: entries (i, j) shift down
			copy(x.ents[i:j-1], x.ents[i+1:j])
			x.ents[j-1] = e
		} else {
			copy(x.ents[j+1:i+1], x.ents[j:i])
			x.ents[j] = e
		}
	case found:
		x.ents = slices.Delete(x.ents, i, i+1)
	case keep:
		j, _ := slices.BinarySearchFunc(x.ents, e, compareEntries)
		x.ents = slices.Insert(x.ents, j, e)
	}
}

// from is the position of the first entry with a value of at least min.
func (x *sortedIndex) from(min int64) int {
	i, _ := slices.BinarySearchFunc(x.ents, entry{min, -1}, compareEntries)
	return i
}

// sortedIndex returns the index of the CPU (cpu true) or memory column,
// built on first use and kept current by Put and Remove.
func (v *ClusterView) sortedIndex(cpu bool) *sortedIndex {
	i := 1
	if cpu {
		i = 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.bidx[i] == nil {
		col := v.mem
		if cpu {
			col = v.cpu
		}
		v.bidx[i] = newSortedIndex(col, v.nodes)
	}
	return v.bidx[i]
}

// moveIndexed keeps the sorted indexes current when slot s changes from
// old to cur (either may be nil).
func (v *ClusterView) moveIndexed(s int32, old, cur *Node) {
	for i, x := range v.bidx {
		if x == nil {
			continue
		}
		var ov, cv int64
		if old != nil {
			ov = [2]int64{old.CPU, old.Memory}[i]
		}
		if cur != nil {
			cv = [2]int64{cur.CPU, cur.Memory}[i]
		}
		if old != nil && cur != nil && ov == cv {
			continue
		}
		x.move(s, ov, old != nil, cv, cur != nil)
	}
}
