import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { BatchV1Api, CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { kubernetesClient } from '../../../shared/lazy-modules.js';
import type { Executor, ExitInfo, LaunchSpec, ProcessRef, RunningProcess } from '../executor.js';
import { loadInstanceTypes, resourcesFor, type InstanceResources } from './instance-types.js';
import { ALGO_CONTAINER, JOB_LABEL, kubernetesName, ML_ROOT, trainingJob } from './job-spec.js';
import { relayPodLog } from './pod-log.js';
import { podVerdict } from './pod-verdict.js';
import { checkPermissions } from './rbac-check.js';
import { newStagingKey, PodStaging, type StagingToken } from './staging.js';

/** Settings of the Kubernetes executor (APIARY_K8S_*). */
export interface KubernetesExecutorOptions {
  readonly namespace: string;
  readonly serviceAccount: string | undefined;
  /** Apiary's image (staging and upload steps). */
  readonly apiaryImage: string;
  /** The image that runs SageMaker's built-in object-detection algorithm. */
  readonly algorithmImage: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** The URL pods reach Apiary at (its staging routes); known once the server listens. */
  readonly callbackUrl: () => string;
  /** JSON file of extra instance types (see instance-types.ts). */
  readonly instanceTypesFile: string | undefined;
  /** A pod that stays unschedulable or cannot pull its image this long fails the job. */
  readonly pendingTimeoutSeconds: number;
  /** How long the training job's outputs may take to arrive after its container ended. */
  readonly uploadTimeoutSeconds: number;
  readonly stopGraceSeconds: number;
  /** HMAC key of the staging URLs (kept in the database so every replica verifies them). */
  readonly signingKey: () => Promise<Buffer>;
  /** A kubeconfig file; default the standard chain (KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string;
  readonly warn?: (message: string, err?: unknown) => void;
}

/** What the runner tells the executor about a job beyond the process contract. */
export interface KubernetesLaunchExtras {
  readonly image: string;
  readonly builtIn: boolean;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly maxRuntimeSeconds: number;
  readonly attempt: number;
}

/** How long a failed container's outputs (its failure file) may take to arrive. */
const FAILED_OUTPUTS_GRACE_SECONDS = 15;

/** How long a resync waits for the pod list before it judges the last look at the pod again. */
const RESYNC_ANSWER_MS = 5_000;

/** Host environment that must not reach a pod (paths of this machine). */
const HOST_ONLY_ENV = new Set([
  'PATH',
  'HOME',
  'TORCH_HOME',
  'PYTHONPATH',
  'LANG',
  'LC_ALL',
  'APIARY_ML_ROOT',
  'APIARY_CHECKPOINT_DIR',
]);
export type { StagingToken };

/**
 * Runs training jobs as Kubernetes batch/v1 Jobs (APIARY_EXECUTOR=kubernetes). The runner stages
 * `/opt/ml` on Apiary's side exactly as for a local process; a pod's init step fetches it through
 * a signed URL, the training image runs with `train`, and a sidecar sends `/opt/ml/model` and
 * `/opt/ml/output` back, so the runner's Uploading step and FailureReason work unchanged. Status
 * comes from a watch on the job's pods (re-listed after a disconnect or an Apiary restart), the log
 * from the pod log API into the job's log file.
 */
export class KubernetesExecutor implements Executor {
  readonly description: string;
  readonly isolated = true;
  readonly runsImages = true;
  readonly supportsPipeMode = false;
  private readonly kc: KubeConfig;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly instanceTypes: Readonly<Record<string, InstanceResources>>;
  private readonly staging: PodStaging;
  private readonly following = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: KubernetesExecutorOptions) {
    this.kc = new (kubernetesClient().KubeConfig)();
    if (options.kubeconfig) this.kc.loadFromFile(options.kubeconfig);
    else this.kc.loadFromDefault();
    this.batch = this.kc.makeApiClient(kubernetesClient().BatchV1Api);
    this.core = this.kc.makeApiClient(kubernetesClient().CoreV1Api);
    this.instanceTypes = loadInstanceTypes(options.instanceTypesFile);
    this.staging = new PodStaging(options.signingKey);
    this.description = `Kubernetes Jobs in namespace ${options.namespace} (${this.kc.getCurrentCluster()?.server ?? 'in-cluster'})`;
  }

  mlRootFor(): string {
    return ML_ROOT;
  }

  /** The instance types this executor knows (ValidationException for others, at create). */
  knowsInstanceType(instanceType: string): boolean {
    return resourcesFor(this.instanceTypes, instanceType) !== undefined;
  }

  /**
   * Checks at start-up that Apiary may create Jobs and read pods and their logs in the namespace.
   * @throws naming what is missing and how to grant it (see rbac-check.ts).
   */
  check(): Promise<void> {
    return checkPermissions(this.kc, this.options.namespace);
  }

  // ---- the signed staging URLs (staging.ts) ---------------------------------------------------

  /** @returns the token's contents when its signature holds and it has not expired. */
  verify(token: string, kind: StagingToken['k'], nowMs: number): Promise<StagingToken | undefined> {
    return this.staging.verify(token, kind, nowMs);
  }

  /** The staged `/opt/ml` of a job as a tar stream (the pod's init step). */
  stagedArchive(token: StagingToken): Readable | undefined {
    return this.staging.stagedArchive(token);
  }

  /** Receives the job's `model/` and `output/` (the pod's upload sidecar) into its folder. */
  receiveOutputs(token: StagingToken, body: Readable, maxBytes: number): Promise<boolean> {
    return this.staging.receiveOutputs(token, body, maxBytes);
  }

  // ---- launch, watch, stop --------------------------------------------------------------------

  async launch(spec: LaunchSpec): Promise<RunningProcess> {
    if (this.closed) throw new Error('the Kubernetes executor is shut down');
    const extras = spec.kubernetes;
    if (!extras)
      throw new Error(
        'the Kubernetes executor needs the job image and resources (LaunchSpec.kubernetes)',
      );
    const resources = resourcesFor(this.instanceTypes, extras.instanceType);
    if (!resources)
      throw new Error(
        `ClientError: instance type ${extras.instanceType} has no entry in the Kubernetes instance table (APIARY_K8S_INSTANCE_TYPES)`,
      );
    this.staging.track(spec.jobName, extras.attempt, spec.mlDir);
    const expires =
      Date.now() + (extras.maxRuntimeSeconds + this.options.pendingTimeoutSeconds + 3600) * 1000;
    const base = this.options.callbackUrl().replace(/\/+$/, '');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.env)) if (!HOST_ONLY_ENV.has(k)) env[k] = v;
    const { job, service } = trainingJob({
      jobName: spec.jobName,
      attempt: extras.attempt,
      namespace: this.options.namespace,
      serviceAccount: this.options.serviceAccount,
      apiaryImage: this.options.apiaryImage,
      image: extras.builtIn ? this.options.algorithmImage : extras.image,
      imagePullPolicy: this.options.imagePullPolicy,
      env,
      resources,
      instanceCount: extras.instanceCount,
      maxRuntimeSeconds: extras.maxRuntimeSeconds,
      stopGraceSeconds: this.options.stopGraceSeconds,
      stageUrl: `${base}/_apiary/k8s/stage/${await this.staging.sign({ j: spec.jobName, a: extras.attempt, k: 'stage', e: expires })}`,
      uploadUrl: `${base}/_apiary/k8s/upload/${await this.staging.sign({ j: spec.jobName, a: extras.attempt, k: 'upload', e: expires })}`,
    });
    if (service)
      await this.core.createNamespacedService({ namespace: this.options.namespace, body: service });
    const created = await this.batch.createNamespacedJob({
      namespace: this.options.namespace,
      body: job,
    });
    fs.appendFileSync(
      spec.logFile,
      `Apiary: created Kubernetes Job ${this.options.namespace}/${job.metadata!.name} (${extras.instanceCount} × ${extras.instanceType}: ${resources.cpu} CPU, ${resources.memory}${resources.gpu ? `, ${resources.gpu} GPU` : ''})\n`,
    );
    const ref: ProcessRef = {
      pid: 0,
      startTime: '',
      exitFile: '',
      sandbox: 'kubernetes',
      kubernetes: {
        namespace: this.options.namespace,
        job: job.metadata!.name!,
        uid: created.metadata?.uid ?? '',
        attempt: extras.attempt,
        jobName: spec.jobName,
        logFile: spec.logFile,
        mlDir: spec.mlDir,
      },
    };
    return this.follow(ref);
  }

  /** Watches the job's pods until the training container has ended; streams its log meanwhile. */
  private follow(ref: ProcessRef): RunningProcess {
    const k = ref.kubernetes!;
    const entry = this.staging.track(k.jobName, k.attempt, k.mlDir);
    let settle!: (e: ExitInfo) => void;
    const done = new Promise<ExitInfo>((r) => (settle = r));
    let finished = false;
    let deleting: 'SIGTERM' | 'SIGKILL' | undefined;
    let abortWatch: AbortController | undefined;
    let logging: { abort(): void } | undefined;
    let stuckSince: number | undefined;
    let tick: NodeJS.Timeout | undefined;
    /** The newest look at the training pod (a watch event or a list), judged again as time passes. */
    let lastLook: V1Pod | undefined;
    /** Set while the pod is stuck: a look when its pending timeout falls due. */
    let due: NodeJS.Timeout | undefined;
    let listFailing = false;

    const stopFollowing = () => {
      finished = true;
      abortWatch?.abort();
      logging?.abort();
      clearInterval(tick);
      clearTimeout(due);
    };
    this.following.add(stopFollowing);
    const finish = async (exit: ExitInfo) => {
      if (finished) return;
      finished = true;
      this.following.delete(stopFollowing);
      abortWatch?.abort();
      clearInterval(tick);
      clearTimeout(due);
      // The sidecar sends the outputs when the training container has ended, whatever its exit
      // code. A job that succeeded needs them (its model): wait up to uploadTimeoutSeconds. A
      // failed one is failed already: wait a short grace for its output/failure file, then end
      // with the exit code as the reason rather than blocking on a sidecar that never reports.
      if (exit.code !== null && !exit.failure) {
        const failed = exit.code !== 0;
        const waitSeconds = failed
          ? Math.min(FAILED_OUTPUTS_GRACE_SECONDS, this.options.uploadTimeoutSeconds)
          : this.options.uploadTimeoutSeconds;
        let timer: NodeJS.Timeout | undefined;
        const arrived = await Promise.race([
          entry.outputs.then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), waitSeconds * 1000))),
        ]);
        clearTimeout(timer);
        if (!arrived && failed) {
          this.options.warn?.(
            `training job ${k.jobName}: the container exited with code ${exit.code} and its /opt/ml/output did not come back within ${waitSeconds} s`,
          );
        } else if (!arrived) {
          exit = {
            ...exit,
            failure:
              `InternalServerError: the training container ended (exit code 0) but its ` +
              `/opt/ml/model and /opt/ml/output never came back from the pod's upload step within ${waitSeconds} s`,
          };
        }
      }
      logging?.abort();
      this.staging.forget(k.jobName, k.attempt);
      settle(exit);
    };

    const examine = (pod: V1Pod) => {
      if (finished) return;
      lastLook = pod;
      const verdict = podVerdict(pod, {
        nowMs: Date.now(),
        stuckSince,
        pendingTimeoutSeconds: this.options.pendingTimeoutSeconds,
        deleting: deleting !== undefined,
      });
      if (verdict.logs && !logging) {
        // The log is best effort: a pod whose log cannot be read still ends the job.
        logging = relayPodLog(
          this.kc,
          {
            namespace: k.namespace,
            pod: pod.metadata!.name!,
            container: ALGO_CONTAINER,
            logFile: k.logFile,
          },
          this.options.warn,
        );
      }
      stuckSince = verdict.kind === 'stuck' ? verdict.since : undefined;
      if (verdict.kind === 'ended') return void finish(verdict.exit);
      if (verdict.kind === 'stuck' && verdict.timedOut) {
        void this.deleteJob(k.job, 0);
        return void finish(verdict.timedOut);
      }
      // A stuck pod sends no event while it stays stuck, and a verdict needs a look after the
      // timeout: take that look when it falls due rather than whenever the next resync answers.
      if (verdict.kind === 'stuck' && !due) {
        const wait = verdict.since + this.options.pendingTimeoutSeconds * 1000 - Date.now();
        due = setTimeout(
          () => {
            due = undefined;
            void resync();
          },
          Math.max(0, wait) + 50,
        );
        due.unref();
      }
    };

    /**
     * Lists the job's pods and looks at each. When the API does not answer (an overloaded control
     * plane), the newest look is judged again: time alone must be able to end a stuck pod.
     */
    const resync = async (): Promise<void> => {
      if (finished) return;
      let pods: V1Pod[];
      let timer: NodeJS.Timeout | undefined;
      try {
        const list = await Promise.race([
          this.core.listNamespacedPod({
            namespace: k.namespace,
            labelSelector: `${JOB_LABEL}=${k.job}`,
          }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer within ${RESYNC_ANSWER_MS / 1000} s`)),
              RESYNC_ANSWER_MS,
            );
          }),
        ]);
        pods = leaderPods(list.items);
        listFailing = false;
      } catch (err) {
        if (!listFailing)
          this.options.warn?.(
            `listing the pods of Kubernetes Job ${k.job} failed; judging the last look at its pod meanwhile`,
            err,
          );
        listFailing = true;
        if (lastLook) examine(lastLook);
        return;
      } finally {
        clearTimeout(timer);
      }
      pods.forEach(examine);
    };

    const watch = async (): Promise<void> => {
      while (!finished) {
        try {
          const list = await this.core.listNamespacedPod({
            namespace: k.namespace,
            labelSelector: `${JOB_LABEL}=${k.job}`,
          });
          const pods = leaderPods(list.items);
          if (pods.length === 0 && deleting) return void finish({ code: null, signal: deleting });
          if (pods.length === 0) {
            const job = await this.batch
              .readNamespacedJob({ name: k.job, namespace: k.namespace })
              .catch(() => undefined);
            if (!job)
              return void finish({
                code: null,
                signal: null,
                failure: `InternalServerError: the Kubernetes Job ${k.namespace}/${k.job} disappeared (deleted outside Apiary?)`,
              });
          }
          for (const p of pods) examine(p);
          if (finished) return;
          const rv = list.metadata?.resourceVersion;
          await new Promise<void>((resolve) => {
            void new (kubernetesClient().Watch)(this.kc)
              .watch(
                `/api/v1/namespaces/${k.namespace}/pods`,
                {
                  labelSelector: `${JOB_LABEL}=${k.job}`,
                  resourceVersion: rv,
                  allowWatchBookmarks: true,
                },
                (phase, pod: V1Pod) => {
                  if (phase === 'DELETED' && deleting)
                    return void finish({ code: null, signal: deleting });
                  if (phase === 'ADDED' || phase === 'MODIFIED') examine(pod);
                  if (finished) resolve();
                },
                () => resolve(), // closed or failed: list again and watch from there
              )
              .then((c) => (abortWatch = c))
              .catch(() => resolve());
          });
        } catch (err) {
          this.options.warn?.(`watching the pods of Kubernetes Job ${k.job} failed; retrying`, err);
        }
        if (!finished) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    // A periodic resync, as informers have: a pending pod sends no events while it waits, and a
    // watch stream can stall without closing; either way the next list catches up.
    tick = setInterval(() => void resync(), 2000);
    tick.unref();
    void watch();

    return {
      ref,
      wait: () => done,
      signal: (sig) => {
        if (finished) return;
        deleting = sig === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM';
        // StopTrainingJob: SageMaker gives the container 120 s after SIGTERM (terminationGracePeriodSeconds).
        void this.deleteJob(k.job, deleting === 'SIGKILL' ? 0 : this.options.stopGraceSeconds);
      },
    };
  }

  private async deleteJob(name: string, graceSeconds: number): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({
        name,
        namespace: this.options.namespace,
        gracePeriodSeconds: graceSeconds,
        propagationPolicy: 'Background',
      });
    } catch (err) {
      if ((err as { code?: number }).code !== 404)
        this.options.warn?.(`deleting Kubernetes Job ${name} failed`, err);
    }
    await this.core
      .deleteNamespacedService({ name, namespace: this.options.namespace })
      .catch(() => undefined);
  }

  /** Stops every watch and log stream (server shutdown); the Jobs keep running in the cluster. */
  close(): void {
    this.closed = true;
    for (const stop of this.following) stop();
    this.following.clear();
  }

  async reattach(ref: ProcessRef): Promise<RunningProcess | undefined> {
    const k = ref.kubernetes;
    if (!k) return undefined;
    const job = await this.batch
      .readNamespacedJob({ name: k.job, namespace: k.namespace })
      .catch(() => undefined);
    if (!job) return undefined;
    return this.follow(ref);
  }

  async leftExitStatus(): Promise<ExitInfo | undefined> {
    // A job that is gone left nothing to read (its pods went with it); `reattach` covers the rest.
    return undefined;
  }
}

/** The pods that carry the job's training container's status: index 0 (all of a plain Job's). */
function leaderPods(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter(
    (p) => (p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'] ?? '0') === '0',
  );
}

export { kubernetesName, newStagingKey };
