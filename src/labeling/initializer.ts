import { AppError, ErrorCodes } from '../shared/errors.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import { jsonColumn } from '../store/index.js';
import { checkMinimumObjects } from './active-learning/config.js';
import { HELD_BY_LOOP } from './active-learning/rounds.js';
import type { Completion } from './completion.js';
import type { LabelingContext } from './context.js';
import { labelingJobStates, type JobSpec, type LabelingJobRecord } from './model.js';
import { boxesFromLabel } from './output.js';
import { jobKey, newTask, type ObjectRow, type TaskRow } from './repository.js';
import { parseTemplate, taskTypeFromLambda, taskTypeFromUiArn } from './templates.js';

const MAX_OBJECTS = 100_000;
const MAX_LINE = 100_000;
/** Rows per multi-row INSERT: keeps one statement under the bound-parameter limits. */
const ID_BATCH = 400;

/** The job moves of initialization (checked against the table when the module loads). */
const READY = labelingJobStates.transition('Initializing', 'InProgress');
const BAD_INPUT = labelingJobStates.transition('Initializing', 'Failed');

type ManifestLine = { line: Record<string, unknown>; raw: string };

/**
 * Initializing → InProgress: reads the UI template, the label category file and the input
 * manifest, then creates the job's objects and their slots in one transaction. Bad input ends the
 * job Failed with the reason in `FailureReason`.
 */
export class Initializer {
  /** Jobs being initialized now: a tick that overlaps a slow one leaves them alone. */
  private readonly running = new Set<string>();

  constructor(
    private readonly ctx: LabelingContext,
    private readonly completion: Completion,
  ) {}

  async initialize(name: string): Promise<void> {
    if (this.running.has(name)) return;
    this.running.add(name);
    try {
      const job = await this.ctx.repo.getJob(name);
      let spec: JobSpec;
      let lines: ManifestLine[];
      try {
        spec = await this.resolveSpec(job);
        lines = await this.readManifest(spec);
        if (spec.autoLabeling) {
          checkMinimumObjects(lines.length, this.ctx.deps.autoLabeling?.minObjects ?? 1250);
        }
      } catch (err) {
        if (err instanceof AppError) {
          await this.ctx.repo.setStatus(name, BAD_INPUT.from, BAD_INPUT.to, {
            failureReason: err.message,
          });
          return;
        }
        throw err;
      }
      await this.createObjects(name, spec, lines);
      if (lines.length === 0) await this.completion.maybeComplete(name);
    } finally {
      this.running.delete(name);
    }
  }

