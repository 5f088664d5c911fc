package runtimetest

import (
	"context"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

func testEvents(s *suite) {
	ctx, cancel := context.WithCancel(s.ctx())
	defer cancel()
	events, errc := s.rt.Events(ctx)
	// A container without LabelManaged must not show up in the stream.
	unmanaged := s.spec("unmanaged", Behaviour{ExitAfter: 50 * time.Millisecond})
	delete(unmanaged.Labels, runtime.LabelManaged)
	uid := s.create(unmanaged)
	s.extra = append(s.extra, uid)
	s.start(uid)
	s.waitExited(uid)

	id := s.runContainer("ev", Behaviour{ExitAfter: 200 * time.Millisecond, ExitCode: 2})
	var seen []string
	timeout := time.After(waitFor)
	for !containsAction(seen, "die") {
		select {
		case ev, ok := <-events:
			if !ok {
				s.t.Fatalf("event stream closed: %v", <-errc)
			}
			if ev.ContainerID == uid {
				s.t.Errorf("event %q of a container without %s", ev.Action, runtime.LabelManaged)
			}
			if ev.ContainerID != id {
				continue
			}
			if ev.Labels[runtime.LabelTask] != "ev" || ev.Time.IsZero() {
				s.t.Errorf("event %+v lacks the container's labels or a time", ev)
			}
			seen = append(seen, ev.Action)
		case <-timeout:
			s.t.Fatalf("no die event; saw %v", seen)
		}
	}
	if !containsAction(seen, "start") || indexAction(seen, "start") > indexAction(seen, "die") {
		s.t.Errorf("events %v, want start before die", seen)
	}
	cancel()
	// After ctx ends, the event channel is closed.
	for range events {
	}
}

func containsAction(seen []string, a string) bool { return indexAction(seen, a) >= 0 }

func indexAction(seen []string, a string) int {
	for i, s := range seen {
		if s == a || strings.HasPrefix(s, a+":") {
			return i
		}
	}
	return -1
}

func testDynamicPorts(s *suite) {
	ids := make([]string, 2)
	for i := range ids {
		spec := s.spec("port"+string(rune('a'+i)), Behaviour{})
		spec.PortBindings = []runtime.PortBinding{{ContainerPort: 8080, Protocol: "tcp"}}
		ids[i] = s.create(spec)
		s.start(ids[i])
	}
	ports := map[int]bool{}
	for _, id := range ids {
		st := s.waitState(id, "running with a port", func(st runtime.ContainerStatus) bool { return st.Running && len(st.Ports) > 0 })
		var host int
		for _, p := range st.Ports {
			if p.ContainerPort == 8080 && p.Protocol == "tcp" && p.HostPort > 0 {
				host = p.HostPort
			}
		}
		if host == 0 {
			s.t.Fatalf("no dynamic host port for 8080/tcp in %+v", st.Ports)
		}
		ports[host] = true
	}
	if len(ports) != 2 {
		s.t.Errorf("two containers got the same dynamic host port: %v", ports)
	}
}

func testVolumes(s *suite) {
	name := s.run + "-vol"
	s.volumes = append(s.volumes, name)
	spec := runtime.VolumeSpec{Name: name, Labels: map[string]string{runtime.LabelManaged: "true", runtime.LabelCluster: s.run}}
	for range 2 {
		if err := s.rt.CreateVolume(s.ctx(), spec); err != nil {
			s.t.Fatalf("CreateVolume (twice is fine): %v", err)
		}
	}
	c := s.spec("vol", Behaviour{})
	c.Mounts = []runtime.Mount{
		{Type: "volume", Source: name, Target: "/data"},
		{Type: "bind", Source: s.t.TempDir(), Target: "/host", ReadOnly: true},
	}
	id := s.create(c)
	s.start(id)
	s.waitState(id, "running", func(st runtime.ContainerStatus) bool { return st.Running })
	if err := s.rt.StopContainer(s.ctx(), id, 5*time.Second); err != nil {
		s.t.Fatalf("StopContainer: %v", err)
	}
	s.waitExited(id)
	if err := s.rt.RemoveContainer(s.ctx(), id); err != nil {
		s.t.Fatalf("RemoveContainer: %v", err)
	}
	for range 2 {
		if err := s.rt.RemoveVolume(s.ctx(), name); err != nil {
			s.t.Errorf("RemoveVolume (absent is fine): %v", err)
		}
	}
}

func testSharedNetwork(s *suite) {
	holder := s.runContainer("netns", Behaviour{})
	st := s.waitState(holder, "running with an address", func(st runtime.ContainerStatus) bool { return st.Running && st.IPAddress != "" })
	joiner := s.spec("joiner", Behaviour{})
	joiner.NetworkMode = "container:" + st.ID
	id := s.create(joiner)
	s.start(id)
	s.waitState(id, "running", func(st runtime.ContainerStatus) bool { return st.Running })
}

func testHealth(s *suite) {
	if s.img.HealthCheck == nil {
		s.t.Skip("the adapter's images have no health check")
	}
	for _, tc := range []struct {
		name      string
		unhealthy bool
		want      string
	}{
		{"healthy", false, "healthy"},
		{"sick", true, "unhealthy"},
	} {
		spec := s.spec(tc.name, Behaviour{Unhealthy: tc.unhealthy})
		hc := *s.img.HealthCheck
		spec.HealthCheck = &hc
		id := s.create(spec)
		s.start(id)
		s.waitState(id, tc.want, func(st runtime.ContainerStatus) bool { return st.Health == tc.want })
	}
}
