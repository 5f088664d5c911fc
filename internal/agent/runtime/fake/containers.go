package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// container is one fake container. Fields are guarded by Runtime.mu.
type container struct {
	id     string
	spec   runtime.ContainerSpec
	script script
	status runtime.ContainerStatus
	ports  []portKey // host ports held while running
	gen    int       // bumped on every start and exit, to ignore stale timers
	timers []*time.Timer
}

// CreateContainer creates a container; names are unique.
func (r *Runtime) CreateContainer(_ context.Context, spec runtime.ContainerSpec) (string, error) {
	sc := parseScript(spec)
	if sc.createError != "" {
		return "", errors.New(sc.createError)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.names[spec.Name]; ok {
		return "", runtime.NameInUse(fmt.Errorf("Error response from daemon: Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name", spec.Name, id))
	}
	if !r.images[spec.Image] {
		return "", fmt.Errorf("Error response from daemon: No such image: %s", spec.Image)
	}
	if err := r.checkReferences(spec); err != nil {
		return "", err
	}
	for _, m := range spec.Mounts {
		if _, ok := r.volumes[m.Source]; m.Type == "volume" && !ok {
			r.volumes[m.Source] = runtime.VolumeSpec{Name: m.Source}
		}
	}
	spec = cloneSpec(spec)
	id := newID()
	digest := sha256.Sum256([]byte(spec.Image))
	c := &container{id: id, spec: spec, script: sc, status: runtime.ContainerStatus{
		ID: id, Name: spec.Name, Image: spec.Image, ImageDigest: "sha256:" + hex.EncodeToString(digest[:]),
		Labels: spec.Labels, State: "created", CreatedAt: time.Now(),
	}}
	r.containers[id] = c
	r.names[spec.Name] = id
	r.stats.Creates++
	r.emit(c, "create")
	return id, nil
}

// checkReferences verifies that containers named by the spec exist.
func (r *Runtime) checkReferences(spec runtime.ContainerSpec) error {
	refs := []string{}
	if target, ok := strings.CutPrefix(spec.NetworkMode, "container:"); ok {
		refs = append(refs, target)
	}
	for _, v := range spec.VolumesFrom {
		ref, _, _ := strings.Cut(v, ":")
		refs = append(refs, ref)
	}
	for _, ref := range refs {
		if r.lookup(ref) == nil {
			return fmt.Errorf("Error response from daemon: No such container: %s", ref)
		}
	}
	return nil
}

func cloneSpec(s runtime.ContainerSpec) runtime.ContainerSpec {
	s.Labels = maps.Clone(s.Labels)
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Env = slices.Clone(s.Env)
	s.PortBindings = slices.Clone(s.PortBindings)
	s.Mounts = slices.Clone(s.Mounts)
	s.Links = slices.Clone(s.Links)
	s.VolumesFrom = slices.Clone(s.VolumesFrom)
	return s
}

// lookup finds a container by ID or name.
func (r *Runtime) lookup(ref string) *container {
	if c, ok := r.containers[ref]; ok {
		return c
	}
	if id, ok := r.names[strings.TrimPrefix(ref, "/")]; ok {
		return r.containers[id]
	}
	return nil
}

// StartContainer starts a created or exited container.
func (r *Runtime) StartContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return runtime.ErrNotFound
	}
	if c.status.Running {
		return nil
	}
	if err := r.startable(c); err != nil {
		c.status.Error = err.Error()
		c.status.ExitCode = 128
		return err
	}
	if err := r.allocatePorts(c); err != nil {
		c.status.Error = err.Error()
		return err
	}
	r.stats.Starts++
	c.gen++
	st := &c.status
	st.Running, st.State, st.Error, st.ExitCode, st.OOMKilled = true, "running", "", 0, false
	st.StartedAt, st.FinishedAt = time.Now(), time.Time{}
	st.IPAddress = r.address(c)
	r.emit(c, "start")
	r.arm(c)
	return nil
}

// startable says why c cannot start, if it cannot.
func (r *Runtime) startable(c *container) error {
	if c.script.startError != "" {
		return errors.New(c.script.startError)
	}
	if target, ok := strings.CutPrefix(c.spec.NetworkMode, "container:"); ok {
		if t := r.lookup(target); t == nil || !t.status.Running {
			return fmt.Errorf("Error response from daemon: cannot join network of a non running container: %s", target)
		}
	}
	for _, l := range c.spec.Links {
		name, alias, _ := strings.Cut(l, ":")
		if t := r.lookup(name); t == nil || !t.status.Running {
			return fmt.Errorf("Error response from daemon: Cannot link to a non running container: /%s AS /%s/%s", name, c.spec.Name, alias)
		}
	}
	return nil
}

// allocatePorts binds c's host ports: static ones must be free, dynamic
// ones come from the range.
func (r *Runtime) allocatePorts(c *container) error {
	if c.spec.NetworkMode != "" && c.spec.NetworkMode != "bridge" {
		return nil
	}
	var held []portKey
	var bound []runtime.PortBinding
	for _, pb := range c.spec.PortBindings {
		proto := pb.Protocol
		if proto == "" {
			proto = "tcp"
		}
		k := portKey{pb.HostPort, proto}
		if pb.HostPort == 0 {
			k.port = r.freePort(proto)
		}
		if _, used := r.ports[k]; used || k.port == 0 {
			r.release(held)
			return fmt.Errorf("Error response from daemon: driver failed programming external connectivity on endpoint %s (%s): Bind for 0.0.0.0:%d failed: port is already allocated", c.spec.Name, c.id, pb.HostPort)
		}
		r.ports[k] = c.id
		held = append(held, k)
		bound = append(bound, runtime.PortBinding{ContainerPort: pb.ContainerPort, HostPort: k.port, Protocol: proto, HostIP: "0.0.0.0"})
	}
	c.ports, c.status.Ports = held, bound
	return nil
}

