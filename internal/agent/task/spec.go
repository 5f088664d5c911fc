package task

import (
	"maps"
	"strconv"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/model"
)

// Labels ECS's own agent puts on task containers; tools built for ECS read
// them.
const (
	ecsLabelCluster   = "com.amazonaws.ecs.cluster"
	ecsLabelTask      = "com.amazonaws.ecs.task-arn"
	ecsLabelContainer = "com.amazonaws.ecs.container-name"
	ecsLabelFamily    = "com.amazonaws.ecs.task-definition-family"
	ecsLabelVersion   = "com.amazonaws.ecs.task-definition-version"
)

// minCPUShares is what the ECS agent gives a container whose cpu is 0, 1 or
// unset (the kernel's minimum).
const minCPUShares = 2

// Labels are the labels of one of the task's containers (or its pause
// container, name PauseName).
func (t *Task) Labels(name string) map[string]string {
	return map[string]string{
		runtime.LabelManaged:   "true",
		runtime.LabelCluster:   t.Opts.Cluster,
		runtime.LabelInstance:  t.Opts.Instance,
		runtime.LabelTask:      t.Arn,
		runtime.LabelContainer: name,
		ecsLabelCluster:        t.Opts.Cluster,
		ecsLabelTask:           t.Arn,
		ecsLabelContainer:      name,
		ecsLabelFamily:         t.Family,
		ecsLabelVersion:        strconv.FormatInt(t.Revision, 10),
	}
}

// PauseSpec is the awsvpc pause container: it owns the task's network
// namespace on the engine's bridge, and the task's containers join it.
func (t *Task) PauseSpec() runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:        t.engineName(PauseName),
		Image:       t.Opts.PauseImage,
		Labels:      t.Labels(PauseName),
		NetworkMode: "bridge",
		StopTimeout: 10 * time.Second,
	}
}

// ContainerSpec translates container c into the runtime's terms. ids maps
// the task's container names (and PauseName) to their runtime IDs, for
// network namespaces and volumesFrom.
func (t *Task) ContainerSpec(c *Container, ids map[string]string) runtime.ContainerSpec {
	d := &c.Def
	labels := maps.Clone(d.DockerLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, t.Labels(c.Name))
	s := runtime.ContainerSpec{
		Name:           c.EngineName,
		Image:          d.Image,
		Labels:         labels,
		Entrypoint:     d.EntryPoint,
		Cmd:            d.Command,
		Env:            envList(d.Environment),
		WorkingDir:     d.WorkingDirectory,
		User:           d.User,
		CPUShares:      max(int64(d.Cpu), minCPUShares),
		ReadonlyRootfs: isTrue(d.ReadonlyRootFilesystem),
		Privileged:     isTrue(d.Privileged),
		Mounts:         t.mounts(d.MountPoints),
		HealthCheck:    healthCheck(d.HealthCheck),
		StopTimeout:    c.StopTimeout,
	}
	if d.Memory != nil {
		s.MemoryMiB = int64(*d.Memory)
	}
	if d.MemoryReservation != nil {
		s.MemoryReservationMiB = int64(*d.MemoryReservation)
	}
	if lp := d.LinuxParameters; lp != nil {
		s.Init = isTrue(lp.InitProcessEnabled)
	}
	for _, u := range d.Ulimits {
		s.Ulimits = append(s.Ulimits, runtime.Ulimit{Name: string(u.Name), Soft: int64(u.SoftLimit), Hard: int64(u.HardLimit)})
	}
	for _, vf := range d.VolumesFrom {
		ref := ids[vf.SourceContainer]
		if isTrue(vf.ReadOnly) {
			ref += ":ro"
		}
		s.VolumesFrom = append(s.VolumesFrom, ref)
	}
	t.network(c, ids, &s)
	logging(d.LogConfiguration, &s)
	return s
}

