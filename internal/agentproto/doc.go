// Package agentproto is the protocol between a Quayside node agent and the
// control plane: wire types and the client the agent uses. It is served on
// the same listener as the AWS APIs, under PathPrefix, with its own bearer
// token (written by the server to DATA_DIR/agent-token), not SigV4.
//
// The conversation:
//
//  1. Register: the agent announces the node (resources, attributes,
//     versions) and gets its container instance ARN and the heartbeat
//     period. After a restart it registers again with the ARN it persisted
//     and keeps its identity.
//  2. Heartbeat every HeartbeatPeriod. A node silent for MissedHeartbeats
//     periods is marked agentConnected=false; the next heartbeat or
//     registration marks it connected again.
//  3. Assignments: a long poll. The first call (After=0) returns the full set
//     of tasks placed on the node; later calls pass the Revision of the last
//     answer and get only tasks that changed since (Full=false). When the
//     server no longer has the history for After, it answers the full set
//     again (Full=true); the agent then treats any task it runs that is not
//     in the set as unknown to the control plane.
//  4. Report: task state changes, each with a per-task sequence number that
//     only grows. The server applies a report only if its Seq is above the
//     last applied one for that task, and acknowledges every report it has
//     applied or already had, so the agent may resend freely (at least once,
//     in order per task).
//
// It imports only the standard library and internal/model.
package agentproto
