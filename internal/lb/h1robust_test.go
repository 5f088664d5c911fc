package lb

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// rawTarget is a scripted HTTP target: it parses requests with net/http and
// writes whatever answer writes, byte for byte (an empty answer closes the
// connection). It records each request's method and path, and how many
// requests each connection carried.
type rawTarget struct {
	addr   string
	n      atomic.Int64 // requests so far
	mu     sync.Mutex
	seen   []string
	perCon []int
}

func newRawTarget(t *testing.T, answer func(n int64, r *http.Request, body []byte) string) *rawTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	rt := &rawTarget{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go rt.serve(c, answer)
		}
	}()
	return rt
}

func (rt *rawTarget) serve(c net.Conn, answer func(int64, *http.Request, []byte) string) {
	defer c.Close()
	br := bufio.NewReader(c)
	rt.mu.Lock()
	i := len(rt.perCon)
	rt.perCon = append(rt.perCon, 0)
	rt.mu.Unlock()
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		n := rt.n.Add(1)
		rt.mu.Lock()
		rt.seen = append(rt.seen, r.Method+" "+r.URL.Path)
		rt.perCon[i]++
		rt.mu.Unlock()
		out := answer(n, r, body)
		if out == "" {
			return
		}
		if _, err := io.WriteString(c, out); err != nil {
			return
		}
	}
}

func (rt *rawTarget) requests() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.seen...)
}

// rawSetup serves a scripted target behind an application load balancer
// (TCP health checks, so the script sees only proxied requests).
func rawSetup(t *testing.T, answer func(n int64, r *http.Request, body []byte) string) (*harness, string, *rawTarget) {
	rt := newRawTarget(t, answer)
	h, addr := targetSetup(t, rt.addr)
	return h, addr, rt
}

// targetSetup serves the target at target behind an application load
// balancer, with TCP health checks; it returns the listener's address.
func targetSetup(t *testing.T, target string) (*harness, string) {
	h := newHarness(t)
	tg := h.tg(store.ProtocolHTTP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, target)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitState(tg, target, store.TargetHealthy, 5*time.Second)
	h.waitHealthy(tg)
	return h, addr
}

// closingTarget answers the first request on each connection with answer
// and closes the connection.
func closingTarget(t *testing.T, answer string) string {
	return tcpTarget(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			_, _ = io.WriteString(c, answer)
		}
	})
}

