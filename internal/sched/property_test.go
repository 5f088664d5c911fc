package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// A straightforward reference of the pipeline, node by node, that the
// properties hold Decide to.

var exprPool = []string{
	"attribute:zone == a", "attribute:zone in [a, b]", "attribute:stack exists", "not(attribute:stack == prod)",
	"runningTasksCount < 3", "task:group == h", "not(task:group == g)", "attribute:zone != c or runningTasksCount == 0",
}

var strategyPool = []Strategy{
	{Binpack, "cpu"}, {Binpack, "memory"}, {Spread, "instanceId"}, {Spread, "attribute:zone"}, {Spread, "attribute:stack"}, {Random, ""},
}

func genNode(t *rapid.T, i int) *Node {
	n := node(fmt.Sprint("n", i))
	n.Order = int64(rapid.IntRange(0, 100).Draw(t, "order"))
	n.Status = rapid.SampledFrom([]string{StatusActive, StatusActive, StatusActive, StatusActive, "DRAINING"}).Draw(t, "status")
	n.AgentConnected = rapid.IntRange(0, 9).Draw(t, "agent") > 0
	if z := rapid.SampledFrom([]string{"a", "b", "c", ""}).Draw(t, "zone"); z != "" {
		n.Attributes["zone"] = z
	}
	if rapid.Bool().Draw(t, "stack") {
		n.Attributes["stack"] = rapid.SampledFrom([]string{"prod", "dev"}).Draw(t, "stackv")
	}
	n.CPU = rapid.Int64Range(-64, 2048).Draw(t, "cpu") // below zero: shrunk on re-registration
	n.Memory = rapid.Int64Range(-64, 4096).Draw(t, "mem")
	n.GPU = rapid.Int64Range(0, 2).Draw(t, "gpu")
	if rapid.Bool().Draw(t, "port80") {
		n.Ports = []uint16{80}
	}
	if rapid.Bool().Draw(t, "port53") {
		n.PortsUDP = []uint16{53}
	}
	n.DynamicFree = PortCounts{TCP: rapid.IntRange(0, 4).Draw(t, "dyn"), UDP: rapid.IntRange(0, 4).Draw(t, "dynu")}
	n.Groups = map[string]int{}
	for _, g := range []string{"g", "h"} {
		if k := rapid.IntRange(0, 2).Draw(t, "group"+g); k > 0 {
			n.Groups[g] = k
			n.RunningTasks += k
		}
	}
	return n
}

func genTask(t *rapid.T) *TaskSpec {
	task := &TaskSpec{
		CPU: rapid.Int64Range(0, 1024).Draw(t, "tcpu"), Memory: rapid.Int64Range(0, 2048).Draw(t, "tmem"),
		GPU: rapid.Int64Range(0, 1).Draw(t, "tgpu"), Group: "g",
		DynamicPorts: PortCounts{TCP: rapid.IntRange(0, 1).Draw(t, "tdyn")},
	}
	if rapid.IntRange(0, 3).Draw(t, "tport") == 0 {
		task.Ports = []uint16{80}
	}
	if rapid.IntRange(0, 3).Draw(t, "tudp") == 0 {
		task.PortsUDP = []uint16{53}
	}
	if rapid.IntRange(0, 3).Draw(t, "treq") == 0 {
		task.Requires = []Requirement{{Name: "stack"}}
	}
	for range rapid.IntRange(0, 2).Draw(t, "nexpr") {
		task.Constraints = append(task.Constraints, memberOf(rapid.SampledFrom(exprPool).Draw(t, "expr")))
	}
	if rapid.IntRange(0, 2).Draw(t, "distinct") == 0 {
		task.Constraints = append(task.Constraints, distinct)
	}
	for range rapid.IntRange(0, 3).Draw(t, "nstrat") {
		task.Strategies = append(task.Strategies, rapid.SampledFrom(strategyPool).Draw(t, "strategy"))
	}
	return task
}

type refState struct {
	nodes []*Node
	task  *TaskSpec
	k     map[string]int
}

func (r *refState) inScope(n *Node) bool {
	return n.Status == StatusActive && n.serves(r.task.launchType())
}

func (r *refState) feasible(n *Node) bool {
	t, k := r.task, int64(r.k[n.ID])
	ok := r.inScope(n) && n.AgentConnected && missingAttribute(n, t.Requires) == nil
	ok = ok && (t.CPU == 0 || n.CPU-k*t.CPU >= t.CPU) && (t.Memory == 0 || n.Memory-k*t.Memory >= t.Memory)
	ok = ok && (t.GPU == 0 || n.GPU-k*t.GPU >= t.GPU)
	for _, p := range t.Ports {
		ok = ok && k == 0 && !slices.Contains(n.Ports, p)
	}
	for _, p := range t.PortsUDP {
		ok = ok && k == 0 && !slices.Contains(n.PortsUDP, p)
	}
	need := int64(t.DynamicPorts.TCP)
	ok = ok && (need == 0 || int64(n.DynamicFree.TCP)-k*need >= need)
	for _, c := range t.Constraints {
		switch c.Type {
		case MemberOf:
			ok = ok && c.Expr.Eval(&instance{n: n, k: int(k), group: t.Group})
		case DistinctInstance:
			ok = ok && n.Groups[t.Group]+int(k) == 0
		}
	}
	return ok
}

