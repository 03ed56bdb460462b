import { parseS3Uri } from '../shared/s3-uri.js';
import { jsonColumn, parseJsonColumn } from '../store/index.js';
import { consolidateBoxJob, type WorkerBoxes } from './consolidation.js';
import type { LabelingContext } from './context.js';
import type { Prelabel } from './prelabel.js';
import type { Answer, Box, LabelingJobRecord } from './model.js';
import { answerContent, gtTimestamp, labelMembers, type Consolidated } from './output.js';
import { jobKey, type ObjectRow, type TaskRow } from './repository.js';

/** Writes Ground Truth's output files of a job under `{S3OutputPath}/{job}/` (see README). */
export class OutputWriter {
  constructor(
    private readonly ctx: LabelingContext,
    private readonly prelabel: Prelabel,
  ) {}

  /** `{S3OutputPath}/{job}/manifests/output/output.manifest`. */
  outputManifestUri(job: LabelingJobRecord): string {
    const { bucket, key } = this.outputKey(job, 'manifests/output/output.manifest');
    return `s3://${bucket}/${key}`;
  }

  /** `annotations/worker-response/iteration-{N}/{objectId}/{time}.json`: one object's answers. */
  async writeWorkerResponses(
    job: LabelingJobRecord,
    obj: ObjectRow,
    submitted: readonly TaskRow[],
  ): Promise<void> {
    const { region, accountId } = this.ctx.deps.arn;
    const prelabel = await this.prelabel.editsOfTasks(submitted.map((s) => s.id));
    const answers = submitted.map((s) => ({
      workerId: `private.${region}.${s.worker_id}`,
      acceptanceTime: gtTimestamp(Number(s.claimed_at_ms)),
      submissionTime: gtTimestamp(Number(s.submitted_at_ms)),
      timeSpentInSeconds:
        Math.round((Number(s.submitted_at_ms) - Number(s.claimed_at_ms)) / 10) / 100,
      answerContent: answerContent(parseJsonColumn<Answer>(s.answer)!),
      // Apiary's pre-labeling record: the model's boxes and what this worker did with each.
      ...(prelabel.has(s.id) ? { 'apiary:prelabel': prelabel.get(s.id) } : {}),
      workerMetadata: {
        identityData: {
          identityProviderType: 'Apiary',
          issuer: `apiary:${accountId}`,
          sub: s.worker_id,
          username: s.worker_name,
        },
      },
    }));
    const stamp = gtTimestamp(this.ctx.now());
    const { bucket, key } = this.outputKey(
      job,
      `annotations/worker-response/iteration-${obj.iteration}/${obj.object_id}/${stamp}.json`,
    );
    await this.ctx.deps.objects.putObject(bucket, key, JSON.stringify({ answers }), {
      contentType: 'application/json',
    });
  }

  /**
   * The consolidation request/response of the latest iteration and the output manifest (labeled
   * lines with `<attr>` + `<attr>-metadata`, the others verbatim). Box jobs first get a job-level
   * second pass that weights workers by their reliability, stored back on the objects.
   */
  async writeOutput(job: LabelingJobRecord): Promise<void> {
    const { db } = this.ctx.repo;
    const key = jobKey(job.name);
    const objects = await this.ctx.repo.objects(key);
    const submitted = await db
      .selectFrom('labeling_tasks')
      .select(['object_id', 'iteration', 'worker_id', 'answer'])
      .where('job', '=', key)
      .where('status', '=', 'submitted')
      .execute();
    const byObject = new Map<
      number,
      { worker_id: string | null; answer: string | null; iteration: number }[]
    >();
    for (const s of submitted) byObject.set(s.object_id, [...(byObject.get(s.object_id) ?? []), s]);
    const labeled = objects.filter((o) => o.status === 'labeled');

    const final = new Map<number, Consolidated>();
    if (job.spec.taskType === 'bounding-box' || job.spec.taskType === 'adjustment-bounding-box') {
      const inputs: WorkerBoxes[][] = labeled.map((o) =>
        (byObject.get(o.object_id) ?? [])
          .filter((s) => s.iteration === o.iteration)
          .map((s) => ({
            workerId: s.worker_id ?? '',
            boxes: (parseJsonColumn<Answer & { kind: 'boxes' }>(s.answer)?.boxes ?? []) as Box[],
          })),
      );
      const results = consolidateBoxJob(inputs);
      labeled.forEach((o, i) => {
        const prev = parseJsonColumn<Consolidated>(o.consolidated);
        if (prev?.kind === 'boxes' && inputs[i]!.length > 0)
          final.set(o.object_id, { ...prev, boxes: results[i]! });
      });
    }
    const iteration = Math.max(1, ...objects.map((o) => o.iteration));
    const request: unknown[] = [];
    const response: unknown[] = [];
    const lines: string[] = [];
    for (const o of objects) {
      const result = final.get(o.object_id) ?? parseJsonColumn<Consolidated>(o.consolidated);
      if (o.status !== 'labeled' || !result) {
        lines.push(o.line);
        continue;
      }
      if (final.has(o.object_id))
        await this.ctx.repo.updateObject(key, o.object_id, { consolidated: jsonColumn(result) });
      const members = labelMembers({
        attr: job.spec.labelAttributeName,
        jobName: job.name,
        taskType: job.spec.taskType,
        labels: job.spec.labels,
        result,
        completedAtMs: Number(o.completed_at_ms ?? this.ctx.now()),
      });
      const line = JSON.parse(o.line) as Record<string, unknown>;
      lines.push(JSON.stringify({ ...line, ...members }));
      if (o.iteration === iteration) {
        request.push({
          datasetObjectId: String(o.object_id),
          dataObject: { s3Uri: o.source_ref },
          annotations: (byObject.get(o.object_id) ?? [])
            .filter((s) => s.iteration === o.iteration)
            .map((s) => ({
              workerId: s.worker_id,
              annotationData: {
                content: JSON.stringify(answerContent(parseJsonColumn<Answer>(s.answer)!)),
              },
            })),
        });
        response.push({
          datasetObjectId: String(o.object_id),
          consolidatedAnnotation: { content: members },
        });
      }
    }
    const stamp = gtTimestamp(this.ctx.now());
    const put = async (rest: string, body: string, contentType: string) => {
      const loc = this.outputKey(job, rest);
      await this.ctx.deps.objects.putObject(loc.bucket, loc.key, body, { contentType });
    };
    await put(
      `annotations/consolidated-annotation/consolidation-request/iteration-${iteration}/${stamp}.json`,
      JSON.stringify(request),
      'application/json',
    );
    await put(
      `annotations/consolidated-annotation/consolidation-response/iteration-${iteration}/${stamp}.json`,
      JSON.stringify(response),
      'application/json',
    );
    await put(
      'manifests/output/output.manifest',
      lines.length ? lines.join('\n') + '\n' : '',
      'application/jsonlines',
    );
  }

  private outputKey(job: LabelingJobRecord, rest: string): { bucket: string; key: string } {
    const loc = parseS3Uri(job.spec.outputPath, 'S3OutputPath');
    const prefix = loc.key.replace(/\/+$/, '');
    return { bucket: loc.bucket, key: `${prefix ? prefix + '/' : ''}${job.name}/${rest}` };
  }
}
