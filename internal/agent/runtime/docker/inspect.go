package docker

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// Inspect returns a container's state, or runtime.ErrNotFound. A running
// container in another's network namespace reports that one's IP address.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	res, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("inspect container %s: %w", id, notFound(err))
	}
	st := statusOf(res.Container)
	st.ImageDigest = r.imageDigest(ctx, res.Container.Image, st.Image)
	if h := res.Container.HostConfig; h != nil && st.IPAddress == "" && st.Running {
		st.IPAddress = r.sharedIP(ctx, string(h.NetworkMode))
	}
	return st, nil
}

// sharedIP is the address of the container whose network namespace a
// "container:<id>" network mode joins (awsvpc: the pause container's).
func (r *Runtime) sharedIP(ctx context.Context, mode string) string {
	owner, ok := strings.CutPrefix(mode, "container:")
	if !ok || owner == "" {
		return ""
	}
	res, err := r.cli.ContainerInspect(ctx, owner, client.ContainerInspectOptions{})
	if err != nil || res.Container.NetworkSettings == nil {
		return ""
	}
	return ipOf(res.Container.NetworkSettings, res.Container.HostConfig)
}

// List returns every container (running or not) carrying all labels.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerStatus, error) {
	f := client.Filters{}
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]runtime.ContainerStatus, 0, len(res.Items))
	for _, c := range res.Items {
		st, err := r.Inspect(ctx, c.ID)
		if isNotFound(err) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// statusOf converts an inspect document.
func statusOf(j container.InspectResponse) runtime.ContainerStatus {
	st := runtime.ContainerStatus{
		ID:        j.ID,
		Name:      strings.TrimPrefix(j.Name, "/"),
		CreatedAt: parseTime(j.Created),
	}
	if j.Config != nil {
		st.Image = j.Config.Image
		st.Labels = j.Config.Labels
	}
	if s := j.State; s != nil {
		st.State = string(s.Status)
		st.Running = s.Running
		st.ExitCode = s.ExitCode
		st.OOMKilled = s.OOMKilled
		st.Error = s.Error
		st.StartedAt = parseTime(s.StartedAt)
		st.FinishedAt = parseTime(s.FinishedAt)
		if !st.FinishedAt.IsZero() && st.FinishedAt.Before(st.StartedAt) {
			// The engine stamps StartedAt after the process began; one that
			// exits at once can look as if it finished before it started.
			st.FinishedAt = st.StartedAt
		}
		if s.Health != nil {
			st.Health = string(s.Health.Status)
		}
	}
	if n := j.NetworkSettings; n != nil {
		st.Ports = portsOf(n)
		st.IPAddress = ipOf(n, j.HostConfig)
	}
	return st
}

// parseTime reads the engine's RFC 3339 times; its "0001-01-01..." is zero.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// portsOf lists the actual bindings, ordered by container port.
func portsOf(n *container.NetworkSettings) []runtime.PortBinding {
	var out []runtime.PortBinding
	for port, bs := range n.Ports {
		for _, b := range bs {
			hp, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			pb := runtime.PortBinding{ContainerPort: int(port.Num()), HostPort: hp, Protocol: string(port.Proto())}
			if b.HostIP.IsValid() {
				pb.HostIP = b.HostIP.String()
			}
			out = append(out, pb)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.HostIP < b.HostIP
	})
	return out
}

// ipOf is the address on the container's network mode's network, or the
// first network (by name) that gave it an address.
func ipOf(n *container.NetworkSettings, h *container.HostConfig) string {
	valid := func(a netip.Addr) string {
		if a.IsValid() && !a.IsUnspecified() {
			return a.String()
		}
		return ""
	}
	if h != nil {
		mode := string(h.NetworkMode)
		if mode == "default" {
			mode = "bridge"
		}
		if ep := n.Networks[mode]; ep != nil {
			if ip := valid(ep.IPAddress); ip != "" {
				return ip
			}
		}
	}
	names := make([]string, 0, len(n.Networks))
	for name := range n.Networks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if ep := n.Networks[name]; ep != nil {
			if ip := valid(ep.IPAddress); ip != "" {
				return ip
			}
		}
	}
	return ""
}

// imageDigest reports the image's registry digest (sha256:..., from its
// repo digests, preferring the repository it was named by) or, for images
// built or imported locally, its image ID. Results are cached by image ID.
func (r *Runtime) imageDigest(ctx context.Context, imageID, name string) string {
	if imageID == "" {
		return ""
	}
	r.mu.Lock()
	d, ok := r.digests[imageID]
	r.mu.Unlock()
	if ok {
		return d
	}
	img, err := r.cli.ImageInspect(ctx, imageID)
	if err != nil {
		return imageID // not cached: the image may be pulled again later
	}
	d = pickDigest(img.RepoDigests, name, imageID)
	r.mu.Lock()
	r.digests[imageID] = d
	r.mu.Unlock()
	return d
}

// pickDigest chooses among "repo@sha256:..." entries.
func pickDigest(repoDigests []string, name, fallback string) string {
	repo := name
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	best := ""
	for _, rd := range repoDigests {
		r, d, ok := strings.Cut(rd, "@")
		if !ok {
			continue
		}
		if r == repo || strings.HasSuffix(r, "/"+repo) {
			return d
		}
		if best == "" {
			best = d
		}
	}
	if best != "" {
		return best
	}
	return fallback
}
