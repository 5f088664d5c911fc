package lb

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// syncTargets brings the registry in line with the stored targets: new
// backends start with the health their record shows (so a restarted server
// keeps routing to healthy targets), draining records start a drainer, and
// targets whose record is gone are dropped.
func (l *LB) syncTargets() {
	seen := make(map[targetKey]bool, len(l.st.targets))
	for _, rec := range l.st.targets {
		k := targetKey{tg: rec.TargetGroupID, id: rec.ID, port: rec.Port}
		seen[k] = true
		addr := l.address(rec)
		e := l.targets[k]
		if e != nil && e.b.addr != addr {
			l.dropEntry(k, e)
			e = nil
		}
		if e == nil {
			e = &entry{b: newBackend(k, addr)}
			e.b.health = initialHealth(rec)
			// A verdict stands until new evidence; a mitigation does not
			// outlive the backend (its weight starts full): say so.
			e.b.anomaly = anomaly{result: rec.Anomaly}
			l.targets[k] = e
			if rec.Mitigating {
				l.writer.enqueue(e.b)
			}
		}
		if rec.State == store.TargetDraining {
			l.startDrain(e, rec.DrainUntil.Time)
		} else if e.b.draining.Load() {
			// Registered again while draining: back in service.
			l.stopDrain(e)
			e.b.draining.Store(false)
			e.b.mu.Lock()
			e.b.health = initialHealth(rec)
			e.b.mu.Unlock()
		}
	}
	for k, e := range l.targets {
		if !seen[k] {
			l.dropEntry(k, e)
		}
	}
}

// address is where a target listens: an IP target at its IP, an instance
// target at its node's address (127.0.0.1 when the node gave none).
func (l *LB) address(rec *store.TargetRecord) string {
	host := rec.ID
	if net.ParseIP(host) == nil {
		host = rec.Host
		if host == "" {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(int(rec.Port)))
}

func initialHealth(rec *store.TargetRecord) health {
	switch rec.State {
	case store.TargetHealthy, store.TargetUnhealthy:
		return health{state: rec.State, reason: rec.Reason, desc: rec.Description}
	}
	return health{state: store.TargetInitial, reason: store.ReasonInitialHealthChecking, desc: "Initial health checks in progress"}
}

func (l *LB) dropEntry(k targetKey, e *entry) {
	e.b.draining.Store(true)
	l.stopCheck(e)
	l.stopDrain(e)
	e.b.close()
	delete(l.targets, k)
}

// drainRun is a running drainer.
type drainRun struct {
	cancel context.CancelFunc
}

// startDrain stops new requests to the target (its draining flag is set
// before the next snapshot leaves it out) and deletes its record once the
// requests in flight are done or the deregistration delay is over,
// whichever comes first — as ELB completes a deregistration early when the
// target has nothing in flight.
func (l *LB) startDrain(e *entry, until time.Time) {
	if e.drain != nil && e.drainUntil.Equal(until) {
		return
	}
	l.stopDrain(e)
	l.stopCheck(e)
	e.b.draining.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	e.drain, e.drainUntil = &drainRun{cancel: cancel}, until
	b := e.b
	l.wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for b.inflight.Load() > 0 && l.deps.Now().Before(until) {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		if ctx.Err() == nil {
			l.writer.drained(b.key, until)
			b.pool.closeIdle()
		}
	})
}

func (l *LB) stopDrain(e *entry) {
	if e.drain != nil {
		e.drain.cancel()
		e.drain = nil
	}
}
