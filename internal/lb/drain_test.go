package lb

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

func TestDrainingLetsInFlightFinish(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	release := make(chan struct{})
	old := newTestBackend(t, "old", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = w.Write([]byte("old"))
	})
	other := newTestBackend(t, "other", nil)
	tg := h.healthyGroup(nil, old)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, old)

	slow := make(chan string, 1)
	go func() {
		_, body, _ := h.get("http://" + addr + "/slow")
		slow <- body
	}()
	h.eventually(2*time.Second, "the slow request reaching the target", func() bool { return old.hits.Load() == 1 })
	h.register(tg, other.addr)
	h.waitHealthy(tg, other)
	h.synced(h.deregister(tg, old.addr, 30*time.Second))

	for range 20 {
		if _, body, _ := h.get("http://" + addr + "/"); body != "other" {
			t.Fatalf("a draining target got a new request")
		}
	}
	if rec, ok := h.target(tg, old.addr); !ok || rec.State != store.TargetDraining {
		t.Fatalf("with a request in flight the target should still be draining: %+v %v", rec, ok)
	}
	close(release)
	if body := <-slow; body != "old" {
		t.Errorf("in-flight request got %q", body)
	}
	// Nothing in flight: deregistration completes long before the delay.
	h.eventually(2*time.Second, "the drained record deleted", func() bool {
		_, ok := h.target(tg, old.addr)
		return !ok
	})
}

func TestDrainingEndsAtTheDelay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	stuck := make(chan struct{})
	defer close(stuck)
	b := newTestBackend(t, "b", func(w http.ResponseWriter, r *http.Request) { <-stuck })
	tg := h.healthyGroup(nil, b)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, b)
	go h.client.Get("http://" + addr + "/") //nolint:errcheck // never answers
	h.eventually(2*time.Second, "the request reaching the target", func() bool { return b.hits.Load() == 1 })
	start := time.Now()
	h.deregister(tg, b.addr, 500*time.Millisecond)
	h.eventually(3*time.Second, "the record deleted at the delay", func() bool {
		_, ok := h.target(tg, b.addr)
		return !ok
	})
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("deregistration completed after %v with a request in flight, before the 500ms delay", d)
	}
}

// TestSnapshotSwapUnderLoad is the rolling-deployment guarantee: while
// clients keep sending requests, targets are added (registered, checked
// healthy) and removed (deregistered, drained, then their process
// stopped), and not one request fails.
func TestSnapshotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	handler := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // keep requests in flight
		_, _ = w.Write([]byte("ok"))
	}
	var live []*testBackend
	for i := range 3 {
		live = append(live, newTestBackend(t, fmt.Sprint("v1-", i), handler))
	}
	tg := h.healthyGroup(map[string]string{store.TGAttrAlgorithm: store.AlgorithmLeastOutstd}, live...)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, live...)

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				method := http.MethodGet
				if sent.Load()%2 == 0 {
					method = http.MethodPost // not retried by the transport
				}
				req, _ := http.NewRequest(method, "http://"+addr+"/", nil)
				resp, err := client.Do(req)
				if err == nil {
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
					resp.Body.Close()
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	// Replace every target, one at a time, at least twice over and for at
	// least two seconds.
	start := time.Now()
	for i := 0; i < 6 || time.Since(start) < 2*time.Second; i++ {
		nb := newTestBackend(t, fmt.Sprint("v2-", i), handler)
		h.register(tg, nb.addr)
		h.waitHealthy(tg, nb)
		old := live[0]
		live = append(live[1:], nb)
		h.deregister(tg, old.addr, 10*time.Second)
		h.eventually(5*time.Second, "drained "+old.name, func() bool {
			_, ok := h.target(tg, old.addr)
			return !ok
		})
		old.srv.Close() // the task stops once deregistered
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during target replacement; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	t.Logf("%d requests, none failed, across the target replacements", sent.Load())
}
