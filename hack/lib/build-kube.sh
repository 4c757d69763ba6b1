#!/usr/bin/env bash
# Builds the control plane (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) and the
# exec node's kubelet and kube-proxy at $KUBE_VERSION from the Go module proxy, plus the sandbox
# (pause) binary from the same module's C source. k8s.io/kubernetes replaces its staging modules with local paths, so a
# wrapper module replaces them with their published v0.<minor>.<patch> versions instead.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/kube/$KUBE_VERSION"
bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
built() { for b in "${bins[@]}" pause; do [ -x "$out/bin/$b" ] || return 1; done; }
built && exit 0

work="$SLUICE_CACHE/kube/$KUBE_VERSION.build"
mkdir -p "$work" "$out/bin"
cd "$work"
staging_version="v0.${KUBE_VERSION#v1.}"
download=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")
upstream_mod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<< "$download")
upstream_dir=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<< "$download")
[ -f "$upstream_mod" ] || die "could not download k8s.io/kubernetes@$KUBE_VERSION"

{
  echo "module sluice.local/kubebuild"
  echo
  grep -E '^go [0-9]' "$upstream_mod"
  grep -E '^godebug ' "$upstream_mod" || true
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  sed -n '/^replace (/,/^)/p' "$upstream_mod" | grep -oE 'k8s\.io/[a-z0-9-]+ =>' | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > go.mod
printf 'package main\n' > main.go

major=${KUBE_VERSION#v}; major=${major%%.*}
minor=${KUBE_VERSION#v*.}; minor=${minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

export GOFLAGS="-mod=mod -buildvcs=false"
pkgs=()
for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
go build -trimpath -ldflags "-s -w $ldflags" -o "$out/bin/" "${pkgs[@]}"
# The pod sandbox image's one binary: Kubernetes' own pause, static so the image needs nothing else.
gcc -Os -static -DVERSION="$KUBE_VERSION" -o "$out/bin/pause" "$upstream_dir/build/pause/linux/pause.c"
"$out/bin/kube-apiserver" --version
