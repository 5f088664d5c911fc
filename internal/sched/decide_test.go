package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/sched/cql"
)

// node builds an ACTIVE, connected node with 4096 CPU units and 8192 MiB.
func node(id string, opts ...func(*Node)) *Node {
	n := &Node{
		ID: id, ARN: "arn:" + id, Status: StatusActive, AgentConnected: true,
		Attributes: map[string]string{}, CPU: 4096, Memory: 8192,
		DynamicFree: PortCounts{TCP: 100, UDP: 100}, RegisteredAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	fmt.Sscanf(strings.TrimLeft(id, "abcdefghijklmnopqrstuvwxyz-"), "%d", &n.Order)
	for _, o := range opts {
		o(n)
	}
	return n
}

func attr(name, value string) func(*Node) { return func(n *Node) { n.Attributes[name] = value } }
func res(cpu, mem int64) func(*Node)      { return func(n *Node) { n.CPU, n.Memory = cpu, mem } }
func groups(g string, k int) func(*Node) {
	return func(n *Node) {
		if n.Groups == nil {
			n.Groups = map[string]int{}
		}
		n.Groups[g] = k
	}
}

func rng() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func picks(p *Plan) []string {
	var out []string
	for _, n := range p.Picks {
		out = append(out, n.ID)
	}
	return out
}

func failures(p *Plan) []string {
	var out []string
	for _, f := range p.Failures {
		out = append(out, f.Node.ID+" "+f.Reason)
	}
	return out
}

func memberOf(expr string) Constraint { return Constraint{Type: MemberOf, Expr: cql.MustParse(expr)} }

var distinct = Constraint{Type: DistinctInstance}

func TestFilters(t *testing.T) {
	base := func() []*Node {
		return []*Node{
			node("n1", res(256, 8192)),
			node("n2", res(4096, 128)),
			node("n3", func(n *Node) { n.AgentConnected = false }),
			node("n4", func(n *Node) { n.Status = "DRAINING" }),
			node("n5", attr(ExternalAttribute, "")),
			node("n6", func(n *Node) { n.Ports = []uint16{22, 80}; n.PortsUDP = []uint16{53} }),
			node("n7", attr("stack", "prod"), func(n *Node) { n.GPU = 2 }),
		}
	}
	cases := []struct {
		name     string
		task     TaskSpec
		count    int
		picks    []string // in any order
		failures []string
	}{
		{"cpu", TaskSpec{CPU: 512}, 1, nil, nil},
		{"cpu exhausted", TaskSpec{CPU: 2048}, 7, []string{"n2", "n2", "n6", "n6", "n7", "n7"}, []string{
			"n1 RESOURCE:CPU", "n2 RESOURCE:CPU", "n3 AGENT", "n6 RESOURCE:CPU", "n7 RESOURCE:CPU"}},
		{"memory", TaskSpec{Memory: 8192}, 5, []string{"n1", "n6", "n7"}, []string{
			"n1 RESOURCE:MEMORY", "n2 RESOURCE:MEMORY", "n3 AGENT", "n6 RESOURCE:MEMORY", "n7 RESOURCE:MEMORY"}},
		{"gpu", TaskSpec{GPU: 1}, 3, []string{"n7", "n7"}, []string{
			"n1 RESOURCE:GPU", "n2 RESOURCE:GPU", "n3 AGENT", "n6 RESOURCE:GPU", "n7 RESOURCE:GPU"}},
		{"static port", TaskSpec{Ports: []uint16{80}}, 5, []string{"n1", "n2", "n7"}, []string{
			"n1 RESOURCE:PORTS", "n2 RESOURCE:PORTS", "n3 AGENT", "n6 RESOURCE:PORTS", "n7 RESOURCE:PORTS"}},
		{"udp port", TaskSpec{PortsUDP: []uint16{53}}, 4, []string{"n1", "n2", "n7"}, []string{
			"n1 RESOURCE:PORTS_UDP", "n2 RESOURCE:PORTS_UDP", "n3 AGENT", "n6 RESOURCE:PORTS_UDP", "n7 RESOURCE:PORTS_UDP"}},
		{"dynamic ports", TaskSpec{DynamicPorts: PortCounts{TCP: 60}}, 5, []string{"n1", "n2", "n6", "n7"}, []string{
			"n1 RESOURCE:PORTS", "n2 RESOURCE:PORTS", "n3 AGENT", "n6 RESOURCE:PORTS", "n7 RESOURCE:PORTS"}},
		{"requires attribute", TaskSpec{Requires: []Requirement{{Name: "stack"}}}, 1, []string{"n7"}, nil},
		{"requires attribute value", TaskSpec{Requires: []Requirement{{Name: "stack", Value: "dev"}}}, 1, nil, []string{
			"n1 ATTRIBUTE", "n2 ATTRIBUTE", "n3 AGENT", "n6 ATTRIBUTE", "n7 ATTRIBUTE"}},
		{"memberOf", TaskSpec{Constraints: []Constraint{memberOf("attribute:stack == prod")}}, 2, []string{"n7", "n7"}, nil},
		{"memberOf unsatisfied", TaskSpec{CPU: 512, Constraints: []Constraint{memberOf("attribute:stack == dev")}}, 1, nil, []string{
			"n1 RESOURCE:CPU", "n2 " + ReasonMemberOf, "n3 AGENT", "n6 " + ReasonMemberOf, "n7 " + ReasonMemberOf}},
		{"memberOf runningTasksCount sees earlier picks", TaskSpec{Constraints: []Constraint{memberOf("runningTasksCount == 0 and attribute:stack exists")}}, 2, []string{"n7"}, []string{
			"n1 " + ReasonMemberOf, "n2 " + ReasonMemberOf, "n3 AGENT", "n6 " + ReasonMemberOf, "n7 " + ReasonMemberOf}},
		{"distinctInstance", TaskSpec{Group: "g", Constraints: []Constraint{distinct}}, 6, []string{"n1", "n2", "n6", "n7"}, []string{
			"n1 " + ReasonDistinct, "n2 " + ReasonDistinct, "n3 AGENT", "n6 " + ReasonDistinct, "n7 " + ReasonDistinct}},
		{"external", TaskSpec{LaunchType: LaunchTypeExternal}, 2, []string{"n5", "n5"}, nil},
		{"constraints in order of the pipeline", TaskSpec{Memory: 256, Ports: []uint16{80}, Requires: []Requirement{{Name: "stack"}}}, 1, []string{"n7"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := NewView(base()...)
			p := Decide(v, &c.task, c.count, rng())
			got := picks(p)
			if c.picks != nil {
				slices.Sort(got)
				if !slices.Equal(got, c.picks) {
					t.Errorf("picks = %v, want %v", got, c.picks)
				}
			} else if len(got) != c.count && c.failures == nil {
				t.Errorf("placed %v of %d: %v", got, c.count, failures(p))
			}
			if c.failures != nil && !slices.Equal(failures(p), c.failures) {
				t.Errorf("failures = %v, want %v", failures(p), c.failures)
			}
			if p.Unplaced != c.count-len(p.Picks) {
				t.Errorf("unplaced = %d", p.Unplaced)
			}
			for _, f := range p.Failures {
				if f.Detail == "" {
					t.Errorf("failure %s %s has no detail", f.Node.ID, f.Reason)
				}
			}
		})
	}
}

func TestNoNodesInScope(t *testing.T) {
	v := NewView(node("n1", func(n *Node) { n.Status = "DRAINING" }), node("n2", attr(ExternalAttribute, "")))
	p := Decide(v, &TaskSpec{}, 3, rng())
	if !p.NoNodes || p.Unplaced != 3 || len(p.Picks) != 0 {
		t.Errorf("plan = %+v", p)
	}
	if p = Decide(NewView(), &TaskSpec{}, 1, rng()); !p.NoNodes {
		t.Errorf("empty view: %+v", p)
	}
}

func TestRejectionCounts(t *testing.T) {
	v := NewView(node("n1", res(100, 8192)), node("n2", res(100, 8192)), node("n3", res(4096, 10)),
		node("n4", func(n *Node) { n.Status = "DRAINING" }), node("n5", func(n *Node) { n.AgentConnected = false }))
	p := Decide(v, &TaskSpec{CPU: 200, Memory: 20}, 1, rng())
	want := map[string]int{ReasonCPU: 2, ReasonMemory: 1, ReasonInactive: 1, ReasonAgent: 1}
	if fmt.Sprint(p.Rejections) != fmt.Sprint(want) {
		t.Errorf("rejections = %v, want %v", p.Rejections, want)
	}
	if got := p.Failures[0].Detail; got != "The task needs 200 CPU units; 100 remain on the container instance." {
		t.Errorf("detail = %q", got)
	}
}

func TestStrategies(t *testing.T) {
	zones := func() []*Node {
		return []*Node{
			node("n1", attr("zone", "a"), res(4096, 1000)),
			node("n2", attr("zone", "a"), res(4096, 3000)),
			node("n3", attr("zone", "b"), res(4096, 2000)),
			node("n4", attr("zone", "b"), res(4096, 4000)),
			node("n5", attr("zone", "c"), res(4096, 5000), groups("g", 2)),
			node("n6", res(4096, 6000)),
		}
	}
	cases := []struct {
		name       string
		strategies []Strategy
		memory     int64
		count      int
		want       []string // the picks, in order; "x|y" allows either
	}{
		{"binpack memory", []Strategy{{Binpack, "memory"}}, 500, 4, []string{"n1", "n1", "n3", "n3"}},
		{"binpack memory skips what does not fit", []Strategy{{Binpack, "memory"}}, 1500, 2, []string{"n3", "n2"}},
		{"binpack cpu then memory", []Strategy{{Binpack, "cpu"}, {Binpack, "memory"}}, 900, 2, []string{"n1", "n3"}},
		{"spread instanceId", []Strategy{{Spread, "instanceId"}, {Binpack, "memory"}}, 100, 5, []string{"n1", "n3", "n2", "n4", "n6"}},
		{"spread host is instanceId", []Strategy{{Spread, "host"}, {Binpack, "memory"}}, 100, 5, []string{"n1", "n3", "n2", "n4", "n6"}},
		{"spread zone then binpack", []Strategy{{Spread, "attribute:zone"}, {Binpack, "memory"}}, 100, 5, []string{"n1", "n3", "n6", "n1", "n3"}},
		{"spread zone then spread instance", []Strategy{{Spread, "attribute:zone"}, {Spread, "instanceId"}, {Binpack, "memory"}}, 100, 6,
			[]string{"n1", "n3", "n6", "n2", "n4", "n6|n1|n3"}},
		{"random then anything is random", []Strategy{{Random, ""}, {Binpack, "memory"}}, 100, 1, []string{"n1|n2|n3|n4|n5|n6"}},
		{"default is random", nil, 100, 1, []string{"n1|n2|n3|n4|n5|n6"}},
		{"binpack then random", []Strategy{{Binpack, "memory"}, {Random, ""}}, 100, 1, []string{"n1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(5) {
				p := Decide(NewView(zones()...), &TaskSpec{Memory: c.memory, Group: "g", Strategies: c.strategies}, c.count, rand.New(rand.NewPCG(seed, 9)))
				got := picks(p)
				if len(got) != len(c.want) {
					t.Fatalf("picks = %v, want %v", got, c.want)
				}
				for i := range got {
					if !slices.Contains(strings.Split(c.want[i], "|"), got[i]) {
						t.Fatalf("seed %d: picks = %v, want %v", seed, got, c.want)
					}
				}
			}
		})
	}
}

