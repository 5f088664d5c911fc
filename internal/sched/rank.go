package sched

import (
	"math"
	"strings"
)

// ranking orders feasible nodes: the task's strategies as a lexicographic
// chain of keys (smaller is better), then a random choice among equals.
// Random as a strategy ranks everything left at random, so it and what
// follows it collapse into that final choice.
type ranking struct {
	c           *call
	levels      []level
	randomFirst bool    // the first strategy is random: sample instead of scanning
	buf         []int32 // scratch for the slots still tied
}

type levelKind int

const (
	binpackCPU levelKind = iota
	binpackMemory
	spreadNode
	spreadAttribute
)

// level is one strategy of the chain.
type level struct {
	kind   levelKind
	col    *attrColumn // spreadAttribute: value id by slot
	counts []int32     // spreadAttribute: this group's tasks by value id
	has    []bool      // spreadAttribute: value ids some candidate has
}

func newRanking(c *call) ranking {
	r := ranking{c: c}
	strategies := c.t.Strategies
	if len(strategies) == 0 {
		strategies = DefaultRunTaskStrategies
	}
	for i, st := range strategies {
		if st.Type == Random {
			r.randomFirst = i == 0
			break
		}
		if l, ok := r.level(st); ok && len(r.levels) < MaxStrategies {
			r.levels = append(r.levels, l)
		}
	}
	return r
}

func (r *ranking) level(st Strategy) (level, bool) {
	switch {
	case st.Type == Binpack && strings.EqualFold(st.Field, "cpu"):
		return level{kind: binpackCPU}, true
	case st.Type == Binpack && strings.EqualFold(st.Field, "memory"):
		return level{kind: binpackMemory}, true
	case st.Type == Spread && (strings.EqualFold(st.Field, "instanceId") || strings.EqualFold(st.Field, "host")):
		return level{kind: spreadNode}, true
	case st.Type == Spread && strings.HasPrefix(st.Field, "attribute:"):
		return r.attributeLevel(strings.TrimPrefix(st.Field, "attribute:")), true
	}
	return level{}, false
}

// attributeLevel counts the group's tasks per value of the attribute, over
// every node of the cluster.
func (r *ranking) attributeLevel(name string) level {
	v := r.c.v
	l := level{kind: spreadAttribute, col: v.attrColumn(name)}
	l.counts = v.valueCounts(l.col, r.c.t.Group)
	return l
}

// key is slot s's key at level l.
func (r *ranking) key(l *level, s int32) int64 {
	c := r.c
	switch l.kind {
	case binpackCPU:
		return c.left(c.v.cpu[s], c.t.CPU, s)
	case binpackMemory:
		return c.left(c.v.mem[s], c.t.Memory, s)
	case spreadNode:
		return int64(c.groupCount(s))
	}
	return int64(l.counts[l.col.ids[s]])
}

// placed updates the counts after a task went to slot s.
func (r *ranking) placed(s int32) {
	for i := range r.levels {
		if l := &r.levels[i]; l.kind == spreadAttribute {
			l.counts[l.col.ids[s]]++
		}
	}
}

// samples is how many random candidates a sampling path tries before the
// decision falls back to scanning every candidate.
const samples = 48

// pick returns the best feasible slot among the candidates, or -1. The
// fast paths return only what the full scan could return; when they find
// nothing they leave the answer to the scan.
func (c *call) pick(cands *candidates) int32 {
	r := &c.rank
	if len(cands.slots) == 0 {
		return -1
	}
	if r.randomFirst {
		// Uniform over the feasible candidates.
		for range samples {
			if s := cands.slots[c.rng.IntN(len(cands.slots))]; c.fits(s) {
				return s
			}
		}
		return r.scan(cands.slots)
	}
	if s, ok := r.fast(cands); ok {
		return s
	}
	return r.scan(cands.slots)
}

// scan returns a feasible slot with the smallest keys, chosen at random
// among equals. It applies the first level while it collects, checking
// feasibility only for slots whose key can still win, then narrows the
// ties by the other levels.
func (r *ranking) scan(cands []int32) int32 {
	c := r.c
	ties := r.buf[:0]
	if len(r.levels) == 0 {
		for _, s := range cands {
			if c.fits(s) {
				ties = append(ties, s)
			}
		}
		r.buf = ties
		return r.choose(ties, 0)
	}
	l := &r.levels[0]
	best := int64(math.MaxInt64)
	for _, s := range cands {
		k := r.key(l, s)
		if k > best || !c.fits(s) {
			continue
		}
		if k < best {
			best, ties = k, ties[:0]
		}
		ties = append(ties, s)
	}
	r.buf = ties
	return r.choose(ties, 1)
}

// choose narrows ties by the levels from first on and picks one of the
// survivors at random (-1 when there are none).
func (r *ranking) choose(ties []int32, first int) int32 {
	for i := first; i < len(r.levels) && len(ties) > 1; i++ {
		ties = r.smallest(&r.levels[i], ties)
	}
	if len(ties) == 0 {
		return -1
	}
	return ties[r.c.rng.IntN(len(ties))]
}

// smallest keeps, in place, the slots with the smallest key at l.
func (r *ranking) smallest(l *level, in []int32) []int32 {
	best := int64(math.MaxInt64)
	out := in[:0]
	for _, s := range in {
		k := r.key(l, s)
		if k > best {
			continue
		}
		if k < best {
			best, out = k, out[:0]
		}
		out = append(out, s)
	}
	return out
}
