package service

import (
	"testing"

	"github.com/quayside/quayside/internal/sched"
)

func TestUnplacedMessages(t *testing.T) {
	node := func(id string) *sched.Node { return &sched.Node{ID: id} }
	const head = "(service web) was unable to place a task because no container instance met all of its requirements. "
	tests := []struct {
		name     string
		noNodes  bool
		failures []sched.Failure
		want     string
	}{
		{"no instance", true, nil,
			head + "Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."},
		{"memory is closer than the agent", false, []sched.Failure{{Node: node("a"), Reason: sched.ReasonAgent}, {Node: node("b"), Reason: sched.ReasonMemory}},
			head + "The closest matching (container-instance b) has insufficient memory available. For more information, see the Troubleshooting section."},
		{"cpu", false, []sched.Failure{{Node: node("a"), Reason: sched.ReasonCPU}},
			head + "The closest matching (container-instance a) has insufficient CPU units available. For more information, see the Troubleshooting section."},
		{"ports", false, []sched.Failure{{Node: node("a"), Reason: sched.ReasonPorts}},
			head + "The closest matching (container-instance a) is already using a port required by your task. For more information, see the Troubleshooting section."},
		{"attribute", false, []sched.Failure{{Node: node("a"), Reason: sched.ReasonAttribute}},
			head + "The closest matching (container-instance a) is missing an attribute required by your task. For more information, see the Troubleshooting section."},
		{"agent", false, []sched.Failure{{Node: node("a"), Reason: sched.ReasonAgent}},
			head + `The closest matching (container-instance a) encountered error "AGENT". For more information, see the Troubleshooting section.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := msgUnplaced("web", tt.noNodes, closestFailure(tt.failures)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	for got, want := range map[string]string{
		msgStarted("web", []string{"a", "b"}):  "(service web) has started 2 tasks: (task a) (task b).",
		msgStopped("web", []string{"a"}):       "(service web) has stopped 1 running tasks: (task a).",
		msgSteady("web"):                       "(service web) has reached a steady state.",
		msgDeploymentCompleted("web", "ecs-1"): "(service web) (deployment ecs-1) deployment completed.",
		msgThrottled("web"):                    "(service web) is unable to consistently start tasks successfully.",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
