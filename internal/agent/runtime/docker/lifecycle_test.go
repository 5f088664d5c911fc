package docker_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

func TestInfo(t *testing.T) {
	rt := requireDocker(t)
	info, err := rt.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.CPUs <= 0 || info.MemoryBytes <= 0 || info.EngineVersion == "" || info.OS != "linux" || info.Hostname == "" {
		t.Errorf("incomplete info: %+v", info)
	}
	if info.Arch != "x86_64" && info.Arch != "arm64" {
		t.Errorf("Arch = %q, want the ECS spelling", info.Arch)
	}
	if info.APIVersion < "1.40" {
		t.Errorf("APIVersion = %q", info.APIVersion)
	}
	t.Logf("engine %s, API %s, %s, %d CPUs, %d MiB", info.EngineVersion, info.APIVersion, info.Arch, info.CPUs, info.MemoryBytes>>20)
}

// The whole lifecycle of a container with a dynamic host port.
func TestLifecycleDynamicPort(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	if err := e.rt.EnsureImage(ctx, e.images.Echo); err != nil {
		t.Fatal(err)
	}
	spec := e.echoSpec("web", "FOO=bar")
	spec.Hostname = "webhost"
	id, err := e.rt.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.rt.Inspect(ctx, id)
	if err != nil || st.State != "created" || st.Running || st.Name != spec.Name || st.Image != e.images.Echo {
		t.Fatalf("after create: %+v, %v", st, err)
	}
	if !strings.HasPrefix(st.ImageDigest, "sha256:") || st.Labels[labelTest] != e.id || st.CreatedAt.IsZero() {
		t.Errorf("after create: %+v", st)
	}
	if err := e.rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	url := e.hostURL(id)
	d := describe(t, url)
	if d.Env["FOO"] != "bar" || d.Hostname != "webhost" {
		t.Errorf("container sees env %v, hostname %q", d.Env, d.Hostname)
	}
	st, _ = e.rt.Inspect(ctx, id)
	if st.IPAddress == "" || !contains(d.Addresses, st.IPAddress) || st.StartedAt.IsZero() || st.State != "running" {
		t.Errorf("running: %+v; container addresses %v", st, d.Addresses)
	}
	if err := e.rt.StopContainer(ctx, id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ = e.rt.Inspect(ctx, id)
	if st.Running || st.State != "exited" || st.ExitCode != 0 || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("after stop: %+v", st)
	}
	if err := e.rt.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("stopping a stopped container: %v", err)
	}
	if err := e.rt.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.Inspect(ctx, id); !isNotFound(err) {
		t.Errorf("Inspect after remove: %v, want ErrNotFound", err)
	}
	if err := e.rt.RemoveContainer(ctx, id); !isNotFound(err) {
		t.Errorf("Remove after remove: %v, want ErrNotFound", err)
	}
	if err := e.rt.StartContainer(ctx, id); !isNotFound(err) {
		t.Errorf("Start after remove: %v, want ErrNotFound", err)
	}
}

// A container that ignores SIGTERM is killed once the stop timeout passes.
func TestStopTimeoutKills(t *testing.T) {
	e := newEnv(t)
	id := e.run(e.echoSpec("stubborn", "IGNORE_SIGTERM=1"))
	get(t, e.hostURL(id)+"/health") // it has installed its signal handling
	start := time.Now()
	if err := e.rt.StopContainer(e.ctx(), id, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	st, _ := e.rt.Inspect(e.ctx(), id)
	t.Logf("stop with timeout 2s took %s; exit code %d", elapsed, st.ExitCode)
	if elapsed < 1900*time.Millisecond || elapsed > 6*time.Second {
		t.Errorf("stop took %s, want about 2s", elapsed)
	}
	if st.Running || st.ExitCode != 137 {
		t.Errorf("after stop: %+v, want exit 137 (SIGKILL)", st)
	}
}

// A container that honours SIGTERM stops at once with its own exit code.
func TestStopGraceful(t *testing.T) {
	e := newEnv(t)
	id := e.run(e.echoSpec("polite", "SIGTERM_CODE=7"))
	get(t, e.hostURL(id)+"/health")
	start := time.Now()
	if err := e.rt.StopContainer(e.ctx(), id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("graceful stop took %s", d)
	}
	if st, _ := e.rt.Inspect(e.ctx(), id); st.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", st.ExitCode)
	}
}

func TestExitCodes(t *testing.T) {
	e := newEnv(t)
	cases := map[int]runtime.ContainerSpec{}
	cases[3] = e.echoSpec("after", "EXIT_AFTER=0.3", "EXIT_CODE=3")
	s := e.echoSpec("cmd")
	s.Cmd = []string{"exit", "42"}
	cases[42] = s
	s = e.echoSpec("zero")
	s.Cmd = []string{"exit", "0"}
	cases[0] = s
	for want, spec := range cases {
		id := e.run(spec)
		st := e.waitFor(id, "exited", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.State == "exited" })
		if st.ExitCode != want {
			t.Errorf("%s: exit code %d, want %d", spec.Name, st.ExitCode, want)
		}
		if st.FinishedAt.Before(st.StartedAt) || st.OOMKilled || st.Error != "" {
			t.Errorf("%s: %+v", spec.Name, st)
		}
	}
}

