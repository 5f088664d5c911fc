package task

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

// PauseName is the LabelContainer value of an awsvpc task's pause container,
// which holds the task's network namespace. "~" cannot start a container
// definition name, so it never clashes with one.
const PauseName = "~pause"

// DefaultStopTimeout is the grace period between SIGTERM and SIGKILL when
// neither the container nor the agent sets one (ECS_CONTAINER_STOP_TIMEOUT).
const DefaultStopTimeout = 30 * time.Second

// Options are the node-wide settings that shape a task's containers.
type Options struct {
	Cluster            string // cluster name, for labels
	Instance           string // container instance ARN, for labels
	PauseImage         string // image of the awsvpc pause container
	DefaultStopTimeout time.Duration
}

// Task is a task as this node runs it: the definition with the RunTask
// overrides applied, in the terms the state machine needs.
type Task struct {
	Arn, ID     string
	Family      string
	Revision    int64
	NetworkMode model.NetworkMode
	Containers  []Container // definition order
	Volumes     []Volume
	// ENI is the awsvpc task's network interface attachment as the control
	// plane created it (nil for other modes).
	ENI  *model.Attachment
	Opts Options
}

// Container is one container of a task.
type Container struct {
	Name      string
	Def       model.ContainerDefinition // overrides applied
	Essential bool
	// DependsOn are the conditions to meet before starting: the
	// definition's dependsOn plus START on every linked container.
	DependsOn []model.ContainerDependency
	// CreateAfter are containers that must exist before this one is
	// created (links and volumesFrom sources).
	CreateAfter  []string
	StartTimeout time.Duration // 0: none
	StopTimeout  time.Duration
	EngineName   string
	HasHealth    bool // the definition declares a health check
}

// VolumeKind says where a volume's data lives and who owns it.
type VolumeKind int

const (
	VolumeBind        VolumeKind = iota // a host path, bind-mounted
	VolumeTask                          // an engine volume created at start and removed at stop
	VolumeShared                        // an engine volume that outlives the task
	VolumeUnsupported                   // EFS, FSx, EBS: not on this node
)

// Volume is one task definition volume.
type Volume struct {
	Name string
	Kind VolumeKind
	// Source is the host path (VolumeBind) or the engine volume name.
	Source        string
	Driver        string
	Options       map[string]string
	Labels        map[string]string
	Autoprovision bool
}

// New builds the task of an assignment.
func New(a *agentproto.Assignment, o Options) *Task {
	if o.DefaultStopTimeout == 0 {
		o.DefaultStopTimeout = DefaultStopTimeout
	}
	td := &a.Definition
	t := &Task{
		Arn:         a.Task.TaskArn,
		ID:          a.Task.TaskArn[strings.LastIndex(a.Task.TaskArn, "/")+1:],
		Family:      td.Family,
		Revision:    int64(td.Revision),
		NetworkMode: td.EffectiveNetworkMode(),
		Opts:        o,
	}
	if t.NetworkMode == model.NetworkModeAwsvpc {
		for i := range a.Task.Attachments {
			if a.Task.Attachments[i].Type == "ElasticNetworkInterface" {
				eni := a.Task.Attachments[i]
				t.ENI = &eni
				break
			}
		}
		if t.ENI == nil {
			t.ENI = &model.Attachment{Id: t.ID, Type: "ElasticNetworkInterface"}
		}
	}
	var ov []model.ContainerOverride
	if a.Task.Overrides != nil {
		ov = a.Task.Overrides.ContainerOverrides
	}
	for _, cd := range td.ContainerDefinitions {
		t.Containers = append(t.Containers, t.container(applyOverride(cd, ov)))
	}
	for _, v := range td.Volumes {
		t.Volumes = append(t.Volumes, t.volume(v))
	}
	return t
}

func (t *Task) container(cd model.ContainerDefinition) Container {
	c := Container{
		Name:        cd.Name,
		Def:         cd,
		Essential:   cd.Essential == nil || *cd.Essential,
		DependsOn:   slices.Clone(cd.DependsOn),
		StopTimeout: t.Opts.DefaultStopTimeout,
		EngineName:  t.engineName(cd.Name),
		HasHealth:   cd.HealthCheck != nil && len(cd.HealthCheck.Command) > 0,
	}
	if cd.StartTimeout != nil && *cd.StartTimeout > 0 {
		c.StartTimeout = time.Duration(*cd.StartTimeout) * time.Second
	}
	if cd.StopTimeout != nil && *cd.StopTimeout > 0 {
		c.StopTimeout = time.Duration(*cd.StopTimeout) * time.Second
	}
	for _, l := range cd.Links {
		name, _, _ := strings.Cut(l, ":")
		c.CreateAfter = append(c.CreateAfter, name)
		c.DependsOn = append(c.DependsOn, model.ContainerDependency{ContainerName: name, Condition: model.ContainerConditionStart})
	}
	for _, vf := range cd.VolumesFrom {
		c.CreateAfter = append(c.CreateAfter, vf.SourceContainer)
	}
	return c
}

// applyOverride applies the RunTask container override named like cd.
func applyOverride(cd model.ContainerDefinition, ovs []model.ContainerOverride) model.ContainerDefinition {
	for i := range ovs {
		cd = model.ApplyContainerOverride(cd, &ovs[i])
	}
	return cd
}

func (t *Task) volume(v model.Volume) Volume {
	out := Volume{Name: v.Name}
	switch {
	case v.DockerVolumeConfiguration != nil:
		d := v.DockerVolumeConfiguration
		out.Driver, out.Options, out.Labels = d.Driver, d.DriverOpts, d.Labels
		if d.Scope == model.ScopeShared {
			out.Kind, out.Source = VolumeShared, v.Name
			out.Autoprovision = d.Autoprovision != nil && *d.Autoprovision
		} else {
			out.Kind, out.Source = VolumeTask, t.engineName(v.Name)
		}
	case v.EfsVolumeConfiguration != nil, v.FsxWindowsFileServerVolumeConfiguration != nil,
		v.ConfiguredAtLaunch != nil && *v.ConfiguredAtLaunch, v.S3filesVolumeConfiguration != nil:
		out.Kind = VolumeUnsupported
	case v.Host != nil && v.Host.SourcePath != "":
		out.Kind, out.Source = VolumeBind, v.Host.SourcePath
	default:
		// A host volume without a path: the engine manages the directory
		// for the task's lifetime.
		out.Kind, out.Source = VolumeTask, t.engineName(v.Name)
	}
	return out
}

// engineName is the deterministic engine name of one of the task's
// containers or volumes: a crash between creating and recording cannot
// lead to a second one, because the engine refuses the name.
func (t *Task) engineName(name string) string {
	if name == PauseName {
		name = "internalecspause"
	}
	return fmt.Sprintf("ecs-%s-%d-%s-%s", t.Family, t.Revision, name, t.ID)
}

// Container returns the named container, or nil.
func (t *Task) Container(name string) *Container {
	for i := range t.Containers {
		if t.Containers[i].Name == name {
			return &t.Containers[i]
		}
	}
	return nil
}

// Volume returns the named volume, or nil.
func (t *Task) Volume(name string) *Volume {
	for i := range t.Volumes {
		if t.Volumes[i].Name == name {
			return &t.Volumes[i]
		}
	}
	return nil
}

// Awsvpc reports whether the task has its own network namespace (held by a
// pause container).
func (t *Task) Awsvpc() bool { return t.NetworkMode == model.NetworkModeAwsvpc }
