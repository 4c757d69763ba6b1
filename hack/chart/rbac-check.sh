#!/usr/bin/env bash
# Checks the chart's RBAC against a real API server (not part of hack/chart-test.sh: it starts a
# throwaway etcd and kube-apiserver with RBAC on, ports 30379/30380/30443, about 30 s): every call
# the controller makes is allowed, in cluster and namespace mode, and the controller may
# server-side apply and delete a binding's dispatcher objects (dispatcher-objects.ts, from the
# controller's code) — whose Role Kubernetes accepts only if the controller holds its rules.
#   hack/chart/rbac-check.sh
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
source "$HACK_DIR/lib/tools.sh"
cd "$REPO_ROOT"
export PATH=$REPO_ROOT/node_modules/.bin:$PATH

kube_bin=$SLUICE_CACHE/kube/$KUBE_VERSION/bin
etcd_bin=$SLUICE_CACHE/etcd/$ETCD_VERSION/bin
[ -x "$kube_bin/kube-apiserver" ] || die "no kube-apiserver in $kube_bin: run hack/lib/build-kube.sh"
[ -x "$etcd_bin/etcd" ] || die "no etcd in $etcd_bin: run hack/lib/build-etcd.sh"
[ -x "$HELM" ] || die "no helm: run hack/lib/install-tools.sh"

work=$(mktemp -d)
pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap stop EXIT

openssl genrsa -out "$work/sa.key" 2048 2>/dev/null
openssl rsa -in "$work/sa.key" -pubout -out "$work/sa.pub" 2>/dev/null
echo "admin-token,admin,1,system:masters" > "$work/tokens.csv"
"$etcd_bin/etcd" --data-dir "$work/etcd" --listen-client-urls http://127.0.0.1:30379 --advertise-client-urls http://127.0.0.1:30379 \
  --listen-peer-urls http://127.0.0.1:30380 --initial-advertise-peer-urls http://127.0.0.1:30380 \
  --initial-cluster default=http://127.0.0.1:30380 > "$work/etcd.log" 2>&1 &
pids+=($!)
"$kube_bin/kube-apiserver" --etcd-servers http://127.0.0.1:30379 --secure-port 30443 --bind-address 127.0.0.1 \
  --advertise-address 127.0.0.1 --cert-dir "$work/certs" --token-auth-file "$work/tokens.csv" --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$work/sa.pub" \
  --service-account-signing-key-file "$work/sa.key" --service-cluster-ip-range 10.96.0.0/16 > "$work/apiserver.log" 2>&1 &
pids+=($!)
cat > "$work/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: check, cluster: {server: "https://127.0.0.1:30443", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: admin-token}}]
contexts: [{name: check, context: {cluster: check, user: admin}}]
current-context: check
YAML
k() { "$kube_bin/kubectl" --kubeconfig "$work/kubeconfig" "$@"; }
controller=system:serviceaccount:sluice-system:sluice-controller
as_controller() { k --as="$controller" "$@"; }
for _ in $(seq 60); do k get --raw /readyz >/dev/null 2>&1 && break; sleep 1; done
k get --raw /readyz >/dev/null 2>&1 || { tail -20 "$work/apiserver.log" >&2; die "kube-apiserver did not come up"; }

for ns in sluice-system media interviews other; do k create namespace "$ns" >/dev/null; done
k apply --server-side -f crds/ >/dev/null
k apply --server-side -f "$THIRD_PARTY_CRDS/keda" >/dev/null

