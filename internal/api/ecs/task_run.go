package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// runTask places count tasks of a definition with the first-fit placer.
// Launch types: EC2 (the default) and EXTERNAL place on the cluster's
// instances; FARGATE and MANAGED_INSTANCES are refused with
// UnsupportedFeatureException (after the task definition's own
// compatibility check, which answers as ECS does). A capacity provider
// strategy is refused the same way.
func (a *API) runTask(ctx context.Context, in *model.RunTaskRequest) (*model.RunTaskResponse, error) {
	req, count, err := newRunRequest(in)
	if err != nil {
		return nil, err
	}
	hash, err := runTaskHash(in)
	if err != nil {
		return nil, err
	}
	var out *model.RunTaskResponse
	err = a.update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		if in.ClientToken != "" {
			if out, err = a.replayRunTask(tx, c.ClusterName, in.ClientToken, hash); out != nil || err != nil {
				return err
			}
		}
		if out, err = a.placeRunTasks(tx, c.ClusterName, req, count); err != nil {
			return err
		}
		if in.ClientToken == "" {
			return nil
		}
		return rememberRunTask(tx, c.ClusterName, in.ClientToken, hash, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func newRunRequest(in *model.RunTaskRequest) (*launchRequest, int, error) {
	count := 1
	if in.Count != nil {
		count = int(*in.Count)
	}
	if count < 1 || count > maxRunCount {
		return nil, 0, errs.New(errs.InvalidParameter, "count must be between 1 and %d.", maxRunCount)
	}
	if err := checkClientToken(in.ClientToken); err != nil {
		return nil, 0, err
	}
	if len(in.CapacityProviderStrategy) > 0 {
		if in.LaunchType != "" {
			return nil, 0, errs.New(errs.InvalidParameter, "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
		}
		return nil, 0, errs.New(errs.UnsupportedFeature, "Quayside does not support capacity provider strategies yet; use the EC2 or EXTERNAL launch type.")
	}
	if err := checkStrategies(in.PlacementStrategy); err != nil {
		return nil, 0, err
	}
	req := &launchRequest{
		taskDefinition: in.TaskDefinition, launchType: in.LaunchType, group: in.Group, startedBy: in.StartedBy,
		overrides: in.Overrides, network: in.NetworkConfiguration, constraints: in.PlacementConstraints,
		tags: in.Tags, propagate: in.PropagateTags, managedTags: in.EnableECSManagedTags, execCmd: in.EnableExecuteCommand,
	}
	if req.launchType == "" {
		req.launchType = model.LaunchTypeEc2
	}
	return req, count, req.check(maxRunStartedBy)
}

// placeRunTasks resolves the launch and places count tasks, saving each
// placed task (and its claim on the instance) in tx.
func (a *API) placeRunTasks(tx store.Tx, cluster string, req *launchRequest, count int) (*model.RunTaskResponse, error) {
	spec, err := a.resolveSpec(tx, cluster, req)
	if err != nil {
		return nil, err
	}
	nodes, err := loadPlacementNodes(tx, cluster, req.launchType, &spec.needs)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, errs.New(errs.InvalidParameter, "No Container Instances were found in your cluster.")
	}
	out := &model.RunTaskResponse{Tasks: []model.Task{}}
	var fails failureSet
	for range count {
		nd, rejected := placeFirstFit(nodes, &spec.needs)
		if nd == nil {
			fails.add(rejected...)
			continue
		}
		t, err := a.saveNewTask(tx, spec, nd)
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, t)
	}
	out.Failures = append([]model.Failure{}, fails.list...)
	return out, nil
}

// saveNewTask creates one task of spec on nd, saves it and takes its claim
// from the node.
func (a *API) saveNewTask(tx store.Tx, spec *taskSpec, nd *placementNode) (model.Task, error) {
	t := a.newTask(spec, nd)
	if err := store.SaveTask(tx, t); err != nil {
		return model.Task{}, err
	}
	nd.take(&spec.needs)
	return taskView(t, true), nil
}

// runTaskHash identifies a RunTask request's parameters (all but the
// clientToken) for idempotent retries.
func runTaskHash(in *model.RunTaskRequest) (string, error) {
	cp := *in
	cp.ClientToken = ""
	b, err := json.Marshal(&cp)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// replayRunTask answers a retried RunTask: the same token with the same
// parameters returns the tasks it created (as they are now); with other
// parameters it is a ConflictException naming those tasks. It returns nil
// when the token is new.
func (a *API) replayRunTask(tx store.ReadTx, cluster, token, hash string) (*model.RunTaskResponse, error) {
	var rec store.ClientTokenRecord
	_, ok, err := store.GetJSON(tx, store.RunTaskTokenKey(cluster, token), &rec)
	if err != nil || !ok {
		return nil, err
	}
	if rec.RequestHash != hash {
		return nil, &errs.Error{
			Code:    errs.Conflict,
			Message: "The specified client token is already in use with a different RunTask request.",
			Fields:  map[string]any{"resourceIds": append([]string{}, rec.TaskArns...)},
		}
	}
	out := &model.RunTaskResponse{Tasks: []model.Task{}, Failures: append([]model.Failure{}, rec.Failures...)}
	for _, ta := range rec.TaskArns {
		t, err := getTask(tx, cluster, ta)
		if err != nil {
			return nil, err
		}
		if t != nil {
			out.Tasks = append(out.Tasks, taskView(t, true))
		}
	}
	return out, nil
}

func rememberRunTask(tx store.Tx, cluster, token, hash string, out *model.RunTaskResponse) error {
	rec := store.ClientTokenRecord{RequestHash: hash, Failures: out.Failures, TaskArns: []string{}}
	for _, t := range out.Tasks {
		rec.TaskArns = append(rec.TaskArns, t.TaskArn)
	}
	return store.PutJSON(tx, store.RunTaskTokenKey(cluster, token), &rec)
}

// startTask starts one task of a definition on each listed instance, with
// no strategy. Each instance that cannot take it is a failure: MISSING,
// INACTIVE, or the placement reason.
func (a *API) startTask(ctx context.Context, in *model.StartTaskRequest) (*model.StartTaskResponse, error) {
	if len(in.ContainerInstances) == 0 {
		return nil, errs.New(errs.InvalidParameter, "Container instances cannot be empty.")
	}
	if len(in.ContainerInstances) > maxStartInstances {
		return nil, errs.New(errs.InvalidParameter, "A maximum of %d container instances can be given.", maxStartInstances)
	}
	req := &launchRequest{
		taskDefinition: in.TaskDefinition, group: in.Group, startedBy: in.StartedBy, overrides: in.Overrides,
		network: in.NetworkConfiguration, tags: in.Tags, propagate: in.PropagateTags,
		managedTags: in.EnableECSManagedTags, execCmd: in.EnableExecuteCommand,
	}
	if err := req.check(maxStartStartedBy); err != nil {
		return nil, err
	}
	var out *model.StartTaskResponse
	err := a.update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		out, err = a.startOn(tx, c.ClusterName, req, in.ContainerInstances)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) startOn(tx store.Tx, cluster string, req *launchRequest, refs []string) (*model.StartTaskResponse, error) {
	nodes, fails, err := a.startNodes(tx, cluster, refs)
	if err != nil {
		return nil, err
	}
	req.launchType = model.LaunchTypeEc2
	if len(nodes) > 0 && servesLaunchType(nodes[0].rec, model.LaunchTypeExternal) {
		req.launchType = model.LaunchTypeExternal
	}
	spec, err := a.resolveSpec(tx, cluster, req)
	if err != nil {
		return nil, err
	}
	if err := fillTaskGroups(tx, cluster, uniqueNodes(nodes), &spec.needs); err != nil {
		return nil, err
	}
	out := &model.StartTaskResponse{Tasks: []model.Task{}}
	for _, nd := range nodes {
		if r := rejection(nd, &spec.needs); r != "" {
			fails.add(model.Failure{Arn: nd.rec.ContainerInstanceArn, Reason: r})
			continue
		}
		t, err := a.saveNewTask(tx, spec, nd)
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, t)
	}
	out.Failures = append([]model.Failure{}, fails.list...)
	return out, nil
}

// startNodes resolves StartTask's instances, one node per listed instance
// (the same node when one is listed twice).
func (a *API) startNodes(tx store.ReadTx, cluster string, refs []string) ([]*placementNode, *failureSet, error) {
	fails := &failureSet{}
	byID := map[string]*placementNode{}
	var nodes []*placementNode
	for _, ref := range refs {
		rec, err := getInstance(tx, cluster, ref)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case rec == nil:
			fails.add(model.Failure{Arn: a.instanceFailureARN(cluster, ref), Reason: reasonMissing})
		case rec.Status == model.StatusInactive:
			fails.add(model.Failure{Arn: rec.ContainerInstanceArn, Reason: reasonInactive})
		default:
			if byID[rec.ID] == nil {
				byID[rec.ID] = &placementNode{rec: rec}
			}
			nodes = append(nodes, byID[rec.ID])
		}
	}
	return nodes, fails, nil
}

func uniqueNodes(nodes []*placementNode) []*placementNode {
	seen := map[*placementNode]bool{}
	var out []*placementNode
	for _, nd := range nodes {
		if !seen[nd] {
			seen[nd] = true
			out = append(out, nd)
		}
	}
	return out
}
