import os from 'node:os';
import path from 'node:path';
import type { ChannelSpec, TrainingJobSpec } from './spec.js';

/** `/opt/ml/input/config/inputdataconfig.json` (SageMaker's keys, plus what the built-in algorithm reads). */
export function inputDataConfig(
  channels: readonly ChannelSpec[],
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of channels) {
    out[c.name] = {
      ...(c.contentType !== undefined ? { ContentType: c.contentType } : {}),
      TrainingInputMode: c.inputMode,
      S3DistributionType: c.distribution,
      RecordWrapperType: c.recordWrapper,
      CompressionType: c.compression,
      S3DataType: c.dataType,
      ...(c.attributeNames ? { AttributeNames: c.attributeNames } : {}),
    };
  }
  return out;
}

export function resourceConfig(spec: TrainingJobSpec): Record<string, unknown> {
  const type = spec.instanceType ?? 'local';
  return {
    current_host: 'algo-1',
    current_instance_type: type,
    current_group_name: 'homogeneousCluster',
    hosts: ['algo-1'],
    instance_groups: [
      { instance_group_name: 'homogeneousCluster', instance_type: type, hosts: ['algo-1'] },
    ],
    network_interface_name: 'eth0',
  };
}

/** Hyperparameter values as the SageMaker training toolkit decodes them (JSON when it parses). */
export function decodeHyperparameter(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const argValue = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'True' : 'False') : JSON.stringify(v);

/** Script-mode argv: `--key value` for every hyperparameter except `sagemaker_*`. Never a shell. */
export function userArgs(hps: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(hps)) {
    if (k.startsWith('sagemaker_')) continue;
    out.push(`--${k}`, argValue(decodeHyperparameter(v)));
  }
  return out;
}

const envName = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');

/** SageMaker's script-mode environment (SM_*) for an ML root as the process sees it. */
export function smEnvironment(input: {
  root: string;
  jobName: string;
  spec: TrainingJobSpec;
  args: readonly string[];
  program?: string;
  submitDir?: string;
}): Record<string, string> {
  const { root, spec } = input;
  const hps: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec.hyperParameters))
    if (!k.startsWith('sagemaker_')) hps[k] = decodeHyperparameter(v);
  const channels = spec.channels.map((c) => c.name);
  const env: Record<string, string> = {
    SM_MODEL_DIR: path.posix.join(root, 'model'),
    SM_OUTPUT_DIR: path.posix.join(root, 'output'),
    SM_OUTPUT_DATA_DIR: path.posix.join(root, 'output', 'data'),
    SM_OUTPUT_INTERMEDIATE_DIR: path.posix.join(root, 'output', 'intermediate'),
    SM_INPUT_DIR: path.posix.join(root, 'input'),
    SM_INPUT_CONFIG_DIR: path.posix.join(root, 'input', 'config'),
    SM_CHANNELS: JSON.stringify(channels),
    SM_HPS: JSON.stringify(hps),
    SM_CURRENT_HOST: 'algo-1',
    SM_HOSTS: JSON.stringify(['algo-1']),
    SM_NETWORK_INTERFACE_NAME: 'eth0',
    SM_NUM_CPUS: String(os.cpus().length),
    SM_NUM_GPUS: '0',
    SM_LOG_LEVEL: spec.hyperParameters.sagemaker_container_log_level ?? '20',
    SM_INPUT_DATA_CONFIG: JSON.stringify(inputDataConfig(spec.channels)),
    SM_RESOURCE_CONFIG: JSON.stringify(resourceConfig(spec)),
    SM_USER_ARGS: JSON.stringify(input.args),
    SM_TRAINING_JOB_NAME: input.jobName,
  };
  for (const c of channels)
    env[`SM_CHANNEL_${envName(c)}`] = path.posix.join(root, 'input', 'data', c);
  for (const [k, v] of Object.entries(hps)) env[`SM_HP_${envName(k)}`] = argValue(v);
  if (input.program) {
    env.SM_USER_ENTRY_POINT = input.program;
    env.SM_MODULE_NAME = input.program.replace(/\.py$/, '');
    env.SM_MODULE_DIR = input.submitDir ?? '';
    env.SM_FRAMEWORK_MODULE = 'sagemaker_pytorch_container.training:main';
  }
  env.SM_TRAINING_ENV = JSON.stringify({
    job_name: input.jobName,
    hyperparameters: hps,
    channel_input_dirs: Object.fromEntries(
      channels.map((c) => [c, path.posix.join(root, 'input', 'data', c)]),
    ),
    model_dir: env.SM_MODEL_DIR,
    output_data_dir: env.SM_OUTPUT_DATA_DIR,
    current_host: 'algo-1',
    hosts: ['algo-1'],
    num_cpus: os.cpus().length,
    num_gpus: 0,
    user_entry_point: input.program,
  });
  return env;
}
