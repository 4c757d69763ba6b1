#!/usr/bin/env bash
# Runs every test: installs dependencies, brings up the local stack if it is not running (and stops
# it again afterwards unless SLUICE_KEEP_STACK=1), builds the images, then typecheck, lint, unit
# tests, the job images' tests, the offline chart tests and the e2e tests. On a cold machine the
# chart and observability tools build in the background while the stack's components build.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
suite_start=$SECONDS

bash hack/lib/npm-install.sh
# Node 24 from the npm registry (devDependency `node`) runs the tests, whatever node is on PATH.
export PATH=$REPO_ROOT/node_modules/.bin:$PATH
node -e 'if (+process.versions.node.split(".")[0] < 24) { console.error("Node >= 24 required, got " + process.version); process.exit(1) }'

mkdir -p .local/logs
log "chart and observability tools: building in the background (log: .local/logs/install-tools.log)"
bash hack/lib/install-tools.sh > .local/logs/install-tools.log 2>&1 &
tools_pid=$!

started_stack=false
stop_stack() {
  kill "$tools_pid" 2>/dev/null || true
  if $started_stack && [ "${SLUICE_KEEP_STACK:-0}" != 1 ]; then bash hack/local-down.sh; fi
}
trap stop_stack EXIT
if ! bash hack/local-status.sh >/dev/null 2>&1; then
  started_stack=true
  timed "local stack" bash hack/local-up.sh
fi
# Job and controller images for the exec node (skipped when their inputs did not change).
if grep -q '^export SLUICE_NODE_IP=' .local/env 2>/dev/null; then timed "images" bash hack/build-images.sh; fi

results=.local/test-results
rm -rf "$results" && mkdir -p "$results"
status=0
timed "typecheck" npx tsc -p tsconfig.json
timed "lint" npx eslint .
npx vitest run --config vitest.unit.config.ts --reporter=default --reporter=json --outputFile.json="$results/unit.json" || status=1
# The job images' code against real ffmpeg, a private S3 (moto) and a fake OpenAI server.
npx vitest run --config jobs/vitest.config.ts --reporter=default --reporter=json --outputFile.json="$results/jobs.json" || status=1
timed "chart and observability tools" wait "$tools_pid" || { tail -n 30 .local/logs/install-tools.log >&2; exit 1; }
bash hack/chart-test.sh || status=1
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile.json="$results/e2e.json" || status=1
node hack/lib/summarize-tests.mjs "$results"/*.json
log "all tests in $((SECONDS - suite_start))s"
exit $status
