package ecs

import (
	"context"
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

const maxDescribeTasks = 100

func (a *API) taskOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"RunTask":       awsproto.Typed(a.runTask),
		"StartTask":     awsproto.Typed(a.startTask),
		"StopTask":      awsproto.Typed(a.stopTask),
		"DescribeTasks": awsproto.Typed(a.describeTasks),
		"ListTasks":     awsproto.Typed(a.listTasks),
	}
}

// getTask reads the task ref (id or ARN) names in cluster; nil when absent.
func getTask(tx store.ReadTx, cluster, ref string) (*store.TaskRecord, error) {
	id := childID(ref, "task", cluster)
	if id == "" {
		return nil, nil
	}
	t := new(store.TaskRecord)
	_, ok, err := store.GetJSON(tx, store.TaskKey(cluster, id), t)
	if err != nil || !ok {
		return nil, err
	}
	return t, nil
}

// taskView is what the API shows of a task: tags only when asked for; a
// task being deactivated (see deactivating) as ECS shows it.
func taskView(t *store.TaskRecord, tags bool) model.Task {
	v := t.Task
	if deactivating(t) {
		v.LastStatus, v.DesiredStatus = model.StatusDeactivating, model.StatusStopped
		v.StopCode, v.StoppedReason = model.TaskStopCodeServiceSchedulerInitiated, t.LB.StopReason
	}
	if !tags {
		v.Tags = nil
	} else if v.Tags == nil {
		v.Tags = []model.Tag{}
	}
	return v
}

// deactivating reports whether the service scheduler is draining the
// task's load balancer targets before it asks the task to stop (store.TaskLB):
// ECS shows such a task DEACTIVATING, desired STOPPED. Its record stays
// desired RUNNING until the targets have drained, so that its node keeps it
// running meanwhile.
func deactivating(t *store.TaskRecord) bool {
	return t.LB != nil && !t.LB.StopAt.IsZero() && t.DesiredStatus == model.StatusRunning && t.LastStatus == model.StatusRunning
}

// shownDesired is the desiredStatus the API shows.
func shownDesired(t *store.TaskRecord) string {
	if deactivating(t) {
		return model.StatusStopped
	}
	return t.DesiredStatus
}

