package lb

import (
	"net/http"
	"strings"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

// A target whose process has just died behind a port mapping that still
// accepts connections (Docker's userland proxy) closes every new
// connection before answering. An idempotent request without a body that
// meets it is sent to another target; a POST is not replayed and fails.
func TestRetryOtherTargetWhenANewConnectionBreaks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	good := newTestBackend(t, "good", nil)
	dead := newTestBackend(t, "dead", func(w http.ResponseWriter, _ *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	})
	tg := h.healthyGroup(nil, good, dead)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, good, dead)
	for range 50 {
		if code, body, _ := h.get("http://" + addr + "/"); code != 200 || body != "good" {
			t.Fatalf("GET: %d %q", code, body)
		}
	}
	if dead.hits.Load() == 0 {
		t.Fatal("the broken target got no request: nothing was retried")
	}
	failed := 0
	for range 10 {
		resp, err := h.client.Post("http://"+addr+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 502 {
			failed++
		}
	}
	if failed == 0 || failed == 10 {
		t.Errorf("%d of 10 POSTs failed; want those sent to the broken target (about half), and only those", failed)
	}
}
