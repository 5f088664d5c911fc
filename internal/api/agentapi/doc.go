// Package agentapi serves the node agent protocol (internal/agentproto) over
// the store, on the server's listener under agentproto.PathPrefix. Requests
// carry the agent bearer token instead of SigV4.
//
// What it owns:
//   - Register: creates or re-registers a container instance through
//     store.RegisterInstance / store.ReregisterInstance (the same code as the
//     ECS RegisterContainerInstance operation).
//   - Heartbeat: keeps when each node was last heard from in memory
//     (Liveness) and writes the store only when the node's agentConnected
//     flips or, at most, every persistEvery heartbeat periods.
//   - Assignments: a long poll answered from one store watch per cluster
//     (hub), fanned out to the pollers of each node; a poll with nothing new
//     reads nothing from the store. Changes that are only the node's own
//     reports are not echoed back.
//   - Report: applies task state reports in order per task (Seq), forward
//     only, through store.SaveTask, one transaction per request.
//
// It imports internal/agentproto, internal/model, internal/store,
// internal/arn and internal/errs.
package agentapi
