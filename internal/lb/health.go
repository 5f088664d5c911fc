package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// hcSettings are a target group's health check settings, comparable so a
// change restarts the checkers.
type hcSettings struct {
	enabled   bool
	tcp       bool
	port      string // "traffic-port" or a number
	path      string
	interval  time.Duration
	timeout   time.Duration
	healthy   int
	unhealthy int
	matcher   string
}

func settingsOf(tg *store.TargetGroupRecord) hcSettings {
	hc := tg.HealthCheck
	s := hcSettings{
		enabled:   hc.Enabled,
		tcp:       hc.Protocol == store.ProtocolTCP,
		port:      hc.Port,
		path:      hc.Path,
		interval:  time.Duration(max(hc.IntervalSeconds, 1)) * time.Second,
		timeout:   time.Duration(max(hc.TimeoutSeconds, 1)) * time.Second,
		healthy:   int(max(hc.HealthyThreshold, 1)),
		unhealthy: int(max(hc.UnhealthyThreshold, 1)),
		matcher:   hc.Matcher,
	}
	if s.path == "" {
		s.path = "/"
	}
	if s.matcher == "" {
		s.matcher = "200"
	}
	if s.timeout > s.interval {
		s.timeout = s.interval
	}
	return s
}

// checkRun is a target's running health checker.
type checkRun struct {
	s      hcSettings
	cancel context.CancelFunc
}

// syncCheckers runs a checker for every target of a group some listener
// forwards to (ELB checks only targets in use) and stops the others.
// Targets of a group whose health check is disabled are "unavailable" and
// routed to.
func (l *LB) syncCheckers(used map[string]*store.TargetGroupRecord) {
	for _, e := range l.targets {
		tg := used[e.b.key.tg]
		if tg == nil || e.drain != nil {
			l.stopCheck(e)
			if tg == nil && e.drain == nil {
				// Unused: when a listener forwards to the group again its
				// targets start over from initial, as in ELB.
				l.setHealth(e.b, health{state: store.TargetInitial, reason: store.ReasonInitialHealthChecking, desc: "Initial health checks in progress"})
			}
			continue
		}
		s := settingsOf(tg)
		if !s.enabled {
			l.stopCheck(e)
			if l.setHealth(e.b, health{state: store.TargetUnavailable, reason: store.ReasonHealthCheckDisabled, desc: "Health checks are disabled"}) {
				l.writer.enqueue(e.b)
			}
			continue
		}
		if e.check != nil && e.check.s == s {
			continue
		}
		l.stopCheck(e)
		ctx, cancel := context.WithCancel(context.Background())
		e.check = &checkRun{s: s, cancel: cancel}
		b := e.b
		if h := b.healthNow(); h.state == store.TargetUnavailable {
			l.setHealth(b, health{state: store.TargetInitial, reason: store.ReasonInitialHealthChecking, desc: "Initial health checks in progress"})
		}
		l.writer.enqueue(b) // Elb.RegistrationInProgress → Elb.InitialHealthChecking
		l.wg.Go(func() { l.runChecks(ctx, b, s) })
	}
}

func (l *LB) stopCheck(e *entry) {
	if e.check != nil {
		e.check.cancel()
		e.check = nil
	}
}

// setHealth replaces a backend's health and reports whether its state or
// reason changed.
func (l *LB) setHealth(b *backend, h health) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := b.health.state != h.state || b.health.reason != h.reason
	b.health = h
	return changed
}

// runChecks checks the target now and every interval until ctx ends.
func (l *LB) runChecks(ctx context.Context, b *backend, s hcSettings) {
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	defer client.CloseIdleConnections()
	addr := b.addr
	if s.port != "" && s.port != "traffic-port" {
		host, _, _ := net.SplitHostPort(b.addr)
		addr = net.JoinHostPort(host, s.port)
	}
	// A little jitter keeps the checks of many targets apart.
	t := time.NewTimer(rand.N(50 * time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r := probe(ctx, client, addr, s)
		if ctx.Err() != nil {
			return
		}
		if l.observe(b, s, r) {
			l.writer.enqueue(b)
			l.nudge()
		}
		t.Reset(s.interval)
	}
}

// result is one health check's outcome.
type result struct {
	ok     bool
	reason string
	desc   string
}

func probe(ctx context.Context, c *http.Client, addr string, s hcSettings) result {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if s.tcp {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return failure(err)
		}
		conn.Close()
		return result{ok: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+s.path, nil)
	if err != nil {
		return result{reason: store.ReasonFailedHealthChecks, desc: "Health checks failed"}
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := c.Do(req)
	if err != nil {
		return failure(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if codeMatches(s.matcher, resp.StatusCode) {
		return result{ok: true}
	}
	return result{
		reason: store.ReasonResponseCodeMismatch,
		desc:   fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode),
	}
}

func failure(err error) result {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return result{reason: store.ReasonTimeout, desc: "Request timed out"}
	}
	return result{reason: store.ReasonFailedHealthChecks, desc: "Health checks failed"}
}

// codeMatches reports whether code is in a matcher such as "200",
// "200,202" or "200-299" (ranges and lists may mix).
func codeMatches(matcher string, code int) bool {
	for part := range strings.SplitSeq(matcher, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				continue
			}
		}
		if a <= code && code <= b {
			return true
		}
	}
	return false
}

// observe folds one check into the backend's health: a new target is
// healthy after one passing check (as ELB documents) and unhealthy after
// the unhealthy threshold of consecutive failures; a healthy target turns
// unhealthy after that many failures, an unhealthy one healthy after the
// healthy threshold of passes. It reports whether state or reason changed.
func (l *LB) observe(b *backend, s hcSettings, r result) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.health
	before := h
	if r.ok {
		h.passes++
		h.fails = 0
	} else {
		h.fails++
		h.passes = 0
	}
	switch {
	case r.ok && (h.state == store.TargetInitial || h.state == store.TargetUnavailable || h.passes >= s.healthy):
		h.state, h.reason, h.desc = store.TargetHealthy, "", ""
	case !r.ok && h.state == store.TargetUnhealthy:
		h.reason, h.desc = r.reason, r.desc
	case !r.ok && h.fails >= s.unhealthy:
		h.state, h.reason, h.desc = store.TargetUnhealthy, r.reason, r.desc
	}
	b.health = h
	return h.state != before.state || h.reason != before.reason
}
