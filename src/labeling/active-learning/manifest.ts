import { parseS3Uri } from '../../shared/s3-uri.js';
import { parseJsonColumn } from '../../store/index.js';
import type { LabelingContext } from '../context.js';
import type { LabelingJobRecord } from '../model.js';
import { labelMembers, type Consolidated } from '../output.js';

/**
 * The training data of a round: every human label so far as augmented-manifest lines (the same
 * members as the job's output manifest), the held-out validation objects apart.
 */

/** The human-labelled training set of a round. */
export interface RoundTrainingData {
  readonly train: readonly string[];
  readonly validation: readonly string[];
  /** The largest image side among them (the round trains at the images' size). */
  readonly maxImageSide: number | undefined;
}

/** Augmented-manifest lines of every human label of the job; `heldOut` objects → validation. */
export async function humanLabelLines(
  ctx: LabelingContext,
  job: LabelingJobRecord,
  key: string,
  heldOut: ReadonlySet<number>,
): Promise<RoundTrainingData> {
  const labeled = await ctx.repo.db
    .selectFrom('labeling_objects')
    .selectAll()
    .where('job', '=', key)
    .where('status', '=', 'labeled')
    .where('machine_labeled', '=', 0)
    .orderBy('object_id')
    .execute();
  const train: string[] = [];
  const validation: string[] = [];
  let maxSide = 0;
  for (const o of labeled) {
    const result = parseJsonColumn<Consolidated>(o.consolidated);
    if (!result || !o.source_ref) continue;
    const line = JSON.stringify({
      'source-ref': o.source_ref,
      ...labelMembers({
        attr: job.spec.labelAttributeName,
        jobName: job.name,
        taskType: job.spec.taskType,
        labels: job.spec.labels,
        result,
        completedAtMs: Number(o.completed_at_ms ?? ctx.now()),
      }),
    });
    (heldOut.has(o.object_id) ? validation : train).push(line);
    maxSide = Math.max(maxSide, Number(o.image_width ?? 0), Number(o.image_height ?? 0));
  }
  return { train, validation, maxImageSide: maxSide || undefined };
}

/** Writes JSON lines to an S3 URI of the object store. */
export async function putManifest(
  ctx: LabelingContext,
  uri: string,
  lines: readonly string[],
): Promise<void> {
  const loc = parseS3Uri(uri, 'S3OutputPath');
  await ctx.deps.objects.putObject(loc.bucket, loc.key, lines.join('\n') + '\n', {
    contentType: 'application/jsonlines',
  });
}
