import { AppError, ErrorCodes } from '../shared/errors.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import type { VariantSpec } from './endpoint-configs.js';
import { serverlessMemoryProblem } from './runtime/serverless.js';

/**
 * CreateEndpointConfig's rules beyond the service model's shapes: ServerlessConfig memory in steps
 * of 1024 MB, at most one shadow variant, a DataCaptureConfig with an S3 destination.
 * @throws ValidationException naming the field.
 */
export function validateEndpointConfigExtras(
  variants: readonly VariantSpec[],
  dataCapture: Record<string, unknown> | undefined,
): void {
  for (const v of variants) {
    if (!v.serverless) continue;
    const problem = serverlessMemoryProblem(v.variantName, v.serverless.memorySizeInMB);
    if (problem) throw new AppError(ErrorCodes.Validation, problem);
  }
  if (variants.filter((v) => v.shadow).length > 1) {
    throw new AppError(
      ErrorCodes.Validation,
      'ShadowProductionVariants can hold at most 1 variant.',
    );
  }
  if (dataCapture) {
    const dest = dataCapture.DestinationS3Uri;
    if (typeof dest !== 'string')
      throw new AppError(ErrorCodes.Validation, 'DataCaptureConfig.DestinationS3Uri is required.');
    parseS3Uri(dest, 'DataCaptureConfig.DestinationS3Uri');
    const modes = Array.isArray(dataCapture.CaptureOptions)
      ? (dataCapture.CaptureOptions as { CaptureMode?: unknown }[])
      : [];
    if (
      modes.length === 0 ||
      modes.some((m) => m.CaptureMode !== 'Input' && m.CaptureMode !== 'Output')
    ) {
      throw new AppError(
        ErrorCodes.Validation,
        "DataCaptureConfig.CaptureOptions must list 'Input', 'Output' or both.",
      );
    }
  }
}
