#!/usr/bin/env bash
# Installs Debian packages (PostgreSQL; the exec node's containerd, runc, CNI plugins, iptables;
# buildah and mmdebstrap for images). Not cached under SLUICE_CACHE: apt owns them.
set -euo pipefail
source "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || die "missing Debian packages: install them with 'sudo apt-get install -y --no-install-recommends $*'"
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }
# A fresh machine's package lists may not know the packages yet.
install "$@" || { apt-get update && install "$@"; }
