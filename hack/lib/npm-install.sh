#!/usr/bin/env bash
# Installs the npm dependencies (Node 24 among them) unless node_modules was installed from this
# very lockfile. (npm's own copy in node_modules/.package-lock.json leaves out optional packages of
# other platforms, so comparing it with the lockfile always differs.)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO_ROOT"
stamp=node_modules/.sluice-lockfile.sha256
wanted=$(sha256sum package-lock.json | cut -c1-64)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -x node_modules/.bin/node ]; then
  # npm itself runs on the machine's Node (20): the engine warnings about Node 24 are expected.
  timed "npm ci" npm ci --no-audit --no-fund --loglevel=error
  echo "$wanted" > "$stamp"
fi
