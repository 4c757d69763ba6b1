#!/usr/bin/env bash
# Builds every image of the repository from its Dockerfile, saves each as an archive and loads it
# where pods can run it: the exec node's containerd (local stack) or kind. With a Docker engine it
# uses `docker build` on the Dockerfile's default base; without one, buildah on a base this script
# makes from Debian packages plus Node 24 from the npm registry. An image whose inputs did not
# change (content hash) is not built again. Writes .local/images.env: SLUICE_IMAGE_<NAME>=<ref>.
#
#   hack/build-images.sh [NAME...]     # all images, or only the named ones (controller, test-probe, …)
set -euo pipefail
source "$(dirname "$0")/lib/stack.sh"
cd "$REPO_ROOT"

# name | Dockerfile | the paths its build context uses (hashed for the tag)
IMAGES=(
  "controller|Dockerfile|package.json package-lock.json controller/package.json controller/build.ts controller/src"
  "test-probe|test/images/probe/Dockerfile|test/images/probe"
)
for file in jobs/*/Dockerfile; do
  [ -f "$file" ] || continue
  dir=$(dirname "$file")
  IMAGES+=("job-$(basename "$dir")|$file|package.json package-lock.json tsconfig.base.json $dir jobs/sdk jobs/s3")
done

wanted=("$@")
want() { [ ${#wanted[@]} -eq 0 ] && return 0; local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

ARCHIVES=$SLUICE_CACHE/images
mkdir -p "$ARCHIVES" "$LOG_DIR" "$STATE_DIR"

if docker info >/dev/null 2>&1; then ENGINE=docker
elif command -v buildah >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then ENGINE=buildah
else die "no image builder: need a Docker engine, or buildah as root (apt-get install buildah mmdebstrap)"
fi

# content_hash PATH...: a hash of the listed files' names and contents (tracked and untracked, not ignored).
content_hash() {
  git ls-files -co --exclude-standard -- "$@" | LC_ALL=C sort | while read -r f; do
    [ -f "$f" ] && printf '%s %s\n' "$(sha256sum < "$f" | cut -c1-64)" "$f"
  done | sha256sum | cut -c1-12
}

BASE_ARG=()
if [ "$ENGINE" = buildah ]; then
  source "$HACK_DIR/lib/base-image.sh"
  ensure_base_image
  BASE_ARG=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
fi

# build NAME DOCKERFILE TAG ARCHIVE: one image, its log in .local/logs/build-NAME.log.
build() {
  local name=$1 dockerfile=$2 ref=$3 archive=$4 log=$LOG_DIR/build-$1.log
  if [ "$ENGINE" = docker ]; then
    docker build "${BASE_ARG[@]}" -f "$dockerfile" -t "$ref" . > "$log" 2>&1 && docker save -o "$archive.tmp" "$ref" >> "$log" 2>&1
  else
    # crun fails on this hybrid-cgroup host: chroot isolation. The host's CA bundle is mounted for
    # the build only (the registries are reached through a TLS-intercepting proxy here).
    buildah bud --isolation chroot --pull=never --layers "${BASE_ARG[@]}" \
      --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
      -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
      -f "$dockerfile" -t "$ref" . > "$log" 2>&1 &&
      buildah push --quiet "$ref" "docker-archive:$archive.tmp:$ref" >> "$log" 2>&1
  fi || { log "ERROR: building $name failed; last lines of $log:"; tail -n 30 "$log" >&2; return 1; }
  mv "$archive.tmp" "$archive"
}

# prune NAME REF: keep the newest three archives of an image (other checkouts may use older ones)
# and drop buildah images without an archive. Run after every build has finished: removing images
# while another build runs makes buildah's listing fail ("image not known").
prune() {
  local name=$1 ref=$2
  ls -t "$ARCHIVES/$name"-*.tar | tail -n +4 | xargs -r rm -f
  if [ "$ENGINE" = buildah ]; then
    { buildah images --format '{{.Name}}:{{.Tag}}' 2>/dev/null || true; } | grep -E "(^|/)sluice/$name:" | grep -vxF -e "localhost/$ref" -e "$ref" |
      while read -r old; do [ -f "$ARCHIVES/$name-${old##*:}.tar" ] || buildah rmi "$old" >/dev/null 2>&1 || true; done || true
  fi
}

# load REF ARCHIVE: make the image runnable by pods.
load() {
  local ref=$1 archive=$2
  if $EXEC_NODE && running containerd; then
    ctr_local images ls -q | grep -qx "docker.io/$ref" || ctr_local images import "$archive" >/dev/null
  fi
  if [ -n "${SLUICE_KIND_CLUSTER:-}" ] && command -v kind >/dev/null 2>&1; then
    kind load image-archive "$archive" --name "$SLUICE_KIND_CLUSTER" >/dev/null
  fi
}

env_file=$STATE_DIR/images.env
touch "$env_file"
pids=() names=() refs=() archives=()
for entry in "${IMAGES[@]}"; do
  IFS='|' read -r name dockerfile inputs <<< "$entry"
  want "$name" || continue
  # shellcheck disable=SC2086
  tag=$(printf '%s %s\n' "$(content_hash "$dockerfile" $inputs)" "${BASE_IMAGE:-docker}" | sha256sum | cut -c1-12)
  ref=sluice/$name:$tag
  archive=$ARCHIVES/$name-$tag.tar
  names+=("$name") refs+=("$ref") archives+=("$archive")
  if [ -f "$archive" ]; then
    log "$ref is up to date"
    pids+=("")
    continue
  fi
  log "building $ref ($dockerfile)"
  build "$name" "$dockerfile" "$ref" "$archive" &
  pids+=("$!")
done

failed=0
start=$SECONDS
for i in "${!names[@]}"; do
  if [ -n "${pids[$i]}" ]; then
    if wait "${pids[$i]}"; then log "built ${refs[$i]} ($(du -h "${archives[$i]}" | cut -f1)) after $((SECONDS - start))s"; else failed=1; continue; fi
  fi
  load "${refs[$i]}" "${archives[$i]}"
  var=SLUICE_IMAGE_$(tr 'a-z-' 'A-Z_' <<< "${names[$i]}")
  { grep -v "^$var=" "$env_file" || true; echo "$var=${refs[$i]}"; } > "$env_file.tmp" && mv "$env_file.tmp" "$env_file"
done
[ "$failed" = 0 ] || die "some images failed to build"
for i in "${!names[@]}"; do [ -z "${pids[$i]}" ] || prune "${names[$i]}" "${refs[$i]}"; done
log "images: $env_file"
