import { AppError, ErrorCodes, validationError } from '../shared/errors.js';
import { parseS3Uri, type S3Location } from '../shared/s3-uri.js';

/**
 * The CreateTrainingJob request in SageMaker's own shape. The training context takes it as is
 * (it is echoed by DescribeTrainingJob and it is what tuning jobs hold as their training job
 * definition) and derives the camelCase {@link TrainingJobSpec} it runs from.
 */
export interface CreateTrainingJobRequest {
  TrainingJobName: string;
  HyperParameters?: Record<string, string>;
  AlgorithmSpecification?: {
    TrainingImage?: string;
    AlgorithmName?: string;
    TrainingInputMode?: string;
    MetricDefinitions?: { Name: string; Regex: string }[];
    ContainerEntrypoint?: string[];
    ContainerArguments?: string[];
    [k: string]: unknown;
  };
  RoleArn?: string;
  InputDataConfig?: WireChannel[];
  OutputDataConfig?: { S3OutputPath: string; KmsKeyId?: string; CompressionType?: string };
  ResourceConfig?: {
    InstanceType?: string;
    InstanceCount?: number;
    VolumeSizeInGB?: number;
    [k: string]: unknown;
  };
  StoppingCondition?: {
    MaxRuntimeInSeconds?: number;
    MaxWaitTimeInSeconds?: number;
    [k: string]: unknown;
  };
  CheckpointConfig?: { S3Uri: string; LocalPath?: string };
  Environment?: Record<string, string>;
  RetryStrategy?: { MaximumRetryAttempts: number };
  EnableManagedSpotTraining?: boolean;
  Tags?: { Key: string; Value?: string }[];
  [k: string]: unknown;
}

export interface WireChannel {
  ChannelName: string;
  DataSource: {
    S3DataSource?: {
      S3DataType: string;
      S3Uri: string;
      S3DataDistributionType?: string;
      AttributeNames?: string[];
    };
    FileSystemDataSource?: unknown;
    [k: string]: unknown;
  };
  ContentType?: string;
  CompressionType?: string;
  RecordWrapperType?: string;
  InputMode?: string;
  ShuffleConfig?: { Seed: number };
}

export type InputMode = 'File' | 'Pipe' | 'FastFile';
export type S3DataType = 'S3Prefix' | 'ManifestFile' | 'AugmentedManifestFile';

/** One resolved input channel: name, S3 location, distribution, content type, compression, input mode. */
export interface ChannelSpec {
  readonly name: string;
  readonly dataType: S3DataType;
  readonly uri: string;
  readonly location: S3Location;
  readonly distribution: 'FullyReplicated' | 'ShardedByS3Key';
  readonly attributeNames: readonly string[] | undefined;
  readonly contentType: string | undefined;
  readonly compression: 'None' | 'Gzip';
  readonly recordWrapper: 'None' | 'RecordIO';
  /** The effective mode: the channel's InputMode, else the job's TrainingInputMode. */
  readonly inputMode: InputMode;
  readonly shuffleSeed: number | undefined;
}

/** A metric to extract from the job's log: its name and a regex whose first group is the value. */
export interface MetricDefinition {
  readonly name: string;
  readonly regex: string;
}

/** What a job runs with, derived once at creation from the request. */
export interface TrainingJobSpec {
  readonly image: string;
  readonly inputMode: InputMode;
  readonly hyperParameters: Readonly<Record<string, string>>;
  readonly environment: Readonly<Record<string, string>>;
  readonly channels: readonly ChannelSpec[];
  readonly outputPath: string;
  readonly outputLocation: S3Location;
  readonly maxRuntimeSeconds: number;
  readonly checkpoint:
    { readonly uri: string; readonly location: S3Location; readonly localPath: string } | undefined;
  readonly maxRetryAttempts: number;
  readonly metricDefinitions: readonly MetricDefinition[];
  readonly containerEntrypoint: readonly string[] | undefined;
  readonly containerArguments: readonly string[] | undefined;
  readonly instanceCount: number;
  readonly instanceType: string | undefined;
}

