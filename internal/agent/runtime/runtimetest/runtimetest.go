package runtimetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// Images tells the suite how to make containers on the runtime under test.
type Images struct {
	// Image is available to the engine without a registry: EnsureImage
	// succeeds for it.
	Image string
	// Absent is a reference that is not present and cannot be pulled, e.g.
	// one on a loopback registry that refuses connections (so that no
	// lookup leaves the machine).
	Absent string
	// Behave sets the image, entrypoint, command and environment of spec so
	// that the container behaves as b says (see Behaviour).
	Behave func(spec *runtime.ContainerSpec, b Behaviour)
	// HealthCheck, when set, is a check that passes unless the container was
	// made with Behaviour.Unhealthy. Nil skips the health tests.
	HealthCheck *runtime.HealthCheck
}

// Behaviour is what a test container does. With the zero Behaviour it runs
// until stopped. A container that honours SIGTERM exits with code 0 on it.
type Behaviour struct {
	ExitAfter     time.Duration // exit on its own after this long (0: never)
	ExitCode      int           // the code it exits with after ExitAfter
	IgnoreSIGTERM bool          // only SIGKILL stops it
	Unhealthy     bool          // Images.HealthCheck fails for it
	FailStart     bool          // StartContainer fails (e.g. a missing executable)
}

// Timing limits of the suite.
const (
	waitFor = 60 * time.Second // longest wait for a condition
	poll    = 20 * time.Millisecond
)

// Run runs the conformance suite. newRuntime returns the runtime under test;
// it may return the same one every time.
func Run(t *testing.T, newRuntime func(t *testing.T) runtime.Runtime, images Images) {
	tests := []struct {
		name string
		fn   func(*suite)
	}{
		{"Info", testInfo},
		{"EnsureImagePresent", testEnsurePresent},
		{"EnsureImageAbsent", testEnsureAbsent},
		{"Lifecycle", testLifecycle},
		{"ExitCode", testExitCode},
		{"StopTimeout", testStopTimeout},
		{"StopExited", testStopExited},
		{"StartError", testStartError},
		{"NotFound", testNotFound},
		{"ListByLabel", testList},
		{"DuplicateName", testDuplicateName},
		{"Events", testEvents},
		{"DynamicPorts", testDynamicPorts},
		{"Volumes", testVolumes},
		{"SharedNetworkNamespace", testSharedNetwork},
		{"Health", testHealth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &suite{t: t, rt: newRuntime(t), img: images, run: "rtt-" + randHex(6)}
			t.Cleanup(s.cleanup)
			tc.fn(s)
		})
	}
}

// suite is one test's context.
type suite struct {
	t       *testing.T
	rt      runtime.Runtime
	img     Images
	run     string // unique per test; in names and the cluster label
	volumes []string
	extra   []string // containers without the run's labels
}

func (s *suite) ctx() context.Context { return s.t.Context() }

// labels are the run's labels plus the task label.
func (s *suite) labels(task string) map[string]string {
	return map[string]string{
		runtime.LabelManaged:   "true",
		runtime.LabelCluster:   s.run,
		runtime.LabelInstance:  "runtimetest",
		runtime.LabelTask:      task,
		runtime.LabelContainer: "app",
	}
}

// spec is a container spec of the run behaving as b.
func (s *suite) spec(name string, b Behaviour) runtime.ContainerSpec {
	spec := runtime.ContainerSpec{
		Name:        s.run + "-" + name,
		Image:       s.img.Image,
		Labels:      s.labels(name),
		NetworkMode: "bridge",
		StopTimeout: 10 * time.Second,
	}
	s.img.Behave(&spec, b)
	return spec
}

func (s *suite) create(spec runtime.ContainerSpec) string {
	s.t.Helper()
	if err := s.rt.EnsureImage(s.ctx(), spec.Image); err != nil {
		s.t.Fatalf("EnsureImage(%q): %v", spec.Image, err)
	}
	id, err := s.rt.CreateContainer(s.ctx(), spec)
	if err != nil {
		s.t.Fatalf("CreateContainer(%s): %v", spec.Name, err)
	}
	if id == "" {
		s.t.Fatalf("CreateContainer(%s) returned an empty id", spec.Name)
	}
	return id
}

func (s *suite) start(id string) {
	s.t.Helper()
	if err := s.rt.StartContainer(s.ctx(), id); err != nil {
		s.t.Fatalf("StartContainer: %v", err)
	}
}

// run creates and starts a container behaving as b.
func (s *suite) runContainer(name string, b Behaviour) string {
	s.t.Helper()
	id := s.create(s.spec(name, b))
	s.start(id)
	return id
}

func (s *suite) inspect(id string) runtime.ContainerStatus {
	s.t.Helper()
	st, err := s.rt.Inspect(s.ctx(), id)
	if err != nil {
		s.t.Fatalf("Inspect: %v", err)
	}
	return st
}

// waitState polls Inspect until ok holds.
func (s *suite) waitState(id, what string, ok func(runtime.ContainerStatus) bool) runtime.ContainerStatus {
	s.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st := s.inspect(id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("container never became %s; last state %+v", what, st)
		}
		time.Sleep(poll)
	}
}

func (s *suite) waitExited(id string) runtime.ContainerStatus {
	s.t.Helper()
	return s.waitState(id, "exited", func(st runtime.ContainerStatus) bool { return !st.Running && st.State == "exited" })
}

// cleanup stops and removes every container of the run and its volumes.
func (s *suite) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := s.rt.List(ctx, map[string]string{runtime.LabelCluster: s.run})
	if err != nil {
		s.t.Errorf("cleanup: List: %v", err)
	}
	ids := s.extra
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	for _, id := range ids {
		if err := s.rt.StopContainer(ctx, id, time.Second); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			s.t.Errorf("cleanup: StopContainer: %v", err)
		}
		if err := s.rt.RemoveContainer(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			s.t.Errorf("cleanup: RemoveContainer: %v", err)
		}
	}
	for _, v := range s.volumes {
		if err := s.rt.RemoveVolume(ctx, v); err != nil {
			s.t.Errorf("cleanup: RemoveVolume(%s): %v", v, err)
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
