import { validationError } from '../shared/errors.js';
import type { Executor } from './executors/executor.js';
import type { TrainingObjectStore } from './object-port.js';
import type { TrainingJobSpec } from './spec.js';

/**
 * CreateTrainingJob's checks against this server: what the executor can run (Pipe mode, the
 * instance type) and that the output and checkpoint buckets exist.
 * @throws ValidationException naming the field and how to fix it.
 */
export async function checkCreatable(
  spec: TrainingJobSpec,
  executor: Executor,
  objects: TrainingObjectStore,
): Promise<void> {
  if (
    executor.supportsPipeMode === false &&
    (spec.inputMode === 'Pipe' || spec.channels.some((c) => c.inputMode === 'Pipe'))
  ) {
    throw validationError(
      `TrainingInputMode 'Pipe' is not supported by this Apiary's executor (${executor.description}); use File mode`,
    );
  }
  if (
    executor.knowsInstanceType &&
    !executor.knowsInstanceType(spec.instanceType ?? 'ml.m5.large')
  ) {
    throw validationError(
      `ResourceConfig.InstanceType '${spec.instanceType}' has no entry in the Kubernetes instance table; add it with APIARY_K8S_INSTANCE_TYPES`,
    );
  }
  if (!(await objects.getBucket(spec.outputLocation.bucket))) {
    throw validationError(
      `OutputDataConfig.S3OutputPath '${spec.outputPath}': the bucket '${spec.outputLocation.bucket}' does not exist; create it first`,
    );
  }
  if (spec.checkpoint && !(await objects.getBucket(spec.checkpoint.location.bucket))) {
    throw validationError(
      `CheckpointConfig.S3Uri '${spec.checkpoint.uri}': the bucket '${spec.checkpoint.location.bucket}' does not exist`,
    );
  }
}
