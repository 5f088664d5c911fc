// Package placement runs placements against the store: snapshot → decide
// (internal/sched) → commit with a re-check, retried a bounded number of
// times.
//
// An Engine keeps, per cluster, a sched.ClusterView of the container
// instances, built once from the store and kept current by one watch of the
// ECS keys, so a placement reads no instance records; after a commit it
// installs the records it wrote, so its own writes never need decoding
// again. Before deciding, a placement waits until the views have applied
// every revision committed before it began, so a caller sees its own
// registrations and attribute changes.
//
// The commit is one store.Update: it reads each chosen instance, re-checks
// that it can still take its tasks when the record changed since the
// snapshot (resources, ports, constraints), and saves the tasks with
// store.SaveNewTasks. A node that can no longer take its tasks makes the
// attempt stale: its fresh record goes into the view and the placement is
// decided again, at most MaxAttempts times. Concurrent placements therefore
// never overcommit a node, and as long as a node has room they do not
// conflict at all.
//
// It imports internal/sched, internal/store and internal/model.
package placement