func okAnswer(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// echoAnswer answers with the request's method, path and body.
func echoAnswer(_ int64, r *http.Request, body []byte) string {
	return okAnswer(fmt.Sprintf("%s %s %q", r.Method, r.URL.Path, body))
}

// conversation sends each request on one connection and reads each
// answer before the next request.
func conversation(t *testing.T, addr string, reqs ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var out []string
	for _, req := range reqs {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			out = append(out, "error: "+err.Error())
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	return out
}

// TestH1ConnectionCannotDropFraming: a Connection header naming
// Content-Length must not make the proxy forward the body without its
// length, or the target reads the body as a second, smuggled request
// (RFC 9110 7.6.1 lets a proxy drop the fields Connection names; framing
// fields cannot be among them).
func TestH1ConnectionCannotDropFraming(t *testing.T) {
	t.Parallel()
	_, addr, rt := rawSetup(t, echoAnswer)
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	got := conversation(t, addr,
		fmt.Sprintf("POST /a HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: %d\r\n\r\n%s", len(smuggled), smuggled),
		"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	want := []string{fmt.Sprintf("200 POST /a %q", smuggled), `200 GET /after ""`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers %q, want %q; the target saw %q", got, want, rt.requests())
	}
	for _, r := range rt.requests() {
		if strings.Contains(r, "smuggled") {
			t.Errorf("the target saw a smuggled request: %q", rt.requests())
		}
	}
}

// TestH1ResponseConnectionKeepsLength: a target's Connection header naming
// Content-Length does not strip the length the client needs to frame the
// answer on its keep-alive connection.
func TestH1ResponseConnectionKeepsLength(t *testing.T) {
	t.Parallel()
	_, addr, _ := rawSetup(t, func(_ int64, r *http.Request, _ []byte) string {
		return "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 2\r\n\r\nok"
	})
	got := conversation(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if fmt.Sprint(got) != "[200 ok 200 ok]" {
		t.Errorf("answers %q", got)
	}
}

// TestH1TargetSendsMoreThanItsLength: bytes a target sends beyond the
// answer's end (more than its Content-Length, a body after a 204 or a HEAD
// answer) must not be read as the answer to the next request on that
// connection — another client's.
func TestH1TargetSendsMoreThanItsLength(t *testing.T) {
	t.Parallel()
	const poison = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\npoison"
	for _, c := range []struct{ name, first, req string }{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + poison, "GET"},
		{"204 with a body", "HTTP/1.1 204 No Content\r\n\r\n" + poison, "GET"},
		{"HEAD with a body", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n" + poison, "HEAD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, addr, _ := rawSetup(t, func(n int64, r *http.Request, _ []byte) string {
				if n == 1 {
					return c.first
				}
				return okAnswer("fresh")
			})
			conversation(t, addr, c.req+" / HTTP/1.1\r\nHost: x\r\n\r\n")
			// Another client: the proxy reuses its pooled connection.
			got := conversation(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if fmt.Sprint(got) != "[200 fresh]" {
				t.Errorf("the next client got %q", got)
			}
		})
	}
}

// TestH1Unsolicited101: a 101 the client did not ask for (no Upgrade) is
// not passed on, nor is the connection, now in another protocol, pooled.
func TestH1Unsolicited101(t *testing.T) {
	t.Parallel()
	_, addr, _ := rawSetup(t, func(n int64, r *http.Request, _ []byte) string {
		if n == 1 {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\npoison"
		}
		return okAnswer("fresh")
	})
	if got := conversation(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); len(got) != 1 || !strings.HasPrefix(got[0], "502 ") {
		t.Errorf("unsolicited 101: %q, want 502", got)
	}
	if got := conversation(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); fmt.Sprint(got) != "[200 fresh]" {
		t.Errorf("the next client got %q", got)
	}
}

// TestH1AmbiguousFraming: requests whose framing a target could read
// differently are refused, or (both Content-Length and Transfer-Encoding:
// RFC 9112 6.1, ALB's desync mitigation "ambiguous" class) forwarded by
// Transfer-Encoding alone with both connections closed afterwards.
func TestH1AmbiguousFraming(t *testing.T) {
	t.Parallel()
	_, addr, rt := rawSetup(t, echoAnswer)
	for _, c := range []struct{ name, req, want string }{
		{"CL and TE", "POST /clte HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\n"},
		{"TE in HTTP/1.0", "POST /te10 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 400 "},
		{"signed length", "POST /plus HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", "HTTP/1.1 400 "},
		{"length list", "POST /list HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", "HTTP/1.1 400 "},
		{"chunk size with a sign", "POST /sign HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 400 "},
		{"chunk size in 0x form", "POST /0x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 400 "},
		{"bare LF in a chunk extension", "POST /lf HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n0\r\n\r\n", "HTTP/1.1 400 "},
		{"chunk data too long", "POST /long HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 400 "},
		{"invalid Host", "GET /host HTTP/1.1\r\nHost: a b/c\r\n\r\n", "HTTP/1.1 400 "},
	} {
		out := raw(t, addr, c.req)
		if !strings.HasPrefix(out, c.want) || !strings.Contains(out, "Connection: close\r\n") {
			t.Errorf("%s: got %q, want %q and the connection closed", c.name, out, c.want)
		}
	}
	for _, r := range rt.requests() {
		if r != "POST /clte" && r != "POST /sign" && r != "POST /0x" && r != "POST /lf" && r != "POST /long" {
			t.Errorf("the target got %q", r)
		}
	}
}

// TestH1ChunkedReframed: a chunked body reaches the other side in
// canonical form — sizes rewritten, extensions dropped — so the target
// parses exactly what the proxy parsed.
func TestH1ChunkedReframed(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"3\r\nabc\r\n0\r\n\r\n", "3\r\nabc\r\n0\r\n\r\n"},
		{"03;a=b\r\nabc\r\n10 ;x\r\n0123456789abcdef\r\n000\r\nX-T: 1\r\n\r\n", "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n"},
		{"3\nabc\r\n0\r\n\r\n", "error"},
		{"3\r\nabc\n0\r\n\r\n", "error"},
		{"3\r\nabc\r\r\n0\r\n\r\n", "error"},
		{" 3\r\nabc\r\n0\r\n\r\n", "error"},
		{"3 \r\nabc\r\n0\r\n\r\n", "error"},
		{"8000000000000000\r\n", "error"},
		{"0\r\n\n", "error"},
		{"0\r\n folded\r\n\r\n", "error"},
		{"0\r\nno colon\r\n\r\n", "error"},
	} {
		var out strings.Builder
		w := bufio.NewWriter(&out)
		err := copyChunked(w, bufio.NewReader(strings.NewReader(c.in)), true, nil)
		_ = w.Flush()
		got := out.String()
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%q: got %q (%v), want %q", c.in, got, err, c.want)
		}
	}
}

