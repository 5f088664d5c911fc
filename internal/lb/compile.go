package lb

import (
	"cmp"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// compile builds the routing table from the state and the backends' health.
// used is the target groups some served listener forwards to.
func (l *LB) compile() (*snapshot, map[string]*store.TargetGroupRecord) {
	st := l.st
	c := &compiler{
		l:      l,
		groups: map[string]*groupSnap{},
		used:   map[string]*store.TargetGroupRecord{},
		byTG:   map[string][]*backend{},
		tgs:    make(map[string]*store.TargetGroupRecord, len(st.tgs)),
	}
	for _, tg := range st.tgs {
		c.tgs[tg.ID] = tg
	}
	for _, e := range l.targets {
		c.byTG[e.b.key.tg] = append(c.byTG[e.b.key.tg], e.b)
	}
	rules := map[string][]*store.RuleRecord{}
	for _, r := range st.rules {
		rules[r.ListenerID] = append(rules[r.ListenerID], r)
	}
	snap := &snapshot{listeners: map[int32]*listenerSnap{}, rev: st.rev}
	owner := map[int32]*store.LoadBalancerRecord{}
	for _, lr := range sortedListeners(st) {
		lbr := st.lbs[store.LoadBalancerKey(lr.LoadBalancerID)]
		if lbr == nil || lbr.State == store.LBStateFailed || !servable(lbr, lr) {
			if lbr != nil && !servable(lbr, lr) {
				l.warnOnce("proto/"+lr.Arn, "lb: listener protocol not served", "listener", lr.Arn, "protocol", lr.Protocol, "type", lbr.Type)
			}
			continue
		}
		if prev := owner[lr.Port]; prev != nil {
			l.warnOnce("port/"+lr.Arn, "lb: port already served by another load balancer", "listener", lr.Arn, "port", lr.Port, "servedBy", prev.Arn)
			continue
		}
		owner[lr.Port] = lbr
		snap.listeners[lr.Port] = c.listener(lbr, lr, rules[lr.ID])
	}
	for _, g := range c.groups {
		if g != nil {
			snap.groups = append(snap.groups, g)
		}
	}
	return snap, c.used
}

// sortedListeners orders listeners so that of two on one port the older
// load balancer's wins, the same way every time.
func sortedListeners(st *state) []*store.ListenerRecord {
	out := make([]*store.ListenerRecord, 0, len(st.listeners))
	for _, lr := range st.listeners {
		out = append(out, lr)
	}
	created := func(lr *store.ListenerRecord) int64 {
		if lbr := st.lbs[store.LoadBalancerKey(lr.LoadBalancerID)]; lbr != nil {
			return lbr.CreatedTime.UnixNano()
		}
		return 0
	}
	slices.SortFunc(out, func(a, b *store.ListenerRecord) int {
		return cmp.Or(cmp.Compare(created(a), created(b)), strings.Compare(a.Arn, b.Arn))
	})
	return out
}

func servable(lbr *store.LoadBalancerRecord, lr *store.ListenerRecord) bool {
	switch lr.Protocol {
	case store.ProtocolHTTP:
		return lbr.Type == store.LBTypeApplication
	case store.ProtocolTCP:
		return lbr.Type == store.LBTypeNetwork
	}
	return false
}

type compiler struct {
	l      *LB
	tgs    map[string]*store.TargetGroupRecord // by ID
	groups map[string]*groupSnap
	used   map[string]*store.TargetGroupRecord
	byTG   map[string][]*backend
}

func (c *compiler) listener(lbr *store.LoadBalancerRecord, lr *store.ListenerRecord, rules []*store.RuleRecord) *listenerSnap {
	ls := &listenerSnap{
		arn:      lr.Arn,
		port:     lr.Port,
		protocol: lr.Protocol,
		portStr:  []string{strconv.Itoa(int(lr.Port))},
		def:      c.action(lr.DefaultActions),
		xffMode:  lbr.Attributes[store.LBAttrXFFHeaderProcessing],
		idle:     lbr.IdleTimeout(),
		tcpIdle:  c.l.tcpIdle,
	}
	if ls.def != nil && ls.def.kind == actForward {
		ls.tcp = ls.def.forward
	}
	if n, ok := lr.TCPIdleSeconds(); ok && lr.Protocol == store.ProtocolTCP {
		ls.tcpIdle = time.Duration(n) * c.l.attrSecond
	}
	if lr.Protocol == store.ProtocolHTTP {
		ls.hdr = compileRespHeaders(lr.Attributes)
	}
	slices.SortFunc(rules, func(a, b *store.RuleRecord) int { return cmp.Compare(a.Priority, b.Priority) })
	for _, r := range rules {
		act := c.action(r.Actions)
		if act == nil {
			continue
		}
		ls.rules = append(ls.rules, ruleSnap{priority: r.Priority, conds: compileConds(r.Conditions), action: act})
	}
	return ls
}

// action compiles the terminal action (the last by Order).
func (c *compiler) action(acts []store.Action) *actionSnap {
	if len(acts) == 0 {
		return nil
	}
	a := slices.MaxFunc(acts, func(x, y store.Action) int { return cmp.Compare(x.Order, y.Order) })
	switch a.Type {
	case store.ActionForward:
		return &actionSnap{kind: actForward, forward: c.forward(a)}
	case store.ActionFixedResponse:
		if a.FixedResponse == nil {
			return nil
		}
		code, _ := strconv.Atoi(a.FixedResponse.StatusCode)
		if code < 200 || code > 599 {
			code = http.StatusServiceUnavailable
		}
		return &actionSnap{kind: actFixed, fixed: newFixed(code, a.FixedResponse.ContentType, a.FixedResponse.MessageBody)}
	case store.ActionRedirect:
		if a.Redirect == nil {
			return nil
		}
		return &actionSnap{kind: actRedirect, redirect: compileRedirect(a.Redirect)}
	}
	return nil
}

func (c *compiler) forward(a store.Action) *forwardSnap {
	f := &forwardSnap{}
	var wtgs []store.WeightedTargetGroup
	if a.Forward != nil {
		wtgs = a.Forward.TargetGroups
		f.sticky = a.Forward.Stickiness.Enabled
		f.stickyFor = time.Duration(a.Forward.Stickiness.DurationSeconds) * time.Second
	} else if a.TargetGroupArn != "" {
		wtgs = []store.WeightedTargetGroup{{Arn: a.TargetGroupArn, ID: arnID(a.TargetGroupArn), Weight: 1}}
	}
	for _, w := range wtgs {
		id := w.ID
		if id == "" {
			id = arnID(w.Arn)
		}
		g := c.group(id)
		if g == nil {
			continue
		}
		weight := w.Weight
		if len(wtgs) == 1 && weight == 0 {
			weight = 1
		}
		if weight <= 0 {
			continue
		}
		f.total += weight
		f.groups = append(f.groups, g)
		f.cum = append(f.cum, f.total)
	}
	return f
}

// arnID is the ID that ends an ARN.
func arnID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// group is a target group's routing view, built once per snapshot: its
// healthy targets, or, when none is healthy but some are unhealthy, those
// (ELB fails open); never initial or draining ones.
func (c *compiler) group(id string) *groupSnap {
	if g, ok := c.groups[id]; ok {
		return g
	}
	tg := c.tgs[id]
	if tg == nil {
		c.groups[id] = nil
		return nil
	}
	c.used[id] = tg
	g := &groupSnap{
		id: id, arn: tg.Arn, rr: new(atomic.Uint32),
		leastOut: tg.Algorithm() == store.AlgorithmLeastOutstd,
		random:   tg.Algorithm() == store.AlgorithmWeightedRandom,
		detect:   tg.Protocol == store.ProtocolHTTP,
		mitigate: tg.AnomalyMitigation(),
	}
	if on, typ, d, _ := tg.Stickiness(); on && (typ == "lb_cookie" || typ == "source_ip") {
		g.sticky, g.stickyFor = typ, d
	}
	var unhealthy []*backend
	for _, b := range c.byTG[id] {
		if b.draining.Load() {
			continue
		}
		switch b.healthNow().state {
		case store.TargetHealthy, store.TargetUnavailable:
			g.routable = append(g.routable, b)
		case store.TargetUnhealthy:
			unhealthy = append(unhealthy, b)
		}
	}
	if len(g.routable) == 0 {
		g.routable = unhealthy
	}
	slices.SortFunc(g.routable, func(a, b *backend) int { return strings.Compare(a.key.String(), b.key.String()) })
	c.groups[id] = g
	return g
}

func compileConds(cs []store.Condition) []cond {
	out := make([]cond, 0, len(cs))
	for _, sc := range cs {
		c := cond{}
		switch sc.Field {
		case store.CondPathPattern:
			c.kind = condPath
			c.patterns = patterns(sc.Values, false)
		case store.CondHostHeader:
			c.kind = condHost
			c.patterns = patterns(sc.Values, true)
		case store.CondHTTPHeader:
			c.kind = condHeader
			c.header = http.CanonicalHeaderKey(sc.HTTPHeaderName)
			c.patterns = patterns(sc.Values, true)
		case store.CondHTTPRequestMethod:
			c.kind = condMethod
			c.methods = sc.Values
		case store.CondQueryString:
			c.kind = condQuery
			for _, kv := range sc.QueryValues {
				c.query = append(c.query, queryPattern{
					key: compilePattern(kv.Key, true), value: compilePattern(kv.Value, true), anyKey: kv.Key == "",
				})
			}
		case store.CondSourceIP:
			c.kind = condSourceIP
			for _, v := range sc.Values {
				if p, err := netip.ParsePrefix(v); err == nil {
					c.nets = append(c.nets, p.Masked())
				}
			}
		default:
			// An unknown condition never matches: its rule is skipped
			// rather than widened.
		}
		out = append(out, c)
	}
	return out
}

func patterns(vals []string, fold bool) []pattern {
	ps := make([]pattern, len(vals))
	for i, v := range vals {
		ps[i] = compilePattern(v, fold)
	}
	return ps
}
