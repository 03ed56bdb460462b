import { randomUUID } from 'node:crypto';
import { sagemakerArn } from '../shared/arn.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import { jsonColumn } from '../store/index.js';
import {
  checkInitialModel,
  parseAlgorithmsConfig,
  type WireAlgorithmsConfig,
} from './active-learning/config.js';
import type { LabelingContext } from './context.js';
import type { JobSpec, LabelingJobRecord, WorkteamRecord } from './model.js';
import { toJob, type JobRow } from './repository.js';
import { taskTypeFromLambda, taskTypeFromUiArn, textBlocks } from './templates.js';

/** TaskAvailabilityLifetimeInSeconds: its default and its maximum (30 days). */
const DEFAULT_LIFETIME_S = 30 * 86400;

/** CreateLabelingJob in domain terms (api/sagemaker/labeling-ops.ts builds it from the wire). */
export interface CreateLabelingJobInput {
  name: string;
  labelAttributeName: string;
  manifestUri: string;
  outputPath: string;
  labelCategoryConfigUri: string | undefined;
  workteamArn: string;
  uiTemplateUri: string | undefined;
  humanTaskUiArn: string | undefined;
  preHumanTaskLambdaArn: string | undefined;
  consolidationLambdaArn: string | undefined;
  taskTitle: string;
  taskDescription: string;
  workersPerObject: number;
  taskTimeLimitSeconds: number;
  availabilityLifetimeSeconds: number | undefined;
  maxConcurrentTaskCount: number | undefined;
  maxHumanLabeledObjectCount: number | undefined;
  maxPercentageOfInputDatasetLabeled: number | undefined;
  /** `LabelingJobAlgorithmsConfig` (automated data labeling) as sent, when sent. */
  algorithmsConfig?: WireAlgorithmsConfig | undefined;
  request: Record<string, unknown>;
  tags: readonly { key: string; value: string }[];
}

export const labelingJobArn = (ctx: LabelingContext, name: string): string =>
  sagemakerArn(ctx.deps.arn, 'labeling-job', name);

/**
 * Validates the request, stores the job Initializing with a first spec (the initializer completes
 * it from the template and label file) and tags it.
 * @throws ResourceInUse (duplicate name), ValidationException (bad input, unknown work team).
 */
export async function createLabelingJob(
  ctx: LabelingContext,
  input: CreateLabelingJobInput,
): Promise<LabelingJobRecord> {
  const team = await validateCreate(ctx, input);
  const spec = initialSpec(input);
  const now = ctx.now();
  const row: JobRow = {
    name: input.name,
    name_lower: input.name.toLowerCase(),
    arn: labelingJobArn(ctx, input.name),
    status: 'Initializing',
    failure_reason: null,
    workteam_arn: team.arn,
    job_reference_code: randomUUID(),
    spec: jsonColumn(spec),
    request: jsonColumn(input.request),
    object_count: 0,
    iteration: 1,
    output_written_ms: null,
    created_at_ms: now,
    last_modified_ms: now,
  };
  if (!(await ctx.repo.insertJob(row))) {
    throw new AppError(
      ErrorCodes.InUse,
      `A labeling job named ${input.name} already exists in this account and region ("${row.arn}").`,
    );
  }
  await ctx.deps.tags.add(row.arn, input.tags);
  return toJob(row);
}