failed=0
# expect ok|refused WHAT CMD...
expect() {
  local want=$1 what=$2 got=ok out
  shift 2
  out=$("$@" 2>&1) || got=refused
  if [ "$got" = "$want" ]; then log "ok: $what ($got)"; else log "FAILED: $what: wanted $want, got $got: $(tail -3 <<<"$out")"; failed=$((failed + 1)); fi
}
can() { expect "$1" "may $2 ${*:3}" as_controller auth can-i "$2" "${@:3}" --quiet; }
rbac() {
  k delete clusterrole,clusterrolebinding -l app.kubernetes.io/instance=sluice --ignore-not-found >/dev/null
  k delete role,rolebinding -A -l app.kubernetes.io/instance=sluice --ignore-not-found >/dev/null
  "$HELM" template sluice charts/sluice -n sluice-system --kube-version "${KUBE_VERSION#v}" \
    --show-only templates/rbac.yaml --show-only templates/serviceaccount.yaml "$@" | k apply -f - >/dev/null
}
apply_dispatcher() { node hack/chart/dispatcher-objects.ts "$@" | as_controller apply --server-side --field-manager sluice -f -; }
remove_dispatchers() { k delete scaledobject,triggerauthentication,deploy,rolebinding,role,serviceaccount -A -l app.kubernetes.io/component=dispatcher --ignore-not-found >/dev/null; }
# What controller/src calls in a watched namespace (the chart README's RBAC section).
controller_calls() {
  local ns=$1 r v
  for r in queuebindings.sluice.dev jobtypes.sluice.dev statussinks.sluice.dev; do
    for v in get list watch; do can ok "$v" "$r" -n "$ns"; done
    can ok patch "$r" --subresource=status -n "$ns"
  done
  for v in create get list watch patch delete; do can ok "$v" jobs.batch -n "$ns"; done
  for v in get list watch; do can ok "$v" pods -n "$ns"; done
  for v in create get list watch; do can ok "$v" secrets -n "$ns"; done
  for v in create get update delete list watch; do can ok "$v" configmaps -n "$ns"; done
  for v in create patch; do can ok "$v" events.events.k8s.io -n "$ns"; done
  for v in list watch; do can ok "$v" deployments.apps -n "$ns"; done
  can ok create tokenreviews.authentication.k8s.io
  can ok create leases.coordination.k8s.io -n sluice-system
  for v in get update; do can ok "$v" leases.coordination.k8s.io/sluice-controller -n sluice-system; done
  can refused update leases.coordination.k8s.io/another -n sluice-system
}

log "cluster mode"
rbac
controller_calls media
can refused create clusterroles.rbac.authorization.k8s.io
expect ok "apply a binding's dispatcher objects" apply_dispatcher media --credentials
expect ok "apply them again" apply_dispatcher media --credentials
expect ok "delete them" as_controller delete -n media scaledobject/sluice-dispatch-videos triggerauthentication/sluice-dispatch-videos \
  deploy/sluice-dispatch-videos rolebinding/sluice-dispatch-videos role/sluice-dispatch-videos serviceaccount/sluice-dispatch-videos
remove_dispatchers

log "rbac.secretNames"
rbac --set 'rbac.secretNames={app-mongodb}'
can ok get secrets/app-mongodb -n media
can refused get secrets/sqs-credentials -n media
can ok create secrets -n media
expect refused "apply dispatcher objects whose Role reads a Secret not in rbac.secretNames" apply_dispatcher media --credentials
remove_dispatchers
rbac --set 'rbac.secretNames={app-mongodb,sqs-credentials}'
expect ok "apply dispatcher objects whose Role reads a Secret in rbac.secretNames" apply_dispatcher media --credentials
expect ok "watch one listed Secret by name (kube/secret-cache.ts)" as_controller get --raw "/api/v1/namespaces/media/secrets?fieldSelector=metadata.name%3Dsqs-credentials"
expect refused "list every Secret" as_controller get --raw /api/v1/namespaces/media/secrets
remove_dispatchers

log "dispatcher.enabled=false"
rbac --set dispatcher.enabled=false
controller_calls media
expect refused "apply dispatcher objects" apply_dispatcher media
remove_dispatchers

log "namespace mode"
rbac --set 'watchNamespaces={media,interviews}'
controller_calls interviews
can refused list jobs.batch -n other
expect ok "apply dispatcher objects in a watched namespace" apply_dispatcher interviews --credentials
expect refused "apply dispatcher objects in another namespace" apply_dispatcher other
remove_dispatchers

[ "$failed" = 0 ] || die "$failed RBAC checks failed"
log "every RBAC check passed"
