package agentapi

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// assignments answers a node's long poll: the full set when After is 0 or
// older than what the cluster's hub remembers, else the node's tasks that
// changed after After, waiting up to PollWait for some.
func (h *Handler) assignments(ctx context.Context, in *agentproto.AssignmentsRequest) (*agentproto.AssignmentsResponse, error) {
	n, err := h.checkNode(ctx, in.ContainerInstanceArn)
	if err != nil {
		return nil, err
	}
	hb, err := h.hubFor(ctx, n.cluster)
	if err != nil {
		return nil, err
	}
	if in.After <= 0 {
		return h.fullSet(ctx, n)
	}
	res := hb.wait(ctx, n.id, in.After, h.d.PollWait)
	if res.full {
		return h.fullSet(ctx, n)
	}
	out := &agentproto.AssignmentsResponse{Revision: res.rev, Tasks: []agentproto.Assignment{}}
	if len(res.taskIDs) == 0 {
		return out, nil
	}
	err = h.d.Store.View(ctx, func(tx store.ReadTx) error {
		out.Tasks = out.Tasks[:0]
		for _, id := range res.taskIDs {
			if err := h.addTask(tx, n.cluster, id, &out.Tasks); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// fullSet is every task placed on the node that has not stopped (which
// includes those asked to stop and not stopped yet).
func (h *Handler) fullSet(ctx context.Context, n nodeRef) (*agentproto.AssignmentsResponse, error) {
	out := &agentproto.AssignmentsResponse{Full: true, Tasks: []agentproto.Assignment{}}
	err := h.d.Store.View(ctx, func(tx store.ReadTx) error {
		out.Tasks = out.Tasks[:0]
		out.Revision = tx.Rev()
		return tx.Scan(store.TasksPrefix+n.cluster+"/", "", func(kv store.KV) (bool, error) {
			var m taskMark
			if err := unmarshal(kv, &m); err != nil {
				return false, err
			}
			if m.InstanceID != n.id || stoppedStatus(m.LastStatus) {
				return true, nil
			}
			var t store.TaskRecord
			if err := unmarshal(kv, &t); err != nil {
				return false, err
			}
			return true, h.appendAssignment(tx, &t, kv.ModRev, &out.Tasks)
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addTask appends the current version of task id (absent: deleted, left
// out).
func (h *Handler) addTask(tx store.ReadTx, cluster, id string, out *[]agentproto.Assignment) error {
	var t store.TaskRecord
	modRev, ok, err := store.GetJSON(tx, store.TaskKey(cluster, id), &t)
	if err != nil || !ok {
		return err
	}
	return h.appendAssignment(tx, &t, modRev, out)
}

func (h *Handler) appendAssignment(tx store.ReadTx, t *store.TaskRecord, rev int64, out *[]agentproto.Assignment) error {
	td, err := h.defs.get(tx, t.TaskDefinitionArn)
	if err != nil {
		return err
	}
	*out = append(*out, agentproto.Assignment{Task: t.Task, Definition: td, Revision: rev, ReportedSeq: t.ReportedSeq})
	return nil
}

// defCache keeps task definitions by ARN. A revision's content never
// changes (only its status, which agents do not read), so entries never go
// stale; the cache is emptied when it grows past maxDefs.
type defCache struct {
	mu   sync.Mutex
	defs map[string]model.TaskDefinition
}

const maxDefs = 4096

func newDefCache() *defCache { return &defCache{defs: map[string]model.TaskDefinition{}} }

func (c *defCache) get(tx store.ReadTx, tdARN string) (model.TaskDefinition, error) {
	c.mu.Lock()
	td, ok := c.defs[tdARN]
	c.mu.Unlock()
	if ok {
		return td, nil
	}
	family, rev, ok := parseTaskDefARN(tdARN)
	if !ok {
		return td, nil
	}
	var rec store.TaskDefinitionRecord
	if _, found, err := store.GetJSON(tx, store.TaskDefKey(family, rev), &rec); err != nil || !found {
		return td, err
	}
	c.mu.Lock()
	if len(c.defs) >= maxDefs {
		clear(c.defs)
	}
	c.defs[tdARN] = rec.TaskDefinition
	c.mu.Unlock()
	return rec.TaskDefinition, nil
}

// parseTaskDefARN reads arn:...:task-definition/<family>:<revision>.
func parseTaskDefARN(s string) (string, int64, bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Type() != "task-definition" {
		return "", 0, false
	}
	fr := strings.TrimPrefix(a.Resource, "task-definition/")
	i := strings.LastIndexByte(fr, ':')
	if i < 0 {
		return "", 0, false
	}
	rev, err := strconv.ParseInt(fr[i+1:], 10, 64)
	return fr[:i], rev, err == nil
}
