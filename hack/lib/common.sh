# Shared helpers for hack/ scripts. Source, don't run.
HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$HACK_DIR/.." && pwd)
# KEDA and Prometheus Operator CRDs, vendored (see its README).
THIRD_PARTY_CRDS=$HACK_DIR/third-party-crds
# shellcheck source=../versions.sh
source "$HACK_DIR/versions.sh"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# timed LABEL CMD...: run CMD, then print how long it took.
timed() {
  local label=$1; shift
  local start=$SECONDS
  log "$label ..."
  "$@" || die "$label failed"
  log "$label done in $((SECONDS - start))s"
}
