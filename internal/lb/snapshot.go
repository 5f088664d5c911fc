package lb

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// snapshot is the routing table: built whole from the store's state and
// the health checkers' verdicts, never modified after it is published
// (atomic.Pointer), so a request reads one consistent version without
// locks. What changes under it — outstanding request counts, the draining
// flag — lives in the backends, behind atomics.
type snapshot struct {
	listeners map[int32]*listenerSnap // by port
	groups    []*groupSnap            // every target group some listener forwards to
	rev       int64                   // store revision it was built from
}

// listenerSnap is one listener's compiled rules.
type listenerSnap struct {
	arn      string
	port     int32
	protocol string // HTTP | TCP
	portStr  []string
	rules    []ruleSnap // ascending priority
	def      *actionSnap
	xffMode  string        // append | preserve | remove
	idle     time.Duration // client connection idle timeout
	// hdr is what the listener's attributes do to its answers (nil:
	// nothing).
	hdr *respHeaders
	// tcp is the target group of a TCP listener's forward action, and
	// tcpIdle how long one of its flows may carry no data either way.
	tcp     *forwardSnap
	tcpIdle time.Duration
}

type ruleSnap struct {
	priority int32
	conds    []cond
	action   *actionSnap
}

// route returns the action for a request: the first rule whose every
// condition holds, else the default action.
func (l *listenerSnap) route(q *request) *actionSnap {
	for i := range l.rules {
		r := &l.rules[i]
		ok := true
		for j := range r.conds {
			if !r.conds[j].match(q) {
				ok = false
				break
			}
		}
		if ok {
			return r.action
		}
	}
	return l.def
}

type actionKind uint8

const (
	actForward actionKind = iota + 1
	actFixed
	actRedirect
)

type actionSnap struct {
	kind     actionKind
	forward  *forwardSnap
	fixed    *fixedSnap
	redirect *redirectSnap
}

// forwardSnap spreads requests over weighted target groups.
type forwardSnap struct {
	groups []*groupSnap
	cum    []int32 // cumulative weights
	total  int32
	// sticky: the client keeps its group (cookie AWSALBTG) for stickyFor.
	sticky    bool
	stickyFor time.Duration
}

// pickGroup returns a group by weight, or the one the client's AWSALBTG
// cookie names when group stickiness is on.
func (f *forwardSnap) pickGroup(cookie string) *groupSnap {
	if f.sticky && cookie != "" {
		for _, g := range f.groups {
			if g.id == cookie {
				return g
			}
		}
	}
	switch {
	case len(f.groups) == 1:
		return f.groups[0]
	case f.total <= 0:
		return nil
	}
	n := rand.Int32N(f.total)
	for i, c := range f.cum {
		if n < c {
			return f.groups[i]
		}
	}
	return f.groups[len(f.groups)-1]
}

// groupSnap is a target group as routing sees it: the backends that may get
// new requests now.
type groupSnap struct {
	id       string
	arn      string
	routable []*backend
	leastOut bool // least outstanding requests
	random   bool // weighted random; else (neither) round robin
	// detect: anomaly detection watches the group (HTTP); mitigate:
	// weighted random follows the weights it sets.
	detect, mitigate bool
	rr               *atomic.Uint32
	sticky           string // "", lb_cookie, source_ip
	stickyFor        time.Duration
}

// pick chooses a backend by the group's algorithm, preferring the one the
// stickiness key names when it is still routable.
func (g *groupSnap) pick(stickyKey string, skip *backend) *backend {
	n := len(g.routable)
	if n == 0 {
		return nil
	}
	if stickyKey != "" {
		for _, b := range g.routable {
			if b.cookie == stickyKey && b != skip {
				return b
			}
		}
	}
	if g.random {
		return g.pickRandom(skip)
	}
	start := int(g.rr.Add(1)) % n
	if !g.leastOut {
		b := g.routable[start]
		if b == skip && n > 1 {
			b = g.routable[(start+1)%n]
		}
		return b
	}
	var best *backend
	var bestOut int64
	for i := range n {
		b := g.routable[(start+i)%n]
		if b == skip {
			continue
		}
		if out := b.inflight.Load(); best == nil || out < bestOut {
			best, bestOut = b, out
		}
	}
	if best == nil {
		best = g.routable[start]
	}
	return best
}

// pickRandom draws a routable backend other than skip (unless it is the
// only one): uniformly, or by the weights anomaly mitigation sets.
func (g *groupSnap) pickRandom(skip *backend) *backend {
	n := len(g.routable)
	if !g.mitigate {
		i := rand.IntN(n)
		if g.routable[i] == skip && n > 1 {
			i = (i + 1 + rand.IntN(n-1)) % n
		}
		return g.routable[i]
	}
	total := 0
	for _, b := range g.routable {
		if b != skip {
			total += b.share()
		}
	}
	if total == 0 {
		return g.routable[rand.IntN(n)]
	}
	x := rand.IntN(total)
	for _, b := range g.routable {
		if b == skip {
			continue
		}
		if x -= b.share(); x < 0 {
			return b
		}
	}
	return g.routable[n-1]
}

type redirectSnap struct {
	protocol, host, port, path, query string
	status                            int
}
