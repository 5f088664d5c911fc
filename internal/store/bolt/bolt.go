package bolt

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/quayside/quayside/internal/store"
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// WatchHistory is how many recent events are kept in memory for Watch to
	// replay (default 100,000). Older history, and all history from before
	// Open, is compacted. It also bounds how far a watcher may lag.
	WatchHistory int
	// WatchHistoryBytes caps the memory of that history, counting keys and
	// values (default 256 MiB). The newest revision is always kept.
	WatchHistoryBytes int
	// WatchBuffer is how many responses each watch channel buffers
	// (default 256).
	WatchBuffer int
	// MaxBatch is the most Updates folded into one group commit
	// (default 1024).
	MaxBatch int
	// MmapSize is the initial size of the memory map (default 1 GiB). It is
	// address space, not disk; a commit that outgrows it must wait for every
	// open View to end, so a View function must never wait for an Update.
	MmapSize int
	// OpenTimeout bounds the wait for the file lock held by another process
	// (default 10s).
	OpenTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.WatchHistory <= 0 {
		o.WatchHistory = 100_000
	}
	if o.WatchHistoryBytes <= 0 {
		o.WatchHistoryBytes = 256 << 20
	}
	if o.WatchBuffer <= 0 {
		o.WatchBuffer = 256
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.MmapSize <= 0 {
		o.MmapSize = 1 << 30
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = 10 * time.Second
	}
	return o
}

// Store is the bbolt backend of store.Store.
type Store struct {
	db     *bbolt.DB
	commit *committer
	hub    *hub
	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database file at path.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         opts.OpenTimeout,
		NoFreelistSync:  true,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: opts.MmapSize,
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	rev, err := initBuckets(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	h := newHub(rev, opts.WatchHistory, opts.WatchHistoryBytes, opts.WatchBuffer)
	return &Store{db: db, hub: h, commit: newCommitter(db, h, rev, opts.MaxBatch)}, nil
}

// initBuckets creates the buckets if needed and reads the revision.
func initBuckets(db *bbolt.DB) (rev int64, err error) {
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(dataBucket); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		rev, err = decodeRev(meta.Get(revKey))
		return err
	})
	return rev, err
}

// Update runs fn in the next group commit; see store.Store. fn runs on the
// committer goroutine, one function at a time: it must be quick, must not
// block, and must not call Update (that would wait for itself).
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	if err := s.commit.submit(r); err != nil {
		return 0, err
	}
	<-r.done
	return r.rev, r.err
}

// View runs fn in a bbolt read transaction: a snapshot at one revision.
func (s *Store) View(ctx context.Context, fn func(store.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	var fnErr error
	err := s.db.View(func(tx *bbolt.Tx) error {
		rev, err := decodeRev(tx.Bucket(metaBucket).Get(revKey))
		if err != nil {
			return err
		}
		t := newReadTxn(tx.Bucket(dataBucket), rev)
		defer func() { t.done = true }()
		fnErr = fn(t)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return mapClosed(err)
}

// Watch streams changes under prefix after afterRev; see store.Store.
func (s *Store) Watch(ctx context.Context, prefix string, afterRev int64) <-chan store.WatchResponse {
	return s.hub.watch(ctx, prefix, afterRev)
}

// Close commits the Updates already queued, ends every watch and closes the
// file. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return store.ErrClosed
	}
	s.commit.close()
	s.hub.close()
	return s.db.Close()
}