/** @returns the job's work team. @throws ValidationException saying what is wrong. */
async function validateCreate(
  ctx: LabelingContext,
  input: CreateLabelingJobInput,
): Promise<WorkteamRecord> {
  const attr = input.labelAttributeName;
  if (attr.endsWith('-metadata')) {
    throw new AppError(
      ErrorCodes.Validation,
      `LabelAttributeName '${attr}' must not end with '-metadata': Ground Truth writes '<LabelAttributeName>-metadata' next to it`,
    );
  }
  if (attr.endsWith('-ref')) {
    throw new AppError(
      ErrorCodes.Validation,
      `LabelAttributeName '${attr}' must not end with '-ref' for image bounding box and classification jobs`,
    );
  }
  parseS3Uri(input.manifestUri, 'InputConfig.DataSource.S3DataSource.ManifestS3Uri');
  parseS3Uri(input.outputPath, 'OutputConfig.S3OutputPath');
  if (input.labelCategoryConfigUri)
    parseS3Uri(input.labelCategoryConfigUri, 'LabelCategoryConfigS3Uri');
  if (input.uiTemplateUri)
    parseS3Uri(input.uiTemplateUri, 'HumanTaskConfig.UiConfig.UiTemplateS3Uri');
  if (!input.uiTemplateUri && !input.humanTaskUiArn) {
    throw new AppError(
      ErrorCodes.Validation,
      'HumanTaskConfig.UiConfig needs UiTemplateS3Uri or HumanTaskUiArn',
    );
  }
  if (input.humanTaskUiArn && !taskTypeFromUiArn(input.humanTaskUiArn)) {
    throw new AppError(
      ErrorCodes.Validation,
      `HumanTaskUiArn '${input.humanTaskUiArn}' names no Apiary template; use human-task-ui/apiary-bounding-box, apiary-adjustment-bounding-box, apiary-verification-bounding-box, apiary-image-classification or apiary-image-classification-multilabel`,
    );
  }
  if (input.taskTimeLimitSeconds > 28_800) {
    throw new AppError(
      ErrorCodes.Validation,
      `TaskTimeLimitInSeconds ${input.taskTimeLimitSeconds} is more than 28800 (8 hours)`,
    );
  }
  if (
    input.availabilityLifetimeSeconds !== undefined &&
    input.availabilityLifetimeSeconds > DEFAULT_LIFETIME_S
  ) {
    throw new AppError(
      ErrorCodes.Validation,
      `TaskAvailabilityLifetimeInSeconds ${input.availabilityLifetimeSeconds} is more than ${DEFAULT_LIFETIME_S} (30 days)`,
    );
  }
  if (input.algorithmsConfig) {
    const algorithms = parseAlgorithmsConfig(input.algorithmsConfig, initialSpec(input).taskType);
    if (!ctx.deps.autoLabeling) {
      // No training/hosting behind this labeling context (a bare unit fixture): refuse rather
      // than label everything by hand while claiming automation.
      throw new AppError(
        ErrorCodes.Validation,
        'LabelingJobAlgorithmsConfig is valid, but automated data labeling is not available in this Apiary (no training service is wired to labeling); leave it out to have humans label every object',
      );
    }
    if (algorithms.initialModelArn) {
      await checkInitialModel(ctx.deps.autoLabeling, algorithms.initialModelArn);
    }
  }
  const team = await ctx.workteams.findByArn(input.workteamArn);
  if (!team) {
    throw new AppError(
      ErrorCodes.Validation,
      `Workteam "${input.workteamArn}" does not exist; create it with CreateWorkteam first`,
    );
  }
  return team;
}

/** The spec as far as the request alone says; labels and template texts come at initialization. */
function initialSpec(input: CreateLabelingJobInput): JobSpec {
  const taskType =
    taskTypeFromLambda(input.preHumanTaskLambdaArn) ??
    taskTypeFromUiArn(input.humanTaskUiArn) ??
    taskTypeFromLambda(input.consolidationLambdaArn) ??
    'bounding-box';
  return {
    taskType,
    labels: [],
    labelAttributeName: input.labelAttributeName,
    manifestUri: input.manifestUri,
    labelCategoryConfigUri: input.labelCategoryConfigUri,
    outputPath: input.outputPath.replace(/\/+$/, ''),
    workersPerObject: input.workersPerObject,
    taskTimeLimitSeconds: input.taskTimeLimitSeconds,
    availabilityLifetimeSeconds: input.availabilityLifetimeSeconds ?? DEFAULT_LIFETIME_S,
    maxConcurrentTaskCount: input.maxConcurrentTaskCount ?? 1000,
    taskTitle: input.taskTitle,
    taskDescription: input.taskDescription,
    header: input.taskTitle,
    shortInstructions: textBlocks(input.taskDescription),
    fullInstructions: [],
    auditLabelAttributeName: undefined,
    maxHumanLabeledObjectCount: input.maxHumanLabeledObjectCount,
    maxPercentageOfInputDatasetLabeled: input.maxPercentageOfInputDatasetLabeled,
    ...(input.algorithmsConfig
      ? { autoLabeling: parseAlgorithmsConfig(input.algorithmsConfig, taskType) }
      : {}),
  };
}
