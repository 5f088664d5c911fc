package agentapi

import (
	"context"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// report applies the node's task reports in one transaction and
// acknowledges each: applied now, applied before (Seq not above the task's
// ReportedSeq), or about a task the store no longer has. A report about a
// task placed on another node fails the whole request. Reports are applied
// even from a deregistered node, so that its tasks' ends are recorded.
func (h *Handler) report(ctx context.Context, in *agentproto.ReportRequest) (*agentproto.ReportResponse, error) {
	n, err := nodeOf(in.ContainerInstanceArn)
	if err != nil {
		return nil, err
	}
	now := h.d.Now()
	h.live.Seen(n.cluster, n.id, now)
	out := &agentproto.ReportResponse{}
	_, err = h.d.Store.Update(ctx, func(tx store.Tx) error {
		out.Acked = make([]agentproto.Ack, 0, len(in.Reports))
		for i := range in.Reports {
			if err := applyReportTx(tx, n, &in.Reports[i], now); err != nil {
				return err
			}
			out.Acked = append(out.Acked, agentproto.Ack{TaskArn: in.Reports[i].TaskArn, Seq: in.Reports[i].Seq})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func applyReportTx(tx store.Tx, n nodeRef, r *agentproto.TaskReport, now time.Time) error {
	ref, ok := parseChildARN(r.TaskArn, "task")
	if !ok {
		return badRequest("%q is not a task ARN.", r.TaskArn)
	}
	if ref.cluster != n.cluster {
		return badRequest("Task %s is not in the cluster of container instance %s.", r.TaskArn, n.id)
	}
	var t store.TaskRecord
	_, found, err := store.GetJSON(tx, store.TaskKey(ref.cluster, ref.id), &t)
	if err != nil || !found {
		return err
	}
	if t.InstanceID != n.id {
		return badRequest("Task %s is not placed on container instance %s.", r.TaskArn, n.id)
	}
	if !applyReport(&t, r, now) {
		return nil
	}
	return store.SaveTask(tx, &t)
}

// applyReport merges report r into task t and reports whether it did (it
// does not when r.Seq is not above t.ReportedSeq). Observed status only
// moves forward; fields r leaves zero stay as they were; timestamps are set
// once; a stop code and reason already there (StopTask's) are kept. A task
// that is stopping or stopped on its node is desired STOPPED, as in ECS.
func applyReport(t *store.TaskRecord, r *agentproto.TaskReport, now time.Time) bool {
	if r.Seq <= t.ReportedSeq {
		return false
	}
	t.ReportedSeq = r.Seq
	if model.TaskStatusAdvances(t.LastStatus, r.LastStatus) {
		t.LastStatus = r.LastStatus
	}
	if model.TaskStatusRank(t.LastStatus) >= model.TaskStatusRank(model.StatusDeactivating) {
		t.DesiredStatus = model.StatusStopped
	}
	if r.HealthStatus != "" {
		t.HealthStatus = r.HealthStatus
	}
	if t.StopCode == "" {
		t.StopCode = r.StopCode
	}
	setString(&t.StoppedReason, r.StoppedReason, t.StoppedReason == "")
	for i := range r.Containers {
		mergeContainer(t.Containers, &r.Containers[i])
	}
	t.Attachments = mergeAttachments(t.Attachments, r.Attachments)
	setTimes(&t.Task, r)
	if t.LastStatus == model.StatusStopped && t.StoppedAt.IsZero() {
		t.StoppedAt = model.At(now)
	}
	return true
}

// mergeContainer applies a container's report to the task's container of
// the same name (none: ignored).
func mergeContainer(cs []model.Container, r *agentproto.ContainerReport) {
	for i := range cs {
		if cs[i].Name != r.Name {
			continue
		}
		c := &cs[i]
		if model.TaskStatusAdvances(c.LastStatus, r.LastStatus) {
			c.LastStatus = r.LastStatus
		}
		setString(&c.RuntimeId, r.RuntimeID, true)
		setString(&c.Reason, r.Reason, true)
		setString(&c.ImageDigest, r.ImageDigest, true)
		if r.HealthStatus != "" {
			c.HealthStatus = r.HealthStatus
		}
		if r.ExitCode != nil {
			c.ExitCode = new(*r.ExitCode)
		}
		if r.NetworkBindings != nil {
			c.NetworkBindings = r.NetworkBindings
		}
		if r.NetworkInterfaces != nil {
			c.NetworkInterfaces = r.NetworkInterfaces
		}
		return
	}
}

// mergeAttachments replaces the attachments with the ids reported and adds
// the new ones.
func mergeAttachments(have, got []model.Attachment) []model.Attachment {
	for _, a := range got {
		replaced := false
		for i := range have {
			if have[i].Id == a.Id {
				have[i], replaced = a, true
				break
			}
		}
		if !replaced {
			have = append(have, a)
		}
	}
	return have
}

// setString sets *dst to v when v is not empty and ok.
func setString(dst *string, v string, ok bool) {
	if ok && v != "" {
		*dst = v
	}
}

// setTimes sets each task timestamp the report carries and the task does
// not have yet.
func setTimes(t *model.Task, r *agentproto.TaskReport) {
	for _, p := range []struct {
		dst *model.Time
		v   model.Time
	}{
		{&t.PullStartedAt, r.PullStartedAt},
		{&t.PullStoppedAt, r.PullStoppedAt},
		{&t.ConnectivityAt, r.ConnectivityAt},
		{&t.StartedAt, r.StartedAt},
		{&t.StoppingAt, r.StoppingAt},
		{&t.ExecutionStoppedAt, r.ExecutionStoppedAt},
		{&t.StoppedAt, r.StoppedAt},
	} {
		if p.dst.IsZero() && !p.v.IsZero() {
			*p.dst = p.v
		}
	}
	if !t.ConnectivityAt.IsZero() {
		t.Connectivity = model.ConnectivityConnected
	}
}
