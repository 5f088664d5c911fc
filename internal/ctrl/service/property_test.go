package service

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// genWorld draws a service (REPLICA or DAEMON) with one or two deployments
// and tasks of them in every state on instances in every state.
func genWorld(rt *rapid.T, isDaemon bool) *world {
	nodes := rapid.IntRange(1, 5).Draw(rt, "nodes")
	w := replica(int32(rapid.IntRange(0, 6).Draw(rt, "desired")), nodes)
	if isDaemon {
		w = daemon(nodes)
	} else {
		w.limits(int32(rapid.SampledFrom([]int{0, 50, 75, 100}).Draw(rt, "min")),
			int32(rapid.SampledFrom([]int{100, 125, 150, 200}).Draw(rt, "max")))
	}
	for id := range w.in.Nodes {
		w.node(id, func(n *Node) {
			n.Status = rapid.SampledFrom([]string{model.StatusActive, model.StatusActive, model.StatusActive, model.StatusDraining, model.StatusInactive}).Draw(rt, "status-"+id)
			n.Eligible = rapid.Float64Range(0, 1).Draw(rt, "eligible-"+id) < 0.8
			if rapid.Float64Range(0, 1).Draw(rt, "down-"+id) < 0.25 {
				n.Connected = false
				n.DisconnectedSince = t0.Add(-time.Duration(rapid.IntRange(0, 3000).Draw(rt, "since-"+id)) * time.Millisecond)
			}
			if n.Status == model.StatusInactive {
				n.Connected = false
			}
		})
	}
	deps := []string{"d1"}
	if rapid.Bool().Draw(rt, "rolling") {
		w.update()
		deps = append(deps, "d2")
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range w.in.Nodes {
			if !yield(id) {
				return
			}
		}
	})
	for i := range rapid.IntRange(0, 12).Draw(rt, "tasks") {
		state := rapid.SampledFrom([]string{"pending", "running", "running", "young", "stopped", "failed", "crashed"}).Draw(rt, fmt.Sprint("state", i))
		extra := []string{state}
		if state == "running" || state == "young" {
			if rapid.Bool().Draw(rt, fmt.Sprint("stopping", i)) {
				extra = append(extra, "stopping")
			}
		}
		w.task(rapid.SampledFrom(deps).Draw(rt, fmt.Sprint("dep", i)), rapid.SampledFrom(ids).Draw(rt, fmt.Sprint("node", i)), extra...)
	}
	return w
}

// ref is the property tests' own reading of the rules, independent of
// view's.
type ref struct{ w *world }

func (r ref) live(t Task) bool {
	n, ok := r.w.in.Nodes[t.Instance]
	return ok && n.Status != model.StatusInactive && t.LastStatus != model.StatusStopped
}

func (r ref) healthy(t Task) bool {
	n := r.w.in.Nodes[t.Instance]
	return r.live(t) && t.DesiredStatus == model.StatusRunning && t.LastStatus == model.StatusRunning && n.Connected
}

func (r ref) ceilFloor(desired int) (lo, hi int) {
	dc := r.w.in.Service.DeploymentConfiguration
	return (desired*int(*dc.MinimumHealthyPercent) + 99) / 100, desired * int(*dc.MaximumPercent) / 100
}

func TestPropertyReplicaBounds(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := genWorld(rt, false)
		r := ref{w}
		p := w.decide()
		lo, hi := r.ceilFloor(int(w.in.Service.DesiredCount))
		live, healthy := 0, 0
		for _, t := range w.in.Tasks {
			if r.live(t) {
				live++
			}
			if r.healthy(t) {
				healthy++
			}
		}
		if p.Launch.Count > 0 && live+p.Launch.Count > hi {
			rt.Fatalf("launches %d with %d live tasks: above maximumPercent (%d)", p.Launch.Count, live, hi)
		}
		stoppedHealthy := 0
		for _, s := range p.Stops {
			i := slices.IndexFunc(w.in.Tasks, func(t Task) bool { return t.ID == s.Task })
			if r.healthy(w.in.Tasks[i]) {
				stoppedHealthy++
			}
		}
		if stoppedHealthy > 0 && healthy-stoppedHealthy < lo {
			rt.Fatalf("stops %d healthy tasks of %d: below minimumHealthyPercent (%d); stops %v", stoppedHealthy, healthy, lo, stops(p))
		}
	})
}

