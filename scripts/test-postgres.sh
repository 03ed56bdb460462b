#!/usr/bin/env bash
# The PostgreSQL tier: the integration tests that touch the database, run again with every test
# server on a fresh database in one throwaway PostgreSQL 15 cluster (test/global-setup.ts starts it).
# Left out: suites that run on PostgreSQL already (scale-out*, postgres-restart, the repository
# contract suite), the browser tests, the long training journeys whose database use the scale-out
# journey covers (tutorial-e2e, tutorial-sdk, demo-cli, training-object-detection, the
# active-learning loop labeling-auto-loop, whose rounds table the fast labeling-auto file covers), and the
# process-restart suites that start `apiary serve` on the embedded database themselves
# (training-restart, notebooks-restart; the scale-out suite kills and restarts replicas on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .node/bin/node ]; then export PATH="$PWD/.node/bin:$PATH"; fi
export APIARY_TEST_DATABASE=postgres
exec npx vitest run test \
  --exclude 'test/browser/**' --exclude 'test/k8s/**' \
  --exclude 'test/scale-out*.test.ts' --exclude 'test/postgres-restart.test.ts' \
  --exclude 'test/tutorial-e2e.test.ts' --exclude 'test/tutorial-sdk.test.ts' \
  --exclude 'test/demo-cli.test.ts' --exclude 'test/training-object-detection.test.ts' \
  --exclude 'test/training-restart.test.ts' --exclude 'test/notebooks-restart.test.ts' \
  --exclude 'test/labeling-auto-loop.test.ts' "$@"
