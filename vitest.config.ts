import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'web/src/**/*.test.ts', 'test/**/*.test.ts'],
    // The Kubernetes tier needs the local control plane (scripts/k8s-cluster.sh): `npm run test:k8s`.
    exclude: process.env.APIARY_TEST_TIER === 'k8s' ? ['**/node_modules/**'] : ['**/node_modules/**', 'test/k8s/**'],
    // One throwaway PostgreSQL cluster per run (the repository contract suite, APIARY_TEST_DATABASE).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration suites each start a real server; two cores run them best a few at a time.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