export const DEFAULT_MAX_RUNTIME_SECONDS = 86_400;
const CONTAINER_ROOT = '/opt/ml';

/** `{S3OutputPath}/{job}/output/model.tar.gz`, with one slash between the parts. */
export function modelArtifactsUri(outputPath: string, jobName: string): string {
  return `${outputPath.replace(/\/+$/, '')}/${jobName}/output/model.tar.gz`;
}

export function outputDataUri(outputPath: string, jobName: string): string {
  return `${outputPath.replace(/\/+$/, '')}/${jobName}/output/output.tar.gz`;
}

const INPUT_MODES: readonly InputMode[] = ['File', 'Pipe', 'FastFile'];

/**
 * Derives the spec and checks what the service model cannot: S3 URIs only, supported channel
 * kinds, compiled metric regexes, unique channel names, a checkpoint path under /opt/ml.
 * @throws AppError ValidationException with a message naming the member and value.
 */
export function specFromRequest(req: CreateTrainingJobRequest): TrainingJobSpec {
  const algo = req.AlgorithmSpecification ?? {};
  const image = algo.TrainingImage ?? (algo.AlgorithmName ? algo.AlgorithmName : undefined);
  if (!image) {
    throw validationError('AlgorithmSpecification must name a TrainingImage or an AlgorithmName');
  }
  if (algo.TrainingImage && algo.AlgorithmName) {
    throw validationError(
      'AlgorithmSpecification takes either TrainingImage or AlgorithmName, not both',
    );
  }
  const mode = (algo.TrainingInputMode ?? 'File') as InputMode;
  if (!INPUT_MODES.includes(mode)) {
    throw validationError(
      `TrainingInputMode '${String(mode)}' is not one of ${INPUT_MODES.join(', ')}`,
    );
  }
  if (!req.OutputDataConfig?.S3OutputPath) {
    throw validationError('OutputDataConfig.S3OutputPath is required');
  }
  const outputLocation = parseS3Uri(
    req.OutputDataConfig.S3OutputPath,
    'OutputDataConfig.S3OutputPath',
  );
  const names = new Set<string>();
  const channels: ChannelSpec[] = (req.InputDataConfig ?? []).map((c, i) => {
    if (names.has(c.ChannelName)) {
      throw validationError(
        `Channel names must be unique: '${c.ChannelName}' appears more than once in InputDataConfig`,
      );
    }
    names.add(c.ChannelName);
    const s3 = c.DataSource?.S3DataSource;
    if (!s3) {
      throw validationError(
        `InputDataConfig[${i}] ('${c.ChannelName}'): Apiary supports only S3DataSource channels (FileSystemDataSource needs EFS or FSx)`,
      );
    }
    const dataType = s3.S3DataType as S3DataType;
    if (!['S3Prefix', 'ManifestFile', 'AugmentedManifestFile'].includes(dataType)) {
      throw validationError(
        `Channel '${c.ChannelName}': S3DataType '${s3.S3DataType}' is not supported; use S3Prefix, ManifestFile or AugmentedManifestFile`,
      );
    }
    const location = parseS3Uri(s3.S3Uri, `InputDataConfig.${c.ChannelName}.S3Uri`);
    const channelMode = (c.InputMode ?? mode) as InputMode;
    if (!INPUT_MODES.includes(channelMode)) {
      throw validationError(
        `Channel '${c.ChannelName}': InputMode '${String(channelMode)}' is not one of ${INPUT_MODES.join(', ')}`,
      );
    }
    if (dataType === 'AugmentedManifestFile' && channelMode === 'FastFile') {
      throw validationError(
        `Channel '${c.ChannelName}': an AugmentedManifestFile cannot be read in FastFile mode; use Pipe or File`,
      );
    }
    if (s3.AttributeNames && dataType !== 'AugmentedManifestFile') {
      throw validationError(
        `Channel '${c.ChannelName}': AttributeNames are only allowed with S3DataType AugmentedManifestFile`,
      );
    }
    return {
      name: c.ChannelName,
      dataType,
      uri: s3.S3Uri,
      location,
      distribution:
        s3.S3DataDistributionType === 'ShardedByS3Key' ? 'ShardedByS3Key' : 'FullyReplicated',
      attributeNames: s3.AttributeNames,
      contentType: c.ContentType,
      compression: c.CompressionType === 'Gzip' ? 'Gzip' : 'None',
      recordWrapper: c.RecordWrapperType === 'RecordIO' ? 'RecordIO' : 'None',
      inputMode: channelMode,
      shuffleSeed: c.ShuffleConfig?.Seed,
    };
  });
  const metricDefinitions = (algo.MetricDefinitions ?? []).map((m) => {
    compileMetricRegex(m.Regex, m.Name);
    return { name: m.Name, regex: m.Regex };
  });
  let checkpoint: TrainingJobSpec['checkpoint'];
  if (req.CheckpointConfig) {
    const localPath = (req.CheckpointConfig.LocalPath ?? `${CONTAINER_ROOT}/checkpoints`).replace(
      /\/+$/,
      '',
    );
    const rel = localPath.slice(CONTAINER_ROOT.length + 1);
    if (
      !localPath.startsWith(CONTAINER_ROOT + '/') ||
      rel.split('/').some((s) => s === '' || s === '.' || s === '..') ||
      ['input', 'model', 'output', 'code'].includes(rel.split('/')[0]!)
    ) {
      throw validationError(
        `CheckpointConfig.LocalPath '${req.CheckpointConfig.LocalPath}': Apiary keeps checkpoints under /opt/ml (default /opt/ml/checkpoints), outside input/, model/, output/ and code/`,
      );
    }
    checkpoint = {
      uri: req.CheckpointConfig.S3Uri,
      location: parseS3Uri(req.CheckpointConfig.S3Uri, 'CheckpointConfig.S3Uri'),
      localPath,
    };
  }
  const hyperParameters = req.HyperParameters ?? {};
  for (const [k, v] of Object.entries(hyperParameters)) {
    if (k.includes('\0') || v.includes('\0')) {
      throw validationError(`HyperParameters '${k}' contains a NUL character`);
    }
  }
  const environment = req.Environment ?? {};
  for (const k of Object.keys(environment)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw validationError(
        `Environment variable name '${k}' is not valid: use letters, digits and _`,
      );
    }
  }
  return {
    image,
    inputMode: mode,
    hyperParameters,
    environment,
    channels,
    outputPath: req.OutputDataConfig.S3OutputPath,
    outputLocation,
    maxRuntimeSeconds: req.StoppingCondition?.MaxRuntimeInSeconds ?? DEFAULT_MAX_RUNTIME_SECONDS,
    checkpoint,
    maxRetryAttempts: req.RetryStrategy?.MaximumRetryAttempts ?? 0,
    metricDefinitions,
    containerEntrypoint: algo.ContainerEntrypoint,
    containerArguments: algo.ContainerArguments,
    instanceCount: req.ResourceConfig?.InstanceCount ?? 1,
    instanceType: req.ResourceConfig?.InstanceType,
  };
}

/**
 * SageMaker's metric regexes are Java/Python flavoured; the common subset works in JavaScript.
 * Python's named groups `(?P<x>…)` are rewritten to `(?<x>…)`.
 * @throws AppError ValidationException when the regex does not compile.
 */
export function compileMetricRegex(regex: string, name: string): RegExp {
  try {
    return new RegExp(regex.replace(/\(\?P</g, '(?<'));
  } catch (e) {
    throw new AppError(
      ErrorCodes.Validation,
      `MetricDefinitions '${name}': Regex '${regex}' is not a valid regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`,
    );
  }
}
