package service

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

const (
	tgA = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/a/00000000000000aa"
	tgB = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/b/00000000000000bb"
)

// balanced puts the service behind target group tgA (container "app",
// port 8080).
func (w *world) balanced() *world {
	w.in.Service.LoadBalancers = []model.LoadBalancer{{TargetGroupArn: tgA, ContainerName: "app", ContainerPort: new(int32(8080))}}
	return w
}

// grace sets healthCheckGracePeriodSeconds.
func (w *world) grace(s int32) *world {
	w.in.Service.HealthCheckGracePeriodSeconds = &s
	return w
}

// target gives task id a target of tgA in state (registered by the
// scheduler unless state is ""); "draining" drains for a minute more.
func (w *world) target(id, state string) *world {
	t := w.taskByID(id)
	g := Target{Group: tgA, GroupID: groupID(tgA), ID: "i-" + t.Instance, Port: int32(32768 + len(t.Targets) + 10*w.ids),
		Registered: state != "", State: state}
	switch state {
	case store.TargetDraining:
		g.DrainUntil = t0.Add(time.Minute)
	case store.TargetUnhealthy:
		g.Description = "Health checks failed with these codes: [500]"
	}
	t.Targets = append(t.Targets, g)
	return w
}

// draining marks task id as draining to stop (kind scale-in) until
// t0+d.
func (w *world) draining(id string, d time.Duration) *world {
	t := w.taskByID(id)
	t.Drain = &Drain{Kind: store.ServiceStopScaleIn, Reason: "Scaling activity initiated by (deployment d2)", Until: t0.Add(d)}
	t.Deregistered = true
	return w
}

func (w *world) taskByID(id string) *Task {
	i := slices.IndexFunc(w.in.Tasks, func(t Task) bool { return t.ID == id })
	return &w.in.Tasks[i]
}

func drains(p *Plan) []string {
	var out []string
	for _, s := range p.Drains {
		out = append(out, s.Task+":"+s.Kind)
	}
	return out
}