func TestPropertyDaemonOnePerEligibleInstance(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := genWorld(rt, true)
		r := ref{w}
		p := w.decide()
		stopped := map[string]bool{}
		for _, s := range p.Stops {
			stopped[s.Task] = true
		}
		primary := primaryOf(p.Service).Id
		eligible := 0
		for id, n := range w.in.Nodes {
			ok := n.Status == model.StatusActive && n.Connected && n.Eligible
			launched := slices.Contains(p.Launch.On, id)
			live, wantedPrimary, wantedAny := 0, 0, 0
			for _, t := range w.in.Tasks {
				if t.Instance != id || !r.live(t) {
					continue
				}
				live++
				if t.DesiredStatus == model.StatusRunning && !stopped[t.ID] {
					wantedAny++
					if t.Deployment == primary {
						wantedPrimary++
					}
				}
			}
			switch {
			case ok:
				eligible++
				if wantedPrimary > 1 {
					rt.Fatalf("instance %s keeps %d tasks of the PRIMARY", id, wantedPrimary)
				}
				if launched && live > 0 {
					rt.Fatalf("launch on %s, which has %d live tasks", id, live)
				}
				if live == 0 && !launched && primaryOf(p.Service).RolloutState != model.DeploymentRolloutStateFailed &&
					!hasEvent(p, "is unable to consistently start tasks successfully.") {
					rt.Fatalf("eligible instance %s without a task gets none", id)
				}
			case launched:
				rt.Fatalf("launch on ineligible instance %s (%+v)", id, n)
			case (n.Status == model.StatusDraining || n.Status == model.StatusActive && !n.Eligible) && wantedAny > 0:
				rt.Fatalf("instance %s (%s, eligible %v) keeps %d tasks", id, n.Status, n.Eligible, wantedAny)
			}
		}
		if int(p.Service.DesiredCount) != eligible {
			rt.Fatalf("desiredCount %d, %d eligible instances", p.Service.DesiredCount, eligible)
		}
	})
}

// TestPropertyPartitionsNeverExceedMaximum runs a service through random
// steps (decide and apply, nodes' agents acting, tasks crashing, nodes
// cut off and coming back, time passing) and checks after each that the
// tasks that may be running, those on cut-off nodes included, never
// exceed maximumPercent.
func TestPropertyPartitionsNeverExceedMaximum(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := newSim(rt)
		for i := range 60 {
			s.step(rapid.SampledFrom([]string{"decide", "decide", "agent", "crash", "cut", "tick"}).Draw(rt, fmt.Sprint("step", i)))
			if live := s.mayRun(); live > s.hi {
				rt.Fatalf("step %d: %d tasks may run, maximum %d: %+v", i, live, s.hi, s.w.in.Tasks)
			}
		}
	})
}

// sim is a small cluster the property test drives.
type sim struct {
	rt *rapid.T
	w  *world
	hi int
}

func newSim(rt *rapid.T) *sim {
	w := replica(int32(rapid.IntRange(1, 6).Draw(rt, "desired")), rapid.IntRange(2, 4).Draw(rt, "nodes"))
	w.limits(int32(rapid.SampledFrom([]int{0, 50, 100}).Draw(rt, "min")), int32(rapid.SampledFrom([]int{100, 150, 200}).Draw(rt, "max")))
	s := &sim{rt: rt, w: w}
	_, s.hi = ref{w}.ceilFloor(int(w.in.Service.DesiredCount))
	return s
}

func (s *sim) mayRun() int {
	n := 0
	for _, t := range s.w.in.Tasks {
		if t.LastStatus != model.StatusStopped {
			n++
		}
	}
	return n
}

func (s *sim) nodeIDs() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for id := range s.w.in.Nodes {
			if !yield(id) {
				return
			}
		}
	})
}

