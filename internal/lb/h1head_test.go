package lb

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
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
