#!/usr/bin/env bash
# The README's first command: installs and starts Docker (and the aws CLI)
# where they are missing, then runs control plane + agent + embedded store on
# the local Docker. Flags are passed to `quayside dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec go run ./cmd/quayside dev --listen 127.0.0.1:4566 --data-dir ./data "$@"
