package agent

import (
	"context"
	"errors"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
)

// maxReportBatch bounds the reports sent in one call; settleEvery is how
// often acknowledgements are written while reports keep coming.
const (
	maxReportBatch = 256
	settleEvery    = 200 * time.Millisecond
)

// reportLoop delivers the journal's outbox: every report at least once and
// in order per task. Reports stay in the journal until acknowledged; while
// the control plane is unreachable they queue up and are retried with
// backoff.
func (a *Agent) reportLoop(ctx context.Context) {
	select {
	case <-a.ready:
	case <-ctx.Done():
		return
	}
	var backoff time.Duration
	settled := time.Now()
	for ctx.Err() == nil {
		batch, err := a.j.pending(maxReportBatch)
		if err != nil {
			a.log.Error("journal: cannot read the outbox", "err", err)
			backoff = nextBackoff(backoff)
			sleep(ctx, backoff)
			continue
		}
		if len(batch) == 0 || time.Since(settled) > settleEvery {
			a.settle()
			settled = time.Now()
		}
		if len(batch) == 0 {
			select {
			case <-a.kick:
			case <-ctx.Done():
			}
			continue
		}
		if a.deliver(ctx, batch) {
			backoff = 0
			continue
		}
		backoff = nextBackoff(backoff)
		sleep(ctx, backoff)
	}
}

// settle writes the acknowledgements received to the journal.
func (a *Agent) settle() {
	if err := a.j.settle(); err != nil {
		a.log.Error("journal: cannot record acknowledgements", "err", err)
	}
}

// deliver sends one batch and forgets what the control plane acknowledged.
// It reports whether the batch made progress.
func (a *Agent) deliver(ctx context.Context, batch []agentproto.TaskReport) bool {
	resp, err := a.cp.Report(ctx, &agentproto.ReportRequest{ContainerInstanceArn: a.instanceArn(), Reports: batch})
	var pe *agentproto.Error
	switch {
	case errors.As(err, &pe) && pe.Code == agentproto.CodeBadRequest:
		return a.deliverEach(ctx, batch)
	case err != nil:
		if a.recover(ctx, err) {
			a.log.Warn("reports not delivered; will retry", "reports", len(batch), "err", err)
		}
		return false
	}
	a.j.ack(resp.Acked)
	return len(resp.Acked) > 0
}

// deliverEach sends a refused batch task by task, so that the reports of one
// task the control plane refuses (placed on another node, say) cannot hold
// up the others: those are dropped.
func (a *Agent) deliverEach(ctx context.Context, batch []agentproto.TaskReport) bool {
	progress := false
	for len(batch) > 0 {
		n := 1
		for n < len(batch) && batch[n].TaskArn == batch[0].TaskArn {
			n++
		}
		group := batch[:n]
		batch = batch[n:]
		resp, err := a.cp.Report(ctx, &agentproto.ReportRequest{ContainerInstanceArn: a.instanceArn(), Reports: group})
		var pe *agentproto.Error
		switch {
		case errors.As(err, &pe) && pe.Code == agentproto.CodeBadRequest:
			a.log.Error("the control plane refuses the reports of a task; dropping them", "task", group[0].TaskArn, "reports", n, "err", err)
			resp = &agentproto.ReportResponse{Acked: []agentproto.Ack{{TaskArn: group[0].TaskArn, Seq: group[n-1].Seq}}}
		case err != nil:
			a.recover(ctx, err)
			return progress
		}
		a.j.ack(resp.Acked)
		progress = true
	}
	return progress
}
