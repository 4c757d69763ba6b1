# Where the cached chart and observability tools live (built by hack/lib/install-tools.sh).
# Source after common.sh.
HELM="$SLUICE_CACHE/helm/$HELM_VERSION/bin/helm"
HELM3="$SLUICE_CACHE/helm/$HELM3_VERSION/bin/helm"
HELM_DOCS="$SLUICE_CACHE/helm-docs/$HELM_DOCS_VERSION/bin/helm-docs"
KUBECONFORM="$SLUICE_CACHE/kubeconform/$KUBECONFORM_VERSION/bin/kubeconform"
KUBE_SCHEMAS="$SLUICE_CACHE/kube-schemas/$KUBERNETES_VALIDATE_VERSION"
PROMTOOL="$SLUICE_CACHE/prometheus/$PROMETHEUS_VERSION/bin/promtool"
PROMETHEUS="$SLUICE_CACHE/prometheus/$PROMETHEUS_VERSION/bin/prometheus"
# helm-unittest is a plugin: both helm versions find it here.
export HELM_PLUGINS="$SLUICE_CACHE/helm-unittest/$HELM_UNITTEST_VERSION/plugins"
