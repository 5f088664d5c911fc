package server

import (
	"context"
	"time"

	"github.com/quayside/quayside/internal/ctrl"
	"github.com/quayside/quayside/internal/ctrl/instancehealth"
	"github.com/quayside/quayside/internal/ctrl/service"
	"github.com/quayside/quayside/internal/ctrl/taskgc"
	"github.com/quayside/quayside/internal/placement"
)

// controllers are the background controllers the server runs under its
// ctrl.Manager. Each lives in internal/ctrl/<name>, reads and writes only
// the store, and knows nothing of the others. place is the placement
// engine of the service scheduler.
func (s *Server) controllers(place *placement.Engine) []*ctrl.Controller {
	return []*ctrl.Controller{
		s.instanceHealth(),
		service.New(service.Deps{
			Store: s.store, Placement: place, Scope: s.Scope(),
			LostAfter: s.cfg.LostNodeGrace, SuccessAfter: s.cfg.TaskSuccessAfter,
			Now: s.cfg.Now, Logger: s.cfg.Logger,
		}),
		taskgc.New(taskgc.Deps{Store: s.store, Retention: s.cfg.Retention, Now: s.cfg.Now, Logger: s.cfg.Logger}),
	}
}

// instanceHealth marks silent nodes disconnected, checking once per
// heartbeat period.
func (s *Server) instanceHealth() *ctrl.Controller {
	health := instancehealth.New(instancehealth.Deps{
		Store:    s.store,
		LastSeen: s.agent.Liveness().LastSeen,
		Period:   s.cfg.HeartbeatPeriod,
		Missed:   s.cfg.MissedHeartbeats,
		Now:      s.cfg.Now,
		Logger:   s.cfg.Logger,
	})
	const key = "all"
	return &ctrl.Controller{
		Name: "instancehealth",
		Reconciler: ctrl.Func(func(ctx context.Context, _ string) (ctrl.Result, error) {
			return ctrl.Result{}, health.Check(ctx)
		}),
		Sources: []ctrl.Source{ctrl.Every(s.cfg.HeartbeatPeriod, func(context.Context) ([]string, error) { return []string{key}, nil })},
		Backoff: ctrl.Backoff{Max: max(s.cfg.HeartbeatPeriod, time.Second)},
		Logger:  s.cfg.Logger,
	}
}

// startControllers runs the controllers under a Manager until
// stopControllers. A single server on the embedded store always leads.
func (s *Server) startControllers() {
	ctx, cancel := context.WithCancel(context.Background())
	place := placement.New(placement.Deps{Store: s.store, Logger: s.cfg.Logger})
	m := &ctrl.Manager{Elector: ctrl.AlwaysLeader{}, Controllers: s.controllers(place), Logger: s.cfg.Logger}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Run(ctx); err != nil {
			s.cfg.Logger.Error("controllers stopped", "err", err)
		}
	}()
	s.stopCtrl = func() { cancel(); <-done; place.Close() }
}

// stopControllers stops the controllers and waits until none runs.
func (s *Server) stopControllers() {
	if s.stopCtrl != nil {
		s.stopCtrl()
	}
}
