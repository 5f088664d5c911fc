#!/usr/bin/env bash
# Side-by-side load balancer benchmark (issue 6): Quayside's data plane and
# nginx proxying to the same three Go backends on 127.0.0.1, driven by wrk
# (maximum requests/s, ratio to nginx) and by an open-loop generator at half
# of nginx's maximum (added p99 latency against hitting the backends
# directly). About 1.5 minutes with the defaults.
#
# Installs Debian's nginx and wrk when they are missing. Everything it
# starts (backends, the data plane, nginx) is stopped when it ends, also on
# failure or Ctrl-C; nginx runs from a temporary directory with a generated
# configuration, never the system one.
#
# Flags go to the program (go run ./test/bench/lb -h), e.g.
#   scripts/bench-lb.sh -duration 5s -rounds 1
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing: ${need[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
	# The package may start the system nginx; this benchmark does not use it.
	$SUDO service nginx stop >/dev/null 2>&1 || true
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/bench-lb" ./test/bench/lb
"$bin/bench-lb" -nginx "$nginx_bin" "$@"
