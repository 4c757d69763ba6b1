#!/usr/bin/env bash
# Installs every local-stack component that is not cached yet. Missing steps run in parallel (Go
# builds, pip, Maven and apt each wait on the network and the CPU differently), each logging to
# .local/logs/install-<step>.log; the summary gives each step's time.
set -euo pipefail
source "$(dirname "$0")/stack.sh"

lib=$(dirname "$0")
have() { [ -e "$1" ]; }
mkdir -p "$LOG_DIR"
steps=() pids=() started=()
# step NAME CMD...: runs CMD in the background unless the caller skipped it.
step() {
  local name=$1; shift
  log "$name ..."
  ( "$@" > "$LOG_DIR/install-$name.log" 2>&1 ) &
  steps+=("$name") pids+=("$!") started+=("$SECONDS")
}

# Debian's packages: PostgreSQL, ffmpeg, and for the exec node containerd, runc, the CNI plugins,
# iptables, and buildah + mmdebstrap for images. One apt run: apt holds a lock.
packages=()
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || packages+=(postgresql)
# The media job's tests run real ffmpeg and ffprobe.
command -v ffprobe >/dev/null || packages+=(ffmpeg)
if $EXEC_NODE; then
  for p in containerd runc containernetworking-plugins iptables buildah mmdebstrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || packages+=("$p")
  done
fi
[ ${#packages[@]} -eq 0 ] || step "apt" bash "$lib/install-apt.sh" "${packages[@]}"

if [ -z "${SLUICE_EXTERNAL_KUBECONFIG:-}" ]; then
  have "$ETCD_BIN/etcd" || step "etcd-$ETCD_VERSION" bash "$lib/build-etcd.sh"
  have "$KUBE_BIN/kubelet" && have "$KUBE_BIN/pause" || step "kubernetes-$KUBE_VERSION" bash "$lib/build-kube.sh"
  have "$KWOK_BIN/kwok" || step "kwok-$KWOK_VERSION" bash "$lib/build-kwok.sh"
  if $KEDA; then have "$KEDA_BIN/keda-adapter" || step "keda-$KEDA_VERSION" bash "$lib/build-keda.sh"; fi
fi
have "$MOTO_VENV/bin/moto_server" || step "moto-$MOTO_VERSION" bash "$lib/install-moto.sh"
have "$ELASTICMQ_JARS/.complete" || step "elasticmq-$ELASTICMQ_VERSION" bash "$lib/install-elasticmq.sh"
have "$MONGO_JARS/.complete" || step "mongo-java-server-$MONGO_JAVA_SERVER_VERSION" bash "$lib/install-mongo.sh"

failed=()
for i in "${!steps[@]}"; do
  if wait "${pids[$i]}"; then
    log "${steps[$i]} done in $((SECONDS - started[i]))s"
  else
    log "ERROR: ${steps[$i]} failed; last lines of $LOG_DIR/install-${steps[$i]}.log:"
    tail -n 20 "$LOG_DIR/install-${steps[$i]}.log" >&2
    failed+=("${steps[$i]}")
  fi
done
[ ${#failed[@]} -eq 0 ] || die "installing ${failed[*]} failed"
