package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func benchView(n int) *ClusterView {
	v := NewView()
	r := rand.New(rand.NewPCG(7, 7))
	for i := range n {
		nd := node(fmt.Sprint("n", i), attr("ecs.availability-zone", fmt.Sprint("us-east-1", string(rune('a'+i%3)))),
			attr("ecs.instance-type", []string{"m5.large", "c5.xlarge", "r5.2xlarge"}[i%3]),
			attr("stack", []string{"prod", "dev"}[i%2]), res(4096, 16384))
		nd.CPU -= int64(r.IntN(2048))
		nd.Memory -= int64(r.IntN(8192))
		nd.Ports = []uint16{22, 2375, 2376, 51678, 51679}
		nd.Groups = map[string]int{"service:big": 1 + i%3}
		if i%10 == 0 {
			nd.Groups["service:web"] = 1
		}
		if i%100 == 0 { // full, and free of service:big
			nd.CPU, nd.Groups = 0, map[string]int{}
		}
		v.Put(nd)
	}
	return v
}

// BenchmarkDecide measures one decision of 5 tasks at 10,000 nodes per
// strategy mix; ns/op is per decision.
func BenchmarkDecide(b *testing.B) {
	v := benchView(10_000)
	tasks := map[string]*TaskSpec{
		"random":       {CPU: 64, Memory: 128},
		"binpack":      {CPU: 64, Memory: 128, Strategies: []Strategy{{Binpack, "memory"}}},
		"spread-az-id": {CPU: 64, Memory: 128, Group: "service:web", Strategies: DefaultServiceStrategies},
		"memberOf":     {CPU: 64, Memory: 128, Constraints: []Constraint{memberOf("attribute:stack == prod and attribute:ecs.instance-type =~ m5.*")}},
		"distinct":     {CPU: 64, Memory: 128, Group: "service:web", Constraints: []Constraint{distinct}, Strategies: []Strategy{{Spread, "attribute:ecs.availability-zone"}}},
		"dynamic-cql":  {CPU: 64, Memory: 128, Constraints: []Constraint{memberOf("runningTasksCount < 5")}, Strategies: []Strategy{{Binpack, "cpu"}}},
		"static-ports": {CPU: 64, Memory: 128, Ports: []uint16{8080}, Strategies: []Strategy{{Spread, "instanceId"}}},
		// A group with more tasks than nodes, the nodes free of it full.
		"spread-big-group": {CPU: 64, Memory: 128, Group: "service:big", Strategies: DefaultServiceStrategies},
	}
	for name, task := range tasks {
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				p := Decide(v, task, 5, r)
				if len(p.Picks) != 5 {
					b.Fatalf("placed %d", len(p.Picks))
				}
			}
		})
	}
}
