#!/usr/bin/env bash
# The Kubernetes tier: builds the local control plane once (cached in ~/.cache/apiary/k8s; tens of
# minutes on a cold machine), starts it, runs test/k8s against it, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .node/bin/node ]; then export PATH="$PWD/.node/bin:$PATH"; fi
bash scripts/k8s-cluster.sh build
trap 'bash scripts/k8s-cluster.sh down' EXIT
APIARY_TEST_TIER=k8s npx vitest run test/k8s --testTimeout 240000 "$@"