// TestH1HTTP10IgnoresExpect: an HTTP/1.0 client gets no 100 Continue
// (RFC 9110 10.1.1: the expectation is ignored).
func TestH1HTTP10IgnoresExpect(t *testing.T) {
	t.Parallel()
	_, addr, _ := rawSetup(t, echoAnswer)
	out := raw(t, addr, "POST /e HTTP/1.0\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody")
	if strings.Contains(out, "100 Continue") || !strings.HasSuffix(out, `POST /e "body"`) {
		t.Errorf("HTTP/1.0 with Expect:\n%q", out)
	}
}

// TestH1HeadLimits: ALB's quotas — a request line of at most 16 KiB, a
// field line of at most 16 KiB, a request head of at most 64 KiB.
func TestH1HeadLimits(t *testing.T) {
	t.Parallel()
	_, addr, _ := rawSetup(t, echoAnswer)
	for _, c := range []struct{ req, want string }{
		{"GET /" + strings.Repeat("a", 16<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 414 "},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", "HTTP/1.1 431 "},
		{"GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: "+strings.Repeat("a", 8<<10)+"\r\n", 8) + "\r\n", "HTTP/1.1 431 "},
		{"GET /" + strings.Repeat("a", 15<<10) + " HTTP/1.1\r\nHost: x\r\nX-A: " + strings.Repeat("a", 15<<10) + "\r\n\r\n", "HTTP/1.1 200 "},
	} {
		if out := raw(t, addr, c.req); !strings.HasPrefix(out, c.want) {
			t.Errorf("%.40q…: got %.60q, want %s", c.req, out, c.want)
		}
	}
}

// TestH1StatusLineWithoutReason: a target's status line without a reason
// phrase ("HTTP/1.1 200") reaches the client with the space before the
// empty reason that RFC 9112 4 requires ("HTTP/1.1 200 ").
func TestH1StatusLineWithoutReason(t *testing.T) {
	t.Parallel()
	_, addr, _ := rawSetup(t, func(int64, *http.Request, []byte) string {
		return "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"
	})
	if out := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(out, "HTTP/1.1 200 \r\n") {
		t.Errorf("got %q, want the status line %q", out, "HTTP/1.1 200 \r\n")
	}
}

// TestH1ResponseTransferCoding: a response whose final transfer coding is
// not chunked is read until the target closes the connection, whatever
// Content-Length says (RFC 9112 6.3), and reaches an HTTP/1.1 client with
// its codings and the client connection closed after it; codings before
// a final chunked are kept too. An HTTP/1.0 client cannot be sent
// Transfer-Encoding (RFC 9112 6.1) and gets the body until close.
func TestH1ResponseTransferCoding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, answer, req, wantTE, wantBody string }{
		{"gzip alone", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcdef",
			"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "gzip", "abcdef"},
		{"chunked then gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "chunked,gzip", "3\r\nabc\r\n0\r\n\r\n"},
		{"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "gzip, chunked", "3\r\nabc\r\n0\r\n\r\n"},
		{"gzip alone to HTTP/1.0", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcdef",
			"GET / HTTP/1.0\r\n\r\n", "", "abcdef"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, addr := targetSetup(t, closingTarget(t, c.answer))
			out := raw(t, addr, c.req)
			head, body, _ := strings.Cut(out, "\r\n\r\n")
			var te []string
			for _, line := range strings.Split(head, "\r\n")[1:] {
				name, value, _ := strings.Cut(line, ": ")
				switch {
				case strings.EqualFold(name, "Transfer-Encoding"):
					te = append(te, value)
				case strings.EqualFold(name, "Content-Length"):
					t.Errorf("a Content-Length went out: %q", head)
				}
			}
			if got := strings.Join(te, ","); !strings.HasPrefix(head, "HTTP/1.1 200 ") || got != c.wantTE || body != c.wantBody {
				t.Errorf("got %q, want Transfer-Encoding %q and the body %q", out, c.wantTE, c.wantBody)
			}
			if !strings.Contains(head, "\r\nConnection: close") {
				t.Errorf("the client connection stays open: %q", head)
			}
		})
	}
}
