package server

import (
	"context"

	"github.com/quayside/quayside/internal/ctrl"
	"github.com/quayside/quayside/internal/ctrl/taskgc"
)

// controllers are the background controllers the server runs under its
// ctrl.Manager. Each lives in internal/ctrl/<name>, reads and writes only
// the store, and knows nothing of the others.
func (s *Server) controllers() []*ctrl.Controller {
	return []*ctrl.Controller{
		taskgc.New(taskgc.Deps{Store: s.store, Retention: s.cfg.Retention, Now: s.cfg.Now, Logger: s.cfg.Logger}),
	}
}

// startControllers runs the controllers under a Manager until
// stopControllers. A single server on the embedded store always leads.
func (s *Server) startControllers() {
	ctx, cancel := context.WithCancel(context.Background())
	m := &ctrl.Manager{Elector: ctrl.AlwaysLeader{}, Controllers: s.controllers(), Logger: s.cfg.Logger}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Run(ctx); err != nil {
			s.cfg.Logger.Error("controllers stopped", "err", err)
		}
	}()
	s.stopCtrl = func() { cancel(); <-done }
}

// stopControllers stops the controllers and waits until none runs.
func (s *Server) stopControllers() {
	if s.stopCtrl != nil {
		s.stopCtrl()
	}
}
