package lb

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// Deleting a listener frees its port at once and lets the request in
// flight finish.
func TestListenerDeletedWhileBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	release := make(chan struct{})
	b := newTestBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = w.Write([]byte("late"))
	})
	tg := h.healthyGroup(nil, b)
	lbID := h.lbRecord(store.LBTypeApplication)
	lid, addr := h.listener(lbID, store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, b)
	done := make(chan string, 1)
	go func() { _, body, _ := h.get("http://" + addr + "/"); done <- body }()
	h.eventually(2*time.Second, "the request at the target", func() bool { return b.hits.Load() == 1 })
	h.synced(h.update(func(tx store.Tx) error { return tx.Delete(store.ListenerKey(lbID, lid)) }))
	h.eventually(2*time.Second, "the port closed", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	if body := <-done; body != "late" {
		t.Errorf("in-flight request got %q", body)
	}
}

// A request stuck at a target does not hold up stopping the data plane
// (the harness fails the test when it takes over 10 s).
func TestStopWithAStuckTarget(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	b := newTestBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stuck" {
			<-stuck
		}
	})
	t.Cleanup(func() { close(stuck) }) // after the data plane stopped, before the target
	h := newHarness(t)
	tg := h.healthyGroup(nil, b)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, b)
	go func() { _, _ = http.Get("http://" + addr + "/stuck") }()
	h.eventually(2*time.Second, "the request at the target", func() bool { return b.hits.Load() == 1 })
}
