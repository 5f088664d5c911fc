package server

import (
	"context"

	"github.com/quayside/quayside/internal/api/ecs"
)

// EnsureCluster creates the named cluster unless it exists and is ACTIVE,
// exactly as the CreateCluster operation would.
func (s *Server) EnsureCluster(ctx context.Context, name string) error {
	api := ecs.New(ecs.Deps{Store: s.store, Scope: s.Scope(), Now: s.cfg.Now, Logger: s.cfg.Logger})
	return api.EnsureCluster(ctx, name)
}
