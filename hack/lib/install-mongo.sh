#!/usr/bin/env bash
# Fetches mongo-java-server (MongoDB wire protocol, H2 backend) and its dependencies from Maven.
set -euo pipefail
source "$(dirname "$0")/common.sh"

out="$SLUICE_CACHE/mongo-java-server/$MONGO_JAVA_SERVER_VERSION"
[ -f "$out/.complete" ] && exit 0
mkdir -p "$out"
mvn -q -B -f "$HACK_DIR/mongo/pom.xml" -Dmongo.java.server.version="$MONGO_JAVA_SERVER_VERSION" \
  dependency:copy-dependencies -DoutputDirectory="$out"
touch "$out/.complete"
