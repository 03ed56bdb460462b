/**
 * A round's training job as data (pure): the hyperparameters chosen for a small, growing dataset
 * and the ordinary CreateTrainingJob request (the tutorial's shape: augmented manifests, Pipe,
 * RecordIO) with SageMaker's incremental training — a `model` channel holding the model the round
 * starts from (the previous round's, or `InitialActiveLearningModelArn`'s for round 1).
 */

/** The built-in detector's signature: a warm start must keep it (the trainer checks it). */
export interface DetectorSignature {
  readonly baseNetwork: string;
  readonly numClasses: number;
  readonly imageShape: number;
}

/** The model a round starts from. */
export interface WarmStart {
  /** `s3://…/model.tar.gz` of the model (a training job's artifact). */
  readonly modelDataUrl: string;
  readonly signature: DetectorSignature;
  /** Where it comes from, for notices: `round 2`, `InitialActiveLearningModelArn …`. */
  readonly source: string;
}

/**
 * Training from scratch (no pretrained weights offline): the demo's recipe (`mobilenet-v3`, batch
 * 16, peak learning rate 0.02), which reached mAP 0.96 after ~225 steps (9 epochs of 400 images),
 * with more epochs: a round's dataset is tens of images, a few steps per epoch.
 */
export const SCRATCH_HYPERPARAMETERS: Readonly<Record<string, string>> = {
  base_network: 'mobilenet-v3',
  use_pretrained_model: '0',
  mini_batch_size: '16',
  epochs: '30',
  learning_rate: '0.02',
  optimizer: 'sgd',
  momentum: '0.9',
  weight_decay: '0.0005',
};

/**
 * Fine-tuning a model that already detects (a warm start): a fifth of the learning rate and few
 * epochs, so that a handful of new labels adjusts the detector without undoing it (a stated
 * choice; the measurement this needs did not fit the session: docs/readme/auto-labeling.md).
 */
export const WARM_HYPERPARAMETERS: Readonly<Record<string, string>> = {
  ...SCRATCH_HYPERPARAMETERS,
  mini_batch_size: '8',
  epochs: '8',
  learning_rate: '0.004',
};

/** Image side the detector trains at: the images' own size, a multiple of 32 in [64, 512]. */
export function imageShapeFor(maxSide: number | undefined): number {
  if (!maxSide || !Number.isFinite(maxSide)) return 300; // SageMaker's default
  return Math.min(512, Math.max(64, Math.round(maxSide / 32) * 32));
}

/**
 * The round's hyperparameters: the recipe (warm or scratch), the images' size, the operator's
 * `APIARY_AUTO_LABELING_HYPERPARAMETERS`, then what a warm start cannot change (the model's
 * network and input size) and what the data dictates (classes, samples).
 */
export function roundHyperParameters(opts: {
  readonly warm: WarmStart | undefined;
  readonly maxImageSide: number | undefined;
  readonly overrides: Readonly<Record<string, string>>;
  readonly numClasses: number;
  readonly numTrainingSamples: number;
}): Record<string, string> {
  const w = opts.warm?.signature;
  return {
    ...(w ? WARM_HYPERPARAMETERS : SCRATCH_HYPERPARAMETERS),
    image_shape: String(imageShapeFor(opts.maxImageSide)),
    ...opts.overrides,
    ...(w ? { base_network: w.baseNetwork, image_shape: String(w.imageShape) } : {}),
    num_classes: String(Math.max(1, opts.numClasses)),
    num_training_samples: String(opts.numTrainingSamples),
  };
}

/** An ordinary CreateTrainingJob request for a round (see the module comment). */
export function roundTrainingRequest(opts: {
  readonly name: string;
  /** `{S3OutputPath}/{job}/activelearning/round-N`: manifests in, the model out. */
  readonly prefix: string;
  readonly labelAttributeName: string;
  readonly labelingJobName: string;
  readonly roleArn: string;
  readonly hyperParameters: Readonly<Record<string, string>>;
  readonly hasValidation: boolean;
  readonly warm: WarmStart | undefined;
}): Record<string, unknown> {
  const attrs = ['source-ref', opts.labelAttributeName];
  const channel = (channelName: string, file: string) => ({
    ChannelName: channelName,
    DataSource: {
      S3DataSource: {
        S3DataType: 'AugmentedManifestFile',
        S3Uri: `${opts.prefix}/${file}`,
        S3DataDistributionType: 'FullyReplicated',
        AttributeNames: attrs,
      },
    },
    ContentType: 'application/x-recordio',
    RecordWrapperType: 'RecordIO',
    CompressionType: 'None',
  });
  // SageMaker's incremental training: the model channel is read as a file, whatever the job's mode.
  const model = opts.warm && {
    ChannelName: 'model',
    DataSource: {
      S3DataSource: {
        S3DataType: 'S3Prefix',
        S3Uri: opts.warm.modelDataUrl,
        S3DataDistributionType: 'FullyReplicated',
      },
    },
    ContentType: 'application/x-sagemaker-model',
    InputMode: 'File',
    CompressionType: 'None',
  };
  return {
    TrainingJobName: opts.name,
    AlgorithmSpecification: { TrainingImage: 'object-detection', TrainingInputMode: 'Pipe' },
    RoleArn: opts.roleArn,
    OutputDataConfig: { S3OutputPath: `${opts.prefix}/output` },
    ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 10 },
    HyperParameters: { ...opts.hyperParameters },
    StoppingCondition: { MaxRuntimeInSeconds: 86_400 },
    InputDataConfig: [
      channel('train', 'train.manifest'),
      ...(opts.hasValidation ? [channel('validation', 'validation.manifest')] : []),
      ...(model ? [model] : []),
    ],
    Tags: [{ Key: 'apiary:labeling-job', Value: opts.labelingJobName }],
  };
}
