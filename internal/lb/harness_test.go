package lb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// harness runs a data plane on a real store in a temporary directory; tests
// write ELBv2 records the way the API does and talk to the listeners over
// loopback.
type harness struct {
	t      testing.TB
	st     store.Store
	lb     *LB
	ids    atomic.Int64
	client *http.Client
}

func newHarness(t testing.TB, opts ...func(*LB)) *harness {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessOn(t, st, opts...)
}

// newHarnessOn runs the data plane on st, which it closes at the end. opts
// adjust the data plane before it runs (shorter timeouts).
func newHarnessOn(t testing.TB, st store.Store, opts ...func(*LB)) *harness {
	l := New(Deps{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, o := range opts {
		o(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx) }()
	h := &harness{t: t, st: st, lb: l, client: &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
	t.Cleanup(func() {
		h.client.CloseIdleConnections()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("data plane did not stop within 10s")
		}
		st.Close()
	})
	return h
}

func (h *harness) id() string { return fmt.Sprintf("%016x", h.ids.Add(1)) }

func (h *harness) put(key string, v any) int64 {
	h.t.Helper()
	rev, err := h.st.Update(context.Background(), func(tx store.Tx) error { return store.PutJSON(tx, key, v) })
	if err != nil {
		h.t.Fatal(err)
	}
	return rev
}

func (h *harness) update(fn func(tx store.Tx) error) int64 {
	h.t.Helper()
	rev, err := h.st.Update(context.Background(), fn)
	if err != nil {
		h.t.Fatal(err)
	}
	return rev
}

// synced waits until routing reflects revision rev.
func (h *harness) synced(rev int64) {
	h.t.Helper()
	h.eventually(2*time.Second, "routing at revision "+strconv.FormatInt(rev, 10), func() bool { return h.lb.Rev() >= rev })
}

func (h *harness) eventually(d time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) lbRecord(typ string) string {
	id := h.id()
	h.put(store.LoadBalancerKey(id), &store.LoadBalancerRecord{
		Arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/lb" + id + "/" + id,
		ID:  id, Name: "lb" + id, Type: typ, State: store.LBStateActive, CreatedTime: model.At(time.Now()),
	})
	return id
}

// listener creates a listener on a free port and waits until it accepts
// connections; it returns the listener's ID and address.
func (h *harness) listener(lbID, protocol string, def ...store.Action) (string, string) {
	h.t.Helper()
	id, port := h.id(), freePort(h.t)
	rev := h.put(store.ListenerKey(lbID, id), &store.ListenerRecord{
		Arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/x/" + lbID + "/" + id,
		ID:  id, LoadBalancerID: lbID, Port: port, Protocol: protocol, DefaultActions: def,
	})
	h.synced(rev)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	h.eventually(2*time.Second, "listener "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return id, addr
}

func (h *harness) rule(lbID, lid string, prio int32, conds []store.Condition, acts ...store.Action) int64 {
	id := h.id()
	return h.put(store.RuleKey(lbID, lid, id), &store.RuleRecord{
		Arn: "arn:rule/" + id, ID: id, ListenerID: lid, LoadBalancerID: lbID, Priority: prio, Conditions: conds, Actions: acts,
	})
}

// tg creates a target group; hc nil means HTTP checks of "/" every second,
// thresholds 2 and 2.
func (h *harness) tg(protocol string, hc *store.HealthCheck, attrs map[string]string) string {
	id := h.id()
	if hc == nil {
		hc = &store.HealthCheck{Enabled: true, Protocol: protocol, Port: "traffic-port", Path: "/",
			IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200-299"}
	}
	h.put(store.TargetGroupKey(id), &store.TargetGroupRecord{
		Arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg" + id + "/" + id,
		ID:  id, Name: "tg" + id, Protocol: protocol, TargetType: store.TargetTypeIP, HealthCheck: *hc, Attributes: attrs,
	})
	return id
}

func fwd(tgIDs ...string) store.Action {
	f := &store.ForwardConfig{}
	for _, id := range tgIDs {
		f.TargetGroups = append(f.TargetGroups, store.WeightedTargetGroup{Arn: "arn:tg/" + id, ID: id, Weight: 1})
	}
	return store.Action{Type: store.ActionForward, Forward: f}
}

// register adds a target (host:port) in state initial.
func (h *harness) register(tgID, addr string) int64 {
	host, port := splitAddr(h.t, addr)
	return h.put(store.TargetKey(tgID, host, port), &store.TargetRecord{
		TargetGroupID: tgID, ID: host, Port: port, RegisteredAt: model.At(time.Now()),
		State: store.TargetInitial, Reason: store.ReasonRegistrationInProgress,
	})
}

// deregister marks a target draining for delay, as DeregisterTargets does.
func (h *harness) deregister(tgID, addr string, delay time.Duration) int64 {
	host, port := splitAddr(h.t, addr)
	key := store.TargetKey(tgID, host, port)
	return h.update(func(tx store.Tx) error {
		var rec store.TargetRecord
		if _, _, err := store.GetJSON(tx, key, &rec); err != nil {
			return err
		}
		rec.State, rec.Reason, rec.DrainUntil = store.TargetDraining, store.ReasonDeregistrationInProgress, model.At(time.Now().Add(delay))
		return store.PutJSON(tx, key, &rec)
	})
}

// target reads a target record (ok false when it is gone).
func (h *harness) target(tgID, addr string) (store.TargetRecord, bool) {
	h.t.Helper()
	host, port := splitAddr(h.t, addr)
	var rec store.TargetRecord
	var ok bool
	err := h.st.View(context.Background(), func(tx store.ReadTx) (err error) {
		_, ok, err = store.GetJSON(tx, store.TargetKey(tgID, host, port), &rec)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return rec, ok
}

func (h *harness) waitState(tgID, addr, state string, d time.Duration) store.TargetRecord {
	h.t.Helper()
	var rec store.TargetRecord
	h.eventually(d, addr+" "+state, func() bool {
		var ok bool
		rec, ok = h.target(tgID, addr)
		return ok && rec.State == state
	})
	return rec
}

// get sends a GET and returns status and body.
func (h *harness) get(url string, hdr ...string) (int, string, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Add(hdr[i], hdr[i+1])
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// testBackend is a test target: it answers with its name, and its health
// endpoint with the status set in health.
type testBackend struct {
	name   string
	srv    *httptest.Server
	health atomic.Int32
	hits   atomic.Int64
	addr   string
}

func newTestBackend(t testing.TB, name string, handler http.HandlerFunc) *testBackend {
	b := &testBackend{name: name}
	b.health.Store(200)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "ELB-HealthChecker/2.0" {
			w.WriteHeader(int(b.health.Load()))
			return
		}
		b.hits.Add(1)
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = io.WriteString(w, name)
	}))
	b.addr = b.srv.Listener.Addr().String()
	t.Cleanup(b.srv.Close)
	return b
}

func splitAddr(t testing.TB, addr string) (string, int32) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return host, int32(n)
}

func freePort(t testing.TB) int32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// healthyGroup makes an HTTP target group with the backends registered and
// waits until all are healthy.
func (h *harness) healthyGroup(attrs map[string]string, bs ...*testBackend) string {
	h.t.Helper()
	tg := h.tg(store.ProtocolHTTP, nil, attrs)
	for _, b := range bs {
		h.register(tg, b.addr)
	}
	return tg
}

func (h *harness) waitHealthy(tg string, bs ...*testBackend) {
	h.t.Helper()
	for _, b := range bs {
		h.waitState(tg, b.addr, store.TargetHealthy, 5*time.Second)
	}
	// The snapshot follows the verdicts at once; the records lag by the
	// write batch. Make sure routing caught up with the last write.
	var rev int64
	_ = h.st.View(context.Background(), func(tx store.ReadTx) error { rev = tx.Rev(); return nil })
	h.synced(rev)
}
