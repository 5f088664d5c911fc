package store

import (
	"context"
	"errors"
)

// KV is one stored key with the revisions that last created and modified it.
type KV struct {
	Key       string
	Value     []byte
	CreateRev int64
	ModRev    int64
}

// ReadTx is a consistent view of the store at one revision.
type ReadTx interface {
	// Get returns the key, or ok=false when it is absent.
	Get(key string) (kv KV, ok bool, err error)
	// Scan calls fn for each key that starts with prefix and sorts after
	// `after` (all keys of the prefix when after is ""), in ascending key
	// order, until fn returns false or an error.
	Scan(prefix, after string, fn func(KV) (more bool, err error)) error
	// Rev is the revision this view reads at.
	Rev() int64
}

// Tx is a read-write transaction. Reads see the transaction's own writes.
type Tx interface {
	ReadTx
	// Put stores value under key.
	Put(key string, value []byte) error
	// PutIf stores value only if key's ModRev is modRev (0: key must be
	// absent); otherwise it returns ErrConflict and the transaction should be
	// abandoned by returning that error.
	PutIf(key string, value []byte, modRev int64) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key string) error
}

// Store is the port. Implementations are safe for concurrent use.
//
// Update runs fn in a serializable read-write transaction. If fn returns an
// error nothing it wrote is kept and that error is returned. If fn returns
// nil the writes are committed durably (they survive a crash once Update
// returns) as one new revision, which is returned; a transaction that wrote
// nothing commits nothing and returns the current revision. fn may run more
// than once (backends retry on internal conflicts), so it must not have side
// effects outside the transaction. Concurrent Updates may share one durable
// commit (group commit); each still gets its own revision.
//
// View runs fn against a consistent snapshot.
//
// Watch streams every change to keys under prefix with revision > afterRev,
// in revision order, each revision's events in one response. If history for
// afterRev+1 is no longer kept, the first response carries ErrCompacted and
// the channel closes: the caller relists with View and watches from that
// view's Rev. The channel is closed when ctx ends or the store closes; a
// watcher too slow to keep up gets ErrCompacted the same way.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) (rev int64, err error)
	View(ctx context.Context, fn func(ReadTx) error) error
	Watch(ctx context.Context, prefix string, afterRev int64) <-chan WatchResponse
	Close() error
}

// EventType says what happened to a key.
type EventType int

const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one change. For EventDelete, KV.Value is empty and KV.ModRev is
// the revision of the delete.
type Event struct {
	Type EventType
	KV   KV
}

// WatchResponse is one revision's worth of events, or an error that ends the
// watch.
type WatchResponse struct {
	Rev    int64
	Events []Event
	Err    error
}

var (
	// ErrConflict is returned by PutIf when the key changed.
	ErrConflict = errors.New("store: compare-and-swap conflict")
	// ErrCompacted means a watch asked for history that is gone.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store: closed")
)