func TestHealthFlips(t *testing.T) {
	e := newEnv(t)
	spec := e.echoSpec("health")
	spec.HealthCheck = &runtime.HealthCheck{
		Test:     []string{"CMD", "/echo", "healthcheck"},
		Interval: 250 * time.Millisecond, Timeout: 5 * time.Second, Retries: 1,
	}
	id := e.run(spec)
	url := e.hostURL(id)
	e.waitFor(id, "healthy", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.Health == "healthy" })
	if code, _ := do(t, http.MethodPost, url+"/health?status=unhealthy"); code != http.StatusOK {
		t.Fatalf("flip: %d", code)
	}
	e.waitFor(id, "unhealthy", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.Health == "unhealthy" })
	do(t, http.MethodPost, url+"/health?status=healthy")
	e.waitFor(id, "healthy again", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.Health == "healthy" })
}

func TestHealthFromEnvironment(t *testing.T) {
	e := newEnv(t)
	spec := e.echoSpec("sick", "UNHEALTHY=1")
	spec.HealthCheck = &runtime.HealthCheck{
		Test: []string{"CMD", "/echo", "healthcheck"}, Interval: 250 * time.Millisecond, Retries: 2,
	}
	id := e.run(spec)
	e.waitFor(id, "unhealthy", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.Health == "unhealthy" })
}

// The engine's OOMKilled flag races with the exit (Docker 20.10 sets it
// only when containerd's OOM notice arrives before the exit), and the "oom"
// event may even follow "die"; the agent must heed both. The test wants at
// least one of them. The container allocates once it serves: a process
// killed within milliseconds of its start can die before containerd watches
// its cgroup, and then the engine reports no OOM at all (seen in 3 of 20
// runs under load with ALLOC_MB at start).
func TestOOMKilled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(e.ctx(), 30*time.Second)
	defer cancel()
	evs, _ := e.rt.Events(ctx)
	spec := e.echoSpec("hog")
	spec.MemoryMiB = 16
	id := e.run(spec)
	url := e.hostURL(id)
	get(t, url+"/health")
	req, _ := http.NewRequest(http.MethodPost, url+"/alloc?mb=256", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close() // the answer never comes: the allocation kills it
	}
	st := e.waitFor(id, "exited", 30*time.Second, func(s runtime.ContainerStatus) bool { return s.State == "exited" })
	if st.ExitCode != 137 {
		t.Errorf("%+v, want exit 137", st)
	}
	var seen []string
	grace := time.After(25 * time.Second)
	for !contains(seen, "oom") {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("events ended; saw %v", seen)
			}
			if ev.ContainerID == id {
				seen = append(seen, ev.Action)
			}
			if ev.Action == "die" && ev.ContainerID == id {
				grace = time.After(2 * time.Second)
			}
		case <-grace:
			if !st.OOMKilled {
				t.Fatalf("neither OOMKilled nor an oom event; events %v", seen)
			}
			return
		}
	}
	t.Logf("OOMKilled in inspect: %v; events %v", st.OOMKilled, seen)
}

func TestList(t *testing.T) {
	e := newEnv(t)
	a := e.echoSpec("a")
	a.Labels[runtime.LabelTask] = "task-a"
	b := e.echoSpec("b")
	b.Labels[runtime.LabelTask] = "task-b"
	ida := e.run(a)
	idb, err := e.rt.CreateContainer(e.ctx(), b) // created, not started
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.rt.List(e.ctx(), map[string]string{labelTest: e.id})
	if err != nil || len(all) != 2 {
		t.Fatalf("List = %d containers, %v; want 2", len(all), err)
	}
	got := map[string]runtime.ContainerStatus{}
	for _, st := range all {
		got[st.ID] = st
	}
	if got[ida].Labels[runtime.LabelTask] != "task-a" || got[idb].State != "created" {
		t.Errorf("List: %+v", all)
	}
	one, err := e.rt.List(e.ctx(), map[string]string{labelTest: e.id, runtime.LabelTask: "task-b"})
	if err != nil || len(one) != 1 || one[0].ID != idb {
		t.Errorf("List by task = %+v, %v", one, err)
	}
}

func TestEnsureImage(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = e.rt.EnsureImage(e.ctx(), e.images.Echo) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("present image: %v", err)
		}
	}
	t.Logf("8 concurrent EnsureImage of a present image: %s", time.Since(start))

	for _, ref := range []string{"127.0.0.1:1/absent:1", "127.0.0.1:1/quayside-test/absent:nope"} {
		start = time.Now()
		err := e.rt.EnsureImage(e.ctx(), ref)
		var pe *runtime.PullError
		if !errors.As(err, &pe) || pe.Image != ref {
			t.Fatalf("absent image %s: %v, want *PullError", ref, err)
		}
		t.Logf("pull of %s failed in %s: %v", ref, time.Since(start), err)
		if d := time.Since(start); d > 40*time.Second {
			t.Errorf("pull failure took %s", d)
		}
	}
}
