// Package task is the pure core of the node agent's task handling: what a
// task is on this node (Task: the definition with RunTask overrides applied,
// its containers, dependencies and volumes), how its containers are created
// (ContainerSpec: the task definition in the runtime's terms), what the agent
// knows about it (State), what to do next (Decide, a function of task,
// desired status, state and time that returns exactly one Action), and what
// to tell the control plane (Report).
//
// Nothing here does I/O; the agent's task runner applies the actions.
//
// It imports internal/model, internal/agentproto and internal/agent/runtime.
package task
