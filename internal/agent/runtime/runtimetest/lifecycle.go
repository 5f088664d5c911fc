package runtimetest

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

func testInfo(s *suite) {
	info, err := s.rt.Info(s.ctx())
	if err != nil {
		s.t.Fatalf("Info: %v", err)
	}
	if info.EngineVersion == "" || info.OS == "" {
		s.t.Errorf("Info lacks engine version or OS: %+v", info)
	}
	if info.Arch != "x86_64" && info.Arch != "arm64" {
		s.t.Errorf("Info.Arch = %q, want x86_64 or arm64 (ECS spelling)", info.Arch)
	}
	if info.CPUs < 1 || info.MemoryBytes < 1<<20 {
		s.t.Errorf("Info has no CPUs or memory: %+v", info)
	}
}

func testEnsurePresent(s *suite) {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = s.rt.EnsureImage(s.ctx(), s.img.Image) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.t.Errorf("EnsureImage(%q) of a present image: %v", s.img.Image, err)
		}
	}
}

func testEnsureAbsent(s *suite) {
	err := s.rt.EnsureImage(s.ctx(), s.img.Absent)
	var pe *runtime.PullError
	if !errors.As(err, &pe) {
		s.t.Fatalf("EnsureImage(%q) = %v, want a *runtime.PullError", s.img.Absent, err)
	}
	if pe.Image != s.img.Absent || pe.Err == nil {
		s.t.Errorf("PullError = {Image: %q, Err: %v}, want the reference and a cause", pe.Image, pe.Err)
	}
}

func testLifecycle(s *suite) {
	spec := s.spec("life", Behaviour{})
	if s.img.HealthCheck != nil {
		hc := *s.img.HealthCheck
		spec.HealthCheck = &hc
	}
	spec.Env = append(spec.Env, "RUNTIMETEST=1")
	spec.Labels["user.label"] = "kept"
	id := s.create(spec)
	st := s.inspect(id)
	if st.ID != id || st.Name != spec.Name || st.Running || st.State != "created" {
		s.t.Errorf("after create: %+v, want id %s, name %q, state created", st, id, spec.Name)
	}
	if st.Labels[runtime.LabelTask] != "life" || st.Labels["user.label"] != "kept" {
		s.t.Errorf("labels after create = %v", st.Labels)
	}
	if st.CreatedAt.IsZero() {
		s.t.Errorf("CreatedAt is zero")
	}
	s.start(id)
	st = s.waitState(id, "running", func(st runtime.ContainerStatus) bool { return st.Running })
	if st.State != "running" || st.StartedAt.IsZero() {
		s.t.Errorf("after start: %+v, want state running with StartedAt", st)
	}
	if spec.HealthCheck != nil {
		// Stop a program that is up, not one still starting: a signal in
		// its first milliseconds can end it before it handles SIGTERM.
		s.waitState(id, "healthy", func(st runtime.ContainerStatus) bool { return st.Health == "healthy" })
	}
	if err := s.rt.StopContainer(s.ctx(), id, 10*time.Second); err != nil {
		s.t.Fatalf("StopContainer: %v", err)
	}
	st = s.waitExited(id)
	if st.ExitCode != 0 || st.FinishedAt.Before(st.StartedAt) {
		s.t.Errorf("after stop: exit %d, started %v, finished %v; want 0 and finished after started", st.ExitCode, st.StartedAt, st.FinishedAt)
	}
	if err := s.rt.RemoveContainer(s.ctx(), id); err != nil {
		s.t.Fatalf("RemoveContainer: %v", err)
	}
	if _, err := s.rt.Inspect(s.ctx(), id); !errors.Is(err, runtime.ErrNotFound) {
		s.t.Errorf("Inspect after remove = %v, want ErrNotFound", err)
	}
}

func testExitCode(s *suite) {
	id := s.runContainer("exit", Behaviour{ExitAfter: 300 * time.Millisecond, ExitCode: 3})
	st := s.waitExited(id)
	if st.ExitCode != 3 {
		s.t.Errorf("exit code = %d, want 3", st.ExitCode)
	}
	if st.FinishedAt.IsZero() {
		s.t.Errorf("FinishedAt is zero after exit")
	}
}