// stopTask asks for a task to stop: desiredStatus STOPPED, with the reason
// kept as stoppedReason. lastStatus is left to the node's agent, which
// reports the task STOPPED (and so releases what it holds). Stopping a task
// that is already stopping changes nothing.
func (a *API) stopTask(ctx context.Context, in *model.StopTaskRequest) (*model.StopTaskResponse, error) {
	var out model.Task
	err := a.update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		t, err := getTask(tx, c.ClusterName, in.Task)
		if err != nil {
			return err
		}
		if t == nil {
			return errs.New(errs.InvalidParameter, "The referenced task was not found.")
		}
		if t.DesiredStatus != model.StatusStopped {
			t.DesiredStatus = model.StatusStopped
			t.StopCode = model.TaskStopCodeUserInitiated
			t.StoppedReason = in.Reason
			if t.StoppedReason == "" {
				t.StoppedReason = defaultStoppedReason
			}
			t.StoppingAt = model.At(a.now())
			if err := store.SaveTask(tx, t); err != nil {
				return err
			}
		}
		out = taskView(t, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.StopTaskResponse{Task: &out}, nil
}

func (a *API) describeTasks(ctx context.Context, in *model.DescribeTasksRequest) (*model.DescribeTasksResponse, error) {
	if len(in.Tasks) == 0 {
		return nil, errs.New(errs.InvalidParameter, "Tasks cannot be empty.")
	}
	if len(in.Tasks) > maxDescribeTasks {
		return nil, errs.New(errs.InvalidParameter, "A maximum of %d tasks can be described at once.", maxDescribeTasks)
	}
	tags := slices.Contains(in.Include, model.TaskFieldTags)
	var out *model.DescribeTasksResponse
	err := a.view(ctx, func(tx store.ReadTx) error {
		out = &model.DescribeTasksResponse{Tasks: make([]model.Task, 0, len(in.Tasks)), Failures: []model.Failure{}}
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		for _, ref := range in.Tasks {
			t, err := getTask(tx, c.ClusterName, ref)
			if err != nil {
				return err
			}
			if t == nil {
				out.Failures = append(out.Failures, model.Failure{Arn: a.taskFailureARN(c.ClusterName, ref), Reason: reasonMissing})
				continue
			}
			out.Tasks = append(out.Tasks, taskView(t, tags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) taskFailureARN(cluster, ref string) string {
	if arn.IsARN(ref) {
		return ref
	}
	return a.scope.Task(cluster, ref)
}

// taskFilter is ListTasks' filters. desiredStatus defaults to RUNNING;
// PENDING matches nothing (ECS never sets it). The filters combine with
// AND (the docs ask that startedBy be used alone; this is not enforced).
type taskFilter struct {
	instanceID    string
	family        string
	service       string
	startedBy     string
	desiredStatus string
	launchType    model.LaunchType
	none          bool // a filter that cannot match (PENDING, daemons)
}

func (f *taskFilter) match(t *store.TaskRecord) bool {
	switch {
	case f.none:
		return false
	case shownDesired(t) != f.desiredStatus:
		return false
	case f.instanceID != "" && t.InstanceID != f.instanceID:
		return false
	case f.service != "" && t.ServiceName != f.service:
		return false
	case f.startedBy != "" && t.StartedBy != f.startedBy:
		return false
	case f.launchType != "" && t.LaunchType != f.launchType:
		return false
	}
	return f.family == "" || taskFamily(t.TaskDefinitionArn) == f.family
}

// taskFamily is the family of a task definition ARN.
func taskFamily(tdARN string) string {
	res := tdARN
	if a, err := arn.Parse(tdARN); err == nil {
		res = strings.TrimPrefix(a.Resource, "task-definition/")
	}
	fam, _, _ := strings.Cut(res, ":")
	return fam
}

func (a *API) listTasks(ctx context.Context, in *model.ListTasksRequest) (*model.ListTasksResponse, error) {
	p, err := newPager(in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	f := &taskFilter{family: in.Family, startedBy: in.StartedBy, launchType: in.LaunchType, desiredStatus: string(in.DesiredStatus)}
	switch f.desiredStatus {
	case "":
		f.desiredStatus = model.StatusRunning
	case string(model.DesiredStatusPending):
		f.none = true
	}
	f.none = f.none || in.DaemonName != ""
	out := &model.ListTasksResponse{}
	err = a.view(ctx, func(tx store.ReadTx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		if err := resolveTaskFilter(tx, c.ClusterName, in, f); err != nil {
			return err
		}
		out.TaskArns, out.NextToken, err = listPage(tx, store.TasksPrefix+c.ClusterName+"/", p,
			func(t *store.TaskRecord) (string, bool) { return t.TaskArn, f.match(t) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// resolveTaskFilter turns ListTasks' instance and service references into
// ids; an unknown service is ServiceNotFoundException.
func resolveTaskFilter(tx store.ReadTx, cluster string, in *model.ListTasksRequest, f *taskFilter) error {
	if in.ContainerInstance != "" {
		f.instanceID = instanceID(in.ContainerInstance, cluster)
		f.none = f.none || f.instanceID == ""
	}
	if in.ServiceName == "" {
		return nil
	}
	name := serviceName(in.ServiceName, cluster)
	if name == "" {
		return errs.New(errs.ServiceNotFound, "Service not found.")
	}
	_, ok, err := tx.Get(store.ServiceKey(cluster, name))
	if err != nil {
		return err
	}
	if !ok {
		return errs.New(errs.ServiceNotFound, "Service not found.")
	}
	f.service = name
	return nil
}
