package lb

import (
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bs := []*testBackend{newTestBackend(t, "a", nil), newTestBackend(t, "b", nil), newTestBackend(t, "c", nil)}
	tg := h.healthyGroup(nil, bs...)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, bs...)
	for range 300 {
		if code, _, _ := h.get("http://" + addr + "/"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	for _, b := range bs {
		if n := b.hits.Load(); n < 95 || n > 105 {
			t.Errorf("%s got %d of 300 requests, want 100±5", b.name, n)
		}
	}
}

func TestWeightedTargetGroups(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	heavy, light, none := newTestBackend(t, "heavy", nil), newTestBackend(t, "light", nil), newTestBackend(t, "none", nil)
	tgH, tgL, tgN := h.healthyGroup(nil, heavy), h.healthyGroup(nil, light), h.healthyGroup(nil, none)
	act := store.Action{Type: store.ActionForward, Forward: &store.ForwardConfig{TargetGroups: []store.WeightedTargetGroup{
		{ID: tgH, Weight: 3}, {ID: tgL, Weight: 1}, {ID: tgN, Weight: 0},
	}}}
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, act)
	h.waitHealthy(tgH, heavy)
	h.waitHealthy(tgL, light)
	const n = 2000
	for range n {
		if code, _, _ := h.get("http://" + addr + "/"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	// Binomial(2000, 0.75): σ ≈ 19.4; allow 5σ.
	got := float64(heavy.hits.Load())
	if sigma := math.Sqrt(n * 0.75 * 0.25); math.Abs(got-n*0.75) > 5*sigma {
		t.Errorf("weight 3 of 4 got %v of %d requests, want %v±%.0f", got, n, n*0.75, 5*sigma)
	}
	if none.hits.Load() != 0 {
		t.Errorf("a group of weight 0 got %d requests", none.hits.Load())
	}
}

func TestLeastOutstandingRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	release := make(chan struct{})
	slow := newTestBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		_, _ = w.Write([]byte("slow"))
	})
	fast := newTestBackend(t, "fast", nil)
	tg := h.healthyGroup(map[string]string{store.TGAttrAlgorithm: store.AlgorithmLeastOutstd}, slow, fast)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, slow, fast)
	// Park requests until one is stuck on the slow target.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(release)
	for slow.hits.Load() == 0 {
		wg.Go(func() { h.get("http://" + addr + "/block") })
		time.Sleep(10 * time.Millisecond)
	}
	before := slow.hits.Load()
	for range 50 {
		if _, body, _ := h.get("http://" + addr + "/"); body != "fast" {
			t.Fatalf("a request went to %q while it had a request outstanding and fast had none", body)
		}
	}
	if slow.hits.Load() != before {
		t.Errorf("slow target got more requests")
	}
}

func TestStickiness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bs := []*testBackend{newTestBackend(t, "a", nil), newTestBackend(t, "b", nil), newTestBackend(t, "c", nil)}
	tg := h.healthyGroup(map[string]string{store.TGAttrStickinessEnabled: "true", store.TGAttrLBCookieDuration: "60"}, bs...)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, bs...)
	_, first, hdr := h.get("http://" + addr + "/")
	cookie := hdr.Get("Set-Cookie")
	if cookie == "" {
		t.Fatal("no AWSALB cookie")
	}
	value := cookie[:strings.IndexByte(cookie, ';')]
	for range 20 {
		if _, body, _ := h.get("http://"+addr+"/", "Cookie", value); body != first {
			t.Fatalf("sticky client moved from %s to %s", first, body)
		}
	}
}

func TestGroupStickiness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := newTestBackend(t, "a", nil), newTestBackend(t, "b", nil)
	tgA, tgB := h.healthyGroup(nil, a), h.healthyGroup(nil, b)
	act := store.Action{Type: store.ActionForward, Forward: &store.ForwardConfig{
		TargetGroups: []store.WeightedTargetGroup{{ID: tgA, Weight: 1}, {ID: tgB, Weight: 1}},
		Stickiness:   store.GroupStickiness{Enabled: true, DurationSeconds: 300},
	}}
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, act)
	h.waitHealthy(tgA, a)
	h.waitHealthy(tgB, b)
	_, first, hdr := h.get("http://" + addr + "/")
	cookie := hdr.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "AWSALBTG=") || !strings.Contains(cookie, "Max-Age=300") {
		t.Fatalf("no AWSALBTG cookie: %q", cookie)
	}
	value := cookie[:strings.IndexByte(cookie, ';')]
	for range 20 {
		if _, body, _ := h.get("http://"+addr+"/", "Cookie", value); body != first {
			t.Fatalf("a group-sticky client moved from %s to %s", first, body)
		}
	}
}
