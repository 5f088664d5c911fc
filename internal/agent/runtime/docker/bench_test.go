package docker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/docker"
	"github.com/quayside/quayside/internal/testimages"
)

// BenchmarkCreateStart measures CreateContainer + StartContainer of the echo
// image through the adapter (what Docker's own create and start cost, plus
// the adapter's translation), removing each container outside the timer.
func BenchmarkCreateStart(b *testing.B) {
	rt, err := newBenchRuntime()
	if err != nil {
		b.Skipf("no Docker engine: %v", err)
	}
	ctx := context.Background()
	imgs, err := testimages.Ensure(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	run := randomID()
	for i := 0; b.Loop(); i++ {
		spec := runtime.ContainerSpec{
			Name: "qs-bench-" + run + "-" + strconv.Itoa(i), Image: imgs.Echo,
			Labels:       map[string]string{runtime.LabelManaged: "true", labelTest: run},
			NetworkMode:  "bridge",
			PortBindings: []runtime.PortBinding{{ContainerPort: 8080, HostIP: "127.0.0.1"}},
		}
		id, err := rt.CreateContainer(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := rt.RemoveContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func newBenchRuntime() (runtime.Runtime, error) {
	rt, err := docker.New(docker.Options{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = rt.Info(ctx)
	return rt, err
}
