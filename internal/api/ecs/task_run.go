package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/placement"
	"github.com/quayside/quayside/internal/store"
)

// runTask places count tasks of a definition with the scheduler.
// Launch types: EC2 (the default) and EXTERNAL place on the cluster's
// instances; FARGATE and MANAGED_INSTANCES are refused with
// UnsupportedFeatureException (after the task definition's own
// compatibility check, which answers as ECS does). A capacity provider
// strategy is refused the same way.
//
// The launch is resolved in a read transaction; the placement is decided on
// the engine's view and committed in one write transaction that checks
// again that the cluster is active, the definition unchanged and the client
// token unused, and remembers the token with what the call produced.
func (a *API) runTask(ctx context.Context, in *model.RunTaskRequest) (*model.RunTaskResponse, error) {
	req, count, err := newRunRequest(in)
	if err != nil {
		return nil, err
	}
	hash, err := runTaskHash(in)
	if err != nil {
		return nil, err
	}
	var spec *taskSpec
	var out *model.RunTaskResponse
	err = a.view(ctx, func(tx store.ReadTx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		if in.ClientToken != "" {
			if out, err = a.replayRunTask(tx, c.ClusterName, in.ClientToken, hash); out != nil || err != nil {
				return err
			}
		}
		spec, err = a.resolveSpec(tx, c.ClusterName, req)
		return err
	})
	if err != nil || out != nil {
		return out, err
	}
	return a.placeRunTasks(ctx, in, spec, count, hash)
}

// errTokenRace aborts a RunTask whose client token another call stored
// first; the call then answers as a retry.
var errTokenRace = errors.New("ecs: client token taken meanwhile")

func (a *API) placeRunTasks(ctx context.Context, in *model.RunTaskRequest, spec *taskSpec, count int, hash string) (*model.RunTaskResponse, error) {
	task := spec.schedSpec(in.PlacementStrategy)
	var out *model.RunTaskResponse
	res, err := a.place.Place(ctx, &placement.Request{
		Cluster: spec.cluster, Task: &task, Count: count,
		Build: func(inst *store.InstanceRecord) (*store.TaskRecord, error) { return a.newTask(spec, inst), nil },
		Before: func(tx store.Tx) error {
			if err := a.checkLaunch(tx, in.Cluster, spec); err != nil {
				return err
			}
			return checkTokenUnused(tx, spec.cluster, in.ClientToken)
		},
		After: func(tx store.Tx, r *placement.Result) error {
			out = runTaskResponse(r)
			if in.ClientToken == "" {
				return nil
			}
			return rememberRunTask(tx, spec.cluster, in.ClientToken, hash, out)
		},
	})
	switch {
	case errors.Is(err, errTokenRace):
		return a.replayAfterRace(ctx, spec.cluster, in.ClientToken, hash)
	case err != nil:
		return nil, err
	case res.Plan.NoNodes:
		return nil, errs.New(errs.InvalidParameter, "No Container Instances were found in your cluster.")
	}
	return out, nil
}

func runTaskResponse(r *placement.Result) *model.RunTaskResponse {
	out := &model.RunTaskResponse{Tasks: make([]model.Task, 0, len(r.Tasks)), Failures: planFailures(r.Plan)}
	for _, t := range r.Tasks {
		out.Tasks = append(out.Tasks, taskView(t, true))
	}
	return out
}

// checkLaunch re-checks, in the transaction that saves the tasks, what the
// launch was resolved against: the cluster is still active and the task
// definition revision still ACTIVE.
func (a *API) checkLaunch(tx store.ReadTx, ref string, spec *taskSpec) error {
	if _, err := activeCluster(tx, ref); err != nil {
		return err
	}
	key := store.TaskDefKey(spec.td.Family, int64(spec.td.Revision))
	kv, ok, err := tx.Get(key)
	switch {
	case err != nil:
		return err
	case !ok:
		return errs.New(errs.Client, "TaskDefinition not found.")
	case kv.ModRev == spec.tdRev:
		return nil
	}
	var td store.TaskDefinitionRecord
	if _, _, err := store.GetJSON(tx, key, &td); err != nil {
		return err
	}
	if td.Status != model.TaskDefinitionStatusActive {
		return errs.New(errs.Client, "TaskDefinition is inactive")
	}
	return nil
}

