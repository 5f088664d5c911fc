package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// Options shape a fake engine. The zero Options is a 2-CPU, 4 GiB x86_64
// machine with no images, pulling instantly.
type Options struct {
	CPUs          int
	MemoryBytes   int64
	Arch          string // "x86_64" (default) or "arm64"
	Hostname      string
	EngineVersion string
	// Images are present from the start.
	Images []string
	// PullDelay is how long a successful pull takes.
	PullDelay time.Duration
	// PortRange is the dynamic host port range (default 32768–60999).
	PortRange [2]int
}

// Stats counts what the engine did.
type Stats struct {
	Pulls, Creates, Starts, Removes int
	Containers, Running             int
}

// Runtime is a fake engine. It is safe for concurrent use.
type Runtime struct {
	opts Options

	mu         sync.Mutex
	containers map[string]*container // by ID
	names      map[string]string     // name → ID
	volumes    map[string]runtime.VolumeSpec
	images     map[string]bool
	pulls      map[string]*pull
	pullErrors map[string]string
	ports      map[portKey]string // host port → container ID
	nextPort   int
	nextIP     int
	subs       map[*subscriber]struct{}
	stats      Stats
}

type pull struct {
	done chan struct{}
	err  error
}

type portKey struct {
	port  int
	proto string
}

// New returns a fake engine.
func New(opts Options) *Runtime {
	if opts.CPUs == 0 {
		opts.CPUs = 2
	}
	if opts.MemoryBytes == 0 {
		opts.MemoryBytes = 4 << 30
	}
	if opts.Arch == "" {
		opts.Arch = "x86_64"
	}
	if opts.Hostname == "" {
		opts.Hostname = "fake-node"
	}
	if opts.EngineVersion == "" {
		opts.EngineVersion = "20.10.24-fake"
	}
	if opts.PortRange == ([2]int{}) {
		opts.PortRange = [2]int{32768, 60999}
	}
	r := &Runtime{
		opts:       opts,
		containers: map[string]*container{},
		names:      map[string]string{},
		volumes:    map[string]runtime.VolumeSpec{},
		images:     map[string]bool{},
		pulls:      map[string]*pull{},
		pullErrors: map[string]string{},
		ports:      map[portKey]string{},
		nextPort:   opts.PortRange[0],
		subs:       map[*subscriber]struct{}{},
	}
	for _, img := range opts.Images {
		r.images[img] = true
	}
	return r
}

var _ runtime.Runtime = (*Runtime)(nil)

// Info describes the fake machine.
func (r *Runtime) Info(context.Context) (runtime.Info, error) {
	return runtime.Info{
		EngineVersion: r.opts.EngineVersion,
		APIVersion:    "1.41",
		OS:            "linux",
		Arch:          r.opts.Arch,
		CPUs:          r.opts.CPUs,
		MemoryBytes:   r.opts.MemoryBytes,
		Hostname:      r.opts.Hostname,
	}, nil
}

// SetPullError makes pulls of ref fail with text ("" pulls it again).
func (r *Runtime) SetPullError(ref, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if text == "" {
		delete(r.pullErrors, ref)
		return
	}
	r.pullErrors[ref] = text
}

// HasImage reports whether ref is present.
func (r *Runtime) HasImage(ref string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.images[ref]
}

// EnsureImage pulls ref unless present; concurrent calls share one pull.
func (r *Runtime) EnsureImage(ctx context.Context, ref string) error {
	r.mu.Lock()
	if r.images[ref] {
		r.mu.Unlock()
		return nil
	}
	p, ok := r.pulls[ref]
	if !ok {
		p = &pull{done: make(chan struct{})}
		r.pulls[ref] = p
		r.stats.Pulls++
		go r.pull(ref, p)
	}
	r.mu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return &runtime.PullError{Image: ref, Err: ctx.Err()}
	}
}

func (r *Runtime) pull(ref string, p *pull) {
	if d := r.opts.PullDelay; d > 0 {
		time.Sleep(d)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch text, scripted := r.pullErrors[ref]; {
	case scripted:
		p.err = &runtime.PullError{Image: ref, Err: errors.New(text)}
	case strings.HasSuffix(registryHost(ref), ".invalid"):
		p.err = &runtime.PullError{Image: ref, Err: fmt.Errorf("Error response from daemon: Get \"https://%s/v2/\": dial tcp: lookup %s: no such host", registryHost(ref), registryHost(ref))}
	default:
		r.images[ref] = true
	}
	delete(r.pulls, ref)
	close(p.done)
}

// registryHost is the registry part of an image reference ("" for Docker Hub).
func registryHost(ref string) string {
	host, _, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return ""
	}
	return host
}

// CreateVolume creates a named volume (idempotent).
func (r *Runtime) CreateVolume(_ context.Context, spec runtime.VolumeSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.volumes[spec.Name]; !ok {
		spec.Labels = maps.Clone(spec.Labels)
		spec.Options = maps.Clone(spec.Options)
		r.volumes[spec.Name] = spec
	}
	return nil
}

// RemoveVolume removes a volume; an absent one is not an error.
func (r *Runtime) RemoveVolume(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.containers {
		for _, m := range c.spec.Mounts {
			if m.Type == "volume" && m.Source == name {
				return fmt.Errorf("Error response from daemon: remove %s: volume is in use - [%s]", name, c.id)
			}
		}
	}
	delete(r.volumes, name)
	return nil
}

// Volumes lists the names of the volumes that exist.
func (r *Runtime) Volumes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.volumes))
	for n := range r.volumes {
		out = append(out, n)
	}
	return out
}

// Stats returns the engine's counters.
func (r *Runtime) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Containers = len(r.containers)
	for _, c := range r.containers {
		if c.status.Running {
			s.Running++
		}
	}
	return s
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
