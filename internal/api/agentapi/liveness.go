package agentapi

import (
	"sync"
	"time"
)

// Liveness remembers, in memory, when each node was last heard from and
// when that was last written to the store. It is safe for concurrent use.
type Liveness struct {
	mu   sync.Mutex
	seen map[string]seenAt
}

type seenAt struct {
	at        time.Time // last heard from
	persisted time.Time // last written to the store as connected
}

// NewLiveness returns an empty tracker.
func NewLiveness() *Liveness { return &Liveness{seen: map[string]seenAt{}} }

// Seen records that the node (cluster, id) was heard from at t.
func (l *Liveness) Seen(cluster, id string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seen[cluster+"/"+id]
	if t.After(s.at) {
		s.at = t
	}
	l.seen[cluster+"/"+id] = s
}

// LastSeen is when the node was last heard from since this server started.
func (l *Liveness) LastSeen(cluster, id string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.seen[cluster+"/"+id]
	return s.at, ok && !s.at.IsZero()
}

// persistDue reports whether a heartbeat at now should be written to the
// store although the node is connected already: not since every.
func (l *Liveness) persistDue(key string, now time.Time, every time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return now.Sub(l.seen[key].persisted) >= every
}

// persisted records that the node's heartbeat at t is in the store.
func (l *Liveness) persisted(key string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seen[key]
	s.persisted = t
	l.seen[key] = s
}
