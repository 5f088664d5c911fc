// Package agenttest runs hollow nodes for tests: node agents on the fake
// container runtime, many of them in one process against one control
// plane, each of which can be cut off from the network and healed again.
//
// It imports internal/agent and its fake runtime.
package agenttest
