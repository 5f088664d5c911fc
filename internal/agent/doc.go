// Package agent is the Quayside node agent. It registers the node with the
// control plane as a container instance (resources, attributes, versions),
// heartbeats at the period the server sets, long-polls the node's task
// assignments by revision, and runs every task placed on the node as
// containers through a runtime.Runtime (Docker, or the fake for hollow
// nodes).
//
// Each task has one goroutine (a runner) driving the pure state machine of
// internal/agent/task: observe the engine, report what changed, take the
// one next action, repeat. Reports carry a per-task sequence number, are
// written to the journal (DataDir/agent.db, bbolt) before they are sent,
// and leave it only when acknowledged, so they are delivered at least once
// and in order, across restarts and while the control plane is away.
// Everything the agent creates carries the runtime.Label* labels: after a
// restart it adopts its containers instead of creating them again, and it
// removes the containers of tasks the control plane no longer knows.
//
// It imports internal/agent/..., internal/agentproto and internal/model;
// never the control plane's packages.
package agent
