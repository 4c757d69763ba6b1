#!/usr/bin/env bash
# Builds helm-docs $HELM_DOCS_VERSION (a plain module) from the Go module proxy.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/helm-docs/$HELM_DOCS_VERSION"
[ -x "$out/bin/helm-docs" ] && exit 0
mkdir -p "$out/bin"
GOBIN="$out/bin" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w -X main.version=${HELM_DOCS_VERSION#v}" \
  "github.com/norwoodj/helm-docs/cmd/helm-docs@$HELM_DOCS_VERSION"
"$out/bin/helm-docs" --version
