import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stageFileChannel, PipeFeeder } from './channels.js';
import type { LaunchSpec } from './executors/executor.js';
import { JobFailure } from './failure.js';
import type { ImageProgram } from './images.js';
import { verifyPipeChannel } from './input-checks.js';
import { inputDataConfig, resourceConfig } from './job-env.js';
import { CheckpointSync } from './outputs.js';
import { programLaunch } from './program-command.js';
import type { TrainingJobRecord } from './repository.js';
import type { RunnerHost } from './runner.js';

/** What preparing a job's attempt needs from its runner. */
export interface PrepareInput {
  readonly host: RunnerHost;
  readonly record: TrainingJobRecord;
  readonly program: ImageProgram;
  /** The job's `/opt/ml` on this machine. */
  readonly mlDir: string;
  /** The job's raw log file (the process writes its output there). */
  readonly logFile: string;
  readonly signal: AbortSignal;
  /** Filled with each Pipe-mode channel's feeder as it opens. */
  readonly feeders: PipeFeeder[];
  /** A platform line in the job's log. */
  log(message: string): void;
  /** Ends the job at once with this reason (a Pipe-mode feeder failed). */
  failFast(reason: string): void;
}

/** A prepared attempt: what to launch, and the checkpoint sync when CheckpointConfig is set. */
export interface PreparedJob {
  readonly launch: LaunchSpec;
  readonly checkpoints: CheckpointSync | undefined;
}

/**
 * Downloading: the job folder, config files, checkpoints, channels (Pipe-mode FIFOs are pushed to
 * `feeders` as they open, so the runner stops them on any end), script-mode code; then what to
 * launch. An abort stops staging and returns an empty launch.
 */
export async function prepareJob(job: PrepareInput): Promise<PreparedJob> {
  const { host, record, program } = job;
  const { spec, name, arn } = record;
  const ml = job.mlDir;
  let checkpoints: CheckpointSync | undefined;
  for (const sub of ['input', 'model', 'output', 'code', '.apiary'])
    fs.rmSync(path.join(ml, sub), { recursive: true, force: true });
  for (const sub of [
    'input/config',
    'input/data',
    'model',
    'output/data',
    'output/intermediate',
    'code',
    '.apiary',
  ]) {
    fs.mkdirSync(path.join(ml, sub), { recursive: true });
  }
  if (host.executorWarning) job.log(`Apiary WARNING: ${host.executorWarning}`);
  job.log(`Apiary: running ${name} (attempt ${record.attempt}) as a ${host.executor.description}`);
  const cfg = path.join(ml, 'input', 'config');
  fs.writeFileSync(path.join(cfg, 'hyperparameters.json'), JSON.stringify(spec.hyperParameters));
  fs.writeFileSync(
    path.join(cfg, 'inputdataconfig.json'),
    JSON.stringify(inputDataConfig(spec.channels)),
  );
  fs.writeFileSync(path.join(cfg, 'resourceconfig.json'), JSON.stringify(resourceConfig(spec)));

  const root = host.executor.mlRootFor(ml);
  const ckptRel = spec.checkpoint
    ? spec.checkpoint.localPath.slice('/opt/ml/'.length)
    : 'checkpoints';
  const ckptHost = path.join(ml, ckptRel);
  fs.mkdirSync(ckptHost, { recursive: true });
  if (spec.checkpoint) {
    checkpoints = new CheckpointSync(host.objects, spec.checkpoint.location, ckptHost);
    const n = await checkpoints.download();
    job.log(`Apiary: ${n} checkpoint file(s) copied from ${spec.checkpoint.uri}`);
  }

  const dataDir = path.join(ml, 'input', 'data');
  for (const ch of spec.channels) {
    if (job.signal.aborted) return { launch: launchSpec(job, root, [], {}), checkpoints };
    if (ch.inputMode === 'Pipe') {
      await verifyPipeChannel(host.objects, ch);
      const feeder = new PipeFeeder(host.objects, ch, dataDir, (err) =>
        job.failFast(
          err instanceof JobFailure
            ? err.reason
            : `InternalServerError: Pipe mode channel '${ch.name}' failed (${(err as Error).message})`,
        ),
      );
      await feeder.create(0);
      job.feeders.push(feeder);
      job.log(
        `Apiary: channel '${ch.name}' (Pipe mode${ch.recordWrapper === 'RecordIO' ? ', RecordIO' : ''}): FIFO ${ch.name}_0 ready`,
      );
    } else {
      const t0 = Date.now();
      const n = await stageFileChannel(host.objects, ch, path.join(dataDir, ch.name), {
        link: host.executor.isolated,
        signal: job.signal,
      });
      job.log(
        `Apiary: channel '${ch.name}' (${ch.inputMode} mode): ${n} file(s) staged in ${Date.now() - t0} ms`,
      );
    }
  }

  const { command, cwd, env } = await programLaunch({
    program,
    spec,
    name,
    root,
    ml,
    ckptRel,
    python: host.pythonPath,
    algorithmDir: host.algorithmDir,
    isolated: host.executor.isolated,
    objects: host.objects,
    log: (m) => job.log(m),
  });
  env.TRAINING_JOB_NAME = name;
  env.TRAINING_JOB_ARN = arn;
  return { launch: launchSpec(job, cwd, command, env), checkpoints };
}

/** The process to launch: a fresh environment (never the server's), the job's command and folder. */
function launchSpec(
  job: PrepareInput,
  cwd: string,
  command: string[],
  platformEnv: Record<string, string>,
): LaunchSpec {
  const { record } = job;
  const isolated = job.host.executor.isolated;
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: isolated ? '/tmp' : os.homedir(),
    TORCH_HOME: process.env.TORCH_HOME ?? path.join(os.homedir(), '.cache', 'torch'),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  const user = record.spec.environment;
  const env = { ...base, ...user, ...platformEnv };
  if (user.PYTHONPATH && platformEnv.PYTHONPATH)
    env.PYTHONPATH = `${platformEnv.PYTHONPATH}:${user.PYTHONPATH}`;
  const { spec } = record;
  return {
    jobName: record.name,
    mlDir: job.mlDir,
    command,
    env,
    cwd,
    logFile: job.logFile,
    kubernetes: {
      image: spec.image,
      builtIn: job.program.kind === 'object-detection',
      instanceType: spec.instanceType ?? 'ml.m5.large',
      instanceCount: spec.instanceCount,
      maxRuntimeSeconds: spec.maxRuntimeSeconds,
      attempt: record.attempt,
    },
  };
}