func testStopTimeout(s *suite) {
	id := s.runContainer("stubborn", Behaviour{IgnoreSIGTERM: true})
	s.waitState(id, "running", func(st runtime.ContainerStatus) bool { return st.Running })
	// Give the process a moment to install its signal handler.
	time.Sleep(300 * time.Millisecond)
	begin := time.Now()
	if err := s.rt.StopContainer(s.ctx(), id, time.Second); err != nil {
		s.t.Fatalf("StopContainer: %v", err)
	}
	st := s.waitExited(id)
	if took := time.Since(begin); took < 900*time.Millisecond {
		s.t.Errorf("a container ignoring SIGTERM stopped after %v, before the 1s timeout", took)
	}
	if st.ExitCode != 137 {
		s.t.Errorf("exit code after SIGKILL = %d, want 137", st.ExitCode)
	}
}

func testStopExited(s *suite) {
	id := s.runContainer("done", Behaviour{ExitAfter: 10 * time.Millisecond, ExitCode: 4})
	s.waitExited(id)
	if err := s.rt.StopContainer(s.ctx(), id, time.Second); err != nil {
		s.t.Errorf("StopContainer of an exited container: %v, want nil", err)
	}
	if st := s.inspect(id); st.ExitCode != 4 {
		s.t.Errorf("exit code after stopping an exited container = %d, want 4", st.ExitCode)
	}
}

func testStartError(s *suite) {
	id := s.create(s.spec("broken", Behaviour{FailStart: true}))
	if err := s.rt.StartContainer(s.ctx(), id); err == nil {
		s.t.Fatalf("StartContainer of a container that cannot start succeeded")
	}
	if st := s.inspect(id); st.Running {
		s.t.Errorf("container that failed to start is running: %+v", st)
	}
}

func testNotFound(s *suite) {
	const id = "0000000000000000000000000000000000000000000000000000000000000000"
	if _, err := s.rt.Inspect(s.ctx(), id); !errors.Is(err, runtime.ErrNotFound) {
		s.t.Errorf("Inspect(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.rt.StartContainer(s.ctx(), id); !errors.Is(err, runtime.ErrNotFound) {
		s.t.Errorf("StartContainer(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.rt.StopContainer(s.ctx(), id, time.Second); !errors.Is(err, runtime.ErrNotFound) {
		s.t.Errorf("StopContainer(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.rt.RemoveContainer(s.ctx(), id); !errors.Is(err, runtime.ErrNotFound) {
		s.t.Errorf("RemoveContainer(unknown) = %v, want ErrNotFound", err)
	}
}

func testList(s *suite) {
	a := s.create(s.spec("a", Behaviour{}))
	b := s.runContainer("b", Behaviour{})
	got, err := s.rt.List(s.ctx(), map[string]string{runtime.LabelCluster: s.run, runtime.LabelTask: "a"})
	if err != nil {
		s.t.Fatalf("List: %v", err)
	}
	if len(got) != 1 || got[0].ID != a || got[0].State != "created" || got[0].Labels[runtime.LabelTask] != "a" {
		s.t.Errorf("List(task=a) = %+v, want only container %s, created, with its labels", got, a)
	}
	all, err := s.rt.List(s.ctx(), map[string]string{runtime.LabelManaged: "true", runtime.LabelCluster: s.run})
	if err != nil {
		s.t.Fatalf("List: %v", err)
	}
	ids := []string{}
	for _, c := range all {
		ids = append(ids, c.ID)
		if c.ID == b && !c.Running {
			s.t.Errorf("List shows running container %s as not running: %+v", b, c)
		}
	}
	slices.Sort(ids)
	want := []string{a, b}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		s.t.Errorf("List(run) = %v, want %v", ids, want)
	}
}

func testDuplicateName(s *suite) {
	spec := s.spec("dup", Behaviour{})
	first := s.create(spec)
	if id, err := s.rt.CreateContainer(s.ctx(), spec); err == nil {
		s.extra = append(s.extra, id)
		s.t.Fatalf("a second container with the name %q was created", spec.Name)
	} else if !errors.Is(err, runtime.ErrNameInUse) {
		s.t.Errorf("a duplicate name is refused with %v, not ErrNameInUse", err)
	}
	got, err := s.rt.List(s.ctx(), map[string]string{runtime.LabelCluster: s.run})
	if err != nil {
		s.t.Fatalf("List: %v", err)
	}
	if len(got) != 1 || got[0].ID != first {
		s.t.Errorf("after a refused duplicate, List = %+v, want only %s", got, first)
	}
}
