package ecs

import (
	"context"
	"slices"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched/cql"
	"github.com/quayside/quayside/internal/store"
)

// Request limits of the container instance operations [M].
const (
	maxDescribeInstances = 100
	maxUpdateInstances   = 10
)

func (a *API) instanceOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"RegisterContainerInstance":     awsproto.Typed(a.registerContainerInstance),
		"DeregisterContainerInstance":   awsproto.Typed(a.deregisterContainerInstance),
		"DescribeContainerInstances":    awsproto.Typed(a.describeContainerInstances),
		"ListContainerInstances":        awsproto.Typed(a.listContainerInstances),
		"UpdateContainerInstancesState": awsproto.Typed(a.updateContainerInstancesState),
	}
}

// deregisterContainerInstance makes an instance INACTIVE. With tasks still
// running on it, it refuses unless force is set; forced, the tasks are left
// as they are (orphaned: the instance no longer accounts for them).
func (a *API) deregisterContainerInstance(ctx context.Context, in *model.DeregisterContainerInstanceRequest) (*model.DeregisterContainerInstanceResponse, error) {
	force := in.Force != nil && *in.Force
	var out model.ContainerInstance
	err := a.update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		rec, err := getInstance(tx, c.ClusterName, in.ContainerInstance)
		if err != nil {
			return err
		}
		if rec == nil {
			return errs.New(errs.Client, "Referenced container instance %s not found.", refID(in.ContainerInstance))
		}
		if rec.RunningTasksCount > 0 && !force {
			return errs.New(errs.InvalidParameter, "Found running tasks on the instance.")
		}
		if isCountedInstance(rec.Status) {
			if err := adjustRegisteredCount(tx, c, -1); err != nil {
				return err
			}
		}
		if rec.Status != model.StatusInactive {
			rec.Status = model.StatusInactive
			rec.AgentConnected = false
			rec.Version++
			if err := store.PutJSON(tx, store.InstanceKey(c.ClusterName, rec.ID), rec); err != nil {
				return err
			}
		}
		out = instanceView(rec, false, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.DeregisterContainerInstanceResponse{ContainerInstance: &out}, nil
}

func (a *API) describeContainerInstances(ctx context.Context, in *model.DescribeContainerInstancesRequest) (*model.DescribeContainerInstancesResponse, error) {
	if len(in.ContainerInstances) == 0 {
		return nil, errs.New(errs.InvalidParameter, "Container instances cannot be empty.")
	}
	if len(in.ContainerInstances) > maxDescribeInstances {
		return nil, errs.New(errs.InvalidParameter, "A maximum of %d container instances can be described at once.", maxDescribeInstances)
	}
	tags := slices.Contains(in.Include, model.ContainerInstanceFieldTags)
	health := slices.Contains(in.Include, model.ContainerInstanceFieldContainerInstanceHealth)
	var out *model.DescribeContainerInstancesResponse
	err := a.view(ctx, func(tx store.ReadTx) error {
		out = &model.DescribeContainerInstancesResponse{ContainerInstances: []model.ContainerInstance{}, Failures: []model.Failure{}}
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		for _, ref := range in.ContainerInstances {
			rec, err := getInstance(tx, c.ClusterName, ref)
			if err != nil {
				return err
			}
			if rec == nil {
				out.Failures = append(out.Failures, model.Failure{Arn: a.instanceFailureARN(c.ClusterName, ref), Reason: "MISSING"})
				continue
			}
			out.ContainerInstances = append(out.ContainerInstances, instanceView(rec, tags, health))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) listContainerInstances(ctx context.Context, in *model.ListContainerInstancesRequest) (*model.ListContainerInstancesResponse, error) {
	p, err := newPager(in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	var filter *cql.Expr
	if in.Filter != "" {
		if filter, err = parseFilter(in.Filter); err != nil {
			return nil, err
		}
	}
	out := &model.ListContainerInstancesResponse{}
	err = a.view(ctx, func(tx store.ReadTx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		out.ContainerInstanceArns, out.NextToken, err = listPage(tx, store.InstancesPrefix+c.ClusterName+"/", p,
			func(rec *store.InstanceRecord) (string, bool) {
				return rec.ContainerInstanceArn, listsInstance(rec, string(in.Status), filter)
			})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listsInstance applies ListContainerInstances' status and filter: without
// a status every instance but INACTIVE ones is listed.
func listsInstance(rec *store.InstanceRecord, status string, filter *cql.Expr) bool {
	switch {
	case status == "" && rec.Status == model.StatusInactive:
		return false
	case status != "" && rec.Status != status:
		return false
	}
	return filter == nil || filter.Eval(cqlTargetOf(rec))
}

// updateContainerInstancesState moves instances between ACTIVE and
// DRAINING. Instances that are missing or in another state become failures.
func (a *API) updateContainerInstancesState(ctx context.Context, in *model.UpdateContainerInstancesStateRequest) (*model.UpdateContainerInstancesStateResponse, error) {
	if len(in.ContainerInstances) == 0 {
		return nil, errs.New(errs.InvalidParameter, "Container instances cannot be empty.")
	}
	if len(in.ContainerInstances) > maxUpdateInstances {
		return nil, errs.New(errs.InvalidParameter, "A maximum of %d container instances can be updated at once.", maxUpdateInstances)
	}
	to := string(in.Status)
	if to != model.StatusActive && to != model.StatusDraining {
		return nil, errs.New(errs.InvalidParameter, "Container instances can only be updated to ACTIVE or DRAINING.")
	}
	var out *model.UpdateContainerInstancesStateResponse
	err := a.update(ctx, func(tx store.Tx) error {
		out = &model.UpdateContainerInstancesStateResponse{ContainerInstances: []model.ContainerInstance{}, Failures: []model.Failure{}}
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		for _, ref := range in.ContainerInstances {
			if err := a.setInstanceState(tx, c.ClusterName, ref, to, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) setInstanceState(tx store.Tx, cluster, ref, to string, out *model.UpdateContainerInstancesStateResponse) error {
	rec, err := getInstance(tx, cluster, ref)
	if err != nil {
		return err
	}
	switch {
	case rec == nil:
		out.Failures = append(out.Failures, model.Failure{Arn: a.instanceFailureARN(cluster, ref), Reason: "MISSING"})
		return nil
	case !isCountedInstance(rec.Status):
		out.Failures = append(out.Failures, model.Failure{Arn: rec.ContainerInstanceArn, Reason: rec.Status,
			Detail: "Only ACTIVE or DRAINING container instances can be updated."})
		return nil
	}
	if rec.Status != to {
		rec.Status = to
		rec.Version++
		if err := store.PutJSON(tx, store.InstanceKey(cluster, rec.ID), rec); err != nil {
			return err
		}
	}
	out.ContainerInstances = append(out.ContainerInstances, instanceView(rec, false, false))
	return nil
}