// keys are n's strategy keys up to the first random strategy.
func (r *refState) keys(n *Node) []int64 {
	var out []int64
	t, k := r.task, int64(r.k[n.ID])
	strategies := t.Strategies
	for _, st := range strategies {
		switch {
		case st.Type == Random:
			return out
		case st == Strategy{Binpack, "cpu"}:
			out = append(out, n.CPU-k*t.CPU)
		case st == Strategy{Binpack, "memory"}:
			out = append(out, n.Memory-k*t.Memory)
		case st == Strategy{Spread, "instanceId"}:
			out = append(out, int64(n.Groups[t.Group])+k)
		default:
			name := st.Field[len("attribute:"):]
			val, has := n.Attributes[name]
			sum := 0
			for _, m := range r.nodes {
				if v2, has2 := m.Attributes[name]; has2 == has && v2 == val {
					sum += m.Groups[t.Group] + r.k[m.ID]
				}
			}
			out = append(out, int64(sum))
		}
	}
	return out
}

func TestPropertyDecideMatchesReference(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var nodes []*Node
		for i := range rapid.IntRange(0, 12).Draw(rt, "nodes") {
			nodes = append(nodes, genNode(rt, i))
		}
		task := genTask(rt)
		count := rapid.IntRange(1, 10).Draw(rt, "count")
		v := NewView(nodes...)
		plan := Decide(v, task, count, rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0)))
		checkPlan(rt, nodes, task, count, plan)
	})
}

// A view kept current through Put and Remove, with its memoized indexes
// built along the way, decides like the reference on the nodes it holds.
func TestPropertyViewFollowsChanges(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		v := NewView()
		current := map[string]*Node{}
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 3))
		for range rapid.IntRange(1, 30).Draw(rt, "steps") {
			switch op := rapid.IntRange(0, 9).Draw(rt, "op"); {
			case op < 6:
				n := genNode(rt, rapid.IntRange(0, 8).Draw(rt, "id"))
				v.Put(n)
				current[n.ID] = n
			case op < 7:
				id := fmt.Sprint("n", rapid.IntRange(0, 8).Draw(rt, "id"))
				v.Remove(id)
				delete(current, id)
			default:
				Decide(v, genTask(rt), rapid.IntRange(1, 3).Draw(rt, "count"), r) // builds memos
			}
		}
		var nodes []*Node
		for _, n := range current {
			nodes = append(nodes, n)
		}
		task := genTask(rt)
		count := rapid.IntRange(1, 10).Draw(rt, "count")
		checkPlan(rt, nodes, task, count, Decide(v, task, count, r))
	})
}

func checkPlan(rt *rapid.T, nodes []*Node, task *TaskSpec, count int, plan *Plan) {
	{
		ref := &refState{nodes: nodes, task: task, k: map[string]int{}}
		if plan.NoNodes != !slices.ContainsFunc(nodes, ref.inScope) {
			rt.Fatalf("NoNodes = %v", plan.NoNodes)
		}
		for i, p := range plan.Picks {
			if !ref.feasible(p) {
				rt.Fatalf("pick %d on %s, which the reference finds infeasible", i, p.ID)
			}
			best := ref.keys(p)
			for _, n := range nodes {
				if ref.feasible(n) && slices.Compare(ref.keys(n), best) < 0 {
					rt.Fatalf("pick %d on %s with keys %v, but %s ranks better with %v", i, p.ID, best, n.ID, ref.keys(n))
				}
			}
			ref.k[p.ID]++
		}
		if plan.Unplaced != count-len(plan.Picks) {
			rt.Fatalf("unplaced %d of %d with %d picks", plan.Unplaced, count, len(plan.Picks))
		}
		if plan.Unplaced > 0 && !plan.NoNodes {
			checkFailures(rt, plan, ref)
		}
		checkNotOvercommitted(rt, nodes, task, ref.k)
	}
}

// checkFailures: the reference agrees that no node fits, and every node in
// scope is explained once, in registration order.
func checkFailures(rt *rapid.T, plan *Plan, ref *refState) {
	var inScope int
	for _, n := range ref.nodes {
		if ref.feasible(n) {
			rt.Fatalf("task left unplaced but %s fits", n.ID)
		}
		if ref.inScope(n) {
			inScope++
		}
	}
	if len(plan.Failures) != inScope {
		rt.Fatalf("%d failures for %d nodes in scope", len(plan.Failures), inScope)
	}
	if !slices.IsSortedFunc(plan.Failures, func(a, b Failure) int { return int(a.Node.Order - b.Node.Order) }) {
		rt.Fatalf("failures not in registration order")
	}
}

