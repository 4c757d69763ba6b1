#!/usr/bin/env bash
# Builds kubeconform $KUBECONFORM_VERSION and lays out the Kubernetes JSON schemas it validates
# against offline: the strict schemas for each minor that the PyPI package kubernetes-validate
# ships as data (only its wheel is fetched; none of its code runs). Their "$id"s (under
# https://kubernetes.io/api/) would make kubeconform fetch "$ref"s over the network, and their
# "$ref"s point at "/api/_definitions.json": both are rewritten so refs resolve to the sibling file.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/kubeconform/$KUBECONFORM_VERSION"
schemas="$SLUICE_CACHE/kube-schemas/$KUBERNETES_VALIDATE_VERSION"
if [ ! -x "$out/bin/kubeconform" ]; then
  mkdir -p "$out/bin"
  GOBIN="$out/bin" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi
if [ ! -f "$schemas/.complete" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$work" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  python3 -m zipfile -e "$work"/kubernetes_validate-*.whl "$work/wheel"
  rm -rf "$schemas" && mkdir -p "$schemas"
  for dir in "$work"/wheel/kubernetes_validate/kubernetes-json-schema/v*-local-strict; do
    minor=$(basename "$dir"); minor=${minor%-local-strict}; minor=${minor%.0}   # v1.35
    mv "$dir" "$schemas/$minor"
    find "$schemas/$minor" -name '*.json' -exec sed -i -e 's#"/api/_definitions.json\##"_definitions.json\##g' \
      -e 's#"\$id": "https://kubernetes.io/api/#"$comment": "kubernetes.io/api/#' {} +
  done
  touch "$schemas/.complete"
fi
"$out/bin/kubeconform" -v