func (s *sim) step(kind string) {
	w := s.w
	switch kind {
	case "decide":
		s.apply(w.decide())
	case "agent":
		id := rapid.SampledFrom(s.nodeIDs()).Draw(s.rt, "agent")
		if w.in.Nodes[id].Connected {
			s.agent(id)
		}
	case "crash":
		for i := range w.in.Tasks {
			t := &w.in.Tasks[i]
			if t.LastStatus == model.StatusRunning && w.in.Nodes[t.Instance].Connected {
				t.LastStatus, t.StoppedAt, t.StopCode = model.StatusStopped, w.in.Now, model.TaskStopCodeEssentialContainerExited
				break
			}
		}
	case "cut":
		id := rapid.SampledFrom(s.nodeIDs()).Draw(s.rt, "cut")
		w.node(id, func(n *Node) {
			n.Connected = !n.Connected
			n.DisconnectedSince = time.Time{}
			if !n.Connected {
				n.DisconnectedSince = w.in.Now
			}
		})
	case "tick":
		w.in.Now = w.in.Now.Add(time.Duration(rapid.IntRange(100, 2000).Draw(s.rt, "tick")) * time.Millisecond)
	}
}

// agent moves the node's tasks: up to RUNNING when wanted, to STOPPED when
// asked to stop.
func (s *sim) agent(id string) {
	for i := range s.w.in.Tasks {
		t := &s.w.in.Tasks[i]
		switch {
		case t.Instance != id || t.LastStatus == model.StatusStopped:
		case t.DesiredStatus == model.StatusStopped:
			t.LastStatus, t.StoppedAt = model.StatusStopped, s.w.in.Now
		case t.LastStatus == model.StatusPending:
			t.LastStatus, t.StartedAt = model.StatusRunning, s.w.in.Now
		}
	}
}

// apply carries out a plan: stops, launches on connected ACTIVE nodes in
// turn, and the service record.
func (s *sim) apply(p *Plan) {
	w := s.w
	for _, st := range p.Stops {
		i := slices.IndexFunc(w.in.Tasks, func(t Task) bool { return t.ID == st.Task })
		t := &w.in.Tasks[i]
		t.DesiredStatus, t.StopCode, t.ServiceStop = model.StatusStopped, model.TaskStopCodeServiceSchedulerInitiated, st.Kind
	}
	var up []string
	for _, id := range s.nodeIDs() {
		if n := w.in.Nodes[id]; n.Connected && n.Status == model.StatusActive {
			up = append(up, id)
		}
	}
	for i := range p.Launch.Count {
		if len(up) == 0 {
			break
		}
		w.ids++
		w.in.Tasks = append(w.in.Tasks, Task{ID: fmt.Sprintf("s%d", w.ids), Deployment: p.Launch.Deployment, TaskDefinition: td1,
			Instance: up[i%len(up)], LastStatus: model.StatusPending, DesiredStatus: model.StatusRunning, CreatedAt: w.in.Now})
	}
	svc := *p.Service
	svc.Events = AddEvents(svc.Events, p.Events, w.in.Now, func() string { return "e" })
	w.in.Service = &svc
	_ = store.ServiceStopLost
}

// TestPropertyQuietWhenSettled checks that a service is not rewritten
// forever: when a plan launches and stops nothing, deciding again on the
// service it stores gives the same record and no new event (the
// controller writes only what changes, and its writes wake it again).
func TestPropertyQuietWhenSettled(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := genWorld(rt, rapid.Bool().Draw(rt, "daemon"))
		w.in.Service.Status = rapid.SampledFrom([]string{model.StatusActive, model.StatusActive, model.StatusDraining, model.StatusInactive}).Draw(rt, "status")
		p := w.decide()
		if !p.Launch.Empty() || len(p.Stops) > 0 {
			return
		}
		svc := *p.Service
		svc.Events = AddEvents(svc.Events, p.Events, w.in.Now, func() string { return "e" })
		w.in.Service = &svc
		again := w.decide()
		if len(again.Events) > 0 || !again.Launch.Empty() || len(again.Stops) > 0 {
			rt.Fatalf("second decision: events %q, launch %+v, stops %v", again.Events, again.Launch, stops(again))
		}
		a, _ := json.Marshal(&svc)
		b, _ := json.Marshal(again.Service)
		if string(a) != string(b) {
			rt.Fatalf("service rewritten:\n%s\n%s", a, b)
		}
	})
}
