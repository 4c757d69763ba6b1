#!/usr/bin/env bash
# Builds the KEDA operator and its metrics API server at $KEDA_VERSION from the Go module proxy.
# `go install` refuses modules with replace directives, so a wrapper module requires KEDA and
# copies KEDA's own replace and exclude lines.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/keda/$KEDA_VERSION"
[ -x "$out/bin/keda" ] && [ -x "$out/bin/keda-adapter" ] && exit 0
work="$out.build"
mkdir -p "$work" "$out/bin"
cd "$work"
upstream_mod=$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$upstream_mod" ] || die "could not download github.com/kedacore/keda/v2@$KEDA_VERSION"
{
  echo "module sluice.local/kedabuild"
  echo
  grep -E '^go [0-9]' "$upstream_mod"
  echo
  echo "require github.com/kedacore/keda/v2 $KEDA_VERSION"
  echo
  grep -E '^(replace|exclude) ' "$upstream_mod"
  sed -n '/^replace (/,/^)/p; /^exclude (/,/^)/p' "$upstream_mod"
} > go.mod
printf 'package main\n' > main.go
export GOFLAGS="-mod=mod -buildvcs=false"
ldflags="-s -w -X github.com/kedacore/keda/v2/version.Version=$KEDA_VERSION"
go build -trimpath -ldflags "$ldflags" -o "$out/bin/keda" github.com/kedacore/keda/v2/cmd/operator
go build -trimpath -ldflags "$ldflags" -o "$out/bin/keda-adapter" github.com/kedacore/keda/v2/cmd/adapter
"$out/bin/keda" --help >/dev/null 2>&1 || true
ls -la "$out/bin"
