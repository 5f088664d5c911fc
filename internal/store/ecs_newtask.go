package store

import (
	"strconv"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
)

// TaskLaunch is what a new task is made of, whoever launches it (RunTask,
// StartTask, the service scheduler).
type TaskLaunch struct {
	Scope      arn.Scope
	Cluster    string
	Definition *TaskDefinitionRecord
	Mode       model.NetworkMode
	Overrides  *model.TaskOverride // nil: none
	Claim      Claim               // ClaimOf(definition, overrides, mode)
	LaunchType model.LaunchType
	Group      string
	StartedBy  string
	Service    string // the service the task belongs to, if any
	Tags       []model.Tag
	ExecCmd    bool
	Subnet     string // awsvpc: the subnet of the task's network interface
	Now        time.Time
}

// NewTask is the record of one task of l placed on inst, as ECS shows a task
// it has just created: PENDING (PROVISIONING for awsvpc, which first gets a
// network interface), desired RUNNING, its containers PENDING with the
// definition's values after the overrides. The placement saves it.
func NewTask(l TaskLaunch, inst *InstanceRecord) *TaskRecord {
	id := arn.NewID()
	taskARN := l.Scope.Task(l.Cluster, id)
	last := model.StatusPending
	if l.Mode == model.NetworkModeAwsvpc {
		last = model.StatusProvisioning
	}
	ov := l.Overrides
	if ov == nil {
		ov = &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{}, InferenceAcceleratorOverrides: []model.InferenceAcceleratorOverride{}}
	}
	t := &TaskRecord{Cluster: l.Cluster, ID: id, InstanceID: inst.ID, ServiceName: l.Service, Claim: l.Claim}
	t.Task = model.Task{
		TaskArn:              taskARN,
		ClusterArn:           l.Scope.Cluster(l.Cluster),
		TaskDefinitionArn:    l.Definition.TaskDefinitionArn,
		ContainerInstanceArn: inst.ContainerInstanceArn,
		AvailabilityZone:     AttributeValue(inst.Attributes, "ecs.availability-zone"),
		LastStatus:           last,
		DesiredStatus:        model.StatusRunning,
		CreatedAt:            model.At(l.Now),
		LaunchType:           l.LaunchType,
		Group:                l.Group,
		StartedBy:            l.StartedBy,
		Cpu:                  strconv.FormatInt(l.Claim.CPU, 10),
		Memory:               strconv.FormatInt(l.Claim.Memory, 10),
		Overrides:            ov,
		Tags:                 l.Tags,
		EnableExecuteCommand: l.ExecCmd,
		HealthStatus:         model.HealthStatusUnknown,
		Attachments:          newAttachments(l),
		Containers:           newContainers(l, ov, taskARN, id),
	}
	return t
}

func newContainers(l TaskLaunch, ov *model.TaskOverride, taskARN, taskID string) []model.Container {
	out := make([]model.Container, 0, len(l.Definition.ContainerDefinitions))
	for _, d := range l.Definition.ContainerDefinitions {
		d = model.ApplyContainerOverride(d, containerOverride(ov, d.Name))
		c := model.Container{
			ContainerArn:      l.Scope.Container(l.Cluster, taskID, arn.NewUUID()),
			TaskArn:           taskARN,
			Name:              d.Name,
			Image:             d.Image,
			LastStatus:        model.StatusPending,
			Cpu:               strconv.Itoa(int(d.Cpu)),
			HealthStatus:      model.HealthStatusUnknown,
			NetworkBindings:   []model.NetworkBinding{},
			NetworkInterfaces: []model.NetworkInterface{},
		}
		if d.Memory != nil {
			c.Memory = strconv.Itoa(int(*d.Memory))
		}
		if d.MemoryReservation != nil {
			c.MemoryReservation = strconv.Itoa(int(*d.MemoryReservation))
		}
		out = append(out, c)
	}
	return out
}

// newAttachments is the network interface an awsvpc task gets, not yet
// created.
func newAttachments(l TaskLaunch) []model.Attachment {
	if l.Mode != model.NetworkModeAwsvpc {
		return []model.Attachment{}
	}
	return []model.Attachment{{
		Id:      arn.NewUUID(),
		Type:    "ElasticNetworkInterface",
		Status:  "PRECREATED",
		Details: []model.KeyValuePair{{Name: "subnetId", Value: l.Subnet}},
	}}
}

// AttributeValue is the value of the named attribute ("" when absent).
func AttributeValue(attrs []model.Attribute, name string) string {
	for _, at := range attrs {
		if at.Name == name {
			return at.Value
		}
	}
	return ""
}
