package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// CreateContainer creates (does not start) a container from spec.
func (r *Runtime) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	cfg, host, err := translate(spec)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	res, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: spec.Name, Config: cfg, HostConfig: host,
	})
	if cerrdefs.IsConflict(err) {
		return "", runtime.NameInUse(fmt.Errorf("create container %s: %w", spec.Name, err))
	}
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	for _, w := range res.Warnings {
		r.log.Warn("container create warning", "container", spec.Name, "warning", w)
	}
	return res.ID, nil
}

// translate turns a spec into the engine's create request.
func translate(s runtime.ContainerSpec) (*container.Config, *container.HostConfig, error) {
	exposed, bindings, err := ports(s.PortBindings)
	if err != nil {
		return nil, nil, err
	}
	dns, err := addrs(s.DNSServers)
	if err != nil {
		return nil, nil, fmt.Errorf("dns server: %w", err)
	}
	binds, mounts, err := volumes(s.Mounts)
	if err != nil {
		return nil, nil, err
	}
	cfg := &container.Config{
		Image:        s.Image,
		Labels:       s.Labels,
		Entrypoint:   s.Entrypoint,
		Cmd:          s.Cmd,
		Env:          s.Env,
		WorkingDir:   s.WorkingDir,
		User:         s.User,
		Hostname:     s.Hostname,
		ExposedPorts: exposed,
		Healthcheck:  healthConfig(s.HealthCheck),
		StopTimeout:  seconds(s.StopTimeout),
	}
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(s.NetworkMode),
		PortBindings:   bindings,
		Links:          s.Links,
		ExtraHosts:     s.ExtraHosts,
		DNS:            dns,
		DNSSearch:      s.DNSSearch,
		Binds:          binds,
		Mounts:         mounts,
		VolumesFrom:    s.VolumesFrom,
		ReadonlyRootfs: s.ReadonlyRootfs,
		Privileged:     s.Privileged,
		LogConfig:      container.LogConfig{Type: s.LogDriver, Config: s.LogOptions},
		Resources: container.Resources{
			CPUShares:         s.CPUShares,
			Memory:            s.MemoryMiB << 20,
			MemoryReservation: s.MemoryReservationMiB << 20,
			Ulimits:           ulimits(s.Ulimits),
		},
	}
	if s.Init {
		init := true
		host.Init = &init
	}
	return cfg, host, nil
}

// ports builds the exposed set and the bindings; HostPort 0 leaves the host
// port empty, which makes the engine choose one.
func ports(pbs []runtime.PortBinding) (network.PortSet, network.PortMap, error) {
	if len(pbs) == 0 {
		return nil, nil, nil
	}
	exposed, bindings := network.PortSet{}, network.PortMap{}
	for _, pb := range pbs {
		proto := pb.Protocol
		if proto == "" {
			proto = "tcp"
		}
		if pb.ContainerPort <= 0 || pb.ContainerPort > 65535 || pb.HostPort < 0 || pb.HostPort > 65535 {
			return nil, nil, fmt.Errorf("invalid port binding %d:%d", pb.HostPort, pb.ContainerPort)
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return nil, nil, fmt.Errorf("invalid port protocol %q", pb.Protocol)
		}
		port, _ := network.PortFrom(uint16(pb.ContainerPort), network.IPProtocol(proto))
		b := network.PortBinding{}
		if pb.HostPort != 0 {
			b.HostPort = strconv.Itoa(pb.HostPort)
		}
		if pb.HostIP != "" {
			ip, err := netip.ParseAddr(pb.HostIP)
			if err != nil {
				return nil, nil, fmt.Errorf("port binding host IP: %w", err)
			}
			b.HostIP = ip
		}
		exposed[port] = struct{}{}
		bindings[port] = append(bindings[port], b)
	}
	return exposed, bindings, nil
}

func addrs(ss []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// volumes maps bind mounts to Binds (like `docker run -v`, the engine
// creates a missing host directory, as ECS host volumes expect) and volume
// mounts to Mounts (an empty Source makes an anonymous volume).
func volumes(ms []runtime.Mount) (binds []string, mounts []mount.Mount, err error) {
	for _, m := range ms {
		if m.Target == "" {
			return nil, nil, errors.New("mount without a target")
		}
		switch m.Type {
		case "bind":
			if m.Source == "" {
				return nil, nil, fmt.Errorf("bind mount %s without a source", m.Target)
			}
			b := m.Source + ":" + m.Target
			if m.ReadOnly {
				b += ":ro"
			}
			binds = append(binds, b)
		case "volume", "":
			mounts = append(mounts, mount.Mount{
				Type: mount.TypeVolume, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly,
			})
		default:
			return nil, nil, fmt.Errorf("unsupported mount type %q", m.Type)
		}
	}
	return binds, mounts, nil
}

func ulimits(us []runtime.Ulimit) []*container.Ulimit {
	var out []*container.Ulimit
	for _, u := range us {
		out = append(out, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	return out
}

func healthConfig(h *runtime.HealthCheck) *container.HealthConfig {
	if h == nil {
		return nil
	}
	return &container.HealthConfig{
		Test:        h.Test,
		Interval:    h.Interval,
		Timeout:     h.Timeout,
		StartPeriod: h.StartPeriod,
		Retries:     h.Retries,
	}
}

// seconds rounds d up to whole seconds for the engine; 0 means unset.
func seconds(d time.Duration) *int {
	if d <= 0 {
		return nil
	}
	s := int((d + time.Second - 1) / time.Second)
	return &s
}
