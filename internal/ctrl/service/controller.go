package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/ctrl"
	"github.com/quayside/quayside/internal/placement"
	"github.com/quayside/quayside/internal/store"
)

// Defaults of Deps.
const (
	// DefaultLostAfter is how long an instance stays disconnected before
	// its service tasks are replaced. With the default 2 s heartbeat and 3
	// missed heartbeats, a node is marked disconnected 6 to 8 s after it
	// was last heard from (4 to 8 s after it was cut off); half a second
	// more keeps detection plus replacement within 10 s with a margin.
	DefaultLostAfter    = 500 * time.Millisecond
	DefaultSuccessAfter = 10 * time.Second
	DefaultResync       = 30 * time.Second
	DefaultWorkers      = 4
)

// Deps is what the controller needs.
type Deps struct {
	Store     store.Store
	Placement *placement.Engine // places the services' tasks
	Scope     arn.Scope         // of the task ARNs
	// LostAfter is the grace period of a disconnected instance (default
	// DefaultLostAfter); SuccessAfter how long a task must run to count as
	// a successful run (default DefaultSuccessAfter).
	LostAfter    time.Duration
	SuccessAfter time.Duration
	// Resync is how often every service is looked at even without a
	// change (default DefaultResync).
	Resync  time.Duration
	Workers int
	Now     func() time.Time
	Logger  *slog.Logger
}

// controller is the Reconciler.
type controller struct {
	d     Deps
	reg   *registry
	marks *markCache
}

// New returns the service controller, to run under a ctrl.Manager. Its
// keys are Key(cluster, service).
func New(d Deps) *ctrl.Controller {
	if d.LostAfter <= 0 {
		d.LostAfter = DefaultLostAfter
	}
	if d.SuccessAfter <= 0 {
		d.SuccessAfter = DefaultSuccessAfter
	}
	if d.Resync <= 0 {
		d.Resync = DefaultResync
	}
	if d.Workers <= 0 {
		d.Workers = DefaultWorkers
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	c := &controller{d: d, reg: newRegistry(d.Now), marks: &markCache{m: map[string]map[string]cachedMark{}}}
	return &ctrl.Controller{
		Name:       "service",
		Reconciler: c,
		Workers:    d.Workers,
		Sources: []ctrl.Source{
			ctrl.WatchPrefix(d.Store, store.ServicesPrefix, c.reg.serviceEvent),
			ctrl.WatchPrefix(d.Store, store.TasksPrefix, c.reg.taskEvent),
			ctrl.WatchPrefix(d.Store, store.InstancesPrefix, c.reg.instanceEvent),
			ctrl.WatchPrefix(d.Store, store.TargetsPrefix, c.reg.targetEvent),
			ctrl.Every(d.Resync, func(context.Context) ([]string, error) { return c.reg.allKeys(), nil }),
		},
		Logger: d.Logger,
	}
}

// errStale aborts an apply whose service changed since it was read.
var errStale = errors.New("service: changed since it was read")

// Reconcile reads the service and what it runs, decides and applies.
func (c *controller) Reconcile(ctx context.Context, key string) (ctrl.Result, error) {
	cluster, name, ok := splitKey(key)
	if !ok {
		return ctrl.Result{}, ctrl.Terminal(errors.New("service: malformed key " + key))
	}
	var o *observed
	err := c.d.Store.View(ctx, func(tx store.ReadTx) (err error) {
		o, err = c.observe(tx, cluster, name)
		return err
	})
	if err != nil || o == nil {
		return ctrl.Result{}, err
	}
	now := c.d.Now()
	in := c.input(o, now)
	plan := Decide(in)
	blocked, err := c.apply(ctx, o, plan, now)
	if errors.Is(err, errStale) {
		return ctrl.Result{RequeueAfter: time.Millisecond}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	c.reg.setBlocked(key, blocked)
	return ctrl.Result{RequeueAfter: plan.RequeueAfter}, nil
}

// input is Decide's input from what was observed.
func (c *controller) input(o *observed, now time.Time) *Input {
	in := &Input{
		Service: o.svc, Tasks: o.tasks, Nodes: o.nodes, HealthChecks: o.healthChecks(), Now: now,
		Policy: Policy{LostAfter: c.d.LostAfter, SuccessAfter: c.d.SuccessAfter, NewDeploymentID: newDeploymentID},
	}
	if p := primaryOf(o.svc); p != nil {
		_, in.Unlaunchable = newLaunchSpec(c.d.Scope, o.svc, *p, o.defs[p.TaskDefinition])
	}
	return in
}
