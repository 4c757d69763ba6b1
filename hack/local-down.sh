#!/usr/bin/env bash
# Stops the local stack's processes that local-up.sh started (by recorded pid), or only the named
# components: hack/local-down.sh mongo postgres. Data stays in .local/data (PostgreSQL's and the
# exec node's in /var/lib/sluice/<id> when run as root); add --purge to delete it.
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
targeted() { local t; for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

stop_component() {
  local name=$1
  if running "$name"; then
    local pid; pid=$(pid_of "$name")
    # PostgreSQL first gets a fast shutdown; its recorded pid (runuser) then exits by itself.
    if [ "$name" = postgres ]; then stop_postgres || log "fast shutdown of postgres failed; killing it"; fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    log "stopped $name (pid $pid)"
  elif [ "$name" = postgres ]; then
    stop_postgres || log "WARNING: could not stop the postgres serving $PG_DATA"
  fi
  rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.cmd"
}

if targeted keda-metrics; then stop_keda_api; fi
# The exec node goes first, while the API server still answers: its pods are deleted while the
# kubelet can still stop their containers, then the kubelet stops and its Node object is deleted
# (no node-lifecycle controller would ever mark it NotReady).
if targeted kubelet; then
  drain_exec_node
  stop_component kube-proxy
  stop_component kubelet
  kubectl_admin delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
fi
for name in "${targets[@]}"; do stop_component "$name"; done
if targeted keda-operator; then keda_network_down; fi
if targeted containerd; then clean_exec_node; fi
if $purge; then
  rm -rf "$DATA_DIR" "$STACK_LIB_DIR"
  log "deleted $DATA_DIR and $STACK_LIB_DIR"
fi