func TestDecideLoadBalancing(t *testing.T) {
	tests := []struct {
		name  string
		world func() *world
		check func(*testing.T, *Plan)
	}{
		{"a running task's targets are registered; not healthy yet, so not completed", func() *world {
			w := replica(1, 1).balanced()
			w.target(w.task("d1", "n1", "running"), "")
			return w
		}, func(t *testing.T, p *Plan) {
			if !slices.Equal(p.Register, []string{"t01"}) || dep(p, "d1").RolloutState != model.DeploymentRolloutStateInProgress {
				t.Errorf("register %v, rollout %s", p.Register, dep(p, "d1").RolloutState)
			}
		}},
		{"a task whose targets cannot be worked out yet is not healthy", func() *world {
			w := replica(1, 1).balanced()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.in.Tasks[0].TargetsMissing = true
			return w
		}, func(t *testing.T, p *Plan) {
			if dep(p, "d1").RolloutState != model.DeploymentRolloutStateInProgress || len(p.Register) != 0 {
				t.Errorf("rollout %s, register %v", dep(p, "d1").RolloutState, p.Register)
			}
		}},
		{"healthy targets: completed and steady, nothing to do", func() *world {
			w := replica(2, 2).balanced()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.target(w.task("d1", "n2", "running"), store.TargetHealthy)
			return w
		}, func(t *testing.T, p *Plan) {
			if dep(p, "d1").RolloutState != model.DeploymentRolloutStateCompleted || !hasEvent(p, "steady state") || !p.emptyLB() {
				t.Errorf("rollout %s, events %q, plan %+v", dep(p, "d1").RolloutState, p.Events, p)
			}
		}},
		{"rolling: old tasks stay while the new ones' targets are initial", func() *world {
			w := replica(2, 2).balanced().update()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.target(w.task("d1", "n2", "running"), store.TargetHealthy)
			w.target(w.task("d2", "n1", "young"), store.TargetInitial)
			w.target(w.task("d2", "n2", "young"), store.TargetInitial)
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			if len(p.Drains) != 0 {
				t.Errorf("drains %v", drains(p))
			}
		}},
		{"rolling: a healthy new target lets an old task drain (not stop)", func() *world {
			w := replica(2, 2).balanced().update()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.target(w.task("d1", "n2", "running"), store.TargetHealthy)
			w.target(w.task("d2", "n1", "young"), store.TargetHealthy)
			w.target(w.task("d2", "n2", "young"), store.TargetInitial)
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			if got := drains(p); len(got) != 1 || !strings.HasSuffix(got[0], ":"+store.ServiceStopScaleIn) {
				t.Errorf("drains %v", got)
			}
		}},
		{"unused target group: healthy", func() *world {
			w := replica(1, 1).balanced()
			w.target(w.task("d1", "n1", "running"), TargetUnused)
			return w
		}, func(t *testing.T, p *Plan) {
			if dep(p, "d1").RolloutState != model.DeploymentRolloutStateCompleted {
				t.Errorf("rollout %s", dep(p, "d1").RolloutState)
			}
		}},
		{"healthy target, unhealthy container: not healthy", func() *world {
			w := replica(1, 1).balanced().grace(3600)
			w.target(w.task("d1", "n1", "running", "unhealthy"), store.TargetHealthy)
			w.taskByID("t01").StartedAt = t0.Add(-time.Second)
			return w
		}, func(t *testing.T, p *Plan) {
			if dep(p, "d1").RolloutState != model.DeploymentRolloutStateInProgress || len(p.Drains)+len(p.Stops) != 0 {
				t.Errorf("rollout %s, drains %v stops %v", dep(p, "d1").RolloutState, drains(p), stops(p))
			}
		}},
		{"draining: not stopped while its target drains", func() *world {
			w := replica(1, 2).balanced().update()
			w.target(w.task("d2", "n2", "running"), store.TargetHealthy)
			w.target(w.task("d1", "n1", "running"), store.TargetDraining)
			w.draining("t02", 5*time.Minute)
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			if p.RequeueAfter != time.Minute || len(p.Service.Deployments) != 2 {
				t.Errorf("requeue %v (want the target's drain deadline), deployments %d", p.RequeueAfter, len(p.Service.Deployments))
			}
		}},
		{"draining: stopped once its target is gone", func() *world {
			w := replica(1, 2).balanced().update()
			w.target(w.task("d2", "n2", "running"), store.TargetHealthy)
			w.task("d1", "n1", "running")
			w.draining("t02", 5*time.Minute)
			w.taskByID("t02").Targets = []Target{{Group: tgA, ID: "i-n1", Port: 1, Registered: true}}
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t02:scale-in")
			if p.Stops[0].Reason != "Scaling activity initiated by (deployment d2)" {
				t.Errorf("reason %q", p.Stops[0].Reason)
			}
		}},
		{"draining: stopped when the delay is over, drained or not", func() *world {
			w := replica(1, 2).balanced().update()
			w.target(w.task("d2", "n2", "running"), store.TargetHealthy)
			w.target(w.task("d1", "n1", "running"), store.TargetDraining)
			w.draining("t02", 0)
			return w
		}, func(t *testing.T, p *Plan) { mustStops(t, p, "t02:scale-in") }},
		{"a task that stopped on its own is deregistered at once, and replaced", func() *world {
			w := replica(1, 1).balanced()
			w.target(w.task("d1", "n1", "stopped"), store.TargetHealthy)
			return w
		}, func(t *testing.T, p *Plan) {
			mustLaunch(t, p, 1)
			if !slices.Equal(p.Deregister, []string{"t01"}) || len(p.Register) != 0 {
				t.Errorf("deregister %v register %v", p.Deregister, p.Register)
			}
		}},
		{"a task stopped by StopTask is deregistered at once", func() *world {
			w := replica(1, 1).balanced()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.taskByID("t01").DesiredStatus = model.StatusStopped
			w.taskByID("t01").StopCode = model.TaskStopCodeUserInitiated
			return w
		}, func(t *testing.T, p *Plan) {
			if !slices.Equal(p.Deregister, []string{"t01"}) {
				t.Errorf("deregister %v", p.Deregister)
			}
		}},
		{"loadBalancers removed: a task registered before is still drained before it stops", func() *world {
			w := replica(1, 1).update()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.task("d2", "n1", "running")
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			if got := drains(p); !slices.Equal(got, []string{"t01:scale-in"}) {
				t.Errorf("drains %v", got)
			}
		}},
		{"deregistered targets are not deregistered again", func() *world {
			w := replica(1, 1).balanced()
			w.target(w.task("d1", "n1", "stopped"), store.TargetHealthy)
			w.taskByID("t01").Deregistered = true
			return w
		}, func(t *testing.T, p *Plan) {
			if len(p.Deregister) != 0 {
				t.Errorf("deregister %v", p.Deregister)
			}
		}},
		{"a lost instance's task stops at once and is deregistered", func() *world {
			w := replica(1, 2).balanced()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.node("n1", func(n *Node) { n.Connected, n.DisconnectedSince = false, t0.Add(-time.Minute) })
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p, "t01:lost")
			if !slices.Equal(p.Deregister, []string{"t01"}) || len(p.Drains) != 0 {
				t.Errorf("deregister %v drains %v", p.Deregister, drains(p))
			}
		}},
		{"unhealthy target past the grace period: drained and replaced", func() *world {
			w := replica(1, 1).balanced().grace(10)
			w.target(w.task("d1", "n1", "running"), store.TargetUnhealthy)
			return w
		}, func(t *testing.T, p *Plan) {
			if got := drains(p); !slices.Equal(got, []string{"t01:unhealthy"}) {
				t.Fatalf("drains %v", got)
			}
			if want := "Task failed ELB health checks in (target-group " + tgA + ")"; p.Drains[0].Reason != want {
				t.Errorf("reason %q, want %q", p.Drains[0].Reason, want)
			}
			want := "(service web) (port 32778) is unhealthy in (target-group " + tgA + ") due to (reason Health checks failed with these codes: [500])."
			if !slices.Contains(p.Events, want) {
				t.Errorf("events %q, want %q", p.Events, want)
			}
		}},
		{"unhealthy target within the grace period: ignored", func() *world {
			w := replica(1, 1).balanced().grace(10)
			w.target(w.task("d1", "n1", "young"), store.TargetUnhealthy)
			return w
		}, func(t *testing.T, p *Plan) {
			mustStops(t, p)
			if len(p.Drains) != 0 || p.RequeueAfter != 9*time.Second {
				t.Errorf("drains %v requeue %v", drains(p), p.RequeueAfter)
			}
		}},
		{"DeleteService drains the tasks; the service waits for them", func() *world {
			w := replica(2, 2).balanced()
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			w.target(w.task("d1", "n2", "running"), store.TargetHealthy)
			w.in.Service.Status = model.StatusDraining
			return w
		}, func(t *testing.T, p *Plan) {
			if got := drains(p); !slices.Equal(got, []string{"t01:deleted", "t02:deleted"}) || p.Service.Status != model.StatusDraining {
				t.Errorf("drains %v status %s", got, p.Service.Status)
			}
		}},
		{"a task that dies while draining for failed checks counts as failed", func() *world {
			w := replica(2, 2).balanced().breaker(false)
			w.target(w.task("d1", "n1", "running"), store.TargetHealthy)
			id := w.task("d1", "n2", "crashed")
			w.target(id, store.TargetDraining)
			w.draining(id, time.Minute)
			w.taskByID(id).Drain.Kind = store.ServiceStopUnhealthy
			return w
		}, func(t *testing.T, p *Plan) {
			if dep(p, "d1").FailedTasks != 1 {
				t.Errorf("failedTasks %d", dep(p, "d1").FailedTasks)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, tc.world().decide()) })
	}
}

