#!/usr/bin/env bash
# Builds etcd $ETCD_VERSION. The server module replaces its sibling modules with relative paths,
# so a wrapper module pins them to the same published version instead.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/etcd/$ETCD_VERSION"
[ -x "$out/bin/etcd" ] && exit 0
work="$SLUICE_CACHE/etcd/$ETCD_VERSION.build"
mkdir -p "$work" "$out/bin"
cd "$work"
cat > go.mod <<MOD
module sluice.local/etcdbuild

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
MOD
printf 'package main\n' > main.go
GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
"$out/bin/etcd" --version
