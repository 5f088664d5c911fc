package lb

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// Deps is what the data plane needs.
type Deps struct {
	Store store.Store
	// BindAddress is the host every listener listens on (default
	// 127.0.0.1).
	BindAddress string
	Now         func() time.Time
	Logger      *slog.Logger
}

// LB is the load balancer data plane. Run serves until its context ends.
type LB struct {
	deps   Deps
	snap   atomic.Pointer[snapshot]
	writer *writer
	kick   chan struct{}

	// Owned by the run loop.
	st       *state
	targets  map[targetKey]*entry
	serving  map[int32]*serving
	warned   map[string]bool
	failedLn map[int32]string

	// Timeouts AWS fixes; New sets them, a test shortens them before Run.
	dialTimeout time.Duration // connecting to a target (ALB and NLB: 10 s)
	tcpIdle     time.Duration // a TCP flow with no data either way, when the listener does not say (NLB: 350 s)
	// attrSecond is how long a second of a listener's timeout attribute
	// (tcp.idle_timeout.seconds) lasts: a second, or less in a test, which
	// cannot wait out the attribute's minimum of 60.
	attrSecond time.Duration
	// anomalyWindow is how often anomaly detection folds in the answers
	// targets gave (a test shortens it).
	anomalyWindow time.Duration

	wg sync.WaitGroup // checkers, drainers, listener goroutines
}

// entry is a registered target in the run loop's registry.
type entry struct {
	b          *backend
	check      *checkRun
	drain      *drainRun
	drainUntil time.Time
}

// New makes a data plane; nothing listens until Run.
func New(d Deps) *LB {
	if d.BindAddress == "" {
		d.BindAddress = "127.0.0.1"
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	l := &LB{
		deps:     d,
		kick:     make(chan struct{}, 1),
		targets:  map[targetKey]*entry{},
		serving:  map[int32]*serving{},
		warned:   map[string]bool{},
		failedLn: map[int32]string{},

		dialTimeout: targetDialTimeout,
		tcpIdle:     tcpIdleTimeout,
		attrSecond:  time.Second,

		anomalyWindow: time.Second,
	}
	l.writer = newWriter(d.Store, d.Now, d.Logger)
	l.snap.Store(&snapshot{listeners: map[int32]*listenerSnap{}})
	return l
}

// Rev is the store revision the routing table was last built from.
func (l *LB) Rev() int64 { return l.snap.Load().rev }

// Run lists the /elbv2/ state, serves it, and follows its changes until ctx
// ends; then it closes every listener (waiting briefly for requests in
// flight) and returns.
func (l *LB) Run(ctx context.Context) error {
	wctx, stopWriter := context.WithCancel(context.Background())
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); l.writer.run(wctx) }()
	l.wg.Go(func() { l.runDetector(ctx) })
	defer func() {
		l.shutdown()
		stopWriter()
		<-writerDone
	}()
	for ctx.Err() == nil {
		st, err := list(ctx, l.deps.Store)
		if err != nil {
			if ctx.Err() == nil {
				l.deps.Logger.Error("lb: list state", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		l.st = st
		l.rebuild()
		l.follow(ctx)
	}
	return nil
}

// follow applies watch responses until the watch ends (compaction, store
// closed) or ctx does.
func (l *LB) follow(ctx context.Context) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := l.deps.Store.Watch(wctx, store.ELBv2Prefix, l.st.rev)
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case resp, ok := <-ch:
			if !ok || !l.applyResp(resp) {
				return
			}
			// Fold in whatever else is ready before rebuilding once.
			for more := true; more; {
				select {
				case resp, ok := <-ch:
					if !ok || !l.applyResp(resp) {
						return
					}
				default:
					more = false
				}
			}
			l.rebuild()
		case <-l.kick:
			l.rebuild()
		case <-retry.C:
			if len(l.failedLn) > 0 {
				l.syncListeners(l.snap.Load())
			}
		case <-ctx.Done():
			return
		}
	}
}

func (l *LB) applyResp(resp store.WatchResponse) bool {
	if resp.Err != nil {
		if !errors.Is(resp.Err, store.ErrCompacted) {
			l.deps.Logger.Warn("lb: watch ended", "err", resp.Err)
		}
		return false
	}
	if err := l.st.apply(resp); err != nil {
		l.deps.Logger.Warn("lb: skipping a record", "err", err)
	}
	return true
}

// nudge asks the run loop to rebuild the routing table (a health verdict
// changed).
func (l *LB) nudge() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// rebuild brings the registry, the health checkers and drainers, the
// routing table and the listening sockets in line with the state.
func (l *LB) rebuild() {
	l.syncTargets()
	snap, used := l.compile()
	l.syncCheckers(used)
	l.snap.Store(snap)
	l.syncListeners(snap)
}

func (l *LB) shutdown() {
	for port, s := range l.serving {
		l.stopServing(s, 2*time.Second)
		delete(l.serving, port)
	}
	for k, e := range l.targets {
		l.dropEntry(k, e)
	}
	l.wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// warnOnce logs a configuration problem the first time it is seen.
func (l *LB) warnOnce(key, msg string, args ...any) {
	if l.warned[key] {
		return
	}
	l.warned[key] = true
	l.deps.Logger.Warn(msg, args...)
}
