package lb

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

func TestHealthTransitions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := newTestBackend(t, "a", nil), newTestBackend(t, "b", nil)
	tg := h.healthyGroup(nil, a, b)
	// Not forwarded to by any listener: no checks (the API shows unused).
	time.Sleep(200 * time.Millisecond)
	if rec, _ := h.target(tg, a.addr); rec.State != store.TargetInitial || rec.Reason != store.ReasonRegistrationInProgress {
		t.Errorf("unused target: %s %s, want initial %s", rec.State, rec.Reason, store.ReasonRegistrationInProgress)
	}
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, a, b)

	// a answers its checks with 500: unhealthy after two failures, with
	// the reason and the codes, and no more traffic.
	a.health.Store(500)
	rec := h.waitState(tg, a.addr, store.TargetUnhealthy, 5*time.Second)
	if rec.Reason != store.ReasonResponseCodeMismatch || !strings.Contains(rec.Description, "[500]") {
		t.Errorf("unhealthy: reason %s %q", rec.Reason, rec.Description)
	}
	before := a.hits.Load()
	for range 30 {
		if _, body, _ := h.get("http://" + addr + "/"); body != "b" {
			t.Fatalf("an unhealthy target got a request (%s)", body)
		}
	}
	if a.hits.Load() != before {
		t.Error("unhealthy target got requests")
	}

	// Back to 200: healthy after the healthy threshold, traffic again.
	a.health.Store(200)
	h.waitHealthy(tg, a)
	seen := map[string]bool{}
	for range 10 {
		_, body, _ := h.get("http://" + addr + "/")
		seen[body] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("after recovery requests went to %v", seen)
	}
}

func TestHealthTimeoutAndFailOpen(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	stall := make(chan struct{})
	defer close(stall)
	a := newTestBackend(t, "a", nil)
	slow := newTestBackend(t, "slow", nil)
	// slow's checks hang past the 1 s timeout.
	slow.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "ELB-HealthChecker/2.0" {
			select {
			case <-stall:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte("slow"))
	})
	tg := h.healthyGroup(nil, a, slow)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	rec := h.waitState(tg, slow.addr, store.TargetUnhealthy, 6*time.Second)
	if rec.Reason != store.ReasonTimeout {
		t.Errorf("reason %s, want %s", rec.Reason, store.ReasonTimeout)
	}
	// a fails too: no healthy target left, so ELB fails open and routes
	// to the unhealthy ones.
	a.health.Store(503)
	h.waitState(tg, a.addr, store.TargetUnhealthy, 5*time.Second)
	h.waitHealthy(tg) // routing caught up with the records
	if code, _, _ := h.get("http://" + addr + "/"); code != 200 {
		t.Errorf("all targets unhealthy: status %d, want 200 (fail open)", code)
	}
}

func TestTCPHealthCheckAndNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	up := newTestBackend(t, "up", nil)
	down := newTestBackend(t, "down", nil)
	downAddr := down.addr
	down.srv.Close()
	tg := h.tg(store.ProtocolTCP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, up.addr)
	h.register(tg, downAddr)
	h.listener(h.lbRecord(store.LBTypeNetwork), store.ProtocolTCP, fwd(tg))
	h.waitState(tg, up.addr, store.TargetHealthy, 5*time.Second)
	rec := h.waitState(tg, downAddr, store.TargetUnhealthy, 5*time.Second)
	if rec.Reason != store.ReasonFailedHealthChecks {
		t.Errorf("refused connection: reason %s", rec.Reason)
	}
}

func TestCodeMatcher(t *testing.T) {
	cases := []struct {
		m    string
		code int
		want bool
	}{
		{"200", 200, true}, {"200", 201, false}, {"200,202", 202, true}, {"200-299", 250, true},
		{"200-299", 300, false}, {"200-299,404", 404, true}, {" 301 , 302", 302, true}, {"x", 200, false},
	}
	for _, c := range cases {
		if got := codeMatches(c.m, c.code); got != c.want {
			t.Errorf("codeMatches(%q, %d) = %v", c.m, c.code, got)
		}
	}
}
