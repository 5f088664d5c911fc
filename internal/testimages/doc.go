// Package testimages builds the tiny images that Quayside's tests and
// examples run, on the local Docker engine, without any registry: each
// program under test/images (standard library only) is compiled with
// CGO_ENABLED=0 for the engine's architecture and packed FROM scratch through
// the Engine API's build endpoint with an in-memory tar context.
//
// Images are tagged quayside-test/<name>:latest and labelled with a hash of
// their source and architecture (LabelHash); Ensure rebuilds only when the
// label differs, so repeated test runs reuse them. Building needs the `go`
// command on PATH (GOTOOLCHAIN=local, no network).
//
// It may import test/images and the Docker client; nothing of the control
// plane or the agent. From a shell: go run ./internal/testimages/cmd/build-test-images
package testimages
