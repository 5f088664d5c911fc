package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// StartContainer starts a created container; starting a running one is a
// no-op.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	if _, err := r.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", id, notFound(err))
	}
	return nil
}

// StopContainer sends SIGTERM (or the image's stop signal), then SIGKILL
// once timeout (rounded up to whole seconds; the engine counts in seconds)
// has passed. It returns when the container has stopped; stopping a stopped
// container is a no-op.
func (r *Runtime) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	t := 0
	if s := seconds(timeout); s != nil {
		t = *s
	}
	if _, err := r.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &t}); err != nil {
		return fmt.Errorf("stop container %s: %w", id, notFound(err))
	}
	return nil
}

// RemoveContainer removes a container, killing it if it still runs, with
// its anonymous volumes. An absent container yields runtime.ErrNotFound.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	_, err := r.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil {
		return fmt.Errorf("remove container %s: %w", id, notFound(err))
	}
	return nil
}

// CreateVolume creates a named volume; an existing one is left as it is.
func (r *Runtime) CreateVolume(ctx context.Context, spec runtime.VolumeSpec) error {
	_, err := r.cli.VolumeCreate(ctx, client.VolumeCreateOptions{
		Name: spec.Name, Driver: spec.Driver, DriverOpts: spec.Options, Labels: spec.Labels,
	})
	if err != nil {
		return fmt.Errorf("create volume %s: %w", spec.Name, err)
	}
	return nil
}

// RemoveVolume removes a named volume; an absent one is not an error.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	_, err := r.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}
