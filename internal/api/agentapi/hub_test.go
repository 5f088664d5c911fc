package agentapi

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func newTestHub(rev int64) *hub {
	hb := &hub{nodes: map[string]*nodeLog{}, done: make(chan struct{})}
	hb.reset(rev, map[string]taskMark{})
	return hb
}

func put(rev int64, m taskMark) store.WatchResponse {
	b, _ := json.Marshal(m)
	return store.WatchResponse{Rev: rev, Events: []store.Event{{Type: store.EventPut, KV: store.KV{Key: store.TaskKey("c", m.ID), Value: b, ModRev: rev}}}}
}

func mark(id, node, desired, last string, seq uint64) taskMark {
	return taskMark{ID: id, InstanceID: node, DesiredStatus: desired, LastStatus: last, ReportedSeq: seq}
}

func TestHubDeltas(t *testing.T) {
	hb := newTestHub(10)
	const R, P = model.StatusRunning, model.StatusPending
	hb.apply(put(11, mark("a", "n1", R, P, 0)))         // new task: news
	hb.apply(put(12, mark("b", "n2", R, P, 0)))         // another node
	hb.apply(put(13, mark("a", "n1", R, R, 1)))         // n1's own report: not news
	hb.apply(put(14, mark("a", "n1", "STOPPED", R, 1))) // StopTask: news
	hb.apply(put(15, mark("c", "", R, P, 0)))           // not placed: nobody's

	tests := []struct {
		node  string
		after int64
		want  []string
	}{
		{"n1", 10, []string{"a"}},
		{"n1", 11, []string{"a"}},
		{"n1", 14, nil},
		{"n2", 10, []string{"b"}},
		{"n2", 12, nil},
	}
	for _, tt := range tests {
		res := hb.wait(context.Background(), tt.node, tt.after, time.Millisecond)
		if res.full || !slices.Equal(res.taskIDs, tt.want) {
			t.Errorf("wait(%s, %d) = %+v, want %v", tt.node, tt.after, res, tt.want)
		}
		if res.rev != 15 {
			t.Errorf("wait(%s, %d).rev = %d, want 15", tt.node, tt.after, res.rev)
		}
	}
	if res := hb.wait(context.Background(), "n1", 9, time.Millisecond); !res.full {
		t.Errorf("wait before the hub's history = %+v, want full", res)
	}
}

func TestHubWakesPoller(t *testing.T) {
	hb := newTestHub(10)
	got := make(chan pollResult, 1)
	go func() { got <- hb.wait(context.Background(), "n1", 10, time.Minute) }()
	// Changes for other nodes must not answer n1's poll.
	hb.apply(put(11, mark("x", "n2", model.StatusRunning, model.StatusPending, 0)))
	hb.apply(put(12, mark("a", "n1", model.StatusRunning, model.StatusPending, 0)))
	select {
	case res := <-got:
		if !slices.Equal(res.taskIDs, []string{"a"}) || res.rev != 12 {
			t.Fatalf("poll = %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("poll not woken")
	}
}

func TestHubResetAndTrim(t *testing.T) {
	hb := newTestHub(0)
	for i := range int64(maxNodeLog + 1) {
		hb.apply(put(i+1, mark("t"+string(rune('a'+i%26))+string(rune('a'+i/26)), "n1", model.StatusRunning, model.StatusPending, 0)))
	}
	if res := hb.wait(context.Background(), "n1", 1, time.Millisecond); !res.full {
		t.Errorf("poll behind a trimmed log = %+v, want full", res)
	}
	if res := hb.wait(context.Background(), "n1", maxNodeLog, time.Millisecond); res.full || len(res.taskIDs) != 1 {
		t.Errorf("recent poll = %+v", res)
	}
	hb.reset(1000, nil)
	if res := hb.wait(context.Background(), "n1", 999, time.Millisecond); !res.full {
		t.Errorf("poll after reset = %+v, want full", res)
	}
}
