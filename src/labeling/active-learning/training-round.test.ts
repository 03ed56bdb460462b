import { describe, expect, it } from 'vitest';
import {
  imageShapeFor,
  roundHyperParameters,
  roundTrainingRequest,
  SCRATCH_HYPERPARAMETERS,
  WARM_HYPERPARAMETERS,
} from './training-round.js';

const warm = {
  modelDataUrl: 's3://b/round-1/output/j-al-round-1/output/model.tar.gz',
  signature: { baseNetwork: 'resnet-50', numClasses: 1, imageShape: 96 },
  source: 'round 1',
};

describe('a round’s training job', () => {
  it('trains at the images’ own size, a multiple of 32 within [64, 512]', () => {
    expect(imageShapeFor(64)).toBe(64);
    expect(imageShapeFor(320)).toBe(320);
    expect(imageShapeFor(20)).toBe(64);
    expect(imageShapeFor(4000)).toBe(512);
    expect(imageShapeFor(undefined)).toBe(300);
  });

  it('fine-tunes gently from a warm start, keeping its network and size over the operator’s settings', () => {
    const hp = roundHyperParameters({
      warm,
      maxImageSide: 64,
      overrides: { image_shape: '128', epochs: '3' },
      numClasses: 1,
      numTrainingSamples: 20,
    });
    expect(hp).toMatchObject({
      base_network: 'resnet-50',
      image_shape: '96',
      epochs: '3',
      learning_rate: WARM_HYPERPARAMETERS.learning_rate,
      num_classes: '1',
      num_training_samples: '20',
    });
    const scratch = roundHyperParameters({
      warm: undefined,
      maxImageSide: 64,
      overrides: {},
      numClasses: 2,
      numTrainingSamples: 20,
    });
    expect(scratch).toMatchObject({
      ...SCRATCH_HYPERPARAMETERS,
      image_shape: '64',
      num_classes: '2',
    });
  });

  it('adds SageMaker’s incremental-training model channel (File mode) only for a warm start', () => {
    const base = {
      name: 'j-al-round-2',
      prefix: 's3://b/out/j/activelearning/round-2',
      labelAttributeName: 'bees',
      labelingJobName: 'j',
      roleArn: 'arn:aws:iam::000000000000:role/r',
      hyperParameters: {},
      hasValidation: true,
    };
    const names = (r: Record<string, unknown>) =>
      (r.InputDataConfig as { ChannelName: string }[]).map((c) => c.ChannelName);
    expect(names(roundTrainingRequest({ ...base, warm: undefined }))).toEqual([
      'train',
      'validation',
    ]);
    const r = roundTrainingRequest({ ...base, warm });
    expect(names(r)).toEqual(['train', 'validation', 'model']);
    expect((r.InputDataConfig as unknown[])[2]).toMatchObject({
      ChannelName: 'model',
      InputMode: 'File',
      ContentType: 'application/x-sagemaker-model',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: warm.modelDataUrl } },
    });
  });
});
