#!/usr/bin/env bash
# Installs the npm dependencies (Node 24 among them) unless node_modules already matches the lockfile.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO_ROOT"
# npm keeps its own copy of the lockfile in node_modules; install again only when it is stale.
if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  timed "npm ci" npm ci --no-audit --no-fund
fi
