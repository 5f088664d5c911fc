package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/quayside/quayside/internal/store"
)

var (
	errEmptyKey   = errors.New("bolt: empty key")
	errKeyTooLong = fmt.Errorf("bolt: key longer than %d bytes", bbolt.MaxKeySize)
	errTxDone     = errors.New("bolt: transaction used after its function returned")
	// maxValueSize leaves room for the revisions header under bbolt's limit.
	maxValueSize    = int64(bbolt.MaxValueSize - 1 - 2*binary.MaxVarintLen64)
	errValueTooLong = fmt.Errorf("bolt: value longer than %d bytes", maxValueSize)
)

// txn is a view of the data bucket at rev. For Update it also buffers the
// function's writes in an overlay, so that a function that fails leaves the
// bbolt transaction untouched and one that succeeds is applied as a whole.
type txn struct {
	bucket *bbolt.Bucket
	rev    int64             // revision the view reads at
	writes map[string]*write // nil for a read-only view
	done   bool
}

// write is one buffered change to a key.
type write struct {
	kv      store.KV // Value, CreateRev and ModRev for a put
	deleted bool
	existed bool  // the key is present in the bucket under the overlay
	created int64 // its CreateRev there; kept by a put even after a delete
}

func newReadTxn(b *bbolt.Bucket, rev int64) *txn {
	return &txn{bucket: b, rev: rev}
}

func newWriteTxn(b *bbolt.Bucket, rev int64) *txn {
	return &txn{bucket: b, rev: rev, writes: map[string]*write{}}
}

// Rev is the revision the view reads at; writes of an Update land at Rev+1.
func (t *txn) Rev() int64 { return t.rev }

// Get reads key, seeing the transaction's own writes first.
func (t *txn) Get(key string) (store.KV, bool, error) {
	if t.done {
		return store.KV{}, false, errTxDone
	}
	if w, ok := t.writes[key]; ok {
		if w.deleted {
			return store.KV{}, false, nil
		}
		return cloneKV(w.kv), true, nil
	}
	return t.getBase(key)
}

func (t *txn) getBase(key string) (store.KV, bool, error) {
	if key == "" {
		return store.KV{}, false, nil
	}
	raw := t.bucket.Get([]byte(key))
	if raw == nil {
		return store.KV{}, false, nil
	}
	kv, err := decodeValue(key, raw)
	return kv, err == nil, err
}

// Put buffers value under key.
func (t *txn) Put(key string, value []byte) error {
	if err := t.checkWrite(key); err != nil {
		return err
	}
	if int64(len(value)) > maxValueSize {
		return errValueTooLong
	}
	w := t.writeFor(key)
	createRev := t.rev + 1
	if w.existed && w.created != 0 {
		createRev = w.created
	}
	w.deleted = false
	w.kv = store.KV{Key: key, Value: slices.Clone(value), CreateRev: createRev, ModRev: t.rev + 1}
	if w.kv.Value == nil {
		w.kv.Value = []byte{}
	}
	return nil
}

// PutIf buffers value under key if key's ModRev is modRev (0: absent).
func (t *txn) PutIf(key string, value []byte, modRev int64) error {
	if err := t.checkWrite(key); err != nil {
		return err
	}
	cur, ok, err := t.Get(key)
	if err != nil {
		return err
	}
	if (modRev == 0 && ok) || (modRev != 0 && (!ok || cur.ModRev != modRev)) {
		return store.ErrConflict
	}
	return t.Put(key, value)
}

// Delete buffers the removal of key.
func (t *txn) Delete(key string) error {
	if err := t.checkWrite(key); err != nil {
		return err
	}
	w := t.writeFor(key)
	w.deleted = true
	w.kv = store.KV{Key: key}
	return nil
}

func (t *txn) checkWrite(key string) error {
	switch {
	case t.done:
		return errTxDone
	case t.writes == nil:
		return errors.New("bolt: write in a read-only transaction")
	case key == "":
		return errEmptyKey
	case len(key) > bbolt.MaxKeySize:
		return errKeyTooLong
	}
	return nil
}

// writeFor returns the overlay entry of key, creating it from the base.
func (t *txn) writeFor(key string) *write {
	if w, ok := t.writes[key]; ok {
		return w
	}
	w := &write{deleted: true}
	if raw := t.bucket.Get([]byte(key)); raw != nil {
		w.existed = true
		if kv, err := decodeValue(key, raw); err == nil {
			w.kv, w.deleted, w.created = kv, false, kv.CreateRev
		}
	}
	t.writes[key] = w
	return w
}

// Scan merges the bucket with the overlay in ascending key order.
func (t *txn) Scan(prefix, after string, fn func(store.KV) (bool, error)) error {
	if t.done {
		return errTxDone
	}
	it := t.iterate(prefix, after)
	for {
		kv, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		if more, err := fn(kv); err != nil || !more {
			return err
		}
	}
}

// mergeIter walks the bucket's keys and the overlay's keys of one scan
// range together; an overlay entry shadows the bucket's key of that name.
type mergeIter struct {
	t       *txn
	prefix  string
	c       *bbolt.Cursor
	k, v    []byte   // the cursor's position, nil past the range
	pending []string // overlay keys of the range not yet passed, sorted
}

func (t *txn) iterate(prefix, after string) *mergeIter {
	it := &mergeIter{t: t, prefix: prefix, c: t.bucket.Cursor(), pending: t.overlayKeys(prefix, after)}
	it.k, it.v = seek(it.c, prefix, after)
	it.clip()
	return it
}

// clip ends the bucket side once the cursor leaves the prefix.
func (it *mergeIter) clip() {
	if it.k != nil && !strings.HasPrefix(string(it.k), it.prefix) {
		it.k, it.v = nil, nil
	}
}

func (it *mergeIter) advance() {
	it.k, it.v = it.c.Next()
	it.clip()
}

// next returns the next visible key; ok is false at the end of the range.
func (it *mergeIter) next() (kv store.KV, ok bool, err error) {
	for {
		switch {
		case len(it.pending) > 0 && (it.k == nil || it.pending[0] <= string(it.k)):
			key := it.pending[0]
			it.pending = it.pending[1:]
			if it.k != nil && key == string(it.k) {
				it.advance()
			}
			if kv, ok := it.t.overlayKV(key); ok {
				return kv, true, nil
			}
		case it.k != nil:
			kv, err := decodeValue(string(it.k), it.v)
			it.advance()
			return kv, err == nil, err
		default:
			return store.KV{}, false, nil
		}
	}
}

// seek positions c at the first key that starts with prefix and sorts after
// `after`.
func seek(c *bbolt.Cursor, prefix, after string) ([]byte, []byte) {
	if after < prefix {
		return c.Seek([]byte(prefix))
	}
	k, v := c.Seek([]byte(after))
	if k != nil && string(k) == after {
		return c.Next()
	}
	return k, v
}

// overlayKeys lists the buffered keys in the scan range, sorted.
func (t *txn) overlayKeys(prefix, after string) []string {
	var keys []string
	for k := range t.writes {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (t *txn) overlayKV(key string) (store.KV, bool) {
	w := t.writes[key]
	if w.deleted {
		return store.KV{}, false
	}
	return cloneKV(w.kv), true
}

func cloneKV(kv store.KV) store.KV {
	kv.Value = slices.Clone(kv.Value)
	if kv.Value == nil {
		kv.Value = []byte{}
	}
	return kv
}
