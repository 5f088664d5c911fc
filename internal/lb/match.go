package lb

import (
	"bytes"
	"net/netip"
	"net/url"
	"strings"
)

// pattern is an ELB wildcard pattern: '*' matches any run of characters
// (also none), '?' exactly one. fold makes it ASCII case-insensitive (host,
// header and query conditions); path patterns are case-sensitive.
type pattern struct {
	s     string
	fold  bool
	exact bool // no wildcard: a plain comparison
}

func compilePattern(s string, fold bool) pattern {
	if fold {
		s = strings.ToLower(s)
	}
	return pattern{s: s, fold: fold, exact: !strings.ContainsAny(s, "*?")}
}

func (p pattern) match(s string) bool {
	if p.exact {
		if p.fold {
			return strings.EqualFold(p.s, s)
		}
		return p.s == s
	}
	return globMatch(p.s, s, p.fold)
}

// globMatch matches s against pat ('*' and '?') without allocating, with
// the classic single-backtrack algorithm (linear for patterns with one '*',
// at worst O(len(pat)·len(s))).
func globMatch(pat, s string, fold bool) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && (c == s[sx] || fold && c == lower(s[sx])) {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// condKind is a compiled condition's field.
type condKind uint8

const (
	condPath condKind = iota + 1
	condHost
	condHeader
	condMethod
	condQuery
	condSourceIP
)

// cond is one compiled rule condition: it holds when any of its values
// matches.
type cond struct {
	kind     condKind
	patterns []pattern      // path, host, header values
	header   string         // canonical header name (condHeader)
	methods  []string       // condMethod
	query    []queryPattern // condQuery
	nets     []netip.Prefix // condSourceIP
}

type queryPattern struct {
	key, value pattern
	anyKey     bool
}

// request is what conditions look at: a view of the request head whose
// strings are made only when a rule needs them.
type request struct {
	h      *head
	remote string // client ip:port

	method   string
	path     string // decoded
	rawPath  string // as sent
	rawQuery string
	host     string // without the port
	pathDone bool
	hostDone bool
	query    url.Values
	qDone    bool
}

func newRequest(h *head, remote string) request {
	return request{h: h, remote: remote, method: methodString(h.method)}
}

// methodString returns the common methods without allocating.
func methodString(m []byte) string {
	for _, s := range [...]string{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"} {
		if string(m) == s {
			return s
		}
	}
	return string(m)
}

// target splits the request target into path and query; an absolute-form
// target ("http://host/p?q") also names the host.
func (q *request) parseTarget() {
	if q.pathDone {
		return
	}
	q.pathDone = true
	t := q.h.target
	if len(t) > 0 && t[0] != '/' && t[0] != '*' {
		if i := bytes.Index(t, []byte("://")); i >= 0 {
			t = t[i+3:]
			j := bytes.IndexByte(t, '/')
			if j < 0 {
				j = len(t)
			}
			q.host, q.hostDone = hostOnly(string(t[:j])), true
			t = t[j:]
		}
	}
	p, query, _ := bytes.Cut(t, []byte{'?'})
	q.rawPath, q.rawQuery = string(p), string(query)
	if q.rawPath == "" {
		q.rawPath = "/"
	}
	q.path = q.rawPath
	if strings.IndexByte(q.rawPath, '%') >= 0 {
		if dec, err := url.PathUnescape(q.rawPath); err == nil {
			q.path = dec
		}
	}
}

func (q *request) getPath() string     { q.parseTarget(); return q.path }
func (q *request) getRawPath() string  { q.parseTarget(); return q.rawPath }
func (q *request) getRawQuery() string { q.parseTarget(); return q.rawQuery }

func (q *request) getHost() string {
	q.parseTarget()
	if !q.hostDone {
		q.hostDone = true
		q.host = hostOnly(string(q.h.host))
	}
	return q.host
}

func (q *request) values() url.Values {
	if !q.qDone {
		q.qDone = true
		if rq := q.getRawQuery(); rq != "" {
			q.query, _ = url.ParseQuery(rq)
		}
	}
	return q.query
}

// cookie returns the value of a request cookie, or "".
func (q *request) cookie(name string) string {
	for _, f := range q.h.fields {
		if !equalFold(f.name, "Cookie") {
			continue
		}
		for part := range bytes.SplitSeq(f.value, []byte{';'}) {
			k, v, ok := bytes.Cut(bytes.TrimSpace(part), []byte{'='})
			if ok && string(k) == name {
				return string(v)
			}
		}
	}
	return ""
}

func (c *cond) match(q *request) bool {
	switch c.kind {
	case condPath:
		return anyPattern(c.patterns, q.getPath())
	case condHost:
		return anyPattern(c.patterns, q.getHost())
	case condHeader:
		for _, f := range q.h.fields {
			if equalFold(f.name, c.header) && anyPattern(c.patterns, string(f.value)) {
				return true
			}
		}
		return false
	case condMethod:
		for _, m := range c.methods {
			if m == q.method {
				return true
			}
		}
		return false
	case condQuery:
		return c.matchQuery(q.values())
	case condSourceIP:
		ap, err := netip.ParseAddrPort(q.remote)
		if err != nil {
			return false
		}
		for _, n := range c.nets {
			if n.Contains(ap.Addr().Unmap()) {
				return true
			}
		}
		return false
	}
	return false
}

func (c *cond) matchQuery(vals url.Values) bool {
	for _, qp := range c.query {
		for k, vs := range vals {
			if !qp.anyKey && !qp.key.match(k) {
				continue
			}
			for _, v := range vs {
				if qp.value.match(v) {
					return true
				}
			}
		}
	}
	return false
}

func anyPattern(ps []pattern, s string) bool {
	for i := range ps {
		if ps[i].match(s) {
			return true
		}
	}
	return false
}

// hostOnly strips the port from a Host header ("a.example:8080" → "a.example",
// "[::1]:80" → "::1").
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		return h[:i]
	}
	return h
}