func (p *Plan) emptyLB() bool { return len(p.Drains)+len(p.Register)+len(p.Deregister) == 0 }

func TestWantedTargets(t *testing.T) {
	instance := &store.TargetGroupRecord{Arn: tgA, ID: groupID(tgA), TargetType: store.TargetTypeInstance}
	ip := &store.TargetGroupRecord{Arn: tgB, ID: groupID(tgB), TargetType: store.TargetTypeIP}
	groups := map[string]*store.TargetGroupRecord{tgA: instance, tgB: ip}
	lb := func(tg, name string, port int32) model.LoadBalancer {
		return model.LoadBalancer{TargetGroupArn: tg, ContainerName: name, ContainerPort: &port}
	}
	bind := func(cport, hport int32, proto model.TransportProtocol) model.NetworkBinding {
		return model.NetworkBinding{BindIP: "0.0.0.0", ContainerPort: &cport, HostPort: &hport, Protocol: proto}
	}
	bridge := &taskLBMark{Containers: []containerLBMark{
		{Name: "side"},
		{Name: "app", NetworkBindings: []model.NetworkBinding{bind(53, 32700, model.TransportProtocolUdp), bind(8080, 32769, model.TransportProtocolTcp), bind(8080, 32769, model.TransportProtocolTcp)}},
	}}
	awsvpc := &taskLBMark{Containers: []containerLBMark{{Name: "app", NetworkInterfaces: []model.NetworkInterface{{AttachmentId: "a1", PrivateIpv4Address: "10.0.0.7"}}}}}
	eniOnly := &taskLBMark{Containers: []containerLBMark{{Name: "app"}}, Attachments: []model.Attachment{{Type: "ElasticNetworkInterface",
		Details: []model.KeyValuePair{{Name: "subnetId", Value: "s"}, {Name: "privateIPv4Address", Value: "10.0.0.8"}}}}}
	tests := []struct {
		name    string
		lbs     []model.LoadBalancer
		mark    *taskLBMark
		ec2     string
		want    []store.TaskTarget
		missing bool
	}{
		{"instance: the dynamic host port of the container port", []model.LoadBalancer{lb(tgA, "app", 8080)}, bridge, "i-1",
			[]store.TaskTarget{{TargetGroupArn: tgA, TargetGroupID: instance.ID, ID: "i-1", Port: 32769}}, false},
		{"instance: twice the same target once", []model.LoadBalancer{lb(tgA, "app", 8080), lb(tgA, "app", 8080)}, bridge, "i-1",
			[]store.TaskTarget{{TargetGroupArn: tgA, TargetGroupID: instance.ID, ID: "i-1", Port: 32769}}, false},
		{"instance: a UDP binding is no target", []model.LoadBalancer{lb(tgA, "app", 53)}, bridge, "i-1", nil, true},
		{"instance: no binding reported yet", []model.LoadBalancer{lb(tgA, "side", 8080)}, bridge, "i-1", nil, true},
		{"instance: no EC2 instance ID", []model.LoadBalancer{lb(tgA, "app", 8080)}, bridge, "", nil, true},
		{"ip: the task's private IP and the container port", []model.LoadBalancer{lb(tgB, "app", 8080)}, awsvpc, "i-1",
			[]store.TaskTarget{{TargetGroupArn: tgB, TargetGroupID: ip.ID, ID: "10.0.0.7", Port: 8080}}, false},
		{"ip: from the ENI attachment", []model.LoadBalancer{lb(tgB, "app", 8080)}, eniOnly, "",
			[]store.TaskTarget{{TargetGroupArn: tgB, TargetGroupID: ip.ID, ID: "10.0.0.8", Port: 8080}}, false},
		{"no such target group", []model.LoadBalancer{lb(tgA+"x", "app", 8080)}, bridge, "i-1", nil, true},
		{"no such container", []model.LoadBalancer{lb(tgA, "web", 8080)}, bridge, "i-1", nil, true},
		{"a classic load balancer name is no target group", []model.LoadBalancer{{LoadBalancerName: "clb", ContainerName: "app", ContainerPort: new(int32(8080))}}, bridge, "i-1", nil, false},
		{"two groups, one missing", []model.LoadBalancer{lb(tgA, "app", 8080), lb(tgB, "app", 8080)}, bridge, "i-1",
			[]store.TaskTarget{{TargetGroupArn: tgA, TargetGroupID: instance.ID, ID: "i-1", Port: 32769}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, missing := wantedTargets(tc.lbs, groups, tc.mark, tc.ec2)
			if diff := cmp.Diff(tc.want, got); diff != "" || missing != tc.missing {
				t.Errorf("missing %v (want %v); targets (-want +got):\n%s", missing, tc.missing, diff)
			}
		})
	}
}

