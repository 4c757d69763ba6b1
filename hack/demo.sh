#!/usr/bin/env bash
# The main command: brings up the local stack and runs Sluice on it — seed-shaped messages in,
# Jobs out. Pass --keep to leave the controller running afterwards.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
bash hack/lib/npm-install.sh
export PATH=$REPO_ROOT/node_modules/.bin:$PATH
bash hack/local-up.sh
# Images for the jobs that run real containers on the exec node (skipped when unchanged).
if grep -q '^export SLUICE_NODE_IP=' .local/env; then bash hack/build-images.sh; fi
node hack/demo.ts "$@"
