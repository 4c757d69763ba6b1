#!/usr/bin/env bash
# Renders what is generated from the chart with helm and helm-docs: the values table in
# charts/sluice/README.md and the plain-kubectl install manifests/install/sluice.yaml (the
# sluice-system Namespace, the CRDs and the controller with default values).
#   hack/chart/render.sh          write them
#   hack/chart/render.sh --check  fail when the committed files differ from a fresh render
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
source "$HACK_DIR/lib/tools.sh"
cd "$REPO_ROOT"

check=false
[ "${1:-}" = --check ] && check=true
[ -x "$HELM" ] || timed "build helm $HELM_VERSION" bash hack/lib/build-helm.sh "$HELM_VERSION"
[ -x "$HELM_DOCS" ] || timed "build helm-docs $HELM_DOCS_VERSION" bash hack/lib/build-helm-docs.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

namespace=sluice-system
install_manifest() {
  cat <<YAML
# Sluice, rendered from charts/sluice with default values by hack/chart/render.sh. Do not edit.
# kubectl apply --server-side -f manifests/install/sluice.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    app.kubernetes.io/part-of: sluice
    pod-security.kubernetes.io/enforce: restricted
YAML
  "$HELM" template sluice charts/sluice --namespace "$namespace" --kube-version "${KUBE_VERSION#v}"
}

# helm-docs writes README.md next to Chart.yaml: render a copy of the chart.
cp -r charts/sluice "$work/sluice"
"$HELM_DOCS" --log-level warning --chart-search-root "$work/sluice" --skip-version-footer --sort-values-order file
install_manifest > "$work/sluice.yaml"
undocumented=$(sed -n '/^## Values/,$p' "$work/sluice/README.md" | grep -E '^\|.*\| *\|$' || true)
[ -z "$undocumented" ] || die "values without a '# --' description in values.yaml:
$undocumented"

if $check; then
  stale=0
  cmp -s "$work/sluice/README.md" charts/sluice/README.md || { log "charts/sluice/README.md is stale: run hack/chart/render.sh"; stale=1; }
  cmp -s "$work/sluice.yaml" manifests/install/sluice.yaml || { log "manifests/install/sluice.yaml is stale: run hack/chart/render.sh"; stale=1; }
  [ $stale = 0 ] || { diff -u charts/sluice/README.md "$work/sluice/README.md" | head -40 || true; exit 1; }
  log "chart README and manifests/install are up to date"
else
  cp "$work/sluice/README.md" charts/sluice/README.md
  mkdir -p manifests/install
  cp "$work/sluice.yaml" manifests/install/sluice.yaml
  log "wrote charts/sluice/README.md and manifests/install/sluice.yaml"
fi
