#!/usr/bin/env bash
# Installs what Quayside's tests need on a fresh Debian machine of this kind:
# Debian's aws CLI v2 at /usr/bin/aws (the pip aws CLI v1 on PATH comes with
# the base image) and the Docker engine (Debian's docker.io), which it starts
# in the background when no daemon answers (log: $QUAYSIDE_DOCKERD_LOG,
# default /tmp/quayside-dockerd.log). Safe to run again: it installs only what
# is missing and starts dockerd only when `docker info` fails.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

need=()
[ -x /usr/bin/aws ] || need+=(awscli)
{ command -v dockerd && command -v docker; } >/dev/null || need+=(docker.io)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing: ${need[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# docker_up waits up to $1 seconds for the daemon to answer.
docker_up() {
	for _ in $(seq "$1"); do
		$SUDO docker info >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}
if ! $SUDO docker info >/dev/null 2>&1; then
	log=${QUAYSIDE_DOCKERD_LOG:-/tmp/quayside-dockerd.log}
	if pgrep -x dockerd >/dev/null; then
		echo "dockerd is running but not answering yet; waiting"
	else
		echo "starting dockerd in the background (log: $log)"
		$SUDO sh -c "nohup dockerd >>'$log' 2>&1 &"
	fi
	docker_up 30 || { echo "dockerd did not answer within 30 s; see $log" >&2; tail -20 "$log" >&2 || true; exit 1; }
fi
command -v go >/dev/null || { echo "Go 1.26 or newer is required (https://go.dev/dl/)" >&2; exit 1; }
