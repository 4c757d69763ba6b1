#!/usr/bin/env bash
# Stops the local stack's processes that local-up.sh started (by recorded pid), or only the named
# components: hack/local-down.sh mongo. Data stays in .local/data; add --purge to delete it.
set -euo pipefail
source "$(dirname "$0")/lib/stack.sh"

purge=false
targets=()
for arg in "$@"; do
  case $arg in --purge) purge=true ;; *) targets+=("$arg") ;; esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do targets+=("${COMPONENTS[$i]}"); done
fi

for name in "${targets[@]}"; do
  if running "$name"; then
    pid=$(pid_of "$name")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    log "stopped $name (pid $pid)"
  fi
  rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.cmd"
done
if $purge; then rm -rf "$DATA_DIR"; log "deleted $DATA_DIR"; fi
