// Package sched is pure placement: given a ClusterView (what each container
// instance is and has left) and a TaskSpec, Decide returns a Plan that puts
// each task on a node, or explains with ECS's failure reasons why it could
// not. It does no I/O and never imports the store; internal/placement feeds
// it snapshots and commits its plans.
//
// Placement follows ECS (facts §5): feasibility filters first (scope:
// ACTIVE and serving the launch type; then AGENT, ATTRIBUTE, CPU, MEMORY,
// GPU, PORTS, PORTS_UDP, memberOf constraints, distinctInstance), each of
// which says whether it applies to the task, checks one node and explains a
// rejection; then ranking by the ordered placement strategies as a
// lexicographic chain of comparators (binpack, spread, random), with a
// seeded random tie-break. Placing several tasks updates what the later
// ones see, so spread, binpack and distinctInstance account for the
// earlier picks.
//
// The view keeps per-slot columns and lazily built indexes (candidate sets
// per static requirement, group counts, attribute values) so that a
// decision at 10,000 nodes reads flat arrays instead of records.
//
// It imports internal/sched/cql and the standard library.
package sched
