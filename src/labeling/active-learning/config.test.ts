import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { checkMinimumObjects, parseAlgorithmsConfig, SAGEMAKER_MIN_OBJECTS } from './config.js';

const arn = (region: string, algo: string, account = '027400017018') =>
  `arn:aws:sagemaker:${region}:${account}:labeling-job-algorithm-specification/${algo}`;

function validationMessage(f: () => unknown): string {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe('ValidationException');
  return (caught as AppError).message;
}

describe('parseAlgorithmsConfig', () => {
  it('accepts the object-detection ARN of any region for a bounding box job', () => {
    for (const region of ['us-east-1', 'eu-central-1', 'ap-southeast-2']) {
      const c = parseAlgorithmsConfig(
        {
          LabelingJobAlgorithmSpecificationArn: arn(region, 'object-detection'),
          InitialActiveLearningModelArn: 'arn:aws:sagemaker:us-east-1:123456789012:model/bees-v1',
          LabelingJobResourceConfig: { VolumeKmsKeyId: 'alias/labeling' },
        },
        'bounding-box',
      );
      expect(c).toEqual({
        algorithm: 'object-detection',
        algorithmArn: arn(region, 'object-detection'),
        initialModelArn: 'arn:aws:sagemaker:us-east-1:123456789012:model/bees-v1',
        volumeKmsKeyId: 'alias/labeling',
      });
    }
  });

  it('refuses an ARN for another task type, naming the right one', () => {
    const msg = validationMessage(() =>
      parseAlgorithmsConfig(
        { LabelingJobAlgorithmSpecificationArn: arn('us-east-1', 'text-classification') },
        'bounding-box',
      ),
    );
    expect(msg).toContain('is for text-classification');
    expect(msg).toContain('labeling-job-algorithm-specification/object-detection');
  });

  it('refuses unknown algorithms, other accounts and malformed ARNs', () => {
    for (const bad of [
      arn('us-east-1', 'semantic-segmentation'),
      arn('us-east-1', 'object-detection', '123456789012'),
      'object-detection',
      '',
    ]) {
      expect(
        validationMessage(() =>
          parseAlgorithmsConfig({ LabelingJobAlgorithmSpecificationArn: bad }, 'bounding-box'),
        ),
      ).toMatch(/LabelingJobAlgorithmSpecificationArn/);
    }
  });

  it('refuses task types without automated labeling and image classification (no built-in trainer)', () => {
    expect(
      validationMessage(() =>
        parseAlgorithmsConfig(
          { LabelingJobAlgorithmSpecificationArn: arn('us-east-1', 'object-detection') },
          'adjustment-bounding-box',
        ),
      ),
    ).toContain('not available for adjustment-bounding-box');
    expect(
      validationMessage(() =>
        parseAlgorithmsConfig(
          { LabelingJobAlgorithmSpecificationArn: arn('us-east-1', 'image-classification') },
          'image-classification',
        ),
      ),
    ).toContain('no image-classification algorithm');
  });

  it('refuses a malformed InitialActiveLearningModelArn', () => {
    expect(
      validationMessage(() =>
        parseAlgorithmsConfig(
          {
            LabelingJobAlgorithmSpecificationArn: arn('us-east-1', 'object-detection'),
            InitialActiveLearningModelArn: 'arn:aws:sagemaker:us-east-1:123:endpoint/x',
          },
          'bounding-box',
        ),
      ),
    ).toContain('InitialActiveLearningModelArn');
  });
});

describe('checkMinimumObjects', () => {
  it("uses SageMaker's 1,250 and says how many objects the manifest has", () => {
    expect(SAGEMAKER_MIN_OBJECTS).toBe(1250);
    expect(() => checkMinimumObjects(1250, SAGEMAKER_MIN_OBJECTS)).not.toThrow();
    expect(validationMessage(() => checkMinimumObjects(1249, SAGEMAKER_MIN_OBJECTS))).toContain(
      'has 1249 objects',
    );
  });
});
