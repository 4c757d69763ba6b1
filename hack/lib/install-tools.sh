#!/usr/bin/env bash
# Builds every chart and observability tool that is not cached yet, one Go build at a time (each
# takes a core or two for minutes), timing each step. Independent of hack/lib/install.sh, so a
# caller may run both at once: `bash hack/lib/install-tools.sh & bash hack/lib/install.sh; wait $!`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/tools.sh"

lib=$(dirname "$0")
have() { [ -e "$1" ]; }
have "$HELM" || timed "build helm $HELM_VERSION (cold: 4-10 min)" bash "$lib/build-helm.sh" "$HELM_VERSION"
have "$HELM_PLUGINS/helm-unittest/untt" || timed "build helm-unittest $HELM_UNITTEST_VERSION (cold: 1-3 min)" bash "$lib/build-helm-unittest.sh"
have "$HELM_DOCS" || timed "build helm-docs $HELM_DOCS_VERSION" bash "$lib/build-helm-docs.sh"
{ have "$KUBECONFORM" && have "$KUBE_SCHEMAS/.complete"; } || timed "build kubeconform $KUBECONFORM_VERSION + schemas" bash "$lib/build-kubeconform.sh"
have "$HELM3" || timed "build helm $HELM3_VERSION (cold: 1-5 min)" bash "$lib/build-helm.sh" "$HELM3_VERSION"
{ have "$PROMTOOL" && have "$PROMETHEUS"; } || timed "build prometheus + promtool $PROMETHEUS_VERSION (cold: 5-11 min)" bash "$lib/build-prometheus.sh"
