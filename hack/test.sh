#!/usr/bin/env bash
# Runs every test: installs dependencies, brings up the local stack if it is not running (and stops
# it again afterwards unless SLUICE_KEEP_STACK=1), then typecheck, lint, unit and e2e tests.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"

bash hack/lib/npm-install.sh
# Node 24 from the npm registry (devDependency `node`) runs the tests, whatever node is on PATH.
export PATH=$REPO_ROOT/node_modules/.bin:$PATH
node -e 'if (+process.versions.node.split(".")[0] < 24) { console.error("Node >= 24 required, got " + process.version); process.exit(1) }'

started_stack=false
if ! bash hack/local-status.sh >/dev/null 2>&1; then
  started_stack=true
  timed "local stack" bash hack/local-up.sh
fi
stop_stack() { if $started_stack && [ "${SLUICE_KEEP_STACK:-0}" != 1 ]; then bash hack/local-down.sh; fi; }
trap stop_stack EXIT
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
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile.json="$results/e2e.json" || status=1
node hack/lib/summarize-tests.mjs "$results"/*.json
exit $status
