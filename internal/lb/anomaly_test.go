package lb

import (
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// TestWeightedRandomSpread: weighted_random spreads requests evenly over
// the targets, in a random order (round robin would never send two
// requests in a row to one target).
func TestWeightedRandomSpread(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var last atomic.Pointer[string]
	var repeats atomic.Int64
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if prev := last.Swap(&name); prev != nil && *prev == name {
				repeats.Add(1)
			}
			_, _ = w.Write([]byte(name))
		}
	}
	bs := []*testBackend{newTestBackend(t, "a", handler("a")), newTestBackend(t, "b", handler("b")), newTestBackend(t, "c", handler("c"))}
	tg := h.healthyGroup(map[string]string{store.TGAttrAlgorithm: store.AlgorithmWeightedRandom}, bs...)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, bs...)
	const n = 900
	for range n {
		if code, _, _ := h.get("http://" + addr + "/"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	// Binomial(900, 1/3): σ ≈ 14.1; allow 5σ.
	sigma := math.Sqrt(n * (1.0 / 3) * (2.0 / 3))
	for _, b := range bs {
		if got := float64(b.hits.Load()); math.Abs(got-n/3) > 5*sigma {
			t.Errorf("%s got %v of %d requests, want %v±%.0f", b.name, got, n, n/3, 5*sigma)
		}
	}
	// About a third of consecutive requests go to the same target.
	if r := repeats.Load(); r < n/6 {
		t.Errorf("%d of %d consecutive requests went to the same target: not random", r, n)
	}
}

// TestAnomalyMitigation: a target that answers 500s while the others
// answer 200s is found anomalous, gets less traffic while it is, and gets
// its share back once it answers like the others again; its record shows
// the detection result and whether mitigation is in effect.
func TestAnomalyMitigation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *LB) { l.anomalyWindow = 50 * time.Millisecond })
	var failing atomic.Bool
	failing.Store(true)
	bad := newTestBackend(t, "bad", func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("bad"))
	})
	bs := []*testBackend{newTestBackend(t, "a", nil), newTestBackend(t, "b", nil), bad}
	tg := h.healthyGroup(map[string]string{
		store.TGAttrAlgorithm: store.AlgorithmWeightedRandom, store.TGAttrAnomalyMitigation: "on",
	}, bs...)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, bs...)

	h.drive(addr, "bad found anomalous, mitigation in effect", func() bool {
		rec, _ := h.target(tg, bad.addr)
		return rec.Anomaly == store.AnomalyAnomalous && rec.Mitigating
	})
	if rec, _ := h.target(tg, bs[0].addr); rec.Anomaly == store.AnomalyAnomalous || rec.Mitigating {
		t.Errorf("a healthy answering target: anomaly %q, mitigating %v", rec.Anomaly, rec.Mitigating)
	}
	if share := h.share(addr, bad, 600); share > 0.15 {
		t.Errorf("anomalous target got %.0f%% of the requests with mitigation on, want well under a third", 100*share)
	}

	failing.Store(false)
	h.drive(addr, "bad normal again, mitigation over", func() bool {
		rec, _ := h.target(tg, bad.addr)
		return rec.Anomaly == store.AnomalyNormal && !rec.Mitigating
	})
	if share := h.share(addr, bad, 600); share < 0.22 {
		t.Errorf("recovered target got %.0f%% of the requests, want about a third", 100*share)
	}
}

// TestAnomalyDetectionWithoutMitigation: detection runs for every HTTP
// target group; without mitigation the anomalous target keeps its share.
func TestAnomalyDetectionWithoutMitigation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *LB) { l.anomalyWindow = 50 * time.Millisecond })
	bad := newTestBackend(t, "bad", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	bs := []*testBackend{newTestBackend(t, "a", nil), newTestBackend(t, "b", nil), bad}
	tg := h.healthyGroup(map[string]string{store.TGAttrAlgorithm: store.AlgorithmWeightedRandom}, bs...)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, bs...)
	h.drive(addr, "bad found anomalous", func() bool {
		rec, _ := h.target(tg, bad.addr)
		return rec.Anomaly == store.AnomalyAnomalous
	})
	if share := h.share(addr, bad, 600); share < 0.22 {
		t.Errorf("without mitigation the anomalous target got %.0f%% of the requests, want about a third", 100*share)
	}
	if rec, _ := h.target(tg, bad.addr); rec.Mitigating {
		t.Error("mitigation in effect on a group that did not turn it on")
	}
}

// drive sends requests to addr until cond holds.
func (h *harness) drive(addr, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		for range 10 {
			h.get("http://" + addr + "/")
		}
	}
}

// share sends n requests and returns the fraction b got.
func (h *harness) share(addr string, b *testBackend, n int) float64 {
	before := b.hits.Load()
	for range n {
		h.get("http://" + addr + "/")
	}
	return float64(b.hits.Load()-before) / float64(n)
}