func TestFillTargets(t *testing.T) {
	tg := &store.TargetGroupRecord{Arn: tgA, ID: groupID(tgA), TargetType: store.TargetTypeInstance}
	port := int32(8080)
	lbs := []model.LoadBalancer{{TargetGroupArn: tgA, ContainerName: "app", ContainerPort: &port}}
	hp := int32(32770)
	mark := &taskLBMark{Containers: []containerLBMark{{Name: "app", NetworkBindings: []model.NetworkBinding{{ContainerPort: &port, HostPort: &hp}}}}}
	reg := store.TaskTarget{TargetGroupArn: tgA, TargetGroupID: tg.ID, ID: "i-1", Port: 32770}
	seen := func(used bool, state string) *targetsSeen {
		s := &targetsSeen{groups: map[string]*store.TargetGroupRecord{tgA: tg}, used: map[string][]string{},
			targets: map[targetRef]*store.TargetRecord{}}
		if used {
			s.used[tg.ID] = []string{"lb"}
		}
		if state != "" {
			s.targets[targetRef{tg.ID, "i-1", 32770}] = &store.TargetRecord{State: state}
		}
		return s
	}
	running := func() *Task { return &Task{LastStatus: model.StatusRunning, DesiredStatus: model.StatusRunning} }

	tk := running()
	seen(true, "").fillTargets(tk, mark, lbs, "i-1")
	if want := []Target{{Group: tgA, GroupID: tg.ID, ID: "i-1", Port: 32770}}; !cmp.Equal(tk.Targets, want) {
		t.Errorf("new task: %+v", tk.Targets)
	}
	tk = running()
	m := *mark
	m.LB = &store.TaskLB{Targets: []store.TaskTarget{reg}}
	seen(true, store.TargetHealthy).fillTargets(tk, &m, lbs, "i-1")
	if len(tk.Targets) != 1 || !tk.Targets[0].Registered || tk.Targets[0].State != store.TargetHealthy {
		t.Errorf("registered task: %+v", tk.Targets)
	}
	tk = running()
	seen(false, store.TargetInitial).fillTargets(tk, &m, lbs, "i-1")
	if tk.Targets[0].State != TargetUnused {
		t.Errorf("unused group: %+v", tk.Targets)
	}
	tk = running()
	m.LB = &store.TaskLB{Targets: []store.TaskTarget{reg}, DeregisteredAt: model.At(t0), StopAt: model.At(t0.Add(time.Minute)), StopKind: "scale-in", StopReason: "r"}
	seen(true, store.TargetDraining).fillTargets(tk, &m, lbs, "i-1")
	if !tk.Deregistered || tk.Drain == nil || tk.Drain.Kind != "scale-in" || len(tk.Targets) != 1 || tk.Targets[0].State != store.TargetDraining {
		t.Errorf("draining task: %+v drain %+v", tk.Targets, tk.Drain)
	}
}