// The services default spreads across zones, then instances.
func TestDefaultServiceStrategies(t *testing.T) {
	var nodes []*Node
	for i := range 9 {
		nodes = append(nodes, node(fmt.Sprint("n", i), attr("ecs.availability-zone", string(rune('a'+i%3)))))
	}
	p := Decide(NewView(nodes...), &TaskSpec{Memory: 10, Group: "service:web", Strategies: DefaultServiceStrategies}, 9, rng())
	got := picks(p)
	slices.Sort(got)
	if !slices.Equal(got, []string{"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"}) {
		t.Errorf("picks = %v, want every node once", got)
	}
}

func TestRandomIsUniformAmongFeasible(t *testing.T) {
	var nodes []*Node
	for i := range 10 {
		nodes = append(nodes, node(fmt.Sprint("n", i), res(4096, int64(100+1000*(i%2)))))
	}
	v := NewView(nodes...)
	seen := map[string]int{}
	r := rng()
	for range 2000 {
		p := Decide(v, &TaskSpec{Memory: 500}, 1, r)
		seen[p.Picks[0].ID]++
	}
	if len(seen) != 5 {
		t.Fatalf("picked %v; want the five nodes with room", seen)
	}
	for id, k := range seen {
		if k < 300 || k > 500 {
			t.Errorf("%s picked %d times of 2000; want about 400", id, k)
		}
	}
}

