package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

// pollMargin is how much longer than the server's PollWait an assignments
// call may take before the agent gives up on it.
const pollMargin = 30 * time.Second

// session registers the node, then heartbeats and long-polls assignments
// until ctx ends.
func (a *Agent) session(ctx context.Context) {
	if !a.engineInfo(ctx) || !a.registerUntilDone(ctx) {
		return
	}
	close(a.ready)
	var wg sync.WaitGroup
	wg.Go(func() { a.heartbeatLoop(ctx) })
	a.assignmentLoop(ctx)
	wg.Wait()
}

// engineInfo asks the runtime about the machine, retrying while the engine
// is unreachable.
func (a *Agent) engineInfo(ctx context.Context) bool {
	var backoff time.Duration
	for {
		info, err := a.rt.Info(ctx)
		if err == nil {
			a.mu.Lock()
			a.info = info
			a.mu.Unlock()
			return true
		}
		backoff = nextBackoff(backoff)
		a.log.Warn("container engine unreachable", "err", err, "retryIn", backoff)
		if !sleep(ctx, backoff) {
			return false
		}
	}
}

func (a *Agent) registerUntilDone(ctx context.Context) bool {
	var backoff time.Duration
	for {
		err := a.register(ctx)
		if err == nil {
			return true
		}
		if a.fatal(err) || ctx.Err() != nil {
			return false
		}
		backoff = nextBackoff(backoff)
		a.log.Warn("registration failed", "err", err, "retryIn", backoff)
		if !sleep(ctx, backoff) {
			return false
		}
	}
}

// register announces the node (again) and records its identity.
func (a *Agent) register(ctx context.Context) error {
	a.regMu.Lock()
	defer a.regMu.Unlock()
	a.mu.Lock()
	id, info := a.id, a.info
	a.mu.Unlock()
	resp, err := a.cp.Register(ctx, a.registerRequest(info, id))
	var pe *agentproto.Error
	if errors.As(err, &pe) && pe.Code == agentproto.CodeInstanceNotFound && id.ContainerInstanceArn != "" {
		a.log.Warn("the control plane forgot this node; registering as a new one", "containerInstanceArn", id.ContainerInstanceArn)
		id.ContainerInstanceArn = ""
		resp, err = a.cp.Register(ctx, a.registerRequest(info, id))
	}
	if err != nil {
		return err
	}
	if id.ContainerInstanceArn != resp.ContainerInstanceArn {
		id.ContainerInstanceArn = resp.ContainerInstanceArn
		if err := writeIdentity(a.cfg.DataDir, id); err != nil {
			return fmt.Errorf("agent: save identity: %w", err)
		}
	}
	a.mu.Lock()
	a.id = id
	if resp.HeartbeatPeriod > 0 {
		a.period = resp.HeartbeatPeriod
	}
	if resp.PollWait > 0 {
		a.pollWait = resp.PollWait
	}
	a.mu.Unlock()
	a.log.Info("registered", "cluster", a.cfg.Cluster, "containerInstanceArn", id.ContainerInstanceArn,
		"ec2InstanceId", id.EC2InstanceID, "heartbeatPeriod", resp.HeartbeatPeriod)
	return nil
}

// fatal reports whether err means the agent must stop, and stops it if so.
func (a *Agent) fatal(err error) bool {
	var pe *agentproto.Error
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case agentproto.CodeInstanceInactive:
		a.fail(fmt.Errorf("agent: the container instance was deregistered: %w", err))
	case agentproto.CodeUnauthorized:
		a.fail(fmt.Errorf("agent: the control plane refused the agent token: %w", err))
	case agentproto.CodeClusterNotFound:
		a.fail(fmt.Errorf("agent: cluster %q does not exist: %w", a.cfg.Cluster, err))
	default:
		return false
	}
	return true
}

// recover handles a failed call: it reports whether the caller may go on
// (after re-registering when the control plane no longer knows the node).
func (a *Agent) recover(ctx context.Context, err error) bool {
	if ctx.Err() != nil || a.fatal(err) {
		return false
	}
	var pe *agentproto.Error
	if errors.As(err, &pe) && pe.Code == agentproto.CodeInstanceNotFound {
		if rerr := a.register(ctx); rerr != nil && a.fatal(rerr) {
			return false
		}
	}
	return true
}

func (a *Agent) heartbeatLoop(ctx context.Context) {
	for {
		a.mu.Lock()
		period := a.period
		a.mu.Unlock()
		if !sleep(ctx, period) {
			return
		}
		resp, err := a.cp.Heartbeat(ctx, &agentproto.HeartbeatRequest{ContainerInstanceArn: a.instanceArn()})
		if err != nil {
			if !a.recover(ctx, err) {
				return
			}
			a.log.Warn("heartbeat failed", "err", err)
			continue
		}
		if resp.HeartbeatPeriod > 0 {
			a.mu.Lock()
			a.period = resp.HeartbeatPeriod
			a.mu.Unlock()
		}
	}
}

// assignmentLoop long-polls the node's tasks: the full set first, then the
// changes after each answer's revision.
func (a *Agent) assignmentLoop(ctx context.Context) {
	var after int64
	var backoff time.Duration
	for ctx.Err() == nil {
		a.mu.Lock()
		wait := a.pollWait
		a.mu.Unlock()
		pctx, cancel := context.WithTimeout(ctx, wait+pollMargin)
		arn := a.instanceArn()
		resp, err := a.cp.Assignments(pctx, &agentproto.AssignmentsRequest{ContainerInstanceArn: arn, After: after})
		cancel()
		if err != nil {
			if !a.recover(ctx, err) {
				return
			}
			if a.instanceArn() != arn {
				after = 0
			}
			backoff = nextBackoff(backoff)
			a.log.Warn("assignments poll failed", "err", err, "retryIn", backoff)
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		a.applyAssignments(ctx, resp)
		if resp.Revision > 0 {
			after = resp.Revision
		}
	}
}

func (a *Agent) applyAssignments(ctx context.Context, resp *agentproto.AssignmentsResponse) {
	for i := range resp.Tasks {
		a.assign(ctx, &resp.Tasks[i])
	}
	if resp.Full {
		a.syncFull(ctx, resp.Tasks)
	}
}

// assign hands an assignment to its task's runner, starting one for a task
// the node does not run yet.
func (a *Agent) assign(ctx context.Context, asg *agentproto.Assignment) {
	arn := asg.Task.TaskArn
	a.mu.Lock()
	r := a.runners[arn]
	_, done := a.finished[arn]
	a.mu.Unlock()
	switch {
	case r != nil:
		r.update(asg)
	case done || asg.Task.LastStatus == model.StatusStopped:
		// Finished here, or finished before this node lost its records.
	default:
		a.startRunner(ctx, asg, nil)
	}
}

// syncFull applies a full set: the node's tasks that are not in it are
// unknown to the control plane; they are stopped and removed, unreported.
func (a *Agent) syncFull(ctx context.Context, tasks []agentproto.Assignment) {
	known := make(map[string]bool, len(tasks))
	for i := range tasks {
		known[tasks[i].Task.TaskArn] = true
	}
	var unknown []*runner
	a.mu.Lock()
	for arn, r := range a.runners {
		if !known[arn] {
			unknown = append(unknown, r)
		}
	}
	a.pruneFinished()
	a.synced = true
	a.mu.Unlock()
	for _, r := range unknown {
		a.log.Warn("task unknown to the control plane; removing its containers", "task", r.arn)
		a.forget(ctx, r)
	}
	a.bg.Go(func() { a.reapOrphans(ctx) })
}
