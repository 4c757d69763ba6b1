#!/usr/bin/env bash
# `promtool check rules` and `promtool test rules` on Sluice's alerts: the rule groups of the
# generated PrometheusRule (manifests/observability/prometheus-rule.yaml) and, when a file is given,
# of a PrometheusRule rendered by the chart; and `promtool check rules` on the dashboard's queries.
# Builds promtool when it is not cached.
#   hack/observability/check-rules.sh [RENDERED_PROMETHEUSRULE.yaml]
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
source "$HACK_DIR/lib/tools.sh"
cd "$REPO_ROOT"
export PATH=$REPO_ROOT/node_modules/.bin:$PATH

[ -x "$PROMTOOL" ] || timed "build promtool $PROMETHEUS_VERSION" bash hack/lib/build-prometheus.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# spec of every PrometheusRule in FILE → a plain Prometheus rule file.
extract() {
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { parseAllDocuments, stringify } from "yaml";
    const groups = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS())
      .filter((o) => o?.kind === "PrometheusRule").flatMap((o) => o.spec.groups);
    if (!groups.length) { console.error(`no PrometheusRule in ${process.argv[1]}`); process.exit(1); }
    process.stdout.write(stringify({ groups }));
  ' "$1"
}

check() {
  local source=$1 dir
  dir=$(mktemp -d -p "$work")
  extract "$source" > "$dir/sluice-rules.yaml"
  cp hack/observability/rules.test.yaml "$dir/"
  log "rules from $source"
  "$PROMTOOL" check rules "$dir/sluice-rules.yaml"
  "$PROMTOOL" test rules "$dir/rules.test.yaml"
}

check manifests/observability/prometheus-rule.yaml
if [ $# -gt 0 ]; then check "$1"; fi
# The dashboard's panels, as recording rules: promtool parses each query.
log "dashboard queries"
node hack/observability/dashboard-rules.ts > "$work/dashboard-rules.yaml"
"$PROMTOOL" check rules "$work/dashboard-rules.yaml"
