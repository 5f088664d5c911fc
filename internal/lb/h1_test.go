package lb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// h1Setup serves handler behind an application load balancer and returns
// the listener's address.
func h1Setup(t *testing.T, handler http.HandlerFunc) (*harness, string) {
	h := newHarness(t)
	b := newTestBackend(t, "b", handler)
	tg := h.healthyGroup(nil, b)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, b)
	return h, addr
}

// raw sends raw bytes on a new connection and returns everything read
// until the server closes or 2 s pass.
func raw(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, _ := io.ReadAll(c)
	if d := time.Since(start); d > time.Second {
		t.Logf("%.30q took %v", req, d)
	}
	return string(out)
}

func TestH1BodiesAndFraming(t *testing.T) {
	t.Parallel()
	h, addr := h1Setup(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %d %q te=%v", r.Method, r.ContentLength, b, r.TransferEncoding)
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			for i := range 3 {
				fmt.Fprintf(w, "part%d;", i)
				w.(http.Flusher).Flush()
			}
			w.Header().Set("X-Sum", "3")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/big":
			w.Header().Set("Content-Length", "1048576")
			_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
		}
	})
	base := "http://" + addr
	resp, err := h.client.Post(base+"/echo", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `POST 5 "hello" te=[]` {
		t.Errorf("content-length body: %s", b)
	}
	// A chunked request body (unknown length) stays chunked.
	resp, err = h.client.Post(base+"/echo", "text/plain", io.MultiReader(strings.NewReader("a"), strings.NewReader("bc")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `POST -1 "abc" te=[chunked]` {
		t.Errorf("chunked body: %s", b)
	}
	// A chunked response with a trailer passes through.
	resp, err = h.client.Get(base + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "part0;part1;part2;" || resp.Trailer.Get("X-Sum") != "3" || len(resp.TransferEncoding) == 0 {
		t.Errorf("chunked response: %q trailer %v te %v", b, resp.Trailer, resp.TransferEncoding)
	}
	code, body, _ := h.get(base + "/empty")
	if code != 204 || body != "" {
		t.Errorf("204: %d %q", code, body)
	}
	code, body, _ = h.get(base + "/big")
	if code != 200 || len(body) != 1<<20 {
		t.Errorf("1 MiB body: %d %d bytes", code, len(body))
	}
	// HEAD: the length of the GET, no body; then the connection goes on.
	out := raw(t, addr, "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.Contains(out, "Content-Length: 1048576\r\n") ||
		!strings.Contains(out, "\r\n\r\nHTTP/1.1 204 No Content\r\n") {
		t.Errorf("HEAD then pipelined GET:\n%s", out)
	}
}

func TestH1ClientVersionsAndErrors(t *testing.T) {
	t.Parallel()
	_, addr := h1Setup(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			// Flushed before the end: no length, chunked from Go.
			_, _ = io.WriteString(w, "stream")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "ed")
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	// HTTP/1.0 without keep-alive: the answer ends with the connection.
	out := raw(t, addr, "GET / HTTP/1.0\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.Contains(out, "Connection: close\r\n") || !strings.HasSuffix(out, "ok") {
		t.Errorf("HTTP/1.0:\n%s", out)
	}
	// HTTP/1.0 and a chunked answer from the target: de-chunked, closed.
	out = raw(t, addr, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	if !strings.HasSuffix(out, "\r\n\r\nstreamed") {
		t.Errorf("HTTP/1.0 stream:\n%q", out)
	}
	for _, c := range []struct{ req, status string }{
		{"GET / HTTP/1.1\r\n\r\n", "400"},                         // no Host
		{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505"},              // version
		{"GET / HTTP/1.1\r\nHost: x\r\n bad fold\r\n\r\n", "400"}, // obs-fold
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", "431"},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "501"},
	} {
		if out := raw(t, addr, c.req); !strings.HasPrefix(out, "HTTP/1.1 "+c.status) {
			t.Errorf("%.40q: got %.60q, want %s", c.req, out, c.status)
		}
	}
}

func TestH1ExpectContinueAndStreaming(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	_, addr := h1Setup(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "data: second\n\n")
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	if line, _ := br.ReadString('\n'); line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("expected 100 Continue first, got %q", line)
	}
	_, _ = br.ReadString('\n')
	_, _ = io.WriteString(c, "body")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "body" {
		t.Errorf("expect-continue body %q", b)
	}
	// A stream reaches the client as it comes, not when it ends.
	_, _ = io.WriteString(c, "GET /sse HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, len("data: first\n\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "data: first\n\n" {
		t.Fatalf("first event before the stream ended: %q %v", first, err)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "data: second\n\n" {
		t.Errorf("second event %q", rest)
	}
}

func TestH1Upgrade(t *testing.T) {
	t.Parallel()
	_, addr := h1Setup(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "no upgrade", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhello\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	line, _ := br.ReadString('\n')
	if line != "echo: hello\n" {
		t.Errorf("after the upgrade: %q", line)
	}
}

// TestH1StalePooledConnection: a target that closes idle keep-alive
// connections (a short keep-alive timeout) does not make requests fail.
func TestH1StalePooledConnection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := newTestBackend(t, "b", nil)
	b.srv.Config.SetKeepAlivesEnabled(true)
	tg := h.healthyGroup(nil, b)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg, b)
	for i := range 3 {
		if code, _, _ := h.get("http://" + addr + "/"); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
		b.srv.CloseClientConnections() // the target drops its idle connections
		time.Sleep(20 * time.Millisecond)
	}
}
