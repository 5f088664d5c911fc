package lb

import (
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
)

// targetKey names a registered target: the same address in two target
// groups is two targets (each has its own health and draining).
type targetKey struct {
	tg   string // target group ID
	id   string // instance ID or IP
	port int32
}

func (k targetKey) String() string {
	return k.tg + "/" + k.id + ":" + strconv.Itoa(int(k.port))
}

// backend is the data plane's live view of one registered target. Routing
// snapshots point at backends; a backend outlives snapshots, so its
// outstanding-request count and its connection pool carry across swaps.
type backend struct {
	key    targetKey
	addr   string // host:port
	cookie string // AWSALB stickiness value
	// inflight counts requests (HTTP) or connections (TCP) being served.
	inflight atomic.Int64
	// draining is set before the snapshot without the backend is
	// published; a request that picked the backend from an older snapshot
	// sees it after counting itself in inflight and picks again, so the
	// drainer's inflight==0 is final.
	draining atomic.Bool
	// gone is set when the backend left the registry; its pool is closed.
	gone atomic.Bool
	pool connPool

	// answered and failed count exchanges with the target for anomaly
	// detection; det is the detector's own; weight is the share weighted
	// random routing gives it (0: full).
	answered atomic.Int64
	failed   atomic.Int64
	det      detState
	weight   atomic.Int32

	mu      sync.Mutex // guards health and anomaly
	health  health
	anomaly anomaly
}

// health is a target's in-memory health as its checker last found it.
type health struct {
	state  string // store.Target* (initial, healthy, unhealthy, unavailable)
	reason string
	desc   string
	passes int // consecutive
	fails  int // consecutive
}

func newBackend(k targetKey, addr string) *backend {
	h := fnv.New64a()
	h.Write([]byte(k.String()))
	return &backend{
		key:    k,
		addr:   addr,
		cookie: strconv.FormatUint(h.Sum64(), 36),
	}
}

func (b *backend) healthNow() health {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.health
}

// acquire counts a request on the backend unless it is draining.
func (b *backend) acquire() bool {
	b.inflight.Add(1)
	if b.draining.Load() {
		b.inflight.Add(-1)
		return false
	}
	return true
}

func (b *backend) release() { b.inflight.Add(-1) }

// close drops the backend's idle connections and keeps no more.
func (b *backend) close() {
	b.gone.Store(true)
	b.pool.close()
}
