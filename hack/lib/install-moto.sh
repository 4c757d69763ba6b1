#!/usr/bin/env bash
# Installs moto's server (SQS, S3, SES, DynamoDB) into a virtualenv under the cache.
set -euo pipefail
source "$(dirname "$0")/common.sh"

venv="$SLUICE_CACHE/moto/$MOTO_VERSION"
[ -x "$venv/bin/moto_server" ] && exit 0
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$venv/bin/moto_server" --help >/dev/null
