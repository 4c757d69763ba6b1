#!/usr/bin/env bash
# Installs Debian's PostgreSQL server with apt. Not cached under SLUICE_CACHE: apt owns it.
set -euo pipefail
source "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || die "PostgreSQL is missing: install it with 'sudo apt-get install -y postgresql'"
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }
# A fresh machine's package lists may not know the package yet.
install || { apt-get update && install; }
