package lb

import (
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// setListenerAttrs replaces a listener's attributes, as
// ModifyListenerAttributes does, and waits until routing has them.
func (h *harness) setListenerAttrs(lbID, lid string, attrs map[string]string) {
	h.t.Helper()
	rev := h.update(func(tx store.Tx) error {
		var rec store.ListenerRecord
		key := store.ListenerKey(lbID, lid)
		if _, _, err := store.GetJSON(tx, key, &rec); err != nil {
			return err
		}
		rec.Attributes = attrs
		return store.PutJSON(tx, key, &rec)
	})
	h.synced(rev)
}

// TestTCPIdleTimeoutPerListener: a TCP listener closes a flow idle for
// its own tcp.idle_timeout.seconds, and a change applies to new flows; a
// listener without the attribute keeps NLB's 350 s.
func TestTCPIdleTimeoutPerListener(t *testing.T) {
	t.Parallel()
	const second = 10 * time.Millisecond // how long a second of the attribute lasts here
	h := newHarness(t, func(l *LB) { l.attrSecond = second })
	target := tcpTarget(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // never talks, never closes first
	tg := h.tg(store.ProtocolTCP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, target)
	nlb := h.lbRecord(store.LBTypeNetwork)
	short, shortAddr := h.listener(nlb, store.ProtocolTCP, fwd(tg))
	_, defAddr := h.listener(nlb, store.ProtocolTCP, fwd(tg))
	h.setListenerAttrs(nlb, short, map[string]string{store.ListenerAttrTCPIdleTimeout: "60"})
	h.waitState(tg, target, store.TargetHealthy, 5*time.Second)
	h.waitHealthy(tg)

	// idleFor opens a flow and returns how long it lasted without data.
	idleFor := func(addr string) time.Duration {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
			t.Fatalf("read %q, %v; want the connection closed", got, err)
		}
		return time.Since(start)
	}

	def, err := net.Dial("tcp", defAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if d := idleFor(shortAddr); d < 60*second*3/4 || d > 60*second+time.Second {
		t.Errorf("tcp.idle_timeout.seconds=60: closed after %v, want about %v", d, 60*second)
	}
	// The other listener's flow, idle as long, is still open.
	_ = def.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := def.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("the listener without the attribute: read %d, %v; want the flow still open", n, err)
	}

	h.setListenerAttrs(nlb, short, map[string]string{store.ListenerAttrTCPIdleTimeout: "120"})
	if d := idleFor(shortAddr); d < 120*second*3/4 || d > 120*second+time.Second {
		t.Errorf("tcp.idle_timeout.seconds=120: closed after %v, want about %v", d, 120*second)
	}
}

// TestResponseHeaderAttributes: an HTTP listener's response header
// attributes add their headers to every answer, proxied or its own,
// replacing the target's of the same name; server.enabled=false leaves
// ALB's "Server: awselb/2.0" off its own answers; at their defaults they
// change nothing.
func TestResponseHeaderAttributes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := newTestBackend(t, "app", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "app/1.0")
		w.Header().Set("X-Frame-Options", "ALLOWALL")
		w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
		_, _ = io.WriteString(w, "app")
	})
	tg := h.healthyGroup(nil, app)
	empty := h.tg(store.ProtocolHTTP, nil, nil)
	alb := h.lbRecord(store.LBTypeApplication)
	lid, addr := h.listener(alb, store.ProtocolHTTP, fwd(tg))
	h.rule(alb, lid, 1, []store.Condition{{Field: store.CondPathPattern, Values: []string{"/fixed"}}},
		store.Action{Type: store.ActionFixedResponse, FixedResponse: &store.FixedResponse{StatusCode: "404", ContentType: "text/plain", MessageBody: "none"}})
	h.rule(alb, lid, 2, []store.Condition{{Field: store.CondPathPattern, Values: []string{"/old"}}},
		store.Action{Type: store.ActionRedirect, Redirect: &store.Redirect{Path: "/new", StatusCode: "HTTP_301"}})
	h.synced(h.rule(alb, lid, 3, []store.Condition{{Field: store.CondPathPattern, Values: []string{"/down"}}}, fwd(empty)))
	h.waitHealthy(tg, app)

	type answer struct {
		status int
		body   string
		hdr    http.Header
	}
	get := func(path string) answer {
		t.Helper()
		code, body, hdr := h.get("http://" + addr + path)
		return answer{code, body, hdr}
	}
	values := func(a answer, name string) []string { return a.hdr.Values(name) }
	const hsts = "max-age=63072000; includeSubDomains"

	// Defaults: the target's headers as they came; ALB's Server on its own.
	if a := get("/"); a.body != "app" || !slices.Equal(values(a, "Server"), []string{"app/1.0"}) ||
		!slices.Equal(values(a, "X-Frame-Options"), []string{"ALLOWALL"}) || a.hdr.Get("Strict-Transport-Security") != "" {
		t.Fatalf("proxied, defaults: %+v", a)
	}
	for _, p := range []string{"/fixed", "/old", "/down"} {
		if a := get(p); !slices.Equal(values(a, "Server"), []string{"awselb/2.0"}) || a.hdr.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s, defaults: %+v", p, a)
		}
	}

	h.setListenerAttrs(alb, lid, map[string]string{
		store.ListenerAttrServerHeader:                                   "false",
		"routing.http.response.strict_transport_security.header_value":   hsts,
		"routing.http.response.x_frame_options.header_value":             "DENY",
		"routing.http.response.access_control_allow_origin.header_value": "",
	})
	a := get("/")
	if a.status != 200 || a.body != "app" {
		t.Fatalf("proxied: %+v", a)
	}
	for name, want := range map[string][]string{
		"Strict-Transport-Security":   {hsts},                  // added
		"X-Frame-Options":             {"DENY"},                // the target's replaced
		"Access-Control-Allow-Origin": {"https://app.example"}, // empty: left alone
		"Server":                      {"app/1.0"},             // the target's own
	} {
		if got := values(a, name); !slices.Equal(got, want) {
			t.Errorf("proxied %s: %q, want %q", name, got, want)
		}
	}
	for _, c := range []struct {
		path   string
		status int
	}{{"/fixed", 404}, {"/old", 301}, {"/down", 503}} {
		a := get(c.path)
		if a.status != c.status || values(a, "Server") != nil || !slices.Equal(values(a, "Strict-Transport-Security"), []string{hsts}) ||
			!slices.Equal(values(a, "X-Frame-Options"), []string{"DENY"}) || a.hdr.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: %+v", c.path, a)
		}
	}
	if a := get("/fixed"); a.body != "none" || a.hdr.Get("Content-Type") != "text/plain" {
		t.Errorf("fixed response body and type: %+v", a)
	}

	// Back to the defaults: nothing added, ALB's Server back.
	h.setListenerAttrs(alb, lid, map[string]string{store.ListenerAttrServerHeader: "true",
		"routing.http.response.strict_transport_security.header_value": "", "routing.http.response.x_frame_options.header_value": ""})
	if a := get("/"); !slices.Equal(values(a, "X-Frame-Options"), []string{"ALLOWALL"}) || a.hdr.Get("Strict-Transport-Security") != "" {
		t.Errorf("proxied, back to defaults: %+v", a)
	}
	if a := get("/fixed"); !slices.Equal(values(a, "Server"), []string{"awselb/2.0"}) || a.hdr.Get("X-Frame-Options") != "" {
		t.Errorf("fixed, back to defaults: %+v", a)
	}
}
