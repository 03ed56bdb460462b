#!/usr/bin/env bash
# Lint and format checks, as `npm test` runs them: oxlint (type-aware: typescript-go, the same
# compiler as `tsc`), Prettier for TypeScript/TSX, ruff for Python. `npm run format` fixes formatting.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .node/bin/node ]; then export PATH="$PWD/.node/bin:$PATH"; fi

echo "==> oxlint (type-aware)"
npx oxlint --type-aware --deny-warnings --format stylish src test bench web/src

echo "==> prettier"
npx prettier --check --log-level warn src test bench web/src

echo "==> ruff"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
