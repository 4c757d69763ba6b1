# The base image for buildah builds where no registry image can be pulled: Debian bookworm
# (minbase, from Debian's packages) with Node from the npm registry laid out as the official
# node:<v>-bookworm-slim image has it (/usr/local/bin/node, npm under /usr/local/lib/node_modules),
# so the same Dockerfiles build on either. Cached as an archive keyed by its inputs. Sourced by
# build-images.sh; sets BASE_IMAGE.

base_inputs() {
  echo "debian=$DEBIAN_SUITE node=$(node_version) npm=$NPM_VERSION packages=$BASE_PACKAGES script=$(sha256sum < "${BASH_SOURCE[0]}" | cut -c1-16)"
}
node_version() { sed -n 's/.*"version": "\(.*\)".*/\1/p' "$REPO_ROOT/node_modules/node/package.json" | head -n 1; }

ensure_base_image() {
  [ -x "$REPO_ROOT/node_modules/node/bin/node" ] || die "Node from the npm registry is missing: run hack/lib/npm-install.sh"
  local key; key=$(base_inputs | sha256sum | cut -c1-12)
  BASE_IMAGE=sluice.local/base:$key
  local archive=$SLUICE_CACHE/images/base-$key.tar
  if buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  if [ -f "$archive" ]; then
    buildah pull --quiet "docker-archive:$archive" >/dev/null
    return 0
  fi
  log "making the base image $BASE_IMAGE (Debian $DEBIAN_SUITE + Node $(node_version); about a minute)"
  local work; work=$(mktemp -d)
  local rootfs=$work/rootfs
  mmdebstrap --quiet --variant=minbase --include="$BASE_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$DEBIAN_SUITE" "$rootfs" \
    "deb http://deb.debian.org/debian $DEBIAN_SUITE main" \
    "deb http://deb.debian.org/debian $DEBIAN_SUITE-updates main" \
    "deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main" > "$LOG_DIR/base-image.log" 2>&1 ||
    { tail -n 20 "$LOG_DIR/base-image.log" >&2; die "mmdebstrap failed"; }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  install -m 755 "$REPO_ROOT/node_modules/node/bin/node" "$rootfs/usr/local/bin/node"
  strip --strip-unneeded "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  ( cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null )
  tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules" && mv "$rootfs/usr/local/lib/node_modules/package" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # Owners by number: buildah copy would make every file root's.
  tar --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
  local ctr; ctr=$(buildah from --quiet scratch)
  buildah add --quiet "$ctr" "$work/rootfs.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$(node_version)" --cmd node "$ctr"
  buildah commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
  buildah push --quiet "$BASE_IMAGE" "docker-archive:$archive.tmp:$BASE_IMAGE" && mv "$archive.tmp" "$archive"
  rm -rf "$work"
  log "base image $BASE_IMAGE: $(du -h "$archive" | cut -f1)"
}
