package sched

import (
	"math"
	"slices"
)

// Fast paths of ranking. Spread keys have lower bounds that are cheap to
// know (no task of the group on a node; the least-loaded value of an
// attribute among the candidates), and binpack has the view's sorted index.
// A node that is feasible and meets every lower bound of the spread levels
// before the first binpack level is among the best; the first such node up
// the binpack index is the tightest fit. When no node meets the bounds the
// fast path gives up and the full scan decides.

// fast tries the fast path; ok is false when it could not decide.
func (r *ranking) fast(cands *candidates) (int32, bool) {
	j := 0 // the first binpack level, or len(r.levels)
	for j < len(r.levels) && (r.levels[j].kind == spreadNode || r.levels[j].kind == spreadAttribute) {
		j++
	}
	var bounds [MaxStrategies]int64
	for i := range j {
		bounds[i] = r.lowerBound(&r.levels[i], cands)
	}
	if j == len(r.levels) {
		if s, ok := r.sample(cands.slots, bounds[:j]); ok {
			return s, ok
		}
		if r.levels[j-1].kind == spreadNode && r.c.gidx != nil {
			return r.byCount(cands, bounds[:j])
		}
		return r.layered(cands.slots, bounds[:j])
	}
	ties := r.walk(j, cands, bounds[:j])
	if len(ties) == 0 {
		return -1, false
	}
	return r.choose(ties, j+1), true
}

// lowerBound is a key no candidate can beat at spread level l.
func (r *ranking) lowerBound(l *level, cands *candidates) int64 {
	if l.kind == spreadNode {
		return 0
	}
	if l.has == nil {
		l.has = cands.valuesOf(l.col)
	}
	best := int64(math.MaxInt64)
	for id, n := range l.counts {
		if id < len(l.has) && l.has[id] && int64(n) < best {
			best = int64(n)
		}
	}
	return best
}

// maxLayers bounds the range of last-level keys layered sorts.
const maxLayers = 4096

