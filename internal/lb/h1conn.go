package lb

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// h1server is an HTTP listener's accept loop and its client connections.
type h1server struct {
	l    *LB
	ln   net.Listener
	port int32
	idle time.Duration

	mu      sync.Mutex
	conns   map[*h1conn]struct{}
	closing bool
	empty   chan struct{}
}

// Client connection states, for a graceful stop: idle connections (between
// requests) are closed at once, busy ones after their response.
const (
	connIdle int32 = iota
	connBusy
)

// h1conn is one client connection.
type h1conn struct {
	l      *LB
	srv    *h1server
	port   int32
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	req    head
	resp   head
	remote string
	ip     string
	idle   time.Duration
	dl     deadline
	fwd    *forwardSnap // the forward action of the request in progress
	hdr    *respHeaders // what the listener's attributes do to the answer in progress
	state  atomic.Int32
	// target is the target connection of the request in progress, closed
	// too when the listener stops for good.
	target atomic.Pointer[bconn]
}

func (s *h1server) serve() {
	acceptLoop(s.ln, func(c net.Conn) {
		remote := c.RemoteAddr().String()
		hc := &h1conn{
			l: s.l, srv: s, port: s.port, c: c, remote: remote, ip: clientIP(remote), idle: s.idle,
			br: bufio.NewReaderSize(c, 8<<10), bw: bufio.NewWriterSize(c, 8<<10),
		}
		if !s.add(hc) {
			_ = c.Close()
			return
		}
		s.l.wg.Go(hc.serve)
	})
}

func (s *h1server) add(hc *h1conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[hc] = struct{}{}
	return true
}

func (s *h1server) remove(hc *h1conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, hc)
	if len(s.conns) == 0 && s.empty != nil {
		close(s.empty)
		s.empty = nil
	}
}

func (s *h1server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// shutdown stops accepting, closes idle connections and returns a channel
// closed once every connection is gone.
func (s *h1server) shutdown() <-chan struct{} {
	_ = s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	ch := make(chan struct{})
	for hc := range s.conns {
		if hc.state.Load() == connIdle {
			_ = hc.c.Close()
		}
	}
	if len(s.conns) == 0 {
		close(ch)
	} else {
		s.empty = ch
	}
	return ch
}

func (s *h1server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for hc := range s.conns {
		_ = hc.c.Close()
		if bc := hc.target.Load(); bc != nil {
			bc.close()
		}
	}
}

// serve reads requests and answers them in order until the client closes,
// asks to close, or breaks the protocol.
func (hc *h1conn) serve() {
	defer hc.srv.remove(hc)
	defer hc.c.Close()
	for {
		hc.state.Store(connIdle)
		if hc.srv.isClosing() {
			return
		}
		hc.dl.touch(hc.c, hc.idle)
		err := hc.req.readRequest(hc.br)
		hc.state.Store(connBusy)
		if err != nil {
			hc.hdr = nil
			if ls := hc.l.snap.Load().listeners[hc.port]; ls != nil {
				hc.hdr = ls.hdr
			}
			hc.badRequest(err)
			return
		}
		keep := hc.handle()
		if hc.bw.Flush() != nil || !keep {
			return
		}
	}
}

// badRequest answers a head that could not be read, when the client is
// still there to hear it.
func (hc *h1conn) badRequest(err error) {
	code := 400
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isTimeout(err):
		return
	case errors.Is(err, errHeadTooLarge):
		code = 431
	case errors.Is(err, errLineTooLong):
		code = 414
	case errors.Is(err, errVersion):
		code = 505
	case !errors.Is(err, errMalformed):
		return // a read error: the connection is gone
	}
	hc.local(statusPage(code), false)
	_ = hc.bw.Flush()
}

// local answers without a target (fixed responses, redirects, errors),
// with ALB's Server header and the listener's response headers (hc.hdr).
// A request body not read yet is skipped when it is small, else the
// connection closes after the answer.
func (hc *h1conn) local(f *fixedSnap, keep bool) bool {
	r := &hc.req
	if keep && (r.chunked || r.expect100 || r.contentLength > 256<<10) {
		keep = false
	}
	if keep && r.contentLength > 0 {
		if _, err := hc.br.Discard(int(r.contentLength)); err != nil {
			return false
		}
	}
	w := hc.bw
	_, _ = w.WriteString(f.statusLine)
	if hc.hdr == nil || !hc.hdr.noServer {
		_, _ = w.WriteString(serverField)
	}
	if f.contentType != nil {
		_, _ = w.WriteString("Content-Type: ")
		_, _ = w.WriteString(f.contentType[0])
		_, _ = w.Write(crlf)
	}
	for _, h := range f.extra {
		_, _ = w.WriteString(h)
	}
	if hc.hdr != nil {
		_, _ = w.WriteString(hc.hdr.block)
	}
	_, _ = w.WriteString("Content-Length: ")
	_, _ = w.WriteString(f.length[0])
	_, _ = w.Write(crlf)
	writeDateAndConn(w, r, keep)
	if string(r.method) != "HEAD" {
		_, _ = w.Write(f.body)
	}
	return keep
}

func writeDateAndConn(w *bufio.Writer, r *head, keep bool) {
	_, _ = w.WriteString("Date: ")
	_, _ = w.WriteString(httpDate())
	_, _ = w.Write(crlf)
	switch {
	case !keep:
		_, _ = w.WriteString("Connection: close\r\n")
	case r.minor == 0:
		_, _ = w.WriteString("Connection: keep-alive\r\n")
	}
	_, _ = w.Write(crlf)
}

// httpDate is the current time as an HTTP date, made at most once a
// second.
func httpDate() string {
	now := time.Now().Unix()
	if d := dateCache.Load(); d != nil && d.sec == now {
		return d.s
	}
	d := &cachedDate{sec: now, s: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

type cachedDate struct {
	sec int64
	s   string
}

var dateCache atomic.Pointer[cachedDate]

// redirect answers with the action's Location.
func (hc *h1conn) redirect(rd *redirectSnap, q *request, ls *listenerSnap, keep bool) bool {
	loc := redirectLocation(rd, q, ls)
	f := &fixedSnap{
		statusLine:  "HTTP/1.1 " + strconv.Itoa(rd.status) + " " + http.StatusText(rd.status) + "\r\n",
		contentType: []string{"text/html"},
		extra:       []string{"Location: " + loc + "\r\n"},
	}
	f.body = []byte(page(strconv.Itoa(rd.status) + " " + http.StatusText(rd.status)))
	f.length = []string{strconv.Itoa(len(f.body))}
	return hc.local(f, keep)
}