func checkNotOvercommitted(rt *rapid.T, nodes []*Node, t *TaskSpec, k map[string]int) {
	for _, n := range nodes {
		placed := int64(k[n.ID])
		if placed == 0 {
			continue
		}
		over := (t.CPU > 0 && n.CPU < placed*t.CPU) || (t.Memory > 0 && n.Memory < placed*t.Memory) ||
			(t.GPU > 0 && n.GPU < placed*t.GPU) || (t.DynamicPorts.TCP > 0 && int64(n.DynamicFree.TCP) < placed*int64(t.DynamicPorts.TCP)) ||
			(len(t.Ports) > 0 && (placed > 1 || slices.Contains(n.Ports, t.Ports[0]))) ||
			(len(t.PortsUDP) > 0 && (placed > 1 || slices.Contains(n.PortsUDP, t.PortsUDP[0])))
		if over {
			rt.Fatalf("%s overcommitted with %d tasks of %+v: %+v", n.ID, placed, t, n)
		}
		for _, c := range t.Constraints {
			if c.Type == DistinctInstance && (placed > 1 || n.Groups[t.Group] > 0) {
				rt.Fatalf("%s holds %d tasks of the group despite distinctInstance", n.ID, placed+int64(n.Groups[t.Group]))
			}
		}
	}
}

// Spread keeps the counts per value within one task of each other when
// every node has room.
func TestPropertySpreadStaysWithinOne(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var nodes []*Node
		for i := range rapid.IntRange(1, 12).Draw(rt, "nodes") {
			nodes = append(nodes, node(fmt.Sprint("n", i), attr("zone", rapid.SampledFrom([]string{"a", "b", "c", "d"}).Draw(rt, "zone"))))
		}
		field := rapid.SampledFrom([]string{"attribute:zone", "instanceId"}).Draw(rt, "field")
		task := &TaskSpec{Memory: 1, Group: "svc", Strategies: []Strategy{{Spread, field}}}
		v := NewView(nodes...)
		counts := map[string]int{}
		for _, n := range nodes {
			counts[spreadValue(n, field)] = 0
		}
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 1))
		for range rapid.IntRange(1, 6).Draw(rt, "calls") {
			plan := Decide(v, task, rapid.IntRange(1, 10).Draw(rt, "count"), r)
			placed := map[string]int{}
			for _, p := range plan.Picks {
				counts[spreadValue(p, field)]++
				placed[p.ID]++
			}
			for id, k := range placed { // the tasks are committed: the view sees them
				q := *v.Node(id)
				q.Groups = map[string]int{"svc": q.Groups["svc"] + k}
				v.Put(&q)
			}
			lo, hi := minMax(counts)
			if hi-lo > 1 {
				rt.Fatalf("spread %s: counts %v differ by more than one", field, counts)
			}
		}
	})
}

func spreadValue(n *Node, field string) string {
	if field == "instanceId" {
		return n.ID
	}
	return n.Attributes["zone"]
}

func minMax(m map[string]int) (lo, hi int) {
	first := true
	for _, c := range m {
		if first || c < lo {
			lo = c
		}
		if first || c > hi {
			hi = c
		}
		first = false
	}
	return lo, hi
}

// Binpack puts each task on the node with the least of the resource left
// among those where it fits.
func TestPropertyBinpackPicksTightestFit(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var nodes []*Node
		for i := range rapid.IntRange(1, 15).Draw(rt, "nodes") {
			nodes = append(nodes, node(fmt.Sprint("n", i), res(rapid.Int64Range(0, 4096).Draw(rt, "cpu"), rapid.Int64Range(0, 4096).Draw(rt, "mem"))))
		}
		field := rapid.SampledFrom([]string{"cpu", "memory"}).Draw(rt, "field")
		task := &TaskSpec{CPU: rapid.Int64Range(1, 1024).Draw(rt, "tcpu"), Memory: rapid.Int64Range(1, 1024).Draw(rt, "tmem"),
			Strategies: []Strategy{{Binpack, field}}}
		plan := Decide(NewView(nodes...), task, rapid.IntRange(1, 10).Draw(rt, "count"), rand.New(rand.NewPCG(1, 1)))
		left := map[string][2]int64{}
		for _, n := range nodes {
			left[n.ID] = [2]int64{n.CPU, n.Memory}
		}
		idx := map[string]int{"cpu": 0, "memory": 1}[field]
		for _, p := range plan.Picks {
			for id, l := range left {
				if l[0] >= task.CPU && l[1] >= task.Memory && l[idx] < left[p.ID][idx] {
					rt.Fatalf("binpack %s picked %s with %d left, but %s fits with %d", field, p.ID, left[p.ID][idx], id, l[idx])
				}
			}
			l := left[p.ID]
			left[p.ID] = [2]int64{l[0] - task.CPU, l[1] - task.Memory}
		}
	})
}
