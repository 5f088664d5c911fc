#!/usr/bin/env bash
# Side-by-side service benchmark of Quayside and Docker Swarm on the local
# Docker engine (issue 5): time for a 20-task service of the echo test image
# to become steady, and time from `docker kill` of a task's container to its
# replacement RUNNING (20 samples, p50/p99), with the Swarm/Quayside ratio.
#
# Needs: Docker (the user may talk to the engine), the go command. It starts
# `quayside server` and `quayside agent` processes, initialises a one-node
# swarm on 127.0.0.1 when the engine is not in one, and removes everything it
# created when it ends, also on failure or Ctrl-C.
#
# Flags go to the program (go run ./test/bench/services -h), e.g.
#   scripts/bench-services.sh -systems swarm -samples 5
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/bench-services" ./test/bench/services
go build -o "$bin/quayside" ./cmd/quayside
"$bin/bench-services" -quayside "$bin/quayside" "$@"
