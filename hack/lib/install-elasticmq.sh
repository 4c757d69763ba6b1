#!/usr/bin/env bash
# Fetches the ElasticMQ server (an SQS-compatible server) and its dependencies from Maven.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/elasticmq/$ELASTICMQ_VERSION"
[ -f "$out/.complete" ] && exit 0
mkdir -p "$out"
mvn -q -B -f "$HACK_DIR/elasticmq/pom.xml" -Delasticmq.version="$ELASTICMQ_VERSION" \
  dependency:copy-dependencies -DoutputDirectory="$out"
touch "$out/.complete"
