package sched

import (
	"sync"
)

// ClusterView is the scheduler's picture of one cluster: its nodes in
// slots, with the values the filters and strategies read most kept in flat
// per-slot columns.
//
// Put and Remove change the view; Decide and DecideOn only read it (they
// build memoized indexes under an internal lock). The caller serializes
// changes against decisions, for example with a sync.RWMutex held for
// reading while deciding.
type ClusterView struct {
	nodes []*Node // by slot; nil for a free slot
	free  []int32
	byID  map[string]int32

	// Columns by slot.
	cpu, mem, gpu  []int64
	dynTCP, dynUDP []int32

	// groups maps a task group to the slots that run its tasks and how
	// many.
	groups map[string]map[int32]int32
	// version changes whenever a node joins, leaves, or changes in a way
	// static filters or attribute indexes see.
	version uint64

	mu     sync.Mutex      // guards the memoized indexes below
	bidx   [2]*sortedIndex // by remaining CPU, memory
	gidx   map[string]*groupIndex
	acols  map[string]*attrColumn
	static map[string]*candidates
}

// attrColumn interns one attribute's values: ids[slot] is the value's
// number (0: the node lacks the attribute).
type attrColumn struct {
	ids    []int32
	values map[string]int32
	// groups memoizes, per task group, the group's tasks by value id; Put
	// keeps each current.
	groups map[string][]int32
}

// NewView returns a view of nodes.
func NewView(nodes ...*Node) *ClusterView {
	v := &ClusterView{byID: map[string]int32{}, groups: map[string]map[int32]int32{}}
	for _, n := range nodes {
		v.Put(n)
	}
	return v
}

// Len is the number of nodes.
func (v *ClusterView) Len() int { return len(v.byID) }

// Node returns the node with id, or nil.
func (v *ClusterView) Node(id string) *Node {
	s, ok := v.byID[id]
	if !ok {
		return nil
	}
	return v.nodes[s]
}

// Nodes calls fn for each node, in no particular order, until it returns
// false.
func (v *ClusterView) Nodes(fn func(*Node) bool) {
	for _, n := range v.nodes {
		if n != nil && !fn(n) {
			return
		}
	}
}

// Put adds n or replaces the node with its id.
func (v *ClusterView) Put(n *Node) {
	s, ok := v.byID[n.ID]
	var old *Node
	if ok {
		old = v.nodes[s]
	} else {
		s = v.alloc()
		v.byID[n.ID] = s
	}
	v.moveIndexed(s, old, n)
	if old == nil {
		for _, x := range v.gidx {
			if x.covers(s) {
				x.set(s, 0)
			}
		}
	}
	v.nodes[s] = n
	v.cpu[s], v.mem[s], v.gpu[s] = n.CPU, n.Memory, n.GPU
	v.dynTCP[s], v.dynUDP[s] = int32(n.DynamicFree.TCP), int32(n.DynamicFree.UDP)
	v.moveGroups(s, old, n)
	if old == nil || !sameStatic(old, n) {
		v.staticChanged(s, n)
	}
}

// Remove drops the node with id, if present.
func (v *ClusterView) Remove(id string) {
	s, ok := v.byID[id]
	if !ok {
		return
	}
	v.moveGroups(s, v.nodes[s], nil)
	v.moveIndexed(s, v.nodes[s], nil)
	for _, x := range v.gidx {
		if x.covers(s) {
			x.remove(s)
		}
	}
	delete(v.byID, id)
	v.nodes[s] = nil
	v.cpu[s], v.mem[s], v.gpu[s], v.dynTCP[s], v.dynUDP[s] = 0, 0, 0, 0, 0
	v.staticChanged(s, nil)
	v.free = append(v.free, s)
}

func (v *ClusterView) alloc() int32 {
	if n := len(v.free); n > 0 {
		s := v.free[n-1]
		v.free = v.free[:n-1]
		return s
	}
	s := int32(len(v.nodes))
	v.nodes = append(v.nodes, nil)
	v.cpu, v.mem, v.gpu = append(v.cpu, 0), append(v.mem, 0), append(v.gpu, 0)
	v.dynTCP, v.dynUDP = append(v.dynTCP, 0), append(v.dynUDP, 0)
	return s
}

// moveGroups replaces slot s's group counts (old's) with cur's.
func (v *ClusterView) moveGroups(s int32, old, cur *Node) {
	if old != nil {
		for g := range old.Groups {
			if cur == nil || cur.Groups[g] == 0 {
				v.setGroup(g, s, 0)
			}
		}
	}
	if cur != nil {
		for g, c := range cur.Groups {
			if old == nil || old.Groups[g] != c {
				v.setGroup(g, s, int32(c))
			}
		}
	}
}

func (v *ClusterView) setGroup(g string, s, c int32) {
	m := v.groups[g]
	delta := max(c, 0) - m[s]
	for _, col := range v.acols {
		if counts, ok := col.groups[g]; ok && int(s) < len(col.ids) {
			counts[col.ids[s]] += delta
		}
	}
	switch {
	case c <= 0 && m != nil:
		delete(m, s)
		if len(m) == 0 {
			delete(v.groups, g)
		}
	case c > 0 && m == nil:
		v.groups[g] = map[int32]int32{s: c}
	case c > 0:
		m[s] = c
	}
	if x, ok := v.gidx[g]; ok && x.covers(s) && x.pos[s] >= 0 {
		x.set(s, max(c, 0))
	}
}

// staticChanged records that slot s now holds n (nil: nothing): memoized
// candidate sets are dropped and attribute columns follow.
func (v *ClusterView) staticChanged(s int32, n *Node) {
	v.version++
	for name, col := range v.acols {
		if int(s) < len(col.ids) {
			col.ids[s] = col.id(n, name)
		}
		col.groups = nil // the slot's tasks may count under another value now
	}
}

// id interns n's value of the attribute.
func (c *attrColumn) id(n *Node, name string) int32 {
	if n == nil {
		return 0
	}
	val, ok := n.Attributes[name]
	if !ok {
		return 0
	}
	id, ok := c.values[val]
	if !ok {
		id = int32(len(c.values) + 1)
		c.values[val] = id
	}
	return id
}

// attrColumn returns the interned values of attribute name by slot.
func (v *ClusterView) attrColumn(name string) *attrColumn {
	v.mu.Lock()
	defer v.mu.Unlock()
	col, ok := v.acols[name]
	if ok && len(col.ids) == len(v.nodes) {
		return col
	}
	col = &attrColumn{ids: make([]int32, len(v.nodes)), values: map[string]int32{}}
	for s, n := range v.nodes {
		col.ids[s] = col.id(n, name)
	}
	if v.acols == nil {
		v.acols = map[string]*attrColumn{}
	}
	if len(v.acols) >= maxMemo {
		clear(v.acols)
	}
	v.acols[name] = col
	return col
}

// maxMemo bounds each memo of the view.
const maxMemo = 256

// valueCounts returns a copy of group g's tasks by value id of col.
func (v *ClusterView) valueCounts(col *attrColumn, g string) []int32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	counts, ok := col.groups[g]
	if !ok || len(counts) != len(col.values)+1 {
		counts = make([]int32, len(col.values)+1)
		for s, n := range v.groups[g] {
			counts[col.ids[s]] += n
		}
		if col.groups == nil || len(col.groups) >= maxMemo {
			col.groups = map[string][]int32{}
		}
		col.groups[g] = counts
	}
	out := make([]int32, len(counts))
	copy(out, counts)
	return out
}
