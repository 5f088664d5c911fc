package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// Options configure a Runtime. The zero value talks to DOCKER_HOST or the
// local socket with the default pull limits.
type Options struct {
	// Host is the engine address ("unix:///var/run/docker.sock",
	// "tcp://host:2375"); "" means DOCKER_HOST or the platform default.
	Host string
	// PullTimeout bounds a whole pull (default 10 minutes).
	PullTimeout time.Duration
	// PullStallTimeout aborts a pull that shows no progress for this long
	// (default 30 s), so that an unreachable registry fails fast.
	PullStallTimeout time.Duration
	// Logger receives debug and warning messages (default slog.Default()).
	Logger *slog.Logger
}

// Runtime is the Docker adapter. Safe for concurrent use.
type Runtime struct {
	cli  *client.Client
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	pulls   map[string]*pull  // in-flight EnsureImage calls by reference
	digests map[string]string // image ID → digest reported by Inspect
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime for the engine opts.Host. It does not contact the
// engine; the API version is negotiated on the first call.
func New(opts Options) (*Runtime, error) {
	if opts.PullTimeout <= 0 {
		opts.PullTimeout = 10 * time.Minute
	}
	if opts.PullStallTimeout <= 0 {
		opts.PullStallTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		copts = append(copts, client.WithHost(opts.Host))
	}
	cli, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Runtime{
		cli:     cli,
		opts:    opts,
		log:     opts.Logger,
		pulls:   map[string]*pull{},
		digests: map[string]string{},
	}, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }

// Info describes the engine and its machine.
func (r *Runtime) Info(ctx context.Context) (runtime.Info, error) {
	res, err := r.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return runtime.Info{}, fmt.Errorf("docker info: %w", err)
	}
	in := res.Info
	return runtime.Info{
		EngineVersion: in.ServerVersion,
		APIVersion:    r.cli.ClientVersion(),
		OS:            in.OSType,
		Arch:          ecsArch(in.Architecture),
		CPUs:          in.NCPU,
		MemoryBytes:   in.MemTotal,
		Hostname:      in.Name,
	}, nil
}

// ecsArch spells an engine architecture the way ECS does.
func ecsArch(a string) string {
	switch a {
	case "x86_64", "amd64":
		return "x86_64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return a
}

// notFound maps the engine's "no such container" to runtime.ErrNotFound.
func notFound(err error) error {
	if err != nil && cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w: %w", runtime.ErrNotFound, err)
	}
	return err
}

// isNotFound reports whether err is the engine's not-found.
func isNotFound(err error) bool {
	return err != nil && (cerrdefs.IsNotFound(err) || errors.Is(err, runtime.ErrNotFound))
}
