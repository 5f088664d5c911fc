package sched

import "math"

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
		return r.sample(cands.slots, bounds[:j])
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