func checkTokenUnused(tx store.ReadTx, cluster, token string) error {
	if token == "" {
		return nil
	}
	_, taken, err := tx.Get(store.RunTaskTokenKey(cluster, token))
	if err != nil {
		return err
	}
	if taken {
		return errTokenRace
	}
	return nil
}

// replayAfterRace answers a RunTask that lost its client token to a
// concurrent call with the same token.
func (a *API) replayAfterRace(ctx context.Context, cluster, token, hash string) (*model.RunTaskResponse, error) {
	var out *model.RunTaskResponse
	err := a.view(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = a.replayRunTask(tx, cluster, token, hash)
		return err
	})
	return out, err
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
// INACTIVE, or the placement reason with a detail saying what is missing.
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
	var spec *taskSpec
	var targets *startTargets
	err := a.view(ctx, func(tx store.ReadTx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		if targets, err = a.startNodes(tx, c.ClusterName, in.ContainerInstances); err != nil {
			return err
		}
		req.launchType = targets.launchType
		spec, err = a.resolveSpec(tx, c.ClusterName, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.startOn(ctx, in.Cluster, spec, targets)
}

func (a *API) startOn(ctx context.Context, clusterRef string, spec *taskSpec, targets *startTargets) (*model.StartTaskResponse, error) {
	task := spec.schedSpec(nil)
	res, err := a.place.Place(ctx, &placement.Request{
		Cluster: spec.cluster, Task: &task, On: targets.ids,
		Build:  func(inst *store.InstanceRecord) (*store.TaskRecord, error) { return a.newTask(spec, inst), nil },
		Before: func(tx store.Tx) error { return a.checkLaunch(tx, clusterRef, spec) },
	})
	if err != nil {
		return nil, err
	}
	out := &model.StartTaskResponse{Tasks: make([]model.Task, 0, len(res.Tasks))}
	for _, t := range res.Tasks {
		out.Tasks = append(out.Tasks, taskView(t, true))
	}
	for i, o := range res.Outcomes {
		switch {
		case o.Reason == "":
		case o.Node == nil:
			targets.fails.add(model.Failure{Arn: a.instanceFailureARN(spec.cluster, targets.refs[i]), Reason: o.Reason})
		default:
			targets.fails.add(model.Failure{Arn: o.Node.ARN, Reason: o.Reason, Detail: o.Detail})
		}
	}
	out.Failures = append([]model.Failure{}, targets.fails.list...)
	return out, nil
}

// startTargets are StartTask's instances: the ids to place on, in order,
// with the reference each came from, the failures of those that cannot be
// (MISSING, INACTIVE), and the launch type of the first.
type startTargets struct {
	ids, refs  []string
	fails      *failureSet
	launchType model.LaunchType
}

// startNodes resolves StartTask's instances. An instance listed twice gets
// two tasks if it can take both.
func (a *API) startNodes(tx store.ReadTx, cluster string, refs []string) (*startTargets, error) {
	t := &startTargets{fails: &failureSet{}, ids: []string{}, launchType: model.LaunchTypeEc2}
	for _, ref := range refs {
		rec, err := getInstance(tx, cluster, ref)
		if err != nil {
			return nil, err
		}
		switch {
		case rec == nil:
			t.fails.add(model.Failure{Arn: a.instanceFailureARN(cluster, ref), Reason: reasonMissing})
		case rec.Status == model.StatusInactive:
			t.fails.add(model.Failure{Arn: rec.ContainerInstanceArn, Reason: reasonInactive})
		default:
			if len(t.ids) == 0 && servesLaunchType(rec, model.LaunchTypeExternal) {
				t.launchType = model.LaunchTypeExternal
			}
			t.ids, t.refs = append(t.ids, rec.ID), append(t.refs, ref)
		}
	}
	return t, nil
}
