package ctrl

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// Elector is the leader-election port.
//
// Campaign blocks until this process leads, or until ctx ends (then it
// returns an error). The returned context ends when leadership is lost or
// ctx ends; an elector gives up its leadership when ctx ends.
type Elector interface {
	Campaign(ctx context.Context) (leaderCtx context.Context, err error)
}

// AlwaysLeader is the Elector of a single server: it leads at once and
// until ctx ends.
type AlwaysLeader struct{}

// Campaign returns ctx.
func (AlwaysLeader) Campaign(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ctx, nil
}

// Manager runs its Controllers while Elector says this process leads.
type Manager struct {
	// Elector defaults to AlwaysLeader.
	Elector     Elector
	Controllers []*Controller
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Run campaigns and, while leading, runs every controller; when leadership
// is lost it waits for them all to stop and campaigns again. It returns nil
// when ctx ends (after the controllers have stopped), or an error if a
// controller is misconfigured or Campaign fails while ctx is still live.
func (m *Manager) Run(ctx context.Context) error {
	for _, c := range m.Controllers {
		if err := c.validate(); err != nil {
			return err
		}
	}
	el, log := m.Elector, m.Logger
	if el == nil {
		el = AlwaysLeader{}
	}
	if log == nil {
		log = slog.Default()
	}
	for {
		leaderCtx, err := el.Campaign(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ctrl: campaign: %w", err)
		}
		log.Info("leading; starting controllers", "controllers", len(m.Controllers))
		m.runAll(ctx, leaderCtx)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("leadership lost; controllers stopped")
	}
}

// runAll runs every controller until ctx or leaderCtx ends and they have
// all stopped.
func (m *Manager) runAll(ctx, leaderCtx context.Context) {
	runCtx, cancel := context.WithCancel(leaderCtx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	var wg sync.WaitGroup
	for _, c := range m.Controllers {
		wg.Go(func() { _ = c.Run(runCtx) }) // validated by Run
	}
	wg.Wait()
}
