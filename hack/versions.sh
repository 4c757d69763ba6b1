# Pinned versions of the local stack. Cached builds are keyed by these, so bumping one rebuilds it.
KUBE_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
FERRETDB_VERSION=v1.24.1
MOTO_VERSION=5.2.5
MONGO_JAVA_SERVER_VERSION=1.46.0
ELASTICMQ_VERSION=1.6.14
SLUICE_CACHE=${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}
# Images built without Docker (hack/build-images.sh): Debian suite and npm of the base image.
DEBIAN_SUITE=bookworm
NPM_VERSION=11.21.2
BASE_PACKAGES=ca-certificates
KEDA_VERSION=v2.21.0
