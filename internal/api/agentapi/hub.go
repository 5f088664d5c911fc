package agentapi

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// maxNodeLog bounds the changes a hub remembers per node; a poller further
// behind gets the full set.
const maxNodeLog = 512

// hub is one store watch on a cluster's tasks, fanned out to the pollers
// of each node. It remembers, per node, which tasks changed at which
// revision since it started (or last lost the watch), so a poll is answered
// from memory: nothing new costs no store read at all.
type hub struct {
	mu    sync.Mutex
	first int64 // the node logs hold every change after this revision
	rev   int64 // last revision processed
	nodes map[string]*nodeLog
	tasks map[string]taskMark // what the hub last saw of each task
	done  chan struct{}       // closed when the hub stops
}

// nodeLog is a node's recent task changes, in revision order.
type nodeLog struct {
	changes []change
	first   int64         // changes at or before this revision were dropped
	wake    chan struct{} // closed (and replaced) when changes arrive
}

type change struct {
	rev    int64
	taskID string
}

// taskMark is the part of a task record that tells whether a change is
// news for its node.
type taskMark struct {
	ID            string `json:"qId"`
	InstanceID    string `json:"qInstance"`
	DesiredStatus string `json:"desiredStatus"`
	LastStatus    string `json:"lastStatus"`
	ReportedSeq   uint64 `json:"qReportedSeq"`
}

// hubFor returns the cluster's hub, starting it on first use.
func (h *Handler) hubFor(ctx context.Context, cluster string) (*hub, error) {
	h.hubsMu.Lock()
	defer h.hubsMu.Unlock()
	if hb := h.hubs[cluster]; hb != nil {
		return hb, nil
	}
	if h.ctx.Err() != nil {
		return nil, h.ctx.Err()
	}
	prefix := store.TasksPrefix + cluster + "/"
	rev, marks, err := snapshot(ctx, h.d.Store, prefix)
	if err != nil {
		return nil, err
	}
	hb := &hub{nodes: map[string]*nodeLog{}, done: make(chan struct{})}
	hb.reset(rev, marks)
	h.hubs[cluster] = hb
	h.hubsDone.Add(1)
	go func() {
		defer h.hubsDone.Done()
		hb.run(h.ctx, h.d.Store, prefix)
	}()
	return hb, nil
}

// snapshot reads the current revision and what the hub needs to know of
// every task not stopped yet under prefix (so that the first report of a
// task the hub has not seen change is not taken for news).
func snapshot(ctx context.Context, st store.Store, prefix string) (int64, map[string]taskMark, error) {
	var rev int64
	marks := map[string]taskMark{}
	err := st.View(ctx, func(tx store.ReadTx) error {
		rev = tx.Rev()
		clear(marks)
		return store.ScanJSON(tx, prefix, "", func(_ string, m *taskMark) (bool, error) {
			if m.InstanceID != "" && !stoppedStatus(m.LastStatus) {
				marks[m.ID] = *m
			}
			return true, nil
		})
	})
	return rev, marks, err
}

func stoppedStatus(s string) bool {
	return model.TaskStatusRank(s) >= model.TaskStatusRank(model.StatusStopped)
}

// run follows the watch until ctx ends. When the watch fails (the hub fell
// behind, or history is gone) it starts over from the current revision and
// forgets its logs, so pollers behind it get the full set.
func (hb *hub) run(ctx context.Context, st store.Store, prefix string) {
	defer close(hb.done)
	for ctx.Err() == nil {
		hb.mu.Lock()
		from := hb.rev
		hb.mu.Unlock()
		for resp := range st.Watch(ctx, prefix, from) {
			if resp.Err != nil {
				break
			}
			hb.apply(resp)
		}
		if ctx.Err() != nil {
			return
		}
		rev, marks, err := snapshot(ctx, st, prefix)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		hb.reset(rev, marks)
	}
}

