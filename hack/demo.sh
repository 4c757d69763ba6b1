#!/usr/bin/env bash
# The main command: brings up the local stack and shows it doing real work.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
bash hack/local-up.sh
source .local/env
bash hack/local-status.sh
kubectl get nodes -L pool
