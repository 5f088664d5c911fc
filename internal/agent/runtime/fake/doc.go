// Package fake is an in-memory container runtime for hollow nodes and tests:
// thousands of nodes can run in one process, each with its own fake. It
// keeps the engine's observable behaviour (names are unique, ports are
// allocated, containers exit with codes, events flow) and passes the
// runtime conformance suite (runtime/runtimetest).
//
// Containers do nothing by themselves; their environment scripts them, like
// Nomad's mock driver (values in Go duration syntax where a time is meant):
//
//	FAKE_RUN_FOR=5s           exit on its own after 5s (default: run until stopped)
//	FAKE_EXIT_CODE=1          the code for FAKE_RUN_FOR (default 0)
//	FAKE_OOM=1                the FAKE_RUN_FOR exit is an OOM kill (code 137)
//	FAKE_CREATE_ERROR=text    CreateContainer fails with text
//	FAKE_START_ERROR=text     StartContainer fails with text
//	FAKE_IGNORE_SIGTERM=1     only SIGKILL (after the stop timeout) stops it
//	FAKE_SIGTERM_EXIT_CODE=N  the code it exits with on SIGTERM (default 0)
//	FAKE_HEALTH=unhealthy     what its health check reports (default healthy)
//	FAKE_HEALTH_AFTER=1s      when the first check result lands (default 50ms)
//
// Pulls are per image, not per container, so they are scripted by reference:
// an image whose registry host ends in ".invalid" (RFC 2606) cannot be
// pulled, and SetPullError scripts any other. Every other absent image is
// pulled after Options.PullDelay. Restart simulates an engine restart:
// running containers stop and every event stream ends with an error.
//
// It imports only the standard library and internal/agent/runtime.
package fake
