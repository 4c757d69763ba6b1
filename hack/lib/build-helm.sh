#!/usr/bin/env bash
# Builds helm VERSION (default $HELM_VERSION; v3.x and v4.x) from the Go module proxy. Helm's
# Makefile stamps the version and, in v3, the Kubernetes version it assumes when no cluster is
# reachable (without it `helm template` renders as if for v1.20): the same ldflags here.
set -euo pipefail
source "$(dirname "$0")/common.sh"

version=${1:-$HELM_VERSION}
out="$SLUICE_CACHE/helm/$version"
[ -x "$out/bin/helm" ] && exit 0
major=${version#v}; major=${major%%.*}
module="helm.sh/helm/v$major"
mod_file=$(go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$mod_file" ] || die "could not download $module@$version"

ldflags="-s -w -X $module/internal/version.version=$version -X $module/internal/version.gitTreeState=clean"
if [ "$major" = 3 ]; then
  client_go=$(awk '$1 == "k8s.io/client-go" {print $2}' "$mod_file")   # v0.MINOR.PATCH
  kube_minor=${client_go#v0.}; kube_minor=${kube_minor%%.*}
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X $module/$pkg.k8sVersionMajor=1 -X $module/$pkg.k8sVersionMinor=$kube_minor"
  done
fi
mkdir -p "$out/bin"
GOBIN="$out/bin" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "$module/cmd/helm@$version"
"$out/bin/helm" version
