package instancehealth

import (
	"context"
	"log/slog"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// DefaultMissedHeartbeats is how many heartbeat periods of silence make a
// node disconnected.
const DefaultMissedHeartbeats = 3

// Deps is what the controller needs.
type Deps struct {
	Store store.Store
	// LastSeen tells when this process last heard from a node.
	LastSeen func(cluster, id string) (time.Time, bool)
	// Period is the agents' heartbeat period; the controller checks once
	// per period.
	Period time.Duration
	// Missed is how many periods of silence disconnect a node (default
	// DefaultMissedHeartbeats).
	Missed int
	Now    func() time.Time
	Logger *slog.Logger
}

// Controller marks silent nodes disconnected.
type Controller struct {
	d     Deps
	since time.Time
}

// New returns a controller; Run starts it.
func New(d Deps) *Controller {
	if d.Missed <= 0 {
		d.Missed = DefaultMissedHeartbeats
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Controller{d: d, since: d.Now()}
}

// Run checks every period until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.d.Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Check(ctx); err != nil && ctx.Err() == nil {
				c.d.Logger.Error("instance health check failed", "err", err)
			}
		}
	}
}

func (c *Controller) timeout() time.Duration { return time.Duration(c.d.Missed) * c.d.Period }

// Check runs Decide once over every registered instance and disconnects
// the silent ones.
func (c *Controller) Check(ctx context.Context) error {
	var ins []Instance
	err := c.d.Store.View(ctx, func(tx store.ReadTx) error {
		ins = ins[:0]
		return store.ScanJSON(tx, store.InstancesPrefix, "", func(_ string, r *instanceMark) (bool, error) {
			if r.Status != model.StatusInactive {
				ins = append(ins, c.instance(r))
			}
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	silent := Decide(ins, c.since, c.d.Now(), c.timeout())
	if len(silent) == 0 {
		return nil
	}
	return c.disconnect(ctx, silent)
}

// instanceMark is the part of an InstanceRecord the check reads.
type instanceMark struct {
	Cluster         string     `json:"qCluster"`
	ID              string     `json:"qId"`
	Status          string     `json:"status"`
	AgentConnected  bool       `json:"agentConnected"`
	LastHeartbeatAt model.Time `json:"qLastHeartbeatAt"`
}

func (c *Controller) instance(r *instanceMark) Instance {
	in := Instance{Cluster: r.Cluster, ID: r.ID, Connected: r.AgentConnected, Persisted: r.LastHeartbeatAt.Time}
	if t, ok := c.d.LastSeen(r.Cluster, r.ID); ok {
		in.Seen = t
	}
	return in
}

// disconnect writes agentConnected=false for each silent instance, judging
// it again inside the transaction (a heartbeat may have arrived meanwhile).
func (c *Controller) disconnect(ctx context.Context, silent []Instance) error {
	var done []Instance
	_, err := c.d.Store.Update(ctx, func(tx store.Tx) error {
		done = done[:0]
		for _, s := range silent {
			ok, err := c.disconnectOne(tx, s)
			if err != nil {
				return err
			}
			if ok {
				done = append(done, s)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range done {
		c.d.Logger.Info("container instance agent disconnected", "cluster", s.Cluster, "instance", s.ID, "silentFor", c.timeout())
	}
	return nil
}

func (c *Controller) disconnectOne(tx store.Tx, s Instance) (bool, error) {
	key := store.InstanceKey(s.Cluster, s.ID)
	var rec store.InstanceRecord
	_, ok, err := store.GetJSON(tx, key, &rec)
	if err != nil || !ok || !rec.AgentConnected || rec.Status == model.StatusInactive {
		return false, err
	}
	cur := c.instance(&instanceMark{Cluster: s.Cluster, ID: s.ID, AgentConnected: true, LastHeartbeatAt: rec.LastHeartbeatAt})
	if len(Decide([]Instance{cur}, c.since, c.d.Now(), c.timeout())) == 0 {
		return false, nil
	}
	rec.AgentConnected = false
	rec.Version++
	return true, store.PutJSON(tx, key, &rec)
}
