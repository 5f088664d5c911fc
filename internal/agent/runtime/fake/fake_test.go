package fake_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/fake"
	"github.com/quayside/quayside/internal/agent/runtime/runtimetest"
)

// behave scripts a fake container the way runtimetest asks.
func behave(spec *runtime.ContainerSpec, b runtimetest.Behaviour) {
	spec.Image = "quayside-test/echo:latest"
	if b.ExitAfter > 0 {
		spec.Env = append(spec.Env, "FAKE_RUN_FOR="+b.ExitAfter.String(), "FAKE_EXIT_CODE="+strconv.Itoa(b.ExitCode))
	}
	if b.IgnoreSIGTERM {
		spec.Env = append(spec.Env, "FAKE_IGNORE_SIGTERM=1")
	}
	if b.Unhealthy {
		spec.Env = append(spec.Env, "FAKE_HEALTH=unhealthy")
	}
	if b.FailStart {
		spec.Env = append(spec.Env, "FAKE_START_ERROR=exec: \"/nonexistent\": stat /nonexistent: no such file or directory")
	}
}

var images = runtimetest.Images{
	Image:       "quayside-test/echo:latest",
	Absent:      "quayside.invalid/absent:latest",
	Behave:      behave,
	HealthCheck: &runtime.HealthCheck{Test: []string{"CMD", "/echo", "healthcheck"}, Interval: time.Second, Timeout: time.Second, Retries: 1},
}

func TestConformance(t *testing.T) {
	shared := fake.New(fake.Options{PullDelay: 5 * time.Millisecond})
	runtimetest.Run(t, func(*testing.T) runtime.Runtime { return shared }, images)
}

func TestRestartStopsContainersAndEndsStreams(t *testing.T) {
	r := fake.New(fake.Options{Images: []string{"img"}})
	ctx := t.Context()
	events, errc := r.Events(ctx)
	id, err := r.CreateContainer(ctx, runtime.ContainerSpec{Name: "a", Image: "img", Labels: map[string]string{runtime.LabelManaged: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.Restart()
	st, _ := r.Inspect(ctx, id)
	if st.Running || st.State != "exited" {
		t.Errorf("after Restart: %+v, want exited", st)
	}
	for range events {
	}
	if err := <-errc; err == nil {
		t.Errorf("event stream ended without an error after Restart")
	}
}

func TestStaticPortConflict(t *testing.T) {
	r := fake.New(fake.Options{Images: []string{"img"}})
	ctx := context.Background()
	spec := func(name string) runtime.ContainerSpec {
		return runtime.ContainerSpec{Name: name, Image: "img", NetworkMode: "bridge",
			PortBindings: []runtime.PortBinding{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}}}
	}
	a, _ := r.CreateContainer(ctx, spec("a"))
	b, _ := r.CreateContainer(ctx, spec("b"))
	if err := r.StartContainer(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, b); err == nil {
		t.Errorf("two containers bound host port 8080")
	}
	_ = r.StopContainer(ctx, a, time.Second)
	if err := r.StartContainer(ctx, b); err != nil {
		t.Errorf("port 8080 was not released by a stopped container: %v", err)
	}
}

func TestPullScripted(t *testing.T) {
	r := fake.New(fake.Options{})
	r.SetPullError("private/app:1", "pull access denied for private/app, repository does not exist or may require 'docker login'")
	err := r.EnsureImage(context.Background(), "private/app:1")
	var pe *runtime.PullError
	if !errors.As(err, &pe) {
		t.Fatalf("EnsureImage = %v, want a PullError", err)
	}
	if err := r.EnsureImage(context.Background(), "public/app:1"); err != nil || !r.HasImage("public/app:1") {
		t.Errorf("EnsureImage of a pullable image: %v", err)
	}
	if got := r.Stats().Pulls; got != 2 {
		t.Errorf("pulls = %d, want 2", got)
	}
}
