// Package docker is the runtime.Runtime adapter for the Docker Engine API,
// through github.com/moby/moby/client. It translates runtime.ContainerSpec
// into the engine's create request and the engine's inspect documents and
// events back into runtime types; no moby type crosses its API.
//
// It uses only calls and fields that exist in Engine API 1.41 (Docker
// 20.10), with API version negotiation, so it works against 20.10 and newer
// engines alike.
//
// Image pulls are shared per reference (concurrent EnsureImage calls for one
// image share one pull, and a caller giving up does not cancel the others)
// and bounded: by a total time and by a stall time without any progress from
// the engine.
//
// It imports internal/agent/runtime and the Docker client only.
package docker
