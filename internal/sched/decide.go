package sched

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// Plan is the outcome of placing count tasks.
type Plan struct {
	// Picks holds the node of each placed task, in task order.
	Picks []*Node
	// Unplaced counts the tasks that could not be placed.
	Unplaced int
	// NoNodes is true when no node was in scope: none ACTIVE and serving
	// the task's launch type ("No Container Instances were found in your
	// cluster.").
	NoNodes bool
	// Failures explains why the first task that could not be placed fits
	// nowhere: one entry per node in scope, in registration order, naming
	// the first filter that rejected it.
	Failures []Failure
	// Rejections counts, for that task, the nodes each filter rejected
	// first, by reason (out-of-scope nodes under ReasonInactive and
	// ReasonLaunchType).
	Rejections map[string]int
}

// Failure is one node's rejection of a task.
type Failure struct {
	Node   *Node
	Reason string // the ECS failure reason
	Detail string // what exactly is missing, in words
}

// Decide places count tasks of t on the nodes of v. Each task goes to the
// best-ranked node that passes every filter, and what it takes is
// subtracted before the next task is placed. rng drives random ranking and
// tie-breaks; the same view, task and seed always give the same plan.
func Decide(v *ClusterView, t *TaskSpec, count int, rng *rand.Rand) *Plan {
	c := newCall(v, t, rng)
	defer c.release()
	plan := &Plan{}
	cands := v.candidatesFor(c)
	if cands.scope == 0 {
		plan.NoNodes, plan.Unplaced = true, count
		return plan
	}
	for i := range count {
		s := c.pick(cands)
		if s < 0 {
			plan.Unplaced = count - i // the rest are the same task: they fail too
			c.explain(plan)
			break
		}
		plan.Picks = append(plan.Picks, v.nodes[s])
		c.place(s)
	}
	return plan
}

// Outcome is what became of one task of DecideOn: placed on Node when
// Reason is empty.
type Outcome struct {
	Node   *Node // nil when no node has the id
	Reason string
	Detail string
}

// DecideOn places one task of t on each node named in ids, in order, with
// no ranking (StartTask). A node named twice takes a second task only if
// it fits next to the first.
func DecideOn(v *ClusterView, t *TaskSpec, ids []string) []Outcome {
	c := newCall(v, t, rand.New(rand.NewPCG(0, 0)))
	defer c.release()
	out := make([]Outcome, len(ids))
	for i, id := range ids {
		s, ok := v.byID[id]
		if !ok {
			out[i] = Outcome{Reason: ReasonMissing, Detail: "The container instance does not exist in the cluster."}
			continue
		}
		out[i] = Outcome{Node: v.nodes[s]}
		if f := c.firstRejection(s); f != nil {
			out[i].Reason, out[i].Detail = f.reason, f.explain(c, s)
			if f.reason == ReasonInactive && v.nodes[s].Status != "INACTIVE" {
				out[i].Reason = v.nodes[s].Status
			}
			continue
		}
		c.place(s)
	}
	return out
}

// call is the state of one decision.
type call struct {
	v    *ClusterView
	t    *TaskSpec
	rng  *rand.Rand
	pipe []filter // every filter that applies, in order
	slow []filter // the dynamic ones fits does not check inline
	// minCPU and minMemory are what a node must have left (beyond this
	// decision's tasks) to take the task; math.MinInt64 when it needs none.
	minCPU, minMemory int64
	k                 []uint8     // tasks this decision placed, by slot
	hit               []int32     // slots with k > 0
	gidx              *groupIndex // this group's tasks by slot; nil: none anywhere
	inst              instance    // scratch for memberOf
	rank              ranking
}

var scratch = sync.Pool{New: func() any { return new([]uint8) }}

func newCall(v *ClusterView, t *TaskSpec, rng *rand.Rand) *call {
	c := &call{v: v, t: t, rng: rng, pipe: pipeline(t), minCPU: math.MinInt64, minMemory: math.MinInt64}
	if t.CPU > 0 {
		c.minCPU = t.CPU
	}
	if t.Memory > 0 {
		c.minMemory = t.Memory
	}
	for _, f := range c.pipe {
		if !f.static && f.reason != ReasonCPU && f.reason != ReasonMemory {
			c.slow = append(c.slow, f)
		}
	}
	buf := scratch.Get().(*[]uint8)
	if cap(*buf) < len(v.nodes) {
		*buf = make([]uint8, len(v.nodes))
	}
	c.k = (*buf)[:len(v.nodes)]
	c.gidx = v.groupIndex(t.Group)
	c.rank = newRanking(c)
	return c
}

