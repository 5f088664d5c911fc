package lb

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// httpHandler serves one HTTP listener: it routes each request with the
// snapshot current when the request arrived and proxies it, answers it
// with a fixed response, or redirects it.
type httpHandler struct {
	l    *LB
	port int32
}

// staleRetries bounds how often a request re-reads the snapshot when every
// target it picked had just started draining (the newer snapshot is being
// published).
const staleRetries = 50

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := request{r: r, host: hostOnly(r.Host)}
	snap := h.l.snap.Load()
	var skip *backend
	prepared, retried := false, false
	for attempt := 0; ; attempt++ {
		ls := snap.listeners[h.port]
		if ls == nil {
			writeError(w, http.StatusServiceUnavailable)
			return
		}
		act := ls.route(&q)
		switch {
		case act == nil:
			writeError(w, http.StatusServiceUnavailable)
			return
		case act.kind == actFixed:
			writeFixed(w, act.fixed)
			return
		case act.kind == actRedirect:
			writeRedirect(w, r, ls, act.redirect, q.host)
			return
		}
		g, b := pickBackend(act.forward, r, skip)
		if g == nil || len(g.routable) == 0 {
			// ELB: the target group has no healthy (or fail-open
			// unhealthy) targets.
			writeError(w, http.StatusServiceUnavailable)
			return
		}
		if b == nil && retried {
			writeError(w, http.StatusBadGateway)
			return
		}
		if b == nil {
			// Every target picked is draining: this snapshot is being
			// replaced. Wait for the new one.
			if attempt >= staleRetries {
				writeError(w, http.StatusServiceUnavailable)
				return
			}
			if next := h.l.snap.Load(); next != snap {
				snap = next
			} else {
				time.Sleep(200 * time.Microsecond)
				snap = h.l.snap.Load()
			}
			continue
		}
		if isUpgrade(r) {
			h.upgrade(w, r, ls, b)
			return
		}
		if !prepared {
			prepared = true
			forwardedHeaders(r, ls)
		}
		if !h.proxy(w, r, g, b, !retried) {
			return
		}
		// The target refused the connection before anything was sent:
		// try another one once.
		retried, skip = true, b
	}
}

// pickBackend chooses a group and a backend and counts the request on it.
// It returns a nil backend when every candidate was draining.
func pickBackend(f *forwardSnap, r *http.Request, skip *backend) (*groupSnap, *backend) {
	tgCookie := ""
	if f.sticky {
		tgCookie = cookieValue(r, "AWSALBTG")
	}
	g := f.pickGroup(tgCookie)
	if g == nil {
		return nil, nil
	}
	key := ""
	if g.sticky == "lb_cookie" {
		key = cookieValue(r, "AWSALB")
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

func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// hopHeaders are removed from what is forwarded either way (RFC 9110 7.6.1).
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

var protoHTTP = []string{"http"}

// forwardedHeaders drops hop-by-hop headers from the request and sets
// X-Forwarded-For (per the load balancer's xff_header_processing.mode),
// -Proto and -Port. It edits the inbound header map in place: the proxy
// owns the request and this saves a copy per request.
func forwardedHeaders(r *http.Request, ls *listenerSnap) {
	hdr := r.Header
	if conn := hdr["Connection"]; len(conn) > 0 {
		for _, v := range conn {
			for tok := range strings.SplitSeq(v, ",") {
				if tok = strings.TrimSpace(tok); tok != "" {
					delete(hdr, http.CanonicalHeaderKey(tok))
				}
			}
		}
	}
	for _, k := range hopHeaders {
		delete(hdr, k)
	}
	switch ls.xffMode {
	case "preserve":
	case "remove":
		delete(hdr, "X-Forwarded-For")
	default:
		ip := clientIP(r.RemoteAddr)
		if prior := hdr["X-Forwarded-For"]; len(prior) > 0 {
			hdr["X-Forwarded-For"] = []string{strings.Join(prior, ", ") + ", " + ip}
		} else {
			hdr["X-Forwarded-For"] = []string{ip}
		}
	}
	hdr["X-Forwarded-Proto"] = protoHTTP
	hdr["X-Forwarded-Port"] = ls.portStr
}

func clientIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// proxy sends the request to b and copies the answer back. It reports
// true when the connection to the target could not be made and nothing
// was sent, so the caller may try another target.
func (h *httpHandler) proxy(w http.ResponseWriter, r *http.Request, g *groupSnap, b *backend, mayRetry bool) (retry bool) {
	defer b.release()
	out := new(http.Request)
	*out = *r
	out.URL = &url.URL{Scheme: "http", Host: b.addr, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := b.tr.RoundTrip(out)
	if err != nil {
		if r.Context().Err() != nil {
			return false // the client went away
		}
		if mayRetry && out.Body == nil && isDialError(err) {
			return true
		}
		writeError(w, http.StatusBadGateway)
		return false
	}
	defer resp.Body.Close()
	dst := w.Header()
	for k, vv := range resp.Header {
		dst[k] = vv
	}
	for _, k := range hopHeaders {
		delete(dst, k)
	}
	if g.sticky == "lb_cookie" {
		dst["Set-Cookie"] = append(dst["Set-Cookie"], "AWSALB="+b.cookie+"; Max-Age="+strconv.Itoa(int(g.stickyFor/time.Second))+"; Path=/")
	}
	announceTrailers(dst, resp.Trailer)
	w.WriteHeader(resp.StatusCode)
	copyBody(w, resp.Body, resp.ContentLength == -1)
	for k, vv := range resp.Trailer {
		dst[http.TrailerPrefix+k] = vv
	}
	return false
}

func announceTrailers(dst http.Header, tr http.Header) {
	if len(tr) == 0 {
		return
	}
	keys := make([]string, 0, len(tr))
	for k := range tr {
		keys = append(keys, k)
	}
	dst["Trailer"] = []string{strings.Join(keys, ", ")}
}

// copyBody streams the target's body to the client, flushing each chunk
// when the length is unknown (server-sent events, long polls). A target
// that breaks off mid-body makes the client's response break off too.
func copyBody(w http.ResponseWriter, body io.Reader, flush bool) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flush {
				_ = rc.Flush()
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			panic(http.ErrAbortHandler)
		}
	}
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// upgrade proxies a protocol upgrade (WebSocket) with the standard
// library's reverse proxy, which hands the connection over after the 101.
func (h *httpHandler) upgrade(w http.ResponseWriter, r *http.Request, ls *listenerSnap, b *backend) {
	defer b.release()
	rp := &httputil.ReverseProxy{
		Transport: b.tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", b.addr
			pr.Out.Host = r.Host
			pr.SetXForwarded()
			pr.Out.Header["X-Forwarded-Proto"] = protoHTTP
			pr.Out.Header["X-Forwarded-Port"] = ls.portStr
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { writeError(w, http.StatusBadGateway) },
	}
	rp.ServeHTTP(w, r)
}
