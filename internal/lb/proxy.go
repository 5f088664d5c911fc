package lb

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"time"
)

// staleRetries bounds how often a request re-reads the snapshot when every
// target it picked had just started draining (the newer snapshot is being
// published).
const staleRetries = 50

// handle answers one request; it reports whether the client connection
// may carry another.
func (hc *h1conn) handle() bool {
	r := &hc.req
	keep := r.keepAlive()
	snap := hc.l.snap.Load()
	hc.hdr = nil
	if ls := snap.listeners[hc.port]; ls != nil {
		hc.hdr = ls.hdr
	}
	if r.badTE {
		hc.local(statusPage(501), false)
		return false
	}
	q := newRequest(r, hc.remote)
	var skip *backend
	retried := false
	for attempt := 0; ; attempt++ {
		ls := snap.listeners[hc.port]
		if ls == nil {
			hc.hdr = nil
			hc.local(errorPages[503], false)
			return false
		}
		hc.hdr = ls.hdr
		act := ls.route(&q)
		switch {
		case act == nil:
			return hc.local(errorPages[503], keep)
		case act.kind == actFixed:
			return hc.local(act.fixed, keep)
		case act.kind == actRedirect:
			return hc.redirect(act.redirect, &q, ls, keep)
		}
		g, b := pickBackend(act.forward, &q, skip)
		switch {
		case g == nil || len(g.routable) == 0:
			// ELB: the target group has no healthy (or fail-open
			// unhealthy) targets.
			return hc.local(errorPages[503], keep)
		case b == nil && retried:
			return hc.local(errorPages[502], keep)
		case b == nil:
			// Every target picked is draining: this snapshot is being
			// replaced. Wait for the new one.
			if attempt >= staleRetries {
				return hc.local(errorPages[503], keep)
			}
			if next := hc.l.snap.Load(); next != snap {
				snap = next
			} else {
				time.Sleep(200 * time.Microsecond)
				snap = hc.l.snap.Load()
			}
			continue
		}
		hc.fwd = act.forward
		out := hc.proxy(ls, g, b)
		if out == retryOther && !retried {
			// The target refused the connection, or (a replayable
			// request) a new connection broke before any answer: try
			// another one once.
			retried, skip = true, b
			continue
		}
		if out == retryOther {
			return hc.local(errorPages[502], keep)
		}
		return out == doneKeep && keep
	}
}

// pickBackend chooses a group and a backend and counts the request on it.
// It returns a nil backend when every candidate was draining.
func pickBackend(f *forwardSnap, q *request, skip *backend) (*groupSnap, *backend) {
	tgCookie := ""
	if f.sticky {
		tgCookie = q.cookie("AWSALBTG")
	}
	g := f.pickGroup(tgCookie)
	if g == nil {
		return nil, nil
	}
	key := ""
	if g.sticky == "lb_cookie" {
		key = q.cookie("AWSALB")
	}
	for range len(g.routable) + 1 {
		b := g.pick(key, skip)
		if b == nil || b == skip {
			return g, nil
		}
		if b.acquire() {
			return g, b
		}
		skip, key = b, ""
	}
	return g, nil
}

// outcome of proxying one request.
type outcome int

const (
	doneKeep   outcome = iota // answered; the client connection may go on
	doneClose                 // answered or broken off; close the client connection
	retryOther                // no answer from the target and nothing consumed: another may take it
)

// proxy sends the request to b and copies the answer back. A pooled
// connection the target had closed is replaced by a new one once, when the
// request can be sent again. A target that takes no connection within the
// connection timeout gets the client a 504 (ALB's answer), one that
// refuses it another target.
func (hc *h1conn) proxy(ls *listenerSnap, g *groupSnap, b *backend) outcome {
	defer b.release()
	for try := 0; ; try++ {
		bc, reused, err := b.getConn(try > 0, hc.l.dialTimeout)
		if err != nil {
			b.answer(0)
		}
		if err != nil && isTimeout(err) {
			if hc.local(errorPages[504], hc.req.keepAlive()) {
				return doneKeep
			}
			return doneClose
		}
		if err != nil {
			return retryOther
		}
		hc.resp.status = 0 // stays 0 unless an answer comes
		out, stale := hc.exchange(bc, reused, ls, g, b)
		if stale && try == 0 {
			continue // a pooled connection the target had closed: not its failure
		}
		b.answer(hc.resp.status)
		return out
	}
}

