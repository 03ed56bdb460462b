import fs from 'node:fs';
import path from 'node:path';
import { JobFailure } from './failure.js';
import type { ImageProgram } from './images.js';
import { extractSourceDir } from './input-checks.js';
import { decodeHyperparameter, smEnvironment, userArgs } from './job-env.js';
import type { TrainingObjectStore } from './object-port.js';
import type { TrainingJobRecord } from './repository.js';

/** What {@link programLaunch} needs to know about the job and this machine. */
export interface ProgramLaunchInput {
  readonly program: ImageProgram;
  readonly spec: TrainingJobRecord['spec'];
  readonly name: string;
  /** `/opt/ml` as the process sees it, and the job folder on this machine. */
  readonly root: string;
  readonly ml: string;
  /** The checkpoint folder relative to `/opt/ml`. */
  readonly ckptRel: string;
  readonly python: string;
  readonly algorithmDir: string;
  /** Whether the executor gives the process real `/opt/ml` paths (a sandbox or a pod). */
  readonly isolated: boolean;
  readonly objects: TrainingObjectStore;
  readonly log: (message: string) => void;
}

/**
 * The command, folder and platform environment a training image runs with: the built-in detector
 * (`apiary_od.train`), the SageMaker Python SDK v3 driver, v2 script mode (the entry point from
 * `sagemaker_submit_directory`), or a registered image's own command — each with SageMaker's
 * `SM_*` environment. @throws JobFailure for what the user can fix.
 */
export async function programLaunch(
  o: ProgramLaunchInput,
): Promise<{ command: string[]; cwd: string; env: Record<string, string> }> {
  const { spec, name, root, ml, ckptRel } = o;
  const python = o.python;
  const env: Record<string, string> = {};
  let command: string[];
  let cwd = root;
  const needPython = o.program.kind !== 'registered';
  if (needPython && !fs.existsSync(python)) {
    throw new JobFailure(
      "InternalServerError: Apiary's Python interpreter was not found; run scripts/setup-python.sh or set APIARY_PYTHON",
    );
  }
  if (o.program.kind === 'object-detection') {
    command = [python, '-m', 'apiary_od.train'];
    env.PYTHONPATH = o.algorithmDir;
    env.APIARY_ML_ROOT = root;
    env.APIARY_CHECKPOINT_DIR = path.posix.join(root, ckptRel);
    Object.assign(env, smEnvironment({ root, jobName: name, spec, args: [] }));
  } else if (
    o.program.kind === 'pytorch' &&
    spec.containerEntrypoint &&
    !spec.hyperParameters.sagemaker_program
  ) {
    // SageMaker Python SDK v3 (ModelTrainer): the entry point runs the SDK's driver script from
    // the 'sm_drivers' channel, which finds python3/pip3 on PATH and reads /opt/ml paths.
    if (!o.isolated) {
      throw new JobFailure(
        "ClientError: this job's ContainerEntrypoint (SageMaker Python SDK v3 ModelTrainer) uses /opt/ml paths, which Apiary provides only in its bubblewrap sandbox; install bubblewrap, or use the SDK v2 PyTorch estimator",
      );
    }
    command = v3DriverCommand([...spec.containerEntrypoint, ...(spec.containerArguments ?? [])]);
    env.PATH = `${path.dirname(python)}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`;
    Object.assign(
      env,
      smEnvironment({ root, jobName: name, spec, args: userArgs(spec.hyperParameters) }),
    );
  } else if (o.program.kind === 'pytorch') {
    const programRaw = spec.hyperParameters.sagemaker_program;
    const submitRaw = spec.hyperParameters.sagemaker_submit_directory;
    if (!programRaw || !submitRaw) {
      throw new JobFailure(
        "ClientError: a PyTorch framework image runs a script: set the hyperparameters 'sagemaker_program' (the script) and 'sagemaker_submit_directory' (s3://…/sourcedir.tar.gz)",
      );
    }
    const program = String(decodeHyperparameter(programRaw));
    const submitDir = String(decodeHyperparameter(submitRaw));
    await extractSourceDir(o.objects, submitDir, path.join(ml, 'code'));
    const codeRoot = path.posix.join(root, 'code');
    const rel = program
      .split('/')
      .filter((s) => s && s !== '.' && s !== '..')
      .join('/');
    if (!rel || !fs.existsSync(path.join(ml, 'code', rel))) {
      throw new JobFailure(
        `ClientError: sagemaker_program '${program}' is not in the source directory ${submitDir}`,
      );
    }
    if (fs.existsSync(path.join(ml, 'code', 'requirements.txt'))) {
      o.log(
        'Apiary: requirements.txt found: Apiary does not install packages (jobs have no network); the local Python environment is used as is',
      );
    }
    const args = userArgs(spec.hyperParameters);
    command = rel.endsWith('.sh') ? ['/bin/sh', rel, ...args] : [python, rel, ...args];
    cwd = codeRoot;
    env.PYTHONPATH = codeRoot;
    Object.assign(env, smEnvironment({ root, jobName: name, spec, args, program: rel, submitDir }));
  } else {
    command = [
      ...(spec.containerEntrypoint ?? o.program.command),
      ...(spec.containerArguments ?? []),
    ];
    Object.assign(env, smEnvironment({ root, jobName: name, spec, args: [] }));
  }
  return { command, cwd, env };
}

/**
 * The SDK v3 driver's command, `/bin/bash -c "chmod +x X && X"`, as `/bin/bash X`: the input
 * channels are read-only in Apiary's sandbox (they are links to the stored objects), so the chmod
 * would fail; bash runs the script without it. Any other command is kept as it is.
 */
export function v3DriverCommand(command: readonly string[]): string[] {
  const [shell, flag, script] = command;
  if (
    command.length === 3 &&
    (shell === '/bin/bash' || shell === 'bash') &&
    flag === '-c' &&
    script
  ) {
    const m = /^chmod \+x (\/opt\/ml\/input\/data\/[\w./-]+\.sh) && (\S+)$/.exec(script.trim());
    if (m?.[1] && m[1] === m[2]) return [shell, m[1]];
  }
  return [...command];
}
