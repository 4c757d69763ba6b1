#!/usr/bin/env bash
# Builds prometheus and promtool $PROMETHEUS_VERSION from the Go module proxy (Prometheus v3.X.Y is
# published there as v0.3XX.Y). The web UI's assets are not built in (the API works), which is
# all that tests and `promtool check/test rules` need.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/prometheus/$PROMETHEUS_VERSION"
[ -x "$out/bin/prometheus" ] && [ -x "$out/bin/promtool" ] && exit 0
numbers=${PROMETHEUS_VERSION#v0.}                        # 316.0
release="${numbers:0:1}.${numbers:1:2}.${numbers#*.}"    # 3.16.0
pkg=github.com/prometheus/common/version
mkdir -p "$out/bin"
GOBIN="$out/bin" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X $pkg.Version=$release -X $pkg.Branch=HEAD -X $pkg.BuildUser=sluice -X $pkg.BuildDate=19700101-00:00:00" \
  "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
"$out/bin/promtool" --version
