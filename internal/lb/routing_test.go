package lb

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

func TestRoutingByConditions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	names := []string{"default", "api", "host", "header", "method", "query", "wild"}
	bs := map[string]*testBackend{}
	tgs := map[string]string{}
	for _, n := range names {
		bs[n] = newTestBackend(t, n, nil)
		tgs[n] = h.healthyGroup(nil, bs[n])
	}
	lbID := h.lbRecord(store.LBTypeApplication)
	lid, addr := h.listener(lbID, store.ProtocolHTTP, fwd(tgs["default"]))
	h.rule(lbID, lid, 10, []store.Condition{{Field: store.CondPathPattern, Values: []string{"/api/*"}}}, fwd(tgs["api"]))
	h.rule(lbID, lid, 20, []store.Condition{{Field: store.CondHostHeader, Values: []string{"*.example.com"}}}, fwd(tgs["host"]))
	h.rule(lbID, lid, 30, []store.Condition{{Field: store.CondHTTPHeader, HTTPHeaderName: "x-canary", Values: []string{"yes"}}}, fwd(tgs["header"]))
	h.rule(lbID, lid, 40, []store.Condition{{Field: store.CondHTTPRequestMethod, Values: []string{"DELETE"}}}, fwd(tgs["method"]))
	h.rule(lbID, lid, 50, []store.Condition{{Field: store.CondQueryString, QueryValues: []store.QueryKeyValue{{Key: "v", Value: "2"}}}}, fwd(tgs["query"]))
	// Two conditions: both must hold.
	rev := h.rule(lbID, lid, 5, []store.Condition{
		{Field: store.CondPathPattern, Values: []string{"/img/?.png"}},
		{Field: store.CondHostHeader, Values: []string{"static.test"}},
	}, fwd(tgs["wild"]))
	h.synced(rev)
	for _, n := range names {
		h.waitHealthy(tgs[n], bs[n])
	}
	base := "http://" + addr
	cases := []struct {
		name   string
		method string
		url    string
		hdr    []string
		want   string
	}{
		{"no rule matches", "GET", base + "/", nil, "default"},
		{"path pattern", "GET", base + "/api/users", nil, "api"},
		{"path is case-sensitive", "GET", base + "/API/users", nil, "default"},
		{"host wildcard, case-insensitive, port ignored", "GET", base + "/", []string{"Host", "Shop.Example.com:8080"}, "host"},
		{"host without subdomain", "GET", base + "/", []string{"Host", "example.com"}, "default"},
		{"header", "GET", base + "/x", []string{"X-Canary", "YES"}, "header"},
		{"method", "DELETE", base + "/x", nil, "method"},
		{"query", "GET", base + "/x?a=1&v=2", nil, "query"},
		{"query other value", "GET", base + "/x?v=3", nil, "default"},
		{"priority: lower first", "GET", base + "/api/x?v=2", nil, "api"},
		{"? is one character, both conditions", "GET", base + "/img/a.png", []string{"Host", "static.test"}, "wild"},
		{"? is exactly one", "GET", base + "/img/ab.png", []string{"Host", "static.test"}, "default"},
		{"one condition of two", "GET", base + "/img/a.png", nil, "default"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, c.url, nil)
		for i := 0; i+1 < len(c.hdr); i += 2 {
			if c.hdr[i] == "Host" {
				req.Host = c.hdr[i+1]
			} else {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
		}
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != c.want {
			t.Errorf("%s: got %d %q, want 200 %q", c.name, resp.StatusCode, body, c.want)
		}
	}
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	got := make(chan http.Header, 1)
	b := newTestBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		hdr := r.Header.Clone()
		hdr.Set("Host", r.Host)
		got <- hdr
	})
	tg := h.healthyGroup(nil, b)
	lbID := h.lbRecord(store.LBTypeApplication)
	_, addr := h.listener(lbID, store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, b)
	_, port := splitAddr(t, addr)
	code, _, _ := h.get("http://"+addr+"/", "X-Forwarded-For", "203.0.113.9", "Host", "app.test", "Connection", "X-Secret", "X-Secret", "drop me")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	hdr := <-got
	if v := hdr.Get("X-Forwarded-For"); v != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", v)
	}
	if v := hdr.Get("X-Forwarded-Proto"); v != "http" {
		t.Errorf("X-Forwarded-Proto = %q", v)
	}
	if v := hdr.Get("X-Forwarded-Port"); v != strings.TrimSpace(itoa(port)) {
		t.Errorf("X-Forwarded-Port = %q, want %d", v, port)
	}
	if v := hdr.Get("Host"); v != "app.test" {
		t.Errorf("Host = %q, want the client's", v)
	}
	if v := hdr.Get("X-Secret"); v != "" {
		t.Errorf("a header named in Connection was forwarded: %q", v)
	}
}

