package agentapi

import (
	"context"
	"fmt"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// nodeRef names a container instance: its cluster and id.
type nodeRef struct{ cluster, id string }

func (n nodeRef) key() string { return n.cluster + "/" + n.id }

// parseInstanceARN reads a container instance ARN
// (arn:...:container-instance/<cluster>/<id>).
func parseInstanceARN(s string) (nodeRef, bool) {
	return parseChildARN(s, "container-instance")
}

// parseChildARN reads an ARN of a cluster's child resource (task,
// container-instance) into cluster and id.
func parseChildARN(s, typ string) (nodeRef, bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "ecs" || a.Type() != typ {
		return nodeRef{}, false
	}
	p := a.Path()
	if len(p) != 2 || p[0] == "" || p[1] == "" {
		return nodeRef{}, false
	}
	return nodeRef{cluster: p[0], id: p[1]}, true
}

// nodeOf parses the ARN a request names its node by.
func nodeOf(s string) (nodeRef, error) {
	n, ok := parseInstanceARN(s)
	if !ok {
		return n, badRequest("%q is not a container instance ARN.", s)
	}
	return n, nil
}

// readInstance reads n; nil when absent.
func readInstance(tx store.ReadTx, n nodeRef) (*store.InstanceRecord, error) {
	rec := new(store.InstanceRecord)
	_, ok, err := store.GetJSON(tx, store.InstanceKey(n.cluster, n.id), rec)
	if err != nil || !ok {
		return nil, err
	}
	return rec, nil
}

// liveInstance reads n and refuses one that is absent (the agent should
// register again) or deregistered (the agent should stop).
func liveInstance(tx store.ReadTx, n nodeRef) (*store.InstanceRecord, error) {
	rec, err := readInstance(tx, n)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, &agentproto.Error{Code: agentproto.CodeInstanceNotFound, Message: fmt.Sprintf("Container instance %s is not registered in cluster %s.", n.id, n.cluster)}
	}
	if rec.Status == model.StatusInactive {
		return nil, errInactive(n)
	}
	return rec, nil
}

func errInactive(n nodeRef) *agentproto.Error {
	return &agentproto.Error{Code: agentproto.CodeInstanceInactive, Message: fmt.Sprintf("Container instance %s is deregistered (INACTIVE).", n.id)}
}

// checkNode confirms n is registered and not deregistered, and notes that
// it was heard from.
func (h *Handler) checkNode(ctx context.Context, ref string) (nodeRef, error) {
	n, err := nodeOf(ref)
	if err != nil {
		return n, err
	}
	err = h.d.Store.View(ctx, func(tx store.ReadTx) error {
		_, err := liveInstance(tx, n)
		return err
	})
	if err == nil {
		h.live.Seen(n.cluster, n.id, h.d.Now())
	}
	return n, err
}
