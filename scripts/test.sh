#!/usr/bin/env bash
# The whole test suite, as CI runs it. Each tier can run alone (see CONTRIBUTING.md / README "Tests"):
#   lint · type check · unit + integration + browser (vitest, SQLite, plus the suites that bring their
#   own PostgreSQL / versitygw / moto) · the PostgreSQL tier · the Kubernetes tier · the trainer (pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
# The Node the install pinned (.node/, Node 24 LTS): native modules are built for it.
if [ -x .node/bin/node ]; then export PATH="$PWD/.node/bin:$PATH"; fi
echo "==> Node $(node --version)"
started=$SECONDS
tier() { echo "==> $1 ($((SECONDS - started)) s so far)"; }

tier "lint and format (oxlint, prettier, ruff)"
bash scripts/lint.sh

tier "type check (server, tests, console)"
npx tsc -p tsconfig.json --noEmit
npx tsc -p web/tsconfig.json

tier "build the console (the browser tests drive web/dist)"
npm run build:web --silent

tier "unit, integration and browser tests (vitest)"
npx vitest run

tier "the integration tests again on PostgreSQL"
bash scripts/test-postgres.sh

tier "the Kubernetes executor against a local control plane"
bash scripts/test-k8s.sh

tier "built-in object-detection algorithm (pytest; last, so its summary closes the run)"
.venv/bin/python -m pytest algorithms/object-detection/tests -q
