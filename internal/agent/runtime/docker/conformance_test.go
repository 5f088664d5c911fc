package docker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/runtimetest"
	"github.com/quayside/quayside/internal/testimages"
)

// The Docker adapter passes the runtime port's conformance suite against
// the real engine, with the echo test image.
func TestConformance(t *testing.T) {
	rt := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	imgs, err := testimages.Ensure(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	runtimetest.Run(t, func(*testing.T) runtime.Runtime { return rt }, runtimetest.Images{
		Image:  imgs.Echo,
		Absent: "127.0.0.1:1/absent:latest", // a registry that refuses at once: no lookups off the machine
		Behave: behave,
		HealthCheck: &runtime.HealthCheck{
			Test: []string{"CMD", "/echo", "healthcheck"}, Interval: 250 * time.Millisecond,
			Timeout: 5 * time.Second, Retries: 1,
		},
	})
}

// behave makes an echo container behave as b. LISTEN_ERROR=wait keeps a
// container running when another one of its network namespace already has
// port 8080 (the suite's SharedNetworkNamespace runs two alike).
func behave(spec *runtime.ContainerSpec, b runtimetest.Behaviour) {
	spec.Env = append(spec.Env, "LISTEN_ERROR=wait")
	if b.ExitAfter > 0 {
		spec.Env = append(spec.Env,
			"EXIT_AFTER="+b.ExitAfter.String(), "EXIT_CODE="+strconv.Itoa(b.ExitCode))
	}
	if b.IgnoreSIGTERM {
		spec.Env = append(spec.Env, "IGNORE_SIGTERM=1")
	}
	if b.Unhealthy {
		spec.Env = append(spec.Env, "UNHEALTHY=1")
	}
	if b.FailStart {
		spec.Entrypoint = []string{"/no-such-executable"}
	}
}