// layered decides a chain of spread levels whose last bound no feasible
// node meets (every node still free of the group is full, say): among the
// candidates that meet the bounds of the other levels it tries the classes
// of equal last key from the smallest up, sampling each, then checking it
// whole. The first class with a feasible node holds the best ones.
func (r *ranking) layered(cands []int32, bounds []int64) (int32, bool) {
	last := len(bounds) - 1
	l := &r.levels[last]
	slots := r.buf[:0]
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range cands {
		if r.meets(s, bounds[:last]) {
			k := r.key(l, s)
			lo, hi = min(lo, k), max(hi, k)
			slots = append(slots, s)
		}
	}
	r.buf = slots
	if len(slots) == 0 || hi-lo >= maxLayers {
		return -1, false
	}
	// Counting sort of the slots by key.
	start := make([]int, hi-lo+2)
	for _, s := range slots {
		start[r.key(l, s)-lo+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	order := make([]int32, len(slots))
	next := slices.Clone(start)
	for _, s := range slots {
		k := r.key(l, s) - lo
		order[next[k]] = s
		next[k]++
	}
	for i := 0; i+1 < len(start); i++ {
		if s, ok := r.pickIn(order[start[i]:start[i+1]]); ok {
			return s, true
		}
	}
	return -1, false
}

// byCount decides a chain whose last level spreads by instance when no
// feasible node is free of the group: it tries the group index's classes
// of nodes running equally many of its tasks, fewest first, keeping those
// that meet the other levels' bounds. Slots holding tasks of this decision
// count in the class of their count with those tasks.
func (r *ranking) byCount(cands *candidates, bounds []int64) (int32, bool) {
	c := r.c
	x := c.gidx
	prefix := bounds[:len(bounds)-1]
	ok := func(s int32) bool { return cands.has(s) && r.meets(s, prefix) && c.fits(s) }
	counts := x.levels()
	for _, s := range c.hit {
		counts = append(counts, x.counts[s]+int32(c.k[s]))
	}
	slices.Sort(counts)
	for _, n := range slices.Compact(counts) {
		var extra []int32
		for _, s := range c.hit {
			if x.counts[s]+int32(c.k[s]) == n {
				extra = append(extra, s)
			}
		}
		class := x.members[n]
		if s, found := r.pickWhere(class, extra, func(s int32) bool { return c.k[s] == 0 && ok(s) }, ok); found {
			return s, true
		}
	}
	return -1, false
}

// pickWhere picks uniformly among the slots of class that pass in and of
// extra that pass inExtra.
func (r *ranking) pickWhere(class, extra []int32, in, inExtra func(int32) bool) (int32, bool) {
	n := len(class) + len(extra)
	if n == 0 {
		return -1, false
	}
	at := func(i int) (int32, bool) {
		if i < len(class) {
			return class[i], in(class[i])
		}
		s := extra[i-len(class)]
		return s, inExtra(s)
	}
	for range samples {
		if s, ok := at(r.c.rng.IntN(n)); ok {
			return s, true
		}
	}
	var passing []int32
	for i := range n {
		if s, ok := at(i); ok {
			passing = append(passing, s)
		}
	}
	if len(passing) == 0 {
		return -1, false
	}
	return passing[r.c.rng.IntN(len(passing))], true
}

// pickIn picks a feasible slot of class uniformly at random, if there is
// one.
func (r *ranking) pickIn(class []int32) (int32, bool) {
	c := r.c
	if len(class) == 0 {
		return -1, false
	}
	for range samples {
		if s := class[c.rng.IntN(len(class))]; c.fits(s) {
			return s, true
		}
	}
	feasible := class[:0:0]
	for _, s := range class {
		if c.fits(s) {
			feasible = append(feasible, s)
		}
	}
	if len(feasible) == 0 {
		return -1, false
	}
	return feasible[c.rng.IntN(len(feasible))], true
}

// meets reports whether slot s has the bound's key at each of the first
// len(bounds) levels.
func (r *ranking) meets(s int32, bounds []int64) bool {
	for i, b := range bounds {
		if r.key(&r.levels[i], s) != b {
			return false
		}
	}
	return true
}

// sample looks at random candidates for a feasible one that meets every
// bound: all levels are spread levels, so it is among the best, and a
// uniform sample is a uniform choice among them.
func (r *ranking) sample(cands []int32, bounds []int64) (int32, bool) {
	c := r.c
	for range samples {
		s := cands[c.rng.IntN(len(cands))]
		if r.meets(s, bounds) && c.fits(s) {
			return s, true
		}
	}
	return -1, false
}

// walk goes up the sorted index of binpack level j from what the task
// needs and returns the feasible slots that meet the bounds with the
// smallest value. Slots holding tasks of this decision are not where the
// index has them; they are checked apart.
func (r *ranking) walk(j int, cands *candidates, bounds []int64) []int32 {
	c := r.c
	l := &r.levels[j]
	cpu := l.kind == binpackCPU
	need := c.t.Memory
	if cpu {
		need = c.t.CPU
	}
	x := c.v.sortedIndex(cpu)
	ties := r.buf[:0]
	best := int64(math.MaxInt64)
	start := int64(math.MinInt64) // a task that needs none of it fits anywhere
	if need > 0 {
		start = need
	}
	for i := x.from(start); i < len(x.ents); i++ {
		e := x.ents[i]
		if e.val > best {
			break
		}
		s := e.slot
		if c.k[s] > 0 || !cands.has(s) || !r.meets(s, bounds) || !c.fits(s) {
			continue
		}
		best = e.val
		ties = append(ties, s)
	}
	for _, s := range c.hit {
		if !cands.has(s) || !r.meets(s, bounds) || !c.fits(s) {
			continue
		}
		switch k := r.key(l, s); {
		case k < best:
			best, ties = k, append(ties[:0], s)
		case k == best:
			ties = append(ties, s)
		}
	}
	r.buf = ties
	return ties
}
