#!/usr/bin/env bash
# Offline tests of the Helm chart, the plain install and the alerts; no cluster needed. Builds the
# tools it needs on a cold machine (hack/lib/install-tools.sh, cached), then, for Helm 4 and Helm 3:
# lint, render with each charts/sluice/ci/*-values.yaml (defaults, every toggle on, namespace-scoped,
# the local-stack e2e values), validate every rendered object offline against the Kubernetes
# $KUBE_VERSION schemas and the Sluice, KEDA and Prometheus Operator CRDs, helm-unittest; and the
# generated files (CRD templates, values schema, dashboard, rules, chart README, manifests/install)
# must be fresh; promtool checks and tests the alerts. Prints each step's time; runs every step
# and fails at the end if one failed.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$HACK_DIR/lib/tools.sh"
cd "$REPO_ROOT"

total_start=$SECONDS
# hack/test.sh has installed them already; alone, install them once.
[ -x node_modules/.bin/vitest ] || bash hack/lib/npm-install.sh
export PATH=$REPO_ROOT/node_modules/.bin:$PATH
timed "chart tools" bash hack/lib/install-tools.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kube_version=${KUBE_VERSION#v}                  # 1.35.4
kube_minor=v$(cut -d. -f1-2 <<<"$kube_version")  # v1.35

failed=()
summary=()
step() {
  local label=$1 start=$SECONDS status=ok
  shift
  log "$label ..."
  if ! "$@"; then status=FAILED; failed+=("$label"); fi
  summary+=("$(printf '%-70s %5ss  %s' "$label" $((SECONDS - start)) "$status")")
  log "$label: $status in $((SECONDS - start))s"
}

crd_schemas() {
  node hack/chart/crd-json-schemas.ts "$work/crd-schemas" "$KUBE_SCHEMAS/$kube_minor/_definitions.json" \
    "$THIRD_PARTY_CRDS"/keda/*.yaml "$THIRD_PARTY_CRDS"/prometheus-operator/*.yaml crds/*.yaml
}

validate() {
  "$KUBECONFORM" -strict -summary -output text -kubernetes-version "$kube_version" \
    -schema-location "$KUBE_SCHEMAS/$kube_minor/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$work/crd-schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$@"
}

values_files=(charts/sluice/ci/*-values.yaml)
lint() {
  local helm=$1 values
  for values in "${values_files[@]}"; do
    "$helm" lint charts/sluice --strict --quiet --kube-version "$kube_version" -f "$values" || return 1
  done
}

# Renders each ci values file with one helm; also as another release in another namespace.
render() {
  local helm=$1 out=$2 values name
  mkdir -p "$out"
  for values in "${values_files[@]}"; do
    name=$(basename "$values" -values.yaml)
    "$helm" template sluice charts/sluice -n sluice-system --kube-version "$kube_version" -f "$values" > "$out/$name.yaml" || return 1
  done
  "$helm" template jobs charts/sluice -n platform --kube-version "$kube_version" > "$out/other-release.yaml"
}

same_render() {
  local file
  for file in "$work"/helm4/*.yaml; do
    node hack/chart/same-objects.ts "$file" "$work/helm3/$(basename "$file")" || return 1
  done
}

# The alerts as the chart renders them with defaults: what rules.test.yaml expects.
chart_rules() {
  "$HELM" template sluice charts/sluice -n sluice-system --kube-version "$kube_version" --set prometheusRule.enabled=true \
    --show-only templates/prometheusrule.yaml > "$work/prometheusrule.yaml" &&
    bash hack/observability/check-rules.sh "$work/prometheusrule.yaml"
}

generated_fresh() {
  vitest run --config vitest.unit.config.ts hack/ --reporter=dot
}

step "generated files are fresh (CRD templates, schema, dashboard, rules)" generated_fresh
step "CRD JSON schemas for offline validation" crd_schemas
step "helm lint ($HELM_VERSION)" lint "$HELM"
step "helm lint ($HELM3_VERSION)" lint "$HELM3"
step "helm template ($HELM_VERSION)" render "$HELM" "$work/helm4"
step "helm template ($HELM3_VERSION)" render "$HELM3" "$work/helm3"
step "Helm 3 and Helm 4 render the same objects" same_render
step "validate rendered chart against Kubernetes $kube_minor and CRDs" validate "$work"/helm4/*.yaml
step "validate manifests/ (install, observability, examples) and the CRDs" validate manifests/install manifests/observability/prometheus-rule.yaml manifests/examples crds "$THIRD_PARTY_CRDS"
step "helm unittest ($HELM_VERSION)" "$HELM" unittest charts/sluice
step "helm unittest ($HELM3_VERSION)" "$HELM3" unittest charts/sluice
step "chart README (helm-docs) and manifests/install are fresh" bash hack/chart/render.sh --check
step "promtool check/test rules (manifests and chart)" chart_rules

printf '%s\n' '' "${summary[@]}" >&2
log "chart tests took $((SECONDS - total_start))s"
echo "chart: $(( ${#summary[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
