package model

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyContainerOverride(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	base := ContainerDefinition{Name: "app", Image: "img", Cpu: 128, Memory: i32(256),
		Command:     []string{"serve"},
		Environment: []KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}}
	got := ApplyContainerOverride(base, &ContainerOverride{Name: "app", Command: []string{"migrate"}, Cpu: i32(512),
		MemoryReservation: i32(64), Environment: []KeyValuePair{{Name: "B", Value: "3"}, {Name: "C", Value: "4"}},
		ResourceRequirements: []ResourceRequirement{{Type: "GPU", Value: "1"}}})
	want := ContainerDefinition{Name: "app", Image: "img", Cpu: 512, Memory: i32(256), MemoryReservation: i32(64),
		Command:              []string{"migrate"},
		Environment:          []KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "3"}, {Name: "C", Value: "4"}},
		ResourceRequirements: []ResourceRequirement{{Type: "GPU", Value: "1"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("override (-want +got):\n%s", d)
	}
	if d := cmp.Diff(base, ApplyContainerOverride(base, &ContainerOverride{Name: "other", Cpu: i32(1)})); d != "" {
		t.Errorf("another container's override changed the definition:\n%s", d)
	}
	if base.Environment[1].Value != "2" {
		t.Error("the definition given was modified")
	}
}
