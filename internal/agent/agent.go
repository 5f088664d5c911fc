package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/task"
	"github.com/quayside/quayside/internal/agentproto"
)

// controlPlane is what the agent needs of the protocol client.
type controlPlane interface {
	Register(context.Context, *agentproto.RegisterRequest) (*agentproto.RegisterResponse, error)
	Heartbeat(context.Context, *agentproto.HeartbeatRequest) (*agentproto.HeartbeatResponse, error)
	Assignments(context.Context, *agentproto.AssignmentsRequest) (*agentproto.AssignmentsResponse, error)
	Report(context.Context, *agentproto.ReportRequest) (*agentproto.ReportResponse, error)
}

// callTimeout bounds every call but the assignments long poll (which has
// its own bound), so that a control plane that stops answering on an open
// connection cannot stall the agent.
const callTimeout = 30 * time.Second

// timed applies callTimeout to a control plane's short calls.
type timed struct{ controlPlane }

func (t timed) Register(ctx context.Context, in *agentproto.RegisterRequest) (*agentproto.RegisterResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return t.controlPlane.Register(ctx, in)
}

func (t timed) Heartbeat(ctx context.Context, in *agentproto.HeartbeatRequest) (*agentproto.HeartbeatResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return t.controlPlane.Heartbeat(ctx, in)
}

func (t timed) Report(ctx context.Context, in *agentproto.ReportRequest) (*agentproto.ReportResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return t.controlPlane.Report(ctx, in)
}

// Agent is a node agent. Build it with New and run it with Run, once.
type Agent struct {
	cfg Config
	log *slog.Logger
	rt  runtime.Runtime
	cp  controlPlane
	now func() time.Time

	j      *journal
	cancel context.CancelCauseFunc
	kick   chan struct{} // wakes the reporter
	ready  chan struct{} // closed once registered
	regMu  sync.Mutex    // one registration at a time

	mu       sync.Mutex
	id       identity
	info     runtime.Info
	period   time.Duration // heartbeat period
	pollWait time.Duration
	runners  map[string]*runner
	finished map[string]time.Time // tasks done recently (stale assignments are ignored)
	synced   bool                 // a full assignment set has been applied
	bg       sync.WaitGroup       // reapers
}

// fatalError ends the agent: the control plane refused it for good.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// Run runs a node agent until ctx ends (nil) or the control plane refuses
// it for good (the error).
func Run(ctx context.Context, cfg Config) error {
	a, err := New(cfg)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// New checks cfg and builds an agent.
func New(cfg Config) (*Agent, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Agent{
		cfg:      c,
		log:      c.Logger,
		rt:       c.Runtime,
		cp:       timed{agentproto.NewClient(c.Server, c.Token, hc)},
		now:      c.Clock,
		kick:     make(chan struct{}, 1),
		ready:    make(chan struct{}),
		period:   10 * time.Second,
		pollWait: 20 * time.Second,
		runners:  map[string]*runner{},
		finished: map[string]time.Time{},
	}, nil
}

// Run registers the node and runs its tasks until ctx ends. Ending ctx
// leaves the tasks' containers running: a later Run on the same DataDir
// adopts them.
func (a *Agent) Run(parent context.Context) error {
	j, err := openJournal(a.cfg.DataDir)
	if err != nil {
		return err
	}
	defer j.Close()
	a.j = j
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	a.cancel = cancel
	if err := a.loadIdentity(); err != nil {
		return err
	}
	if err := a.restore(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.session(ctx) })
	wg.Go(func() { a.reportLoop(ctx) })
	wg.Go(func() { a.eventLoop(ctx) })
	<-ctx.Done()
	wg.Wait()
	a.stopRunners()
	a.bg.Wait()
	a.settle()
	var fe fatalError
	if errors.As(context.Cause(ctx), &fe) {
		return fe.err
	}
	return nil
}

// fail ends the agent with err.
func (a *Agent) fail(err error) {
	a.log.Error("agent stopping", "err", err)
	a.cancel(fatalError{err})
}

func (a *Agent) loadIdentity() error {
	id, err := readIdentity(a.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("agent: read identity: %w", err)
	}
	if id.Cluster != "" && id.Cluster != a.cfg.Cluster {
		return fmt.Errorf("agent: data directory %s belongs to a node of cluster %q, not %q", a.cfg.DataDir, id.Cluster, a.cfg.Cluster)
	}
	id.Cluster = a.cfg.Cluster
	if id.EC2InstanceID == "" {
		id.EC2InstanceID = newEC2InstanceID()
		if err := writeIdentity(a.cfg.DataDir, id); err != nil {
			return err
		}
	}
	a.id = id
	return nil
}

// restore starts runners for the tasks the previous run was managing, so
// they are looked after even before the control plane answers.
func (a *Agent) restore(ctx context.Context) error {
	recs, err := a.j.tasks()
	if err != nil {
		return fmt.Errorf("agent: read journal: %w", err)
	}
	for i := range recs {
		rec := &recs[i]
		arn := rec.Assignment.Task.TaskArn
		switch {
		case arn == "":
			continue
		case rec.Done:
			a.finished[arn] = a.now()
		default:
			a.startRunner(ctx, &rec.Assignment, rec)
		}
	}
	if len(recs) > 0 {
		a.log.Info("restored tasks from the journal", "tasks", len(a.runners), "pendingReports", a.j.outboxLen())
	}
	return nil
}

func (a *Agent) instanceArn() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id.ContainerInstanceArn
}

func (a *Agent) taskOptions() task.Options {
	return task.Options{
		Cluster:            a.cfg.Cluster,
		Instance:           a.instanceArn(),
		PauseImage:         a.cfg.PauseImage,
		DefaultStopTimeout: a.cfg.StopTimeout,
	}
}

func (a *Agent) kickReporter() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// nextBackoff doubles a retry delay from 100ms up to maxBackoff.
func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 100 * time.Millisecond
	}
	return min(2*d, maxBackoff)
}
