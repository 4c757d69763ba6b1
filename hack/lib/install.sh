#!/usr/bin/env bash
# Installs every local-stack component that is not cached yet, timing each step.
set -euo pipefail
source "$(dirname "$0")/common.sh"

lib=$(dirname "$0")
have() { [ -e "$1" ]; }
if [ -z "${SLUICE_EXTERNAL_KUBECONFIG:-}" ]; then
  have "$SLUICE_CACHE/etcd/$ETCD_VERSION/bin/etcd" || timed "build etcd $ETCD_VERSION" bash "$lib/build-etcd.sh"
  have "$SLUICE_CACHE/kube/$KUBE_VERSION/bin/kube-apiserver" || timed "build Kubernetes $KUBE_VERSION (cold: 15-30 min)" bash "$lib/build-kube.sh"
  have "$SLUICE_CACHE/kwok/$KWOK_VERSION/bin/kwok" || timed "build kwok $KWOK_VERSION" bash "$lib/build-kwok.sh"
fi
have "$SLUICE_CACHE/moto/$MOTO_VERSION/bin/moto_server" || timed "install moto $MOTO_VERSION" bash "$lib/install-moto.sh"
have "$SLUICE_CACHE/elasticmq/$ELASTICMQ_VERSION/.complete" || timed "fetch ElasticMQ $ELASTICMQ_VERSION" bash "$lib/install-elasticmq.sh"
have "$SLUICE_CACHE/mongo-java-server/$MONGO_JAVA_SERVER_VERSION/.complete" || timed "fetch mongo-java-server $MONGO_JAVA_SERVER_VERSION" bash "$lib/install-mongo.sh"
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || timed "install PostgreSQL (apt)" bash "$lib/install-postgres.sh"
