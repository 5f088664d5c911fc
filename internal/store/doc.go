// Package store is the port through which all Quayside state flows: a
// key-value space with one global revision, callback transactions,
// compare-and-swap and watches from a revision. Backends live in
// subpackages (bolt now, etcd later) and prove themselves against the
// conformance suite in storetest.
//
// Keys are slash-separated paths ("/ecs/clusters/web"). Values are opaque
// bytes; the JSON helpers in this package encode domain records.
//
// It imports the standard library, internal/model and internal/errs.
package store
