// Package runtimetest is the conformance suite of the agent's container
// runtime port (internal/agent/runtime). Every adapter (runtime/docker,
// runtime/fake) runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		runtimetest.Run(t, func(t *testing.T) runtime.Runtime { return newAdapter(t) }, images)
//	}
//
// It checks only behaviour every adapter must share and the agent relies on:
// create/start/stop/remove and Inspect, List by label, Events, exit codes,
// stop timeouts (SIGTERM then SIGKILL), dynamic host ports, volumes,
// container network namespaces, ErrNotFound for unknown containers, and a
// *PullError for an image that is absent and cannot be pulled.
//
// Everything a test creates carries the com.quayside.* labels (and a label
// unique to the test run) and is removed when the test ends.
//
// It imports only the standard library and internal/agent/runtime.
package runtimetest
