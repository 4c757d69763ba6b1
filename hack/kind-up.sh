#!/usr/bin/env bash
# For machines with Docker (a laptop, GitHub Actions): a kind cluster instead of the locally built
# control plane, with the same fake node pools (kwok runs in the cluster and applies the same
# Stages), plus the local AWS endpoint and MongoDB. The e2e suite then runs against it unchanged.
# Needs docker, kind, kubectl and internet access; it cannot run on the no-Docker dev machines.
set -euo pipefail
source "$(dirname "$0")/lib/stack.sh"

cluster=${SLUICE_KIND_CLUSTER:-sluice}
mkdir -p "$STATE_DIR"
kind_config=$STATE_DIR/kind-kubeconfig
if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --image "kindest/node:$KUBE_VERSION" --wait 120s
fi
kind get kubeconfig --name "$cluster" > "$kind_config"
k() { kubectl --kubeconfig "$kind_config" "$@"; }
# Test pods must land on the kwok pools only, never on the real kind node.
k taint node "$cluster-control-plane" node-role.kubernetes.io/control-plane:NoSchedule --overwrite

# kwok's in-cluster controller manages nodes annotated kwok.x-k8s.io/node=fake by default.
k apply -f "https://github.com/kubernetes-sigs/kwok/releases/download/$KWOK_VERSION/kwok.yaml"
k apply -f "$HACK_DIR/kwok/stages.yaml"
k apply -f "$HACK_DIR/kwok/nodes.yaml"
k -n kube-system rollout status deployment/kwok-controller --timeout=120s

SLUICE_EXTERNAL_KUBECONFIG=$kind_config bash "$HACK_DIR/local-up.sh"