func (r *Runtime) freePort(proto string) int {
	lo, hi := r.opts.PortRange[0], r.opts.PortRange[1]
	for range hi - lo + 1 {
		p := r.nextPort
		r.nextPort++
		if r.nextPort > hi {
			r.nextPort = lo
		}
		if _, used := r.ports[portKey{p, proto}]; !used {
			return p
		}
	}
	return 0
}

func (r *Runtime) release(held []portKey) {
	for _, k := range held {
		delete(r.ports, k)
	}
}

// address is c's IP on the fake bridge ("" when it has no network of its
// own).
func (r *Runtime) address(c *container) string {
	if c.spec.NetworkMode != "" && c.spec.NetworkMode != "bridge" {
		return ""
	}
	r.nextIP++
	n := r.nextIP % (250 * 250)
	return fmt.Sprintf("172.17.%d.%d", n/250, n%250+2)
}

// arm sets the timers of a started container: its scripted exit and its
// first health check result.
func (r *Runtime) arm(c *container) {
	gen := c.gen
	if d := c.script.runFor; d > 0 {
		c.timers = append(c.timers, time.AfterFunc(d, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if c.gen == gen {
				r.exit(c, c.script.exitCode, c.script.oom)
			}
		}))
	}
	if c.spec.HealthCheck != nil {
		c.status.Health = "starting"
		c.timers = append(c.timers, time.AfterFunc(c.script.healthAfter, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if c.gen == gen && c.status.Running {
				r.setHealth(c, c.script.health)
			}
		}))
	}
}

func (r *Runtime) setHealth(c *container, h string) {
	if c.status.Health == h {
		return
	}
	c.status.Health = h
	r.emitHealth(c, h)
}

// exit ends a running container with code.
func (r *Runtime) exit(c *container, code int, oom bool) {
	if !c.status.Running {
		return
	}
	c.gen++
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	r.release(c.ports)
	c.ports = nil
	st := &c.status
	st.Running, st.State, st.ExitCode, st.OOMKilled, st.FinishedAt = false, "exited", code, oom, time.Now()
	if oom {
		r.emit(c, "oom")
	}
	r.emit(c, "die")
}

// StopContainer sends SIGTERM; a container that ignores it is killed
// (exit 137) after timeout.
func (r *Runtime) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	r.mu.Lock()
	c := r.lookup(id)
	if c == nil {
		r.mu.Unlock()
		return runtime.ErrNotFound
	}
	if !c.status.Running {
		r.mu.Unlock()
		return nil
	}
	if !c.script.ignoreSIGTERM {
		r.exit(c, c.script.sigtermCode, false)
		r.mu.Unlock()
		return nil
	}
	gen := c.gen
	r.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.gen == gen {
		r.exit(c, 137, false)
	}
	return nil
}

// RemoveContainer removes a container that is not running.
func (r *Runtime) RemoveContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return runtime.ErrNotFound
	}
	if c.status.Running {
		return fmt.Errorf("Error response from daemon: You cannot remove a running container %s. Stop the container before attempting removal or force remove", c.id)
	}
	delete(r.containers, c.id)
	delete(r.names, c.spec.Name)
	r.stats.Removes++
	r.emit(c, "destroy")
	return nil
}

// Inspect returns a container's state.
func (r *Runtime) Inspect(_ context.Context, id string) (runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return runtime.ContainerStatus{}, runtime.ErrNotFound
	}
	return snapshot(c), nil
}

func snapshot(c *container) runtime.ContainerStatus {
	st := c.status
	st.Labels = maps.Clone(st.Labels)
	st.Ports = slices.Clone(st.Ports)
	return st
}

// List returns the containers carrying all the labels.
func (r *Runtime) List(_ context.Context, labels map[string]string) ([]runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.ContainerStatus
	for _, c := range r.containers {
		if hasLabels(c.spec.Labels, labels) {
			out = append(out, snapshot(c))
		}
	}
	slices.SortFunc(out, func(a, b runtime.ContainerStatus) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Exit makes a running container exit with code now (a test hook).
func (r *Runtime) Exit(id string, code int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return runtime.ErrNotFound
	}
	r.exit(c, code, false)
	return nil
}

// SetHealth sets a running container's health status ("healthy",
// "unhealthy") now (a test hook).
func (r *Runtime) SetHealth(id, status string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return runtime.ErrNotFound
	}
	if c.status.Running && c.spec.HealthCheck != nil {
		r.setHealth(c, status)
	}
	return nil
}

// Restart simulates an engine restart: every running container stops (as
// on SIGTERM, or killed if it ignores it) and every event stream ends with
// an error.
func (r *Runtime) Restart() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.containers {
		code := c.script.sigtermCode
		if c.script.ignoreSIGTERM {
			code = 137
		}
		r.exit(c, code, false)
	}
	for s := range r.subs {
		r.endSubscriber(s, errors.New("fake: engine restarted"))
	}
}

// Spec returns the spec a container was created with (a test hook).
func (r *Runtime) Spec(id string) (runtime.ContainerSpec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return runtime.ContainerSpec{}, false
	}
	return cloneSpec(c.spec), true
}
