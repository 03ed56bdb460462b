/**
 * What the active-learning loop needs from the rest of Apiary, as a port: the server's composition
 * root wires it to the training service (ordinary CreateTrainingJob), the hosting service
 * (ordinary CreateModel) and the hosting runtime's in-process ONNX Runtime detector. Labeling never
 * imports those contexts; without the port, automated data labeling is refused at creation.
 */

import type { DetectorSignature } from './training-round.js';

/** A training job as the loop follows it. */
export interface RoundTrainingJob {
  readonly status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  readonly failureReason: string | undefined;
  readonly modelArtifacts: string | undefined;
}

/** One image's detections in pixels, best first (`classId` indexes the job's labels). */
export interface PortDetections {
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly {
    readonly classId: number;
    readonly score: number;
    readonly left: number;
    readonly top: number;
    readonly width: number;
    readonly height: number;
  }[];
}

/** A model as `InitialActiveLearningModelArn` names it. */
export interface PortModel {
  readonly arn: string;
  /** The primary container's ModelDataUrl (undefined: none). */
  readonly modelDataUrl: string | undefined;
  /** Whether the container runs SageMaker's object-detection algorithm (the built-in detector). */
  readonly objectDetection: boolean;
}

/** The loop's port (see the module comment). */
export interface AutoLabelingPort {
  /** SageMaker's minimum input dataset size (APIARY_AUTO_LABELING_MIN_OBJECTS). */
  readonly minObjects: number;
  /** Hyperparameters over the loop's training defaults (APIARY_AUTO_LABELING_HYPERPARAMETERS). */
  readonly hyperParameters: Readonly<Record<string, string>>;
  /** CreateTrainingJob, as the API does it. @throws AppError ResourceInUse when the name exists. */
  createTrainingJob(request: Record<string, unknown>): Promise<void>;
  /** DescribeTrainingJob; undefined when there is no such job. */
  trainingJob(name: string): Promise<RoundTrainingJob | undefined>;
  /** CreateModel of the built-in detector; an existing model of that name is kept. @returns its ARN */
  createModel(name: string, modelDataUrl: string, roleArn: string): Promise<string>;
  /** DescribeModel by name; undefined when there is no such model. */
  model(name: string): Promise<PortModel | undefined>;
  /**
   * The built-in detector's signature of a model artifact (its model.json), which a warm start
   * must keep. @throws when the artifact is missing or not the built-in detector's
   */
  artifactSignature(modelDataUrl: string): Promise<DetectorSignature>;
  /** Runs a training job's artifact over images in the object store. */
  detect(
    modelDataUrl: string,
    images: readonly { readonly bucket: string; readonly key: string }[],
  ): Promise<PortDetections[]>;
}
