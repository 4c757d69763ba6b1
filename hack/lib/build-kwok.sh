#!/usr/bin/env bash
# Builds kwok $KWOK_VERSION (a plain module, no replace directives).
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/kwok/$KWOK_VERSION"
[ -x "$out/bin/kwok" ] && exit 0
mkdir -p "$out/bin"
GOBIN="$out/bin" GOFLAGS="-buildvcs=false" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
"$out/bin/kwok" --version