// replayable: the request has no body and an idempotent method, so it can
// be sent again on a fresh connection (net/http's Transport rule).
func (hc *h1conn) replayable() bool {
	r := &hc.req
	if r.contentLength > 0 || r.chunked {
		return false
	}
	switch string(r.method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	_, ok := r.get("Idempotency-Key")
	return ok
}

// exchange runs one request/response over bc. stale reports a reused
// connection that failed before any answer, for a replayable request.
func (hc *h1conn) exchange(bc *bconn, reused bool, ls *listenerSnap, g *groupSnap, b *backend) (out outcome, stale bool) {
	r, resp := &hc.req, &hc.resp
	hc.target.Store(bc)
	defer hc.target.Store(nil)
	bc.dl.touch(bc.c, hc.idle)
	tick := func() { hc.dl.touch(hc.c, hc.idle); bc.dl.touch(bc.c, hc.idle) }
	writeRequestHead(bc.bw, r, ls, hc.ip, bc.c.RemoteAddr)
	if r.contentLength > 0 || r.chunked {
		if r.expect100 {
			_, _ = hc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if hc.bw.Flush() != nil {
				bc.close()
				return doneClose, false
			}
		}
		var err error
		if r.chunked {
			err = copyChunked(bc.bw, hc.br, true, tick)
		} else {
			err = copyN(bc.bw, hc.br, r.contentLength, tick)
		}
		if err != nil {
			bc.close()
			switch {
			case errors.As(err, new(dstError)):
				hc.local(errorPages[502], false)
			case errors.Is(err, errChunk), errors.Is(err, errHeadTooLarge):
				hc.local(statusPage(400), false)
			}
			return doneClose, false
		}
	}
	if err := bc.bw.Flush(); err != nil {
		bc.close()
		switch {
		case reused && hc.replayable():
			return doneClose, true
		case hc.replayable():
			return retryOther, false
		}
		hc.local(errorPages[502], false)
		return doneClose, false
	}
	for {
		err := resp.readResponse(bc.br)
		if err != nil {
			bc.close()
			if len(resp.buf) == 0 && hc.replayable() && !isTimeout(err) {
				if reused {
					return doneClose, true
				}
				// A new connection broken before any answer (a
				// target whose process just died, behind a port
				// mapping that still accepts): another target.
				return retryOther, false
			}
			if isTimeout(err) {
				return hc.failed(504), false
			}
			return hc.failed(502), false
		}
		// The wait for the target does not count against the client
		// connection's idle timeout: a late answer still goes out.
		hc.dl.touch(hc.c, hc.idle)
		if resp.status >= 200 || resp.status == 101 {
			break
		}
		// An interim answer (100 Continue, 103 Early Hints) goes through.
		if r.minor == 1 {
			writeResponseHead(hc.bw, resp, frameNone, nil, "", nil, true, nil, nil)
			if hc.bw.Flush() != nil {
				bc.close()
				return doneClose, false
			}
		}
	}
	if resp.status == 101 {
		if !r.connUpgrade {
			// A switch nobody asked for: the connection now speaks
			// something else.
			bc.close()
			return hc.failed(502), false
		}
		hc.upgrade(bc)
		return doneClose, false
	}
	return hc.relay(bc, g, b, tick), false
}

func (hc *h1conn) failed(code int) outcome {
	hc.local(errorPages[code], false)
	return doneClose
}

// Response framings towards the client.
type framing int

const (
	frameNone    framing = iota // no body
	frameLength                 // Content-Length
	frameChunked                // chunked, passed through
	frameDechunk                // chunked from the target, plain to an HTTP/1.0 client (until close)
	frameReChunk                // until the target closes, chunked to an HTTP/1.1 client
	frameToEOF                  // until the target closes, to the client until close
)

// relay writes the response to the client and returns whether the client
// connection may go on; the target connection goes back to the pool when
// its exchange ended cleanly.
func (hc *h1conn) relay(bc *bconn, g *groupSnap, b *backend, tick func()) outcome {
	r, resp := &hc.req, &hc.resp
	fr := frameLength
	switch {
	case string(r.method) == "HEAD" || resp.status == 204 || resp.status == 304 || resp.status < 200:
		fr = frameNone
	case resp.badTE:
		// Chunked is not the final coding: the body lasts until the
		// target closes (RFC 9112 6.3), and goes on as it came, its
		// codings named, to a client whose connection then closes.
		fr = frameToEOF
	case resp.chunked && r.minor == 1:
		fr = frameChunked
	case resp.chunked:
		fr = frameDechunk
	case resp.contentLength < 0 && r.minor == 1:
		fr = frameReChunk
	case resp.contentLength < 0:
		fr = frameToEOF
	}
	keep := fr != frameDechunk && fr != frameToEOF
	cookie := ""
	if g.sticky == "lb_cookie" {
		cookie = b.cookie
	}
	writeResponseHead(hc.bw, resp, fr, g, cookie, r, keep && r.keepAlive(), hc.fwd, hc.hdr)
	var err error
	switch fr {
	case frameLength:
		err = copyN(hc.bw, bc.br, resp.contentLength, tick)
	case frameChunked, frameDechunk:
		err = copyChunked(hc.bw, bc.br, fr == frameChunked, tick)
	case frameReChunk, frameToEOF:
		err = copyToEOF(hc.bw, bc.br, fr == frameReChunk, tick)
	}
	// Bytes already there past the answer's end (more than its length, a
	// body after a 204 or a HEAD answer) would be read as the answer to
	// the connection's next request: such a connection is not reused.
	reuse := err == nil && fr != frameReChunk && fr != frameToEOF && !resp.connClose && (resp.minor == 1 || resp.connKeepAlive) &&
		bc.br.Buffered() == 0 && !r.clAndTE && !resp.clAndTE
	if reuse {
		b.putConn(bc)
	} else {
		bc.close()
	}
	if err != nil {
		// Broken off mid-body: the client sees a short body or a
		// connection closed before the last chunk.
		return doneClose
	}
	if !keep {
		return doneClose
	}
	return doneKeep
}

// upgrade hands both connections over to each other after a 101
// (WebSocket): what either side had buffered goes first.
func (hc *h1conn) upgrade(bc *bconn) {
	writeResponseHead(hc.bw, &hc.resp, frameNone, nil, "", nil, true, nil, nil)
	if n := bc.br.Buffered(); n > 0 {
		p, _ := bc.br.Peek(n)
		_, _ = hc.bw.Write(p)
	}
	if hc.bw.Flush() != nil {
		bc.close()
		return
	}
	if n := hc.br.Buffered(); n > 0 {
		p, _ := hc.br.Peek(n)
		if _, err := bc.c.Write(p); err != nil {
			bc.close()
			return
		}
	}
	_ = hc.c.SetDeadline(time.Time{})
	_ = bc.c.SetDeadline(time.Time{})
	pipe(hc.c, bc.c, 0)
}

var (
	crlf        = []byte("\r\n")
	colonSpace  = []byte(": ")
	xffPrefix   = "X-Forwarded-For: "
	xfProtoPort = "X-Forwarded-Proto: http\r\nX-Forwarded-Port: "
)

// writeRequestHead writes the request as it goes to the target: HTTP/1.1,
// hop-by-hop fields dropped, X-Forwarded-For (per the load balancer's
// xff_header_processing.mode), -Proto and -Port set.
func writeRequestHead(w *bufio.Writer, r *head, ls *listenerSnap, ip string, targetAddr func() net.Addr) {
	_, _ = w.Write(r.method)
	_ = w.WriteByte(' ')
	target, host := originForm(r.target)
	_, _ = w.Write(target)
	_, _ = w.WriteString(" HTTP/1.1\r\n")
	switch {
	case host != nil:
		_, _ = w.WriteString("Host: ")
		_, _ = w.Write(host)
		_, _ = w.Write(crlf)
	case r.host == nil: // HTTP/1.0 without Host: name the target
		_, _ = w.WriteString("Host: ")
		_, _ = w.WriteString(targetAddr().String())
		_, _ = w.Write(crlf)
	}
	appendXFF := ls.xffMode == "append" || ls.xffMode == ""
	for _, f := range r.fields {
		switch {
		case r.hopByHop(f.name), equalFold(f.name, "Expect"),
			equalFold(f.name, "X-Forwarded-Proto"), equalFold(f.name, "X-Forwarded-Port"):
			continue
		case host != nil && equalFold(f.name, "Host"):
			continue
		case r.chunked && equalFold(f.name, "Content-Length"):
			continue // chunked wins; both would invite request smuggling
		case r.hasXFF && ls.xffMode != "preserve" && equalFold(f.name, "X-Forwarded-For"):
			continue
		}
		writeField(w, f)
	}
	if appendXFF {
		_, _ = w.WriteString(xffPrefix)
		if r.hasXFF {
			for _, f := range r.fields {
				if equalFold(f.name, "X-Forwarded-For") {
					_, _ = w.Write(f.value)
					_, _ = w.WriteString(", ")
				}
			}
		}
		_, _ = w.WriteString(ip)
		_, _ = w.Write(crlf)
	}
	_, _ = w.WriteString(xfProtoPort)
	_, _ = w.WriteString(ls.portStr[0])
	_, _ = w.Write(crlf)
	if r.chunked {
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if r.connUpgrade {
		if up, ok := r.get("Upgrade"); ok {
			_, _ = w.WriteString("Connection: Upgrade\r\nUpgrade: ")
			_, _ = w.Write(up)
			_, _ = w.Write(crlf)
		}
	}
	_, _ = w.Write(crlf)
}

// originForm turns an absolute-form target into its path and host.
func originForm(t []byte) (target, host []byte) {
	if len(t) == 0 || t[0] == '/' || t[0] == '*' {
		return t, nil
	}
	const scheme = "://"
	for i := 0; i+len(scheme) <= len(t); i++ {
		if string(t[i:i+len(scheme)]) == scheme {
			rest := t[i+len(scheme):]
			for j := range rest {
				if rest[j] == '/' || rest[j] == '?' {
					if rest[j] == '?' {
						return append([]byte("/"), rest[j:]...), rest[:j]
					}
					return rest[j:], rest[:j]
				}
			}
			return []byte("/"), rest
		}
	}
	return t, nil
}

func writeField(w *bufio.Writer, f field) {
	_, _ = w.Write(f.name)
	_, _ = w.Write(colonSpace)
	_, _ = w.Write(f.value)
	_, _ = w.Write(crlf)
}

// writeResponseHead writes the target's status line and fields to the
// client, without hop-by-hop fields, framed as fr, with the stickiness
// cookies when there are: AWSALB names the target (the group's
// stickiness), AWSALBTG the group (the forward action's), and the
// listener's response headers (hm, nil for none) in place of the
// target's of those names. r is nil for interim and 101 answers, which go
// as they came. Transfer codings other than chunked, which the body still
// carries, are named to an HTTP/1.1 client as the target named them (an
// HTTP/1.0 one cannot be told: RFC 9112 6.1).
func writeResponseHead(w *bufio.Writer, resp *head, fr framing, g *groupSnap, cookie string, r *head, keep bool, f *forwardSnap, hm *respHeaders) {
	_, _ = w.WriteString("HTTP/1.1 ")
	_, _ = w.Write(resp.statusLine)
	if len(resp.statusLine) == 3 {
		_ = w.WriteByte(' ') // no reason phrase: the space before it stays (RFC 9112 4)
	}
	_, _ = w.Write(crlf)
	passTE := resp.teCodings && r != nil && r.minor == 1 && (fr == frameChunked || fr == frameToEOF)
	for _, f := range resp.fields {
		if r == nil {
			if resp.status != 101 && resp.hopByHop(f.name) {
				continue
			}
			writeField(w, f)
			continue
		}
		if resp.hopByHop(f.name) && !(fr == frameChunked && equalFold(f.name, "Trailer")) &&
			!(passTE && equalFold(f.name, "Transfer-Encoding")) {
			continue
		}
		if fr != frameLength && fr != frameNone && equalFold(f.name, "Content-Length") {
			continue
		}
		if hm != nil && hm.replaces(f.name) {
			continue
		}
		writeField(w, f)
	}
	if r == nil {
		_, _ = w.Write(crlf)
		return
	}
	if cookie != "" {
		_, _ = w.WriteString("Set-Cookie: AWSALB=")
		_, _ = w.WriteString(cookie)
		_, _ = w.WriteString("; Max-Age=")
		_, _ = w.WriteString(strconv.Itoa(int(g.stickyFor / time.Second)))
		_, _ = w.WriteString("; Path=/\r\n")
	}
	if f != nil && f.sticky && len(f.groups) > 1 {
		_, _ = w.WriteString("Set-Cookie: AWSALBTG=")
		_, _ = w.WriteString(g.id)
		_, _ = w.WriteString("; Max-Age=")
		_, _ = w.WriteString(strconv.Itoa(int(f.stickyFor / time.Second)))
		_, _ = w.WriteString("; Path=/\r\n")
	}
	if hm != nil {
		_, _ = w.WriteString(hm.block)
	}
	if fr == frameChunked && !passTE || fr == frameReChunk {
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case !keep:
		_, _ = w.WriteString("Connection: close\r\n")
	case r.minor == 0:
		_, _ = w.WriteString("Connection: keep-alive\r\n")
	}
	_, _ = w.Write(crlf)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func clientIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
