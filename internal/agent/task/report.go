package task

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

// Report is the task's observed state in the control plane's terms. Seq is
// left for the caller.
func Report(t *Task, s *State) agentproto.TaskReport {
	r := agentproto.TaskReport{
		TaskArn:            t.Arn,
		LastStatus:         s.Status,
		HealthStatus:       taskHealth(t, s),
		StopCode:           s.StopCode,
		StoppedReason:      s.StoppedReason,
		PullStartedAt:      at(s.PullStartedAt),
		PullStoppedAt:      at(s.PullStoppedAt),
		ConnectivityAt:     at(s.ConnectivityAt),
		StartedAt:          at(s.StartedAt),
		StoppingAt:         at(s.StoppingAt),
		ExecutionStoppedAt: at(s.ExecutionStoppedAt),
		StoppedAt:          at(s.StoppedAt),
	}
	if t.ENI != nil {
		r.Attachments = []model.Attachment{eni(t, s)}
	}
	for i := range t.Containers {
		r.Containers = append(r.Containers, containerReport(t, &t.Containers[i], s))
	}
	return r
}

func at(t time.Time) model.Time {
	if t.IsZero() {
		return model.Time{}
	}
	return model.At(t)
}

func containerReport(t *Task, c *Container, s *State) agentproto.ContainerReport {
	cs := s.C(c.Name)
	cr := agentproto.ContainerReport{
		Name:              c.Name,
		RuntimeID:         cs.RuntimeID,
		LastStatus:        ContainerStatus(cs),
		Reason:            cs.Reason,
		HealthStatus:      model.HealthStatusUnknown,
		ImageDigest:       cs.ImageDigest,
		NetworkBindings:   bindings(t, c, cs),
		NetworkInterfaces: []model.NetworkInterface{},
	}
	if cs.Phase == PhaseExited && cs.ExitCode != nil {
		code := *cs.ExitCode
		cr.ExitCode = &code
	}
	if cs.OOM && cr.Reason == "" {
		cr.Reason = reasonOOM
	}
	if c.HasHealth {
		cr.HealthStatus = health(cs.Health)
	}
	if p := s.C(PauseName); t.Awsvpc() && p.IP != "" {
		cr.NetworkInterfaces = []model.NetworkInterface{{AttachmentId: t.ENI.Id, PrivateIpv4Address: p.IP}}
	}
	return cr
}

// ContainerStatus is a container's lastStatus: PENDING, RUNNING or STOPPED,
// never going back from what was reported.
func ContainerStatus(cs *ContainerState) string {
	st := model.StatusPending
	switch {
	case cs.Phase == PhaseExited || cs.Skipped:
		st = model.StatusStopped
	case cs.Phase == PhaseRunning:
		st = model.StatusRunning
	}
	if rank(cs.Known) > rank(st) {
		return cs.Known
	}
	return st
}

func health(engine string) model.HealthStatus {
	switch engine {
	case "healthy":
		return model.HealthStatusHealthy
	case "unhealthy":
		return model.HealthStatusUnhealthy
	}
	return model.HealthStatusUnknown
}

// taskHealth follows ECS: only essential containers count; any UNHEALTHY
// makes the task UNHEALTHY, else any UNKNOWN makes it UNKNOWN.
func taskHealth(t *Task, s *State) model.HealthStatus {
	out := model.HealthStatusHealthy
	for i := range t.Containers {
		c := &t.Containers[i]
		if !c.Essential {
			continue
		}
		h := model.HealthStatusUnknown
		if c.HasHealth {
			h = health(s.C(c.Name).Health)
		}
		switch h {
		case model.HealthStatusUnhealthy:
			return h
		case model.HealthStatusUnknown:
			out = h
		}
	}
	return out
}

// bindings are the host ports a container is reachable on: what the engine
// bound in bridge mode; the container ports themselves in host mode.
func bindings(t *Task, c *Container, cs *ContainerState) []model.NetworkBinding {
	out := []model.NetworkBinding{}
	switch t.NetworkMode {
	case model.NetworkModeBridge:
		for _, p := range cs.Ports {
			ip := p.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			out = append(out, model.NetworkBinding{BindIP: ip, ContainerPort: i32(p.ContainerPort),
				HostPort: i32(p.HostPort), Protocol: model.TransportProtocol(p.Protocol)})
		}
	case model.NetworkModeHost:
		if cs.Phase < PhaseRunning {
			return out
		}
		for _, pm := range c.Def.PortMappings {
			if pm.ContainerPort == nil {
				continue
			}
			proto := pm.Protocol
			if proto == "" {
				proto = model.TransportProtocolTcp
			}
			out = append(out, model.NetworkBinding{BindIP: "0.0.0.0", ContainerPort: pm.ContainerPort,
				HostPort: pm.ContainerPort, Protocol: proto})
		}
	}
	return slices.CompactFunc(out, func(a, b model.NetworkBinding) bool {
		return a.BindIP == b.BindIP && *a.ContainerPort == *b.ContainerPort && *a.HostPort == *b.HostPort && a.Protocol == b.Protocol
	})
}

func i32(v int) *int32 {
	n := int32(v)
	return &n
}

// eni is the awsvpc task's network interface: ATTACHED once the pause
// container holds an address, DELETED once it is removed.
func eni(t *Task, s *State) model.Attachment {
	a := *t.ENI
	a.Details = slices.Clone(a.Details)
	p := s.C(PauseName)
	switch {
	case p.Removed && rank(s.Status) >= rank(model.StatusDeprovisioning):
		a.Status = "DELETED"
	case p.IP != "":
		a.Status = "ATTACHED"
	}
	if p.IP != "" {
		sum := sha256.Sum256([]byte(t.Arn))
		a.Details = setDetail(a.Details, "networkInterfaceId", "eni-"+hex.EncodeToString(sum[:])[:17])
		a.Details = setDetail(a.Details, "privateIPv4Address", p.IP)
	}
	return a
}

func setDetail(ds []model.KeyValuePair, name, value string) []model.KeyValuePair {
	for i := range ds {
		if ds[i].Name == name {
			ds[i].Value = value
			return ds
		}
	}
	return append(ds, model.KeyValuePair{Name: name, Value: value})
}
