// Package bolt is the embedded store backend: it implements the store port
// (internal/store) on a single bbolt file.
//
// It owns the on-disk layout (a data bucket of keys whose values carry a
// small CreateRev/ModRev header, and a meta bucket holding the revision
// counter), the group committer that folds concurrent Updates into one
// durable bbolt transaction while giving each its own revision, and the
// in-memory ring of recent events that serves Watch.
//
// Layout of the files:
//
//	bolt.go    Open, Options, Store and its port methods
//	commit.go  the committer goroutine and one batch's bbolt transaction
//	txn.go     ReadTx/Tx over a bbolt bucket with a per-Update write overlay
//	codec.go   value header and meta encoding
//	watch.go   the event ring and watcher goroutines
//
// It imports the standard library, go.etcd.io/bbolt and internal/store.
package bolt
