#!/usr/bin/env bash
# The whole test suite: type check, unit + integration + browser tests (vitest), trainer tests (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
# The Node the install pinned (.node/, Node 24 LTS): native modules are built for it.
if [ -x .node/bin/node ]; then export PATH="$PWD/.node/bin:$PATH"; fi
echo "==> Node $(node --version)"

echo "==> type check"
npx tsc -p tsconfig.json --noEmit

echo "==> build the console (the browser tests drive web/dist)"
npm run build:web --silent

echo "==> unit, integration and browser tests (vitest)"
npx vitest run

echo "==> built-in object-detection algorithm (pytest)"
.venv/bin/python -m pytest algorithms/object-detection/tests -q