func TestFixedResponseAndRedirect(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	lbID := h.lbRecord(store.LBTypeApplication)
	lid, addr := h.listener(lbID, store.ProtocolHTTP, store.Action{Type: store.ActionFixedResponse,
		FixedResponse: &store.FixedResponse{StatusCode: "404", ContentType: "application/json", MessageBody: `{"error":"nope"}`}})
	h.rule(lbID, lid, 1, []store.Condition{{Field: store.CondPathPattern, Values: []string{"/old/*"}}},
		store.Action{Type: store.ActionRedirect, Redirect: &store.Redirect{Protocol: "HTTPS", Port: "443", Path: "/new/#{path}", Query: "from=#{host}&#{query}", StatusCode: "HTTP_301"}})
	rev := h.rule(lbID, lid, 2, []store.Condition{{Field: store.CondPathPattern, Values: []string{"/moved"}}},
		store.Action{Type: store.ActionRedirect, Redirect: &store.Redirect{Host: "other.test", StatusCode: "HTTP_302"}})
	h.synced(rev)
	_, port := splitAddr(t, addr)

	code, body, hdr := h.get("http://" + addr + "/anything")
	if code != 404 || body != `{"error":"nope"}` || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("fixed response: %d %q %q", code, body, hdr.Get("Content-Type"))
	}
	code, _, hdr = h.get("http://"+addr+"/old/a/b?x=1", "Host", "shop.test")
	if want := "https://shop.test:443/new/old/a/b?from=shop.test&x=1"; code != 301 || hdr.Get("Location") != want {
		t.Errorf("redirect: %d %q, want 301 %q", code, hdr.Get("Location"), want)
	}
	code, _, hdr = h.get("http://"+addr+"/moved?q=2", "Host", "shop.test")
	if want := "http://other.test:" + itoa(port) + "/moved?q=2"; code != 302 || hdr.Get("Location") != want {
		t.Errorf("redirect defaults: %d %q, want 302 %q", code, hdr.Get("Location"), want)
	}
}

func TestNoTargets503AndTargetDown502(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	empty := h.tg(store.ProtocolHTTP, nil, nil)
	lbID := h.lbRecord(store.LBTypeApplication)
	lid, addr := h.listener(lbID, store.ProtocolHTTP, fwd(empty))
	if code, _, _ := h.get("http://" + addr + "/"); code != 503 {
		t.Errorf("no targets: status %d, want 503", code)
	}
	// A target that is healthy by its record but whose process is gone:
	// the connection is refused → 502.
	b := newTestBackend(t, "gone", nil)
	tg := h.healthyGroup(nil, b)
	h.waitState(tg, b.addr, store.TargetInitial, time.Second) // not in use: no checks yet
	rev := h.rule(lbID, lid, 1, []store.Condition{{Field: store.CondPathPattern, Values: []string{"/gone"}}}, fwd(tg))
	h.synced(rev)
	h.waitHealthy(tg, b)
	b.srv.Close()
	if code, _, _ := h.get("http://" + addr + "/gone"); code != 502 {
		t.Errorf("target down: status %d, want 502", code)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
