package agentapi

import (
	"context"
	"net/netip"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// persistEvery is how many heartbeat periods may pass between writes of a
// connected node's heartbeat time to the store.
const persistEvery = 10

// register creates the node's container instance, or, given the ARN the
// node persisted, re-registers it keeping its identity. An ARN the store
// does not know (another cluster, or deleted) registers a new instance; an
// INACTIVE one is refused with InstanceInactive.
func (h *Handler) register(ctx context.Context, in *agentproto.RegisterRequest) (*agentproto.RegisterResponse, error) {
	reg, err := newRegistration(in)
	if err != nil {
		return nil, err
	}
	cluster := clusterName(in.Cluster)
	now := h.d.Now()
	reg.HeartbeatAt = now
	var rec *store.InstanceRecord
	_, err = h.d.Store.Update(ctx, func(tx store.Tx) error {
		rec, err = h.registerTx(tx, cluster, in.ContainerInstanceArn, reg, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	h.live.Seen(rec.Cluster, rec.ID, now)
	h.live.persisted(rec.Cluster+"/"+rec.ID, now)
	return &agentproto.RegisterResponse{
		ContainerInstanceArn: rec.ContainerInstanceArn,
		HeartbeatPeriod:      h.d.HeartbeatPeriod,
		PollWait:             h.d.PollWait,
	}, nil
}

func (h *Handler) registerTx(tx store.Tx, cluster, ref string, reg *store.InstanceRegistration, now time.Time) (*store.InstanceRecord, error) {
	c := new(model.Cluster)
	_, ok, err := store.GetJSON(tx, store.ClusterKey(cluster), c)
	if err != nil {
		return nil, err
	}
	if !ok || c.Status != model.StatusActive {
		return nil, &agentproto.Error{Code: agentproto.CodeClusterNotFound, Message: "Cluster " + cluster + " not found."}
	}
	if n, ok := parseInstanceARN(ref); ok && n.cluster == cluster {
		rec, err := readInstance(tx, n)
		if err != nil {
			return nil, err
		}
		if rec != nil && rec.Status == model.StatusInactive {
			return nil, errInactive(n)
		}
		if rec != nil {
			return rec, store.ReregisterInstance(tx, rec, reg)
		}
	}
	id := arn.NewID()
	return store.RegisterInstance(tx, c, id, h.d.Scope.ContainerInstance(cluster, id), reg, now)
}

// newRegistration validates what the node sends the way
// RegisterContainerInstance does.
func newRegistration(in *agentproto.RegisterRequest) (*store.InstanceRegistration, error) {
	if in.Cluster == "" {
		return nil, badRequest("The cluster is required.")
	}
	if in.EC2InstanceID == "" {
		return nil, badRequest("The ec2InstanceId is required.")
	}
	if in.Address != "" {
		ip, err := netip.ParseAddr(in.Address)
		if err != nil || ip.IsUnspecified() || ip.IsMulticast() {
			return nil, badRequest("The address %q is not a unicast IP address.", in.Address)
		}
	}
	rs, err := store.RegisteredResources(in.TotalResources)
	if err != nil {
		return nil, err
	}
	for _, at := range in.Attributes {
		if err := store.ValidateAttribute(at); err != nil {
			return nil, err
		}
	}
	vi := in.VersionInfo
	return &store.InstanceRegistration{
		Resources:     rs,
		Attributes:    store.SetAttributes(nil, in.Attributes),
		EC2InstanceID: in.EC2InstanceID,
		Address:       in.Address,
		VersionInfo:   &vi,
	}, nil
}

// clusterName accepts a cluster name or ARN.
func clusterName(ref string) string {
	if a, err := arn.Parse(ref); err == nil && a.Type() == "cluster" {
		if p := a.Path(); len(p) == 1 {
			return p[0]
		}
	}
	return ref
}

// heartbeat notes the node alive. The store is written only when the node
// was marked disconnected, or when its persisted heartbeat time is older
// than persistEvery periods.
func (h *Handler) heartbeat(ctx context.Context, in *agentproto.HeartbeatRequest) (*agentproto.HeartbeatResponse, error) {
	n, err := nodeOf(in.ContainerInstanceArn)
	if err != nil {
		return nil, err
	}
	now := h.d.Now()
	var connected bool
	err = h.d.Store.View(ctx, func(tx store.ReadTx) error {
		rec, err := liveInstance(tx, n)
		if err == nil {
			connected = rec.AgentConnected
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	h.live.Seen(n.cluster, n.id, now)
	if !connected || h.live.persistDue(n.key(), now, persistEvery*h.d.HeartbeatPeriod) {
		if err := h.markConnected(ctx, n, now); err != nil {
			return nil, err
		}
	}
	return &agentproto.HeartbeatResponse{HeartbeatPeriod: h.d.HeartbeatPeriod}, nil
}

// markConnected writes agentConnected=true and the heartbeat time.
func (h *Handler) markConnected(ctx context.Context, n nodeRef, now time.Time) error {
	_, err := h.d.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := liveInstance(tx, n)
		if err != nil {
			return err
		}
		if !rec.AgentConnected {
			rec.AgentConnected = true
			rec.Version++
		}
		rec.LastHeartbeatAt = model.At(now)
		return store.PutJSON(tx, store.InstanceKey(n.cluster, n.id), rec)
	})
	if err == nil {
		h.live.persisted(n.key(), now)
	}
	return err
}