  /** One object per manifest line, N slots each; the first MaxConcurrentTaskCount are released. */
  private async createObjects(
    name: string,
    spec: JobSpec,
    lines: readonly ManifestLine[],
  ): Promise<void> {
    const key = jobKey(name);
    const now = this.ctx.now();
    const availableUntil = now + spec.availabilityLifetimeSeconds * 1000;
    await this.ctx.repo.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('labeling_tasks').where('job', '=', key).execute();
      await trx.deleteFrom('labeling_objects').where('job', '=', key).execute();
      const objects: ObjectRow[] = lines.map((l, i) => {
        const initial =
          spec.taskType === 'adjustment-bounding-box' ||
          spec.taskType === 'verification-bounding-box'
            ? boxesFromLabel(l.line, spec.auditLabelAttributeName)
            : undefined;
        return {
          job: key,
          object_id: i,
          source_ref:
            typeof l.line['source-ref'] === 'string' ? (l.line['source-ref'] as string) : null,
          line: l.raw,
          status: 'pending',
          // Automated labeling: every object is held (2) until the loop gives it to people.
          released: spec.autoLabeling ? HELD_BY_LOOP : i < spec.maxConcurrentTaskCount ? 1 : 0,
          iteration: 1,
          declines: 0,
          image_width: initial?.width ?? null,
          image_height: initial?.height ?? null,
          initial_value: initial ? jsonColumn(initial.boxes) : null,
          consolidated: null,
          completed_at_ms: null,
        };
      });
      for (let i = 0; i < objects.length; i += ID_BATCH) {
        await trx
          .insertInto('labeling_objects')
          .values(objects.slice(i, i + ID_BATCH))
          .execute();
      }
      const tasks: TaskRow[] = [];
      for (const o of objects) {
        for (let slot = 0; slot < spec.workersPerObject; slot++) {
          tasks.push(newTask(key, o.object_id, 1, slot, o.released === 1, availableUntil));
        }
      }
      for (let i = 0; i < tasks.length; i += ID_BATCH) {
        await trx
          .insertInto('labeling_tasks')
          .values(tasks.slice(i, i + ID_BATCH))
          .execute();
      }
      await trx
        .updateTable('labeling_jobs')
        .set({
          spec: jsonColumn(spec),
          object_count: objects.length,
          status: READY.to,
          last_modified_ms: now,
        })
        .where('name_lower', '=', key)
        .where('status', '=', READY.from)
        .execute();
    });
  }

  /** Reads the UI template and the label category file into the job's spec. @throws AppError */
  private async resolveSpec(job: LabelingJobRecord): Promise<JobSpec> {
    const request = job.request as {
      HumanTaskConfig?: {
        UiConfig?: { UiTemplateS3Uri?: string; HumanTaskUiArn?: string };
        PreHumanTaskLambdaArn?: string;
        AnnotationConsolidationConfig?: { AnnotationConsolidationLambdaArn?: string };
      };
    };
    const hc = request.HumanTaskConfig ?? {};
    let spec = job.spec;
    let templateLabels: readonly string[] | undefined;
    const explicit =
      taskTypeFromLambda(hc.PreHumanTaskLambdaArn) ??
      taskTypeFromUiArn(hc.UiConfig?.HumanTaskUiArn) ??
      taskTypeFromLambda(hc.AnnotationConsolidationConfig?.AnnotationConsolidationLambdaArn);
    if (hc.UiConfig?.UiTemplateS3Uri) {
      const html = await this.readText(hc.UiConfig.UiTemplateS3Uri, 'UiTemplateS3Uri', 512 * 1024);
      const t = parseTemplate(html);
      if (!explicit && !t.taskType) {
        throw new AppError(
          ErrorCodes.Validation,
          'The UI template uses none of crowd-bounding-box, crowd-image-classifier, crowd-image-classifier-multi-select, and no PreHumanTaskLambdaArn names a built-in task type',
        );
      }
      templateLabels = t.labels;
      spec = {
        ...spec,
        taskType: explicit ?? t.taskType!,
        header: t.header ?? spec.header,
        shortInstructions: t.shortInstructions.length
          ? t.shortInstructions
          : spec.shortInstructions,
        fullInstructions: t.fullInstructions,
      };
    }
    let labels = templateLabels;
    if (spec.labelCategoryConfigUri) {
      const text = await this.readText(
        spec.labelCategoryConfigUri,
        'LabelCategoryConfigS3Uri',
        1024 * 1024,
      );
      let parsed: {
        labels?: { label?: unknown }[];
        auditLabelAttributeName?: unknown;
        instructions?: { shortInstruction?: unknown; fullInstruction?: unknown };
      };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        throw new AppError(
          ErrorCodes.Validation,
          `The label category configuration file ${spec.labelCategoryConfigUri} is not valid JSON`,
        );
      }
      if (
        !Array.isArray(parsed.labels) ||
        !parsed.labels.every((l) => l && typeof l.label === 'string' && l.label.length > 0)
      ) {
        throw new AppError(
          ErrorCodes.Validation,
          `The label category configuration file ${spec.labelCategoryConfigUri} needs "labels": [{"label": "..."}, ...]`,
        );
      }
      labels = parsed.labels.map((l) => l.label as string);
      if (typeof parsed.auditLabelAttributeName === 'string')
        spec = { ...spec, auditLabelAttributeName: parsed.auditLabelAttributeName };
    }
    if (!labels || labels.length === 0) {
      throw new AppError(
        ErrorCodes.Validation,
        'No labels: give LabelCategoryConfigS3Uri (a label category file) or labels in the UI template',
      );
    }
    if (new Set(labels).size !== labels.length)
      throw new AppError(ErrorCodes.Validation, 'The labels must be unique');
    // Ground Truth: a chained job writes a new attribute; reusing the audited one would overwrite it.
    if (
      (spec.taskType === 'adjustment-bounding-box' ||
        spec.taskType === 'verification-bounding-box') &&
      spec.auditLabelAttributeName === spec.labelAttributeName
    ) {
      throw new AppError(
        ErrorCodes.Validation,
        `An adjustment or verification job must use a LabelAttributeName other than the one it audits (${spec.labelAttributeName})`,
      );
    }
    if (labels.length > 50)
      throw new AppError(
        ErrorCodes.Validation,
        `${labels.length} labels; a job can have at most 50`,
      );
    if (labels.some((l) => l.length > 256))
      throw new AppError(ErrorCodes.Validation, 'A label is at most 256 characters');
    if (spec.taskType.startsWith('image-classification') && labels.length < 2) {
      throw new AppError(
        ErrorCodes.Validation,
        'An image classification job needs at least 2 labels',
      );
    }
    return { ...spec, labels };
  }

  private async readText(uri: string, member: string, maxBytes: number): Promise<string> {
    const loc = parseS3Uri(uri, member);
    const buf = await this.ctx.deps.objects
      .getObjectBuffer(loc.bucket, loc.key)
      .catch(() => undefined);
    if (!buf)
      throw new AppError(
        ErrorCodes.Validation,
        `${member} ${uri} does not exist or cannot be read`,
      );
    if (buf.length > maxBytes)
      throw new AppError(
        ErrorCodes.Validation,
        `${member} ${uri} is larger than ${maxBytes} bytes`,
      );
    return buf.toString('utf8');
  }

  private async readManifest(spec: JobSpec): Promise<ManifestLine[]> {
    const text = await this.readText(spec.manifestUri, 'ManifestS3Uri', 512 * 1024 * 1024);
    const out: ManifestLine[] = [];
    const rows = text.split(/\r?\n/);
    for (let i = 0; i < rows.length; i++) {
      const raw = rows[i]!.trim();
      if (raw === '') continue;
      const where = `line ${i + 1} of the input manifest`;
      if (raw.length > MAX_LINE)
        throw new AppError(ErrorCodes.Validation, `${where} is longer than ${MAX_LINE} characters`);
      let line: unknown;
      try {
        line = JSON.parse(raw);
      } catch {
        throw new AppError(ErrorCodes.Validation, `${where} is not a JSON object`);
      }
      if (!line || typeof line !== 'object' || Array.isArray(line))
        throw new AppError(ErrorCodes.Validation, `${where} is not a JSON object`);
      const ref = (line as Record<string, unknown>)['source-ref'];
      if (typeof ref !== 'string' || !/^s3:\/\/[^/]+\/.+/.test(ref)) {
        throw new AppError(
          ErrorCodes.Validation,
          `${where} has no "source-ref" S3 URI of an image`,
        );
      }
      if (Object.keys(line).some((k) => k.startsWith('$')))
        throw new AppError(
          ErrorCodes.Validation,
          `${where} has an attribute name starting with '$'`,
        );
      out.push({ line: line as Record<string, unknown>, raw });
      if (out.length > MAX_OBJECTS)
        throw new AppError(
          ErrorCodes.Validation,
          `The input manifest has more than ${MAX_OBJECTS} objects`,
        );
    }
    return out;
  }
}