// network sets the network mode and what goes with it.
func (t *Task) network(c *Container, ids map[string]string, s *runtime.ContainerSpec) {
	d := &c.Def
	switch t.NetworkMode {
	case model.NetworkModeAwsvpc:
		// Hostname, DNS and extra hosts belong to the namespace's owner.
		s.NetworkMode = "container:" + ids[PauseName]
		return
	case model.NetworkModeHost:
		s.NetworkMode = "host"
	case model.NetworkModeNone:
		s.NetworkMode = "none"
	default:
		s.NetworkMode = "bridge"
		s.PortBindings = portBindings(d.PortMappings)
		for _, l := range d.Links {
			name, alias := splitLink(l)
			if target := t.Container(name); target != nil {
				s.Links = append(s.Links, target.EngineName+":"+alias)
			}
		}
	}
	s.Hostname = d.Hostname
	s.DNSServers = d.DnsServers
	s.DNSSearch = d.DnsSearchDomains
	for _, h := range d.ExtraHosts {
		s.ExtraHosts = append(s.ExtraHosts, h.Hostname+":"+h.IpAddress)
	}
}

func splitLink(l string) (name, alias string) {
	for i := range len(l) {
		if l[i] == ':' {
			return l[:i], l[i+1:]
		}
	}
	return l, l
}

// portBindings maps bridge-mode port mappings: hostPort 0 or absent asks
// for a dynamic port. A container port range gets dynamic host ports.
func portBindings(pms []model.PortMapping) []runtime.PortBinding {
	var out []runtime.PortBinding
	for _, pm := range pms {
		proto := string(pm.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		if pm.ContainerPort == nil {
			lo, hi, ok := portRange(pm.ContainerPortRange)
			for p := lo; ok && p <= hi; p++ {
				out = append(out, runtime.PortBinding{ContainerPort: p, Protocol: proto})
			}
			continue
		}
		b := runtime.PortBinding{ContainerPort: int(*pm.ContainerPort), Protocol: proto}
		if pm.HostPort != nil {
			b.HostPort = int(*pm.HostPort)
		}
		out = append(out, b)
	}
	return out
}

func portRange(s string) (lo, hi int, ok bool) {
	for i := range len(s) {
		if s[i] == '-' {
			a, err1 := strconv.Atoi(s[:i])
			b, err2 := strconv.Atoi(s[i+1:])
			return a, b, err1 == nil && err2 == nil && a <= b
		}
	}
	return 0, 0, false
}

func (t *Task) mounts(mps []model.MountPoint) []runtime.Mount {
	var out []runtime.Mount
	for _, mp := range mps {
		v := t.Volume(mp.SourceVolume)
		if v == nil || v.Kind == VolumeUnsupported {
			continue
		}
		m := runtime.Mount{Type: "volume", Source: v.Source, Target: mp.ContainerPath, ReadOnly: isTrue(mp.ReadOnly)}
		if v.Kind == VolumeBind {
			m.Type = "bind"
		}
		out = append(out, m)
	}
	return out
}

func healthCheck(hc *model.HealthCheck) *runtime.HealthCheck {
	if hc == nil || len(hc.Command) == 0 {
		return nil
	}
	test := hc.Command
	if test[0] != "CMD" && test[0] != "CMD-SHELL" {
		test = append([]string{"CMD"}, test...)
	}
	return &runtime.HealthCheck{
		Test:        test,
		Interval:    seconds(hc.Interval, model.DefaultHealthCheckInterval),
		Timeout:     seconds(hc.Timeout, model.DefaultHealthCheckTimeout),
		StartPeriod: seconds(hc.StartPeriod, 0),
		Retries:     int(intOr(hc.Retries, model.DefaultHealthCheckRetries)),
	}
}

// logging passes the log configuration through. awslogs has no CloudWatch
// Logs to go to on this node yet, so its containers log with json-file
// (docker logs keeps working).
func logging(lc *model.LogConfiguration, s *runtime.ContainerSpec) {
	if lc == nil || lc.LogDriver == "" {
		return
	}
	if lc.LogDriver == model.LogDriverAwslogs || lc.LogDriver == model.LogDriverAwsfirelens {
		s.LogDriver = "json-file"
		return
	}
	s.LogDriver, s.LogOptions = string(lc.LogDriver), maps.Clone(lc.Options)
}

func envList(kvs []model.KeyValuePair) []string {
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, kv.Name+"="+kv.Value)
	}
	return out
}

func seconds(p *int32, def int32) time.Duration {
	return time.Duration(intOr(p, def)) * time.Second
}

func intOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func isTrue(p *bool) bool { return p != nil && *p }
