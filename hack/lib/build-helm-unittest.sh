#!/usr/bin/env bash
# Builds the helm-unittest plugin $HELM_UNITTEST_VERSION into a plugins dir for HELM_PLUGINS.
# Its go.mod has a replace directive, so `go install mod@version` is refused: build inside a copy
# of the downloaded module. Its plugin.yaml's install hook downloads a release binary from the
# internet, so the plugin dir is laid out by hand: the binary and a plugin.yaml without hooks.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/helm-unittest/$HELM_UNITTEST_VERSION"
plugin="$out/plugins/helm-unittest"
[ -x "$plugin/untt" ] && [ -f "$plugin/plugin.yaml" ] && exit 0
module=github.com/helm-unittest/helm-unittest
dir=$(go mod download -json "$module@$HELM_UNITTEST_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -f "$dir/go.mod" ] || die "could not download $module@$HELM_UNITTEST_VERSION"
work="$SLUICE_CACHE/helm-unittest/$HELM_UNITTEST_VERSION.build"
mkdir -p "$(dirname "$work")" && rm -rf "$work" && cp -r "$dir" "$work" && chmod -R u+w "$work"
mkdir -p "$plugin"
(cd "$work" && GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X $module/internal/build.version=${HELM_UNITTEST_VERSION#v}" -o "$plugin/untt" ./cmd/helm-unittest)
rm -rf "$work"
# The upstream plugin.yaml less its platform hooks; one command for any platform (built here).
cat > "$plugin/plugin.yaml" <<YAML
name: "unittest"
version: "${HELM_UNITTEST_VERSION#v}"
usage: "unittest for helm charts"
description: "Unit test for helm chart in YAML with ease to keep your chart functional and robust."
ignoreFlags: false
platformCommand:
  - command: "\$HELM_PLUGIN_DIR/untt"
YAML
"$plugin/untt" --help >/dev/null
