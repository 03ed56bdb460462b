import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { APIARY_ROOT } from '../shared/sandbox-paths.js';
import type { NotebookAccessKeys } from './access-keys.js';
import { copyTutorialNotebooks, prepareInstanceFolders } from './instance-folders.js';
import { jupyterLabArgs, waitForJupyterLab } from './jupyter.js';
import { runLifecycleScripts, type ScriptRun } from './lifecycle-scripts.js';
import type { NotebookInstanceRecord } from './model.js';
import type { NotebooksDeps } from './notebooks.js';
import type { LifecycleConfigRepository, NotebookInstanceRepository } from './repository.js';
import {
  liveStartTime,
  logTail,
  seenPaths,
  signalGroup,
  spawnInSandbox,
  type InstanceDirs,
} from './sandbox.js';
import { newToken } from './sessions.js';

/** The tutorial notebooks copied into every new instance's volume. */
export const TUTORIAL_NOTEBOOKS_DIR = path.join(APIARY_ROOT, 'docs', 'notebooks');

/** A JupyterLab this process started (or found again after a restart). */
export interface Running {
  child: ChildProcess | undefined;
  pid: number;
  stopping: boolean;
  exited: Promise<void>;
}

/** What booting an instance needs from the notebooks context. */
export interface BootHost {
  readonly deps: NotebooksDeps;
  readonly instances: NotebookInstanceRepository;
  readonly configs: LifecycleConfigRepository;
  readonly keys: NotebookAccessKeys;
  /** Lifecycle scripts running now (killed on close). */
  readonly scripts: Set<number>;
  /** Apiary's listening URL (the kernels' AWS_ENDPOINT_URL). */
  apiaryUrl(): string;
  closed(): boolean;
  /** Takes the instance's lease for this replica. */
  own(name: string): Promise<unknown>;
  dirsOf(rec: NotebookInstanceRecord): InstanceDirs;
  /** Marks the instance Failed with this reason (and gives its lease back). */
  fail(name: string, reason: string): Promise<void>;
  /** Keeps the started JupyterLab (stop and close signal it). */
  started(name: string, run: Running): void;
  /** The JupyterLab ended. */
  onExit(name: string, run: Running, dirs: InstanceDirs): Promise<void>;
}

/** What the lifecycle scripts and JupyterLab see: Apiary's URL and region, the notebook venv. */
function instanceEnv(
  host: BootHost,
  rec: NotebookInstanceRecord,
  home: string,
): Record<string, string> {
  return {
    HOME: home,
    PATH: `${path.join(host.deps.sandbox.venv, 'bin')}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    SHELL: '/bin/bash',
    AWS_ENDPOINT_URL: host.apiaryUrl(),
    AWS_DEFAULT_REGION: host.deps.arn.region,
    AWS_REGION: host.deps.arn.region,
    SAGEMAKER_SUPPRESS_V2_WARNING: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    NOTEBOOK_INSTANCE_NAME: rec.name,
  };
}

/**
 * Pending → InService: the instance's folders, its OnCreate (first start only) and OnStart
 * scripts, then JupyterLab in the sandbox and its readiness; Failed with the reason otherwise.
 */
export async function bootInstance(host: BootHost, name: string): Promise<void> {
  const rec = await host.instances.get(name);
  await host.own(rec.name);
  const dirs = host.dirsOf(rec);
  const volume = prepareInstanceFolders(dirs, rec, host.deps.clock.nowMs());
  if (volume.overQuota) {
    host.deps.logger.warn(
      {
        notebook: rec.name,
        usedBytes: volume.usedBytes,
        quotaBytes: rec.volumeSizeInGb * 1024 ** 3,
      },
      `notebook instance ${rec.name} uses more than its VolumeSizeInGB`,
    );
  }
  const seen = seenPaths(dirs, host.deps.sandbox.mode);
  const env = {
    ...instanceEnv(host, rec, seen.home),
    SAGEMAKER_ADMIN_CONFIG_OVERRIDE: `${seen.run}/sagemaker-config.yaml`,
    ...(await host.keys.environmentOf(rec.name.toLowerCase())),
  };
  const config = rec.lifecycleConfigName
    ? await host.configs.find(rec.lifecycleConfigName)
    : undefined;
  const scripts: ScriptRun = {
    instanceArn: rec.arn,
    dirs,
    sandbox: host.deps.sandbox,
    env,
    seenRun: seen.run,
    timeoutMs: host.deps.lifecycleTimeoutMs,
    running: host.scripts,
    closed: () => host.closed(),
  };
  /** Runs a hook's scripts; false when the instance failed (or Apiary is closing). */
  const hook = async (name: 'OnCreate' | 'OnStart'): Promise<boolean> => {
    if (!config) return true;
    const outcome = await runLifecycleScripts(scripts, config, name);
    if (outcome.kind === 'failed') await host.fail(rec.name, outcome.reason);
    return outcome.kind === 'ok';
  };
  if (!rec.created) {
    copyTutorialNotebooks(TUTORIAL_NOTEBOOKS_DIR, dirs.volume);
    if (!(await hook('OnCreate'))) return;
    await host.instances.updateRow(rec.name, { created: 1 });
  }
  if (!(await hook('OnStart'))) return;
  const token = newToken();
  const python = path.join(host.deps.sandbox.venv, 'bin', 'python');
  const child = spawnInSandbox(
    dirs,
    host.deps.sandbox,
    jupyterLabArgs({ python, name: rec.name, socket: seen.socket, volume: seen.volume, token }),
    env,
  );
  const pid = child.pid;
  if (pid === undefined)
    return host.fail(
      rec.name,
      'JupyterLab could not be started (bwrap or the notebook virtualenv is missing; run scripts/install.sh)',
    );
  const startTime = liveStartTime(pid) ?? '0';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const run: Running = { child, pid, stopping: false, exited };
  host.started(rec.name, run);
  await host.instances.updateRow(rec.name, {
    process: JSON.stringify({ pid, startTime, token }),
  });
  void exited.then(() => host.onExit(rec.name, run, dirs));
  let alive = true;
  void exited.then(() => (alive = false));
  const ready = await waitForJupyterLab({
    socket: dirs.socket,
    name: rec.name,
    token,
    timeoutMs: host.deps.startTimeoutMs,
    stillWaiting: () => alive && !run.stopping && !host.closed(),
  });
  if (run.stopping || host.closed()) return;
  if (!ready) {
    signalGroup(pid, 'SIGKILL');
    run.stopping = true;
    const exited = liveStartTime(pid) !== startTime;
    return host.fail(
      rec.name,
      exited
        ? `JupyterLab exited while starting: ${logTail(dirs)}`
        : `JupyterLab did not start within ${Math.round(host.deps.startTimeoutMs / 1000)} seconds: ${logTail(dirs)}`,
    );
  }
  await host.instances.updateRow(
    rec.name,
    { status: 'InService', last_modified_ms: host.deps.clock.nowMs() },
    { status: 'Pending' },
  );
}