func TestDecideOn(t *testing.T) {
	v := NewView(
		node("n1", res(1024, 1024)),
		node("n2", func(n *Node) { n.Status = "INACTIVE" }),
		node("n3", func(n *Node) { n.Status = "DRAINING" }),
		node("n4", func(n *Node) { n.AgentConnected = false }),
	)
	out := DecideOn(v, &TaskSpec{CPU: 600}, []string{"n1", "n1", "nope", "n2", "n3", "n4"})
	var got []string
	for _, o := range out {
		got = append(got, o.Reason)
	}
	want := []string{"", ReasonCPU, ReasonMissing, ReasonInactive, "DRAINING", ReasonAgent}
	if !slices.Equal(got, want) {
		t.Errorf("reasons = %q, want %q", got, want)
	}
	if out[1].Detail != "The task needs 600 CPU units; 424 remain on the container instance." {
		t.Errorf("detail = %q", out[1].Detail)
	}
}

// The view follows changes: indexes built before a change see it.
func TestViewUpdates(t *testing.T) {
	v := NewView(node("n1", attr("zone", "a")), node("n2", attr("zone", "b")))
	task := &TaskSpec{Memory: 10, Group: "g", Constraints: []Constraint{memberOf("attribute:zone == a")},
		Strategies: []Strategy{{Spread, "attribute:zone"}}}
	if got := picks(Decide(v, task, 1, rng())); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("picks = %v", got)
	}
	v.Put(node("n2", attr("zone", "a"), groups("g", 1)))
	v.Put(node("n3", attr("zone", "a")))
	v.Put(node("n1", attr("zone", "a"), groups("g", 3)))
	task.Strategies = []Strategy{{Spread, "attribute:zone"}, {Spread, "instanceId"}}
	if got := picks(Decide(v, task, 1, rng())); !slices.Equal(got, []string{"n3"}) {
		t.Errorf("after updates: picks = %v, want n3", got)
	}
	task.Strategies = []Strategy{{Spread, "instanceId"}}
	if got := picks(Decide(v, task, 1, rng())); !slices.Equal(got, []string{"n3"}) {
		t.Errorf("spread instanceId after updates: %v", got)
	}
	v.Remove("n3")
	if got := picks(Decide(v, task, 1, rng())); !slices.Equal(got, []string{"n2"}) {
		t.Errorf("after removing n3: %v", got)
	}
	if v.Len() != 2 || v.Node("n3") != nil {
		t.Errorf("len %d, n3 %v", v.Len(), v.Node("n3"))
	}
	v.Put(node("n4", attr("zone", "b")))
	task.Constraints = nil
	task.Strategies = []Strategy{{Spread, "attribute:zone"}}
	if got := picks(Decide(v, task, 1, rng())); !slices.Equal(got, []string{"n4"}) {
		t.Errorf("new node in a reused slot: %v", got)
	}
}