// genBalanced draws a REPLICA service behind a target group, its tasks
// with targets in every state, some draining.
func genBalanced(rt *rapid.T) *world {
	w := genWorld(rt, false).balanced()
	if rapid.Bool().Draw(rt, "grace") {
		w.grace(5)
	}
	states := []string{store.TargetHealthy, "", store.TargetInitial, store.TargetUnhealthy, store.TargetDraining, TargetUnused, store.TargetHealthy}
	for i := range w.in.Tasks {
		t := &w.in.Tasks[i]
		if t.StartedAt.IsZero() {
			continue
		}
		w.target(t.ID, rapid.SampledFrom(states).Draw(rt, fmt.Sprint("target", i)))
		if t.DesiredStatus != model.StatusStopped && rapid.Bool().Draw(rt, fmt.Sprint("drain", i)) && rapid.Bool().Draw(rt, fmt.Sprint("drain2", i)) {
			w.draining(t.ID, time.Duration(rapid.IntRange(-5, 5).Draw(rt, fmt.Sprint("until", i)))*time.Second)
		}
		if t.Drain == nil && rapid.Bool().Draw(rt, fmt.Sprint("dereg", i)) && rapid.Bool().Draw(rt, fmt.Sprint("dereg2", i)) && rapid.Bool().Draw(rt, fmt.Sprint("dereg3", i)) {
			t.Deregistered = true
		}
	}
	return w
}

// Whatever the world, a task holding targets is never stopped before its
// targets drain (unless its instance is lost), only tasks holding targets
// are drained or deregistered, only running ones registered, and
// minimumHealthyPercent holds with target health counted.
func TestPropertyLoadBalancing(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := genBalanced(rt)
		p := w.decide()
		byID := map[string]Task{}
		for _, t := range w.in.Tasks {
			byID[t.ID] = t
		}
		for _, s := range p.Stops {
			if t := byID[s.Task]; holdsTargets(&t) && s.Kind != store.ServiceStopLost && t.Drain == nil {
				rt.Fatalf("stops %s, which holds targets, without draining it", s.Task)
			}
		}
		for _, s := range p.Drains {
			if t := byID[s.Task]; !holdsTargets(&t) || t.Drain != nil {
				rt.Fatalf("drains %s: holds targets %v, draining %v", s.Task, holdsTargets(&t), t.Drain != nil)
			}
		}
		for _, id := range p.Deregister {
			if t := byID[id]; !holdsTargets(&t) {
				rt.Fatalf("deregisters %s, which holds no targets", id)
			}
		}
		for _, id := range p.Register {
			t := byID[id]
			if t.LastStatus != model.StatusRunning || t.DesiredStatus != model.StatusRunning || t.Deregistered || t.Drain != nil {
				rt.Fatalf("registers %s: %+v", id, t)
			}
		}
		r := ref{w}
		lo, _ := r.ceilFloor(int(w.in.Service.DesiredCount))
		healthy, gone := 0, 0
		for _, t := range w.in.Tasks {
			if r.healthy(t) && t.Drain == nil && targetsHealthy(&t) {
				healthy++
				if slices.ContainsFunc(append(slices.Clone(p.Stops), p.Drains...), func(s Stop) bool { return s.Task == t.ID }) {
					gone++
				}
			}
		}
		if gone > 0 && healthy-gone < lo {
			rt.Fatalf("stops or drains %d of %d healthy tasks: below minimumHealthyPercent (%d)", gone, healthy, lo)
		}
	})
}
