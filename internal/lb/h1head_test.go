package lb

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

func parseReq(t *testing.T, raw string) *head {
	t.Helper()
	h := new(head)
	if err := h.readRequest(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return h
}

func TestWriteRequestHead(t *testing.T) {
	const in = "GET /a?b=1 HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: keep-alive, X-Hop\r\n" +
		"X-Hop: secret\r\nKeep-Alive: 5\r\nX-Forwarded-Proto: https\r\nAccept: */*\r\n\r\n"
	addr := func() net.Addr { return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 80} }
	for _, c := range []struct {
		mode string
		want string
	}{
		{"", "GET /a?b=1 HTTP/1.1\r\nHost: app.test\r\nAccept: */*\r\nX-Forwarded-For: 1.2.3.4, 127.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n"},
		{"preserve", "GET /a?b=1 HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 1.2.3.4\r\nAccept: */*\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n"},
		{"remove", "GET /a?b=1 HTTP/1.1\r\nHost: app.test\r\nAccept: */*\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n"},
	} {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		writeRequestHead(w, parseReq(t, in), &listenerSnap{xffMode: c.mode, portStr: []string{"8080"}}, "127.0.0.9", addr)
		_ = w.Flush()
		if out.String() != c.want {
			t.Errorf("mode %q:\n got %q\nwant %q", c.mode, out.String(), c.want)
		}
	}
	// Absolute form, HTTP/1.0 without Host, chunked beside a length.
	for _, c := range []struct{ in, want string }{
		{"GET http://other.test/p?q HTTP/1.1\r\nHost: ignored\r\n\r\n", "GET /p?q HTTP/1.1\r\nHost: other.test\r\n"},
		{"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost: 10.0.0.1:80\r\n"},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "POST / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For"},
	} {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		h := parseReq(t, c.in)
		writeRequestHead(w, h, &listenerSnap{portStr: []string{"80"}}, "127.0.0.9", addr)
		_ = w.Flush()
		if !strings.HasPrefix(out.String(), c.want) || strings.Contains(out.String(), "Content-Length") {
			t.Errorf("%q:\n got %q\nwant prefix %q", c.in, out.String(), c.want)
		}
	}
}

func TestReadHeadErrors(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want error
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", errMalformed},
		{"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", errMalformed},
		{"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", errMalformed},
		{"GET / HTTP/3\r\nHost: a\r\n\r\n", errVersion},
		{"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", errMalformed},
		{"GET / HTTP/1.1\r\nBad Name: x\r\nHost: a\r\n\r\n", errMalformed},
	} {
		h := new(head)
		if err := h.readRequest(bufio.NewReader(strings.NewReader(c.raw))); err != c.want {
			t.Errorf("%q: %v, want %v", c.raw, err, c.want)
		}
	}
	// A stray CRLF before a request is skipped.
	h := parseReq(t, "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if string(h.method) != "GET" {
		t.Errorf("method %q", h.method)
	}
}

// TestHotPathAllocs: parsing and writing heads and copying bodies, with
// the framing checks, allocate nothing once a connection's buffers exist;
// nor does a listener's response header attributes' work, compiled into
// the snapshot.
func TestHotPathAllocs(t *testing.T) {
	const reqRaw = "POST /a?b=1 HTTP/1.1\r\nHost: app.test:8080\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\n" +
		"X-Hop: 1\r\nX-Forwarded-For: 1.2.3.4\r\nAccept: */*\r\n\r\nhello"
	const respRaw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Frame-Options: ALLOWALL\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
	for _, c := range []struct {
		name string
		hm   *respHeaders
	}{
		{"no listener attributes", nil},
		{"response header attributes", compileRespHeaders(map[string]string{
			store.ListenerAttrServerHeader:                                 "false",
			"routing.http.response.x_frame_options.header_value":           "DENY",
			"routing.http.response.strict_transport_security.header_value": "max-age=31536000",
		})},
	} {
		src := strings.NewReader("")
		br := bufio.NewReader(src)
		bw := bufio.NewWriter(io.Discard)
		var req, resp head
		ls := &listenerSnap{portStr: []string{"80"}, hdr: c.hm}
		addr := func() net.Addr { return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 80} }
		var failed error
		allocs := testing.AllocsPerRun(100, func() {
			src.Reset(reqRaw)
			br.Reset(src)
			if err := req.readRequest(br); err != nil {
				failed = err
				return
			}
			writeRequestHead(bw, &req, ls, "127.0.0.9", addr)
			if err := copyN(bw, br, req.contentLength, nil); err != nil {
				failed = err
				return
			}
			src.Reset(respRaw)
			br.Reset(src)
			if err := resp.readResponse(br); err != nil {
				failed = err
				return
			}
			writeResponseHead(bw, &resp, frameChunked, nil, "", &req, true, nil, ls.hdr)
			if err := copyChunked(bw, br, true, nil); err != nil {
				failed = err
			}
			_ = bw.Flush()
		})
		if failed != nil {
			t.Fatalf("%s: %v", c.name, failed)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per request, want 0", c.name, allocs)
		}
	}
	// Picking a target by weighted random, with and without anomaly
	// mitigation's weights, and counting its answer.
	bs := []*backend{newBackend(targetKey{id: "a"}, ""), newBackend(targetKey{id: "b"}, ""), newBackend(targetKey{id: "c"}, "")}
	bs[2].setShare(minWeight)
	for _, mitigate := range []bool{false, true} {
		g := &groupSnap{routable: bs, random: true, mitigate: mitigate}
		allocs := testing.AllocsPerRun(100, func() {
			b := g.pick("", bs[0])
			b.answer(503)
		})
		if allocs != 0 {
			t.Errorf("weighted random (mitigation %v): %v allocations per pick, want 0", mitigate, allocs)
		}
	}
}