func TestNewStrategy(t *testing.T) {
	for _, c := range []struct {
		typ, field string
		want       Strategy
		ok         bool
	}{
		{"binpack", "CPU", Strategy{Binpack, "cpu"}, true},
		{"BINPACK", "memory", Strategy{Binpack, "memory"}, true},
		{"binpack", "disk", Strategy{}, false},
		{"spread", "host", Strategy{Spread, "instanceId"}, true},
		{"spread", "instanceid", Strategy{Spread, "instanceId"}, true},
		{"spread", "attribute:ecs.availability-zone", Strategy{Spread, "attribute:ecs.availability-zone"}, true},
		{"spread", "attribute:", Strategy{}, false},
		{"spread", "rack", Strategy{}, false},
		{"random", "", Strategy{Random, ""}, true},
		{"random", "cpu", Strategy{}, false},
		{"roundrobin", "", Strategy{}, false},
	} {
		got, err := NewStrategy(c.typ, c.field)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NewStrategy(%q, %q) = %+v, %v", c.typ, c.field, got, err)
		}
	}
}

func TestFits(t *testing.T) {
	n := node("n1", res(1000, 1000), groups("g", 1))
	task := &TaskSpec{CPU: 400, Group: "h"}
	if r, _ := Fits(n, task, 2); r != "" {
		t.Errorf("two tasks of 400 on 1000: %s", r)
	}
	if r, d := Fits(n, task, 3); r != ReasonCPU || d == "" {
		t.Errorf("three tasks of 400 on 1000: %q %q", r, d)
	}
	task.Group, task.Constraints = "g", []Constraint{distinct}
	if r, _ := Fits(n, task, 1); r != ReasonDistinct {
		t.Errorf("distinctInstance with a task of the group there: %q", r)
	}
}
