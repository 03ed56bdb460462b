import { AppError, ErrorCodes } from '../../shared/errors.js';
import type { TaskType } from '../model.js';
import type { AutoLabelingPort } from './port.js';

/**
 * `LabelingJobAlgorithmsConfig` of CreateLabelingJob (automated data labeling), validated as
 * SageMaker does: the algorithm ARN must be one of SageMaker's labeling-job algorithm
 * specifications (account 027400017018, any region) and must match the job's task type.
 */

/** SageMaker's minimum input dataset size for automated data labeling. */
export const SAGEMAKER_MIN_OBJECTS = 1250;

/** The algorithms SageMaker publishes under `labeling-job-algorithm-specification/`. */
export type AutoLabelingAlgorithm =
  'object-detection' | 'image-classification' | 'text-classification' | 'named-entity-recognition';

/** The validated config as the loop needs it. */
export interface AutoLabelingConfig {
  readonly algorithm: AutoLabelingAlgorithm;
  readonly algorithmArn: string;
  readonly initialModelArn: string | undefined;
  readonly volumeKmsKeyId: string | undefined;
}

/** The wire shape (botocore `LabelingJobAlgorithmsConfig`). */
export interface WireAlgorithmsConfig {
  readonly LabelingJobAlgorithmSpecificationArn?: unknown;
  readonly InitialActiveLearningModelArn?: unknown;
  readonly LabelingJobResourceConfig?: { readonly VolumeKmsKeyId?: unknown; VpcConfig?: unknown };
}

const ALGORITHM_ARN =
  /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:027400017018:labeling-job-algorithm-specification\/([a-z-]+)$/;
const MODEL_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:model\/.+$/;
const KNOWN: readonly AutoLabelingAlgorithm[] = [
  'object-detection',
  'image-classification',
  'text-classification',
  'named-entity-recognition',
];

/** Which algorithm SageMaker accepts for each task type (the others have none). */
const ALGORITHM_FOR_TASK: Partial<Record<TaskType, AutoLabelingAlgorithm>> = {
  'bounding-box': 'object-detection',
  'image-classification': 'image-classification',
};

/** Algorithms Apiary can train: its built-in trainer is object detection only (src/training). */
const APIARY_TRAINS: readonly AutoLabelingAlgorithm[] = ['object-detection'];

const invalid = (msg: string): AppError => new AppError(ErrorCodes.Validation, msg);

/**
 * @returns the validated config for a job of `taskType`.
 * @throws ValidationException: a malformed or unknown ARN, an algorithm for another task type,
 *   a task type without automated labeling, or an algorithm Apiary cannot train.
 */
export function parseAlgorithmsConfig(
  raw: WireAlgorithmsConfig,
  taskType: TaskType,
): AutoLabelingConfig {
  const arn = raw.LabelingJobAlgorithmSpecificationArn;
  if (typeof arn !== 'string' || arn.length === 0) {
    throw invalid(
      'LabelingJobAlgorithmsConfig.LabelingJobAlgorithmSpecificationArn is required when LabelingJobAlgorithmsConfig is given',
    );
  }
  if (arn.length > 2048) {
    throw invalid('LabelingJobAlgorithmSpecificationArn is longer than 2048 characters');
  }
  const m = ALGORITHM_ARN.exec(arn);
  const algorithm = m?.[1] as AutoLabelingAlgorithm | undefined;
  if (!algorithm || !KNOWN.includes(algorithm)) {
    throw invalid(
      `LabelingJobAlgorithmSpecificationArn '${arn}' is not a SageMaker labeling job algorithm; use arn:aws:sagemaker:<region>:027400017018:labeling-job-algorithm-specification/object-detection (bounding boxes) or …/image-classification`,
    );
  }
  const expected = ALGORITHM_FOR_TASK[taskType];
  if (!expected) {
    throw invalid(
      `Automated data labeling is not available for ${taskType} labeling jobs; it works for bounding box (object-detection) and single-label image classification (image-classification) jobs`,
    );
  }
  if (algorithm !== expected) {
    throw invalid(
      `LabelingJobAlgorithmSpecificationArn '${arn}' is for ${algorithm}, but this is a ${taskType} labeling job; use the …/labeling-job-algorithm-specification/${expected} ARN`,
    );
  }
  if (!APIARY_TRAINS.includes(algorithm)) {
    throw invalid(
      `Automated data labeling with ${algorithm} is not supported: Apiary's built-in trainer has no ${algorithm} algorithm (only object-detection); leave LabelingJobAlgorithmsConfig out to have humans label every object`,
    );
  }
  const initial = raw.InitialActiveLearningModelArn;
  if (initial !== undefined && (typeof initial !== 'string' || !MODEL_ARN.test(initial))) {
    throw invalid(
      `InitialActiveLearningModelArn '${JSON.stringify(initial)}' is not a model ARN (arn:aws:sagemaker:<region>:<account>:model/<name>)`,
    );
  }
  const kms = raw.LabelingJobResourceConfig?.VolumeKmsKeyId;
  if (kms !== undefined && (typeof kms !== 'string' || kms.length > 2048)) {
    throw invalid(
      'LabelingJobResourceConfig.VolumeKmsKeyId must be a string of at most 2048 characters',
    );
  }
  return {
    algorithm,
    algorithmArn: arn,
    initialModelArn: initial,
    volumeKmsKeyId: kms,
  };
}

/**
 * SageMaker's dataset-size rule, checked once the manifest is read.
 * @throws ValidationException with SageMaker's wording when `objects < minObjects`.
 */
export function checkMinimumObjects(objects: number, minObjects: number): void {
  if (objects < minObjects) {
    throw invalid(
      `Input manifest has ${objects} objects. Automated data labeling requires an input dataset of at least ${minObjects} objects; add objects or remove LabelingJobAlgorithmsConfig`,
    );
  }
}

/**
 * `InitialActiveLearningModelArn` must name an existing model of the same task type: a model of
 * SageMaker's object-detection algorithm with a model artifact (a previous job's
 * `FinalActiveLearningModelArn`, the demo's model, any built-in detector's training job).
 * @throws ValidationException naming the ARN.
 */
export async function checkInitialModel(
  port: Pick<AutoLabelingPort, 'model'>,
  arn: string,
): Promise<void> {
  const m = await port.model(arn.split('/').pop()!);
  if (!m || m.arn !== arn) throw invalid(`Could not find model "${arn}".`);
  if (!m.objectDetection || !m.modelDataUrl) {
    throw invalid(
      `InitialActiveLearningModelArn "${arn}" is not a model of the object-detection algorithm (a PrimaryContainer of the object-detection image with a ModelDataUrl); automated labeling of bounding boxes can start only from such a model, e.g. a previous labeling job's FinalActiveLearningModelArn`,
    );
  }
}
