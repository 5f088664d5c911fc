package sched

import "slices"

// groupIndex is one task group's tasks by slot and, for spread by
// instance, the slots by that count: the nodes running fewest tasks of
// the group are at hand without a scan. The view keeps it current once
// built.
type groupIndex struct {
	counts  []int32           // by slot
	members map[int32][]int32 // count → the live slots with it
	pos     []int32           // by slot: index in members[counts[slot]]; -1 when not live
}

func newGroupIndex(v *ClusterView, g string) *groupIndex {
	x := &groupIndex{counts: make([]int32, len(v.nodes)), members: map[int32][]int32{}, pos: make([]int32, len(v.nodes))}
	for s, c := range v.groups[g] {
		x.counts[s] = c
	}
	for s, n := range v.nodes {
		x.pos[s] = -1
		if n != nil {
			x.add(int32(s))
		}
	}
	return x
}

// covers reports whether slot s existed when the index was built.
func (x *groupIndex) covers(s int32) bool { return int(s) < len(x.pos) }

func (x *groupIndex) add(s int32) {
	c := x.counts[s]
	x.pos[s] = int32(len(x.members[c]))
	x.members[c] = append(x.members[c], s)
}

func (x *groupIndex) remove(s int32) {
	i := x.pos[s]
	if i < 0 {
		return
	}
	c := x.counts[s]
	list := x.members[c]
	last := list[len(list)-1]
	list[i], x.pos[last] = last, i
	list = list[:len(list)-1]
	if len(list) == 0 {
		delete(x.members, c)
	} else {
		x.members[c] = list
	}
	x.pos[s] = -1
}

// set gives live or new slot s count c.
func (x *groupIndex) set(s, c int32) {
	x.remove(s)
	x.counts[s] = c
	x.add(s)
}

// levels lists the counts some live slot has, ascending.
func (x *groupIndex) levels() []int32 {
	out := make([]int32, 0, len(x.members))
	for c := range x.members {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// groupIndex returns the index of group g (nil when no node runs a task of
// it), built on first use and kept current by Put and Remove.
func (v *ClusterView) groupIndex(g string) *groupIndex {
	if len(v.groups[g]) == 0 {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := v.gidx[g]
	if ok && len(x.pos) == len(v.nodes) {
		return x
	}
	x = newGroupIndex(v, g)
	if v.gidx == nil || len(v.gidx) >= maxMemo {
		v.gidx = map[string]*groupIndex{}
	}
	v.gidx[g] = x
	return x
}
