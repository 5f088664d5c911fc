package docker

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/quayside/quayside/internal/agent/runtime"
)

func TestTranslatePorts(t *testing.T) {
	cfg, host, err := translate(runtime.ContainerSpec{
		Image: "x",
		PortBindings: []runtime.PortBinding{
			{ContainerPort: 80},
			{ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"},
			{ContainerPort: 53, HostPort: 53, Protocol: "udp"},
		},
		StopTimeout: 1500 * time.Millisecond,
		MemoryMiB:   2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ExposedPorts) != 2 || len(host.PortBindings) != 2 {
		t.Fatalf("exposed %v bindings %v", cfg.ExposedPorts, host.PortBindings)
	}
	for port, bs := range host.PortBindings {
		switch port.String() {
		case "80/tcp":
			if len(bs) != 2 || bs[0].HostPort != "" || bs[1].HostPort != "8080" || bs[1].HostIP.String() != "127.0.0.1" {
				t.Errorf("80/tcp: %+v", bs)
			}
		case "53/udp":
			if len(bs) != 1 || bs[0].HostPort != "53" || bs[0].HostIP.IsValid() {
				t.Errorf("53/udp: %+v", bs)
			}
		default:
			t.Errorf("unexpected port %s", port)
		}
	}
	if *cfg.StopTimeout != 2 || host.Memory != 2<<20 || host.Init != nil {
		t.Errorf("stop timeout %d memory %d init %v", *cfg.StopTimeout, host.Memory, host.Init)
	}
}

func TestTranslateRejects(t *testing.T) {
	for name, spec := range map[string]runtime.ContainerSpec{
		"port 0":       {PortBindings: []runtime.PortBinding{{}}},
		"protocol":     {PortBindings: []runtime.PortBinding{{ContainerPort: 1, Protocol: "icmp"}}},
		"host ip":      {PortBindings: []runtime.PortBinding{{ContainerPort: 1, HostIP: "localhost"}}},
		"dns":          {DNSServers: []string{"dns.example"}},
		"mount type":   {Mounts: []runtime.Mount{{Type: "tmpfs", Target: "/t"}}},
		"bind source":  {Mounts: []runtime.Mount{{Type: "bind", Target: "/t"}}},
		"mount target": {Mounts: []runtime.Mount{{Type: "volume", Source: "v"}}},
	} {
		if _, _, err := translate(spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTranslateMounts(t *testing.T) {
	_, host, err := translate(runtime.ContainerSpec{Mounts: []runtime.Mount{
		{Type: "bind", Source: "/srv", Target: "/a", ReadOnly: true},
		{Type: "bind", Source: "/srv", Target: "/b"},
		{Type: "volume", Source: "v", Target: "/c"},
		{Type: "volume", Target: "/d"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(host.Binds) != 2 || host.Binds[0] != "/srv:/a:ro" || host.Binds[1] != "/srv:/b" {
		t.Errorf("binds %v", host.Binds)
	}
	if len(host.Mounts) != 2 || host.Mounts[0].Source != "v" || host.Mounts[1].Source != "" || host.Mounts[1].Type != "volume" {
		t.Errorf("mounts %+v", host.Mounts)
	}
}

func TestPickDigest(t *testing.T) {
	rds := []string{"other/x@sha256:aaa", "docker.io/library/nginx@sha256:bbb"}
	for name, want := range map[string]string{
		"nginx:1.25":                        "sha256:bbb",
		"docker.io/library/nginx@sha256:bb": "sha256:bbb",
		"mine:latest":                       "sha256:aaa",
	} {
		if got := pickDigest(rds, name, "id"); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if got := pickDigest(nil, "local:1", "sha256:id"); got != "sha256:id" {
		t.Errorf("no repo digests: %s", got)
	}
}

func TestEventOf(t *testing.T) {
	for action, want := range map[events.Action]string{
		"start": "start", "die": "die", "oom": "oom", "destroy": "destroy",
		"health_status: healthy": "health_status", "exec_create: /echo healthcheck": "", "attach": "",
	} {
		ev, ok := eventOf(events.Message{Type: events.ContainerEventType, Action: action, Actor: events.Actor{ID: "c"}})
		if ok != (want != "") || (ok && ev.Action != want) {
			t.Errorf("%s: %+v %v", action, ev, ok)
		}
	}
	if _, ok := eventOf(events.Message{Type: events.NetworkEventType, Action: "start"}); ok {
		t.Error("a network event passed")
	}
}

func TestECSArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64", "s390x": "s390x"} {
		if got := ecsArch(in); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}