func (c *call) release() {
	for _, s := range c.hit {
		c.k[s] = 0
	}
	buf := c.k[:0]
	scratch.Put(&buf)
}

// left is what remains of a resource column value on slot s after this
// decision's tasks there, each needing need.
func (c *call) left(val, need int64, s int32) int64 { return val - int64(c.k[s])*need }

// groupCount is the number of tasks of the task's group on slot s,
// counting this decision's.
func (c *call) groupCount(s int32) int {
	n := int(c.k[s])
	if c.gidx != nil {
		n += int(c.gidx.counts[s])
	}
	return n
}

// fits reports whether slot s passes the dynamic filters (the static ones
// were applied when the candidates were chosen).
func (c *call) fits(s int32) bool {
	k := int64(c.k[s])
	if c.v.cpu[s]-k*c.t.CPU < c.minCPU || c.v.mem[s]-k*c.t.Memory < c.minMemory {
		return false
	}
	for i := range c.slow {
		if !c.slow[i].check(c, s) {
			return false
		}
	}
	return true
}

func (c *call) firstRejection(s int32) *filter {
	for i := range c.pipe {
		if !c.pipe[i].check(c, s) {
			return &c.pipe[i]
		}
	}
	return nil
}

// place records a task placed on slot s.
func (c *call) place(s int32) {
	if c.k[s] == 0 {
		c.hit = append(c.hit, s)
	}
	c.k[s]++
	c.rank.placed(s)
}

// explain fills the plan's failures and rejection counts for a task that
// fits nowhere.
func (c *call) explain(plan *Plan) {
	var slots []int32
	for s, n := range c.v.nodes {
		if n != nil {
			slots = append(slots, int32(s))
		}
	}
	slices.SortFunc(slots, func(a, b int32) int { return cmp.Compare(c.v.nodes[a].Order, c.v.nodes[b].Order) })
	plan.Rejections = map[string]int{}
	for _, s := range slots {
		f := c.firstRejection(s)
		if f == nil {
			continue
		}
		plan.Rejections[f.reason]++
		if !f.scope {
			plan.Failures = append(plan.Failures, Failure{Node: c.v.nodes[s], Reason: f.reason, Detail: f.explain(c, s)})
		}
	}
}

// candidates are the nodes that pass a task's static filters.
type candidates struct {
	version uint64
	slots   []int32  // passing every static filter
	in      []uint64 // the same as a bit set by slot
	scope   int      // passing the scope filters

	mu     sync.Mutex
	values map[*attrColumn][]bool // which values of an attribute candidates have
}

func (e *candidates) has(s int32) bool { return e.in[s>>6]&(1<<(s&63)) != 0 }

// valuesOf says which value ids of col some candidate has.
func (e *candidates) valuesOf(col *attrColumn) []bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if has, ok := e.values[col]; ok {
		return has
	}
	has := make([]bool, len(col.values)+1)
	for _, s := range e.slots {
		has[col.ids[s]] = true
	}
	if e.values == nil {
		e.values = map[*attrColumn][]bool{}
	}
	e.values[col] = has
	return has
}

// candidatesFor returns the static candidates of c's task, memoized until
// a node joins, leaves or changes what static filters read.
func (v *ClusterView) candidatesFor(c *call) *candidates {
	key := c.t.staticKey()
	v.mu.Lock()
	e := v.static[key]
	version := v.version
	v.mu.Unlock()
	if e != nil && e.version == version {
		return e
	}
	e = &candidates{version: version, in: make([]uint64, (len(v.nodes)+63)/64)}
	for s, n := range v.nodes {
		if n != nil {
			e.add(c, int32(s))
		}
	}
	v.mu.Lock()
	if v.static == nil || len(v.static) >= maxMemo {
		v.static = map[string]*candidates{}
	}
	v.static[key] = e
	v.mu.Unlock()
	return e
}

func (e *candidates) add(c *call, s int32) {
	for _, f := range c.pipe {
		switch {
		case !f.static:
			continue
		case !f.check(c, s):
			return
		case f.scope && f.reason == ReasonLaunchType:
			e.scope++
		}
	}
	e.slots = append(e.slots, s)
	e.in[s>>6] |= 1 << (s & 63)
}

// Fits says why node n cannot take count more tasks of t: the reason and
// detail of the first rejection ("" when it can take them all).
func Fits(n *Node, t *TaskSpec, count int) (reason, detail string) {
	ids := make([]string, count)
	for i := range ids {
		ids[i] = n.ID
	}
	for _, o := range DecideOn(NewView(n), t, ids) {
		if o.Reason != "" {
			return o.Reason, o.Detail
		}
	}
	return "", ""
}
