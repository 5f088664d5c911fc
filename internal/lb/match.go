package lb

import (
	"net/http"
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

// request is what conditions look at, computed once per request.
type request struct {
	r     *http.Request
	host  string     // Host without the port
	query url.Values // parsed lazily
	qDone bool
}

func (q *request) values() url.Values {
	if !q.qDone {
		q.qDone = true
		if q.r.URL.RawQuery != "" {
			q.query, _ = url.ParseQuery(q.r.URL.RawQuery)
		}
	}
	return q.query
}

func (c *cond) match(q *request) bool {
	switch c.kind {
	case condPath:
		return anyPattern(c.patterns, q.r.URL.Path)
	case condHost:
		return anyPattern(c.patterns, q.host)
	case condHeader:
		for _, v := range q.r.Header[c.header] {
			if anyPattern(c.patterns, v) {
				return true
			}
		}
		return false
	case condMethod:
		for _, m := range c.methods {
			if m == q.r.Method {
				return true
			}
		}
		return false
	case condQuery:
		return c.matchQuery(q.values())
	case condSourceIP:
		ap, err := netip.ParseAddrPort(q.r.RemoteAddr)
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
