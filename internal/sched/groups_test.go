package sched

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// A group index stays the view's truth through Put and Remove: every live
// slot in exactly one class, the class of its count.
func TestPropertyGroupIndexFollowsView(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		v := NewView()
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			id := fmt.Sprint("n", rapid.IntRange(0, 9).Draw(rt, "id"))
			switch rapid.IntRange(0, 4).Draw(rt, "op") {
			case 0:
				v.Remove(id)
			case 1:
				v.groupIndex("g") // build the memo now and then
			default:
				v.Put(node(id, groups("g", rapid.IntRange(0, 3).Draw(rt, "count"))))
			}
		}
		x := v.groupIndex("g")
		if x == nil {
			return
		}
		seen := map[int32]bool{}
		for c, list := range x.members {
			for i, s := range list {
				n := v.nodes[s]
				if n == nil || int32(n.Groups["g"]) != c || x.pos[s] != int32(i) || seen[s] {
					rt.Fatalf("slot %d in class %d at %d: node %v, pos %d", s, c, i, n, x.pos[s])
				}
				seen[s] = true
			}
		}
		for s, n := range v.nodes {
			if n != nil && !seen[int32(s)] {
				rt.Fatalf("live slot %d (%s) in no class", s, n.ID)
			}
		}
		if got := x.levels(); !slices.IsSorted(got) {
			rt.Fatalf("levels %v", got)
		}
	})
}
