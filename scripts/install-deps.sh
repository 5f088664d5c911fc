#!/usr/bin/env bash
# Installs what Quayside's tests need on a fresh Debian machine of this kind:
# Debian's aws CLI v2 at /usr/bin/aws (the pip aws CLI v1 on PATH comes with
# the base image). Safe to run again: it installs only what is missing.
set -euo pipefail

need=()
[ -x /usr/bin/aws ] || need+=(awscli)
if [ ${#need[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "installing: ${need[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "Go 1.26 or newer is required (https://go.dev/dl/)" >&2; exit 1; }