// reset forgets every log: the hub knows only changes after rev, and the
// tasks as they were at rev.
func (hb *hub) reset(rev int64, marks map[string]taskMark) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.first, hb.rev = rev, rev
	for _, nl := range hb.nodes {
		if nl.wake != nil {
			close(nl.wake)
		}
	}
	hb.nodes = map[string]*nodeLog{}
	if marks == nil {
		marks = map[string]taskMark{}
	}
	hb.tasks = marks
}

// apply records one revision's events.
func (hb *hub) apply(resp store.WatchResponse) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for _, ev := range resp.Events {
		hb.applyEvent(ev)
	}
	if resp.Rev > hb.rev {
		hb.rev = resp.Rev
	}
}

func (hb *hub) applyEvent(ev store.Event) {
	id := ev.KV.Key[strings.LastIndexByte(ev.KV.Key, '/')+1:]
	if ev.Type == store.EventDelete {
		delete(hb.tasks, id)
		return
	}
	var m taskMark
	if json.Unmarshal(ev.KV.Value, &m) != nil || m.InstanceID == "" {
		return
	}
	old, known := hb.tasks[id]
	if stoppedStatus(m.LastStatus) {
		delete(hb.tasks, id)
	} else {
		hb.tasks[id] = m
	}
	if known && !isNews(old, m) {
		return
	}
	hb.node(m.InstanceID).add(change{rev: ev.KV.ModRev, taskID: id})
}

// isNews reports whether a task's change is for its node to hear: anything
// but a write of the node's own report (which always moves ReportedSeq and
// never the desired status).
func isNews(old, cur taskMark) bool {
	return old.ReportedSeq == cur.ReportedSeq || old.DesiredStatus != cur.DesiredStatus
}

func (hb *hub) node(id string) *nodeLog {
	nl := hb.nodes[id]
	if nl == nil {
		nl = &nodeLog{first: hb.first}
		hb.nodes[id] = nl
	}
	return nl
}

func (nl *nodeLog) add(c change) {
	nl.changes = append(nl.changes, c)
	if len(nl.changes) > maxNodeLog {
		drop := len(nl.changes) / 2
		nl.first = nl.changes[drop-1].rev
		nl.changes = append([]change(nil), nl.changes[drop:]...)
	}
	if nl.wake != nil {
		close(nl.wake)
		nl.wake = nil
	}
}

// since returns the ids of tasks changed after rev (each once, in the order
// of their last change), and false when the log no longer reaches back to
// rev.
func (nl *nodeLog) since(rev int64) ([]string, bool) {
	if rev < nl.first {
		return nil, false
	}
	var ids []string
	seen := map[string]bool{}
	for i := len(nl.changes) - 1; i >= 0 && nl.changes[i].rev > rev; i-- {
		if id := nl.changes[i].taskID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	slices.Reverse(ids)
	return ids, true
}

// pollResult is what a wait found.
type pollResult struct {
	taskIDs []string
	rev     int64
	full    bool // the hub cannot answer a delta from after: send the full set
}

// wait blocks until tasks of node changed after `after`, d passes, ctx ends
// or the hub stops. It reads nothing from the store.
func (hb *hub) wait(ctx context.Context, node string, after int64, d time.Duration) pollResult {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		hb.mu.Lock()
		if after < hb.first {
			hb.mu.Unlock()
			return pollResult{full: true}
		}
		nl := hb.node(node)
		ids, ok := nl.since(after)
		rev := max(after, hb.rev)
		if !ok || len(ids) > 0 {
			hb.mu.Unlock()
			return pollResult{taskIDs: ids, rev: rev, full: !ok}
		}
		if nl.wake == nil {
			nl.wake = make(chan struct{})
		}
		wake := nl.wake
		hb.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			return pollResult{rev: rev}
		case <-ctx.Done():
			return pollResult{rev: rev}
		case <-hb.done:
			return pollResult{rev: rev}
		}
	}
}
