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
# Chart and observability tools (hack/lib/install-tools.sh).
HELM_VERSION=v4.3.2
HELM3_VERSION=v3.22.0
HELM_DOCS_VERSION=v1.14.2
HELM_UNITTEST_VERSION=v1.1.2
KUBECONFORM_VERSION=v0.8.0
# Kubernetes JSON schemas for kubeconform come from this PyPI package's data (strict, per minor).
KUBERNETES_VALIDATE_VERSION=1.37.0
# Prometheus 3.16.0 is published on the Go module proxy as v0.316.0.
PROMETHEUS_VERSION=v0.316.0
