import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** The test cluster (scripts/k8s-cluster.sh up: builds it the first time, tens of minutes cold). */
export interface TestCluster {
  readonly kubeconfig: string;
  /** A kubeconfig whose user RBAC grants nothing. */
  readonly forbiddenKubeconfig: string;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
}

export async function startTestCluster(): Promise<TestCluster> {
  let stdout: string;
  try {
    ({ stdout } = await run('bash', [path.join(ROOT, 'scripts', 'k8s-cluster.sh'), 'up'], {
      timeout: 60 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `the Kubernetes test cluster did not start (scripts/k8s-cluster.sh up): ${e.stderr?.slice(-2000) ?? e.message}`,
    );
  }
  const kubeconfig = /^KUBECONFIG=(.+)$/m.exec(stdout)?.[1];
  if (!kubeconfig)
    throw new Error(`scripts/k8s-cluster.sh up printed no KUBECONFIG line: ${stdout}`);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kubeconfig,
    forbiddenKubeconfig: kubeconfig.replace(/kubeconfig$/, 'kubeconfig-nobody'),
    kc,
    core: kc.makeApiClient(CoreV1Api),
    batch: kc.makeApiClient(BatchV1Api),
  };
}

/** Polls until `fn` returns a value (not undefined). */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
}

/** The pod of a training job's Kubernetes Job (by the label the executor sets). */
export async function jobPod(
  cluster: TestCluster,
  namespace: string,
  k8sJob: string,
): Promise<V1Pod | undefined> {
  const pods = await cluster.core.listNamespacedPod({
    namespace,
    labelSelector: `apiary.io/training-job=${k8sJob}`,
  });
  return pods.items[0];
}

/** Plays the training container's end under kwok: the pod ends with `code` (and a reason). */
export async function endPod(
  cluster: TestCluster,
  pod: V1Pod,
  code: number,
  reason?: string,
): Promise<void> {
  await cluster.core.patchNamespacedPod(
    {
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
      body: [
        { op: 'add', path: '/metadata/annotations/apiary.io~1test-exit-code', value: String(code) },
        ...(reason
          ? [{ op: 'add', path: '/metadata/annotations/apiary.io~1test-reason', value: reason }]
          : []),
      ],
    },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
}
