import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ObjectStore } from '../objects/index.js';
import { sagemakerArn, type ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import { jsonColumn, listPage, parseJsonColumn, type Db, type TagRepository } from '../store/index.js';
import {
  consolidateBoxes,
  consolidateBoxJob,
  consolidateLabel,
  consolidateLabels,
  iou,
  type WorkerBoxes,
} from './consolidation.js';
import { ImageSigner, type ImageGrant } from './image-urls.js';
import {
  canTransition,
  type Answer,
  type Box,
  type InstructionBlock,
  type JobSpec,
  type LabelCounters,
  type LabelingJobRecord,
  type LabelingJobStatus,
  type TaskType,
} from './model.js';
import { answerContent, boxesFromLabel, gtTimestamp, labelMembers, type Consolidated } from './output.js';
import { parseTemplate, taskTypeFromLambda, taskTypeFromUiArn, textBlocks } from './templates.js';
import { WorkteamRepository, type WorkteamsTable } from './workteams.js';

/** Who is asking, as the labeling context needs it (the identity context's user). */
export interface Worker {
  readonly id: string;
  readonly username: string;
  readonly role: string;
  readonly groups: readonly string[];
}

export interface LabelingDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly arn: ArnContext;
  readonly objects: ObjectStore;
  readonly tags: TagRepository;
  /** Lifetime of signed image URLs; default 300 s. */
  readonly imageUrlTtlMs?: number;
  /** Background tick period; default 1000 ms. 0 = no timer (tests call tick()). */
  readonly tickMs?: number;
  /** Reports a background failure (the server logs it). */
  readonly onError?: (err: unknown) => void;
}

type JobsTable = {
  labeling_jobs: {
    name: string;
    name_lower: string;
    arn: string;
    status: string;
    failure_reason: string | null;
    workteam_arn: string;
    job_reference_code: string;
    spec: string;
    request: string;
    object_count: number;
    iteration: number;
    output_written_ms: number | null;
    created_at_ms: number;
    last_modified_ms: number;
  };
  labeling_objects: {
    job: string;
    object_id: number;
    source_ref: string | null;
    line: string;
    status: string;
    released: number;
    iteration: number;
    declines: number;
    image_width: number | null;
    image_height: number | null;
    initial_value: string | null;
    consolidated: string | null;
    completed_at_ms: number | null;
  };
  labeling_tasks: {
    id: string;
    job: string;
    object_id: number;
    iteration: number;
    slot: number;
    status: string;
    released: number;
    available_until_ms: number | null;
    worker_id: string | null;
    worker_name: string | null;
    claimed_at_ms: number | null;
    expires_at_ms: number | null;
    version: number;
    draft: string | null;
    answer: string | null;
    submission_id: string | null;
    submitted_at_ms: number | null;
  };
  labeling_exclusions: { job: string; object_id: number; worker_id: string; iteration: number; reason: string };
};

type Tables = JobsTable & WorkteamsTable;
type JobRow = JobsTable['labeling_jobs'];
type TaskRow = JobsTable['labeling_tasks'];
type ObjectRow = JobsTable['labeling_objects'];

/** A failure a portal route turns into an HTTP status. */
export class TaskError extends Error {
  constructor(
    readonly code: 'NotFound' | 'Conflict' | 'Gone' | 'Invalid',
    message: string,
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}

/** What the portal shows for one claimed task. */
export interface TaskView {
  readonly taskId: string;
  readonly version: number;
  readonly jobName: string;
  readonly title: string;
  readonly description: string;
  readonly header: string;
  readonly taskType: TaskType;
  readonly labels: readonly string[];
  readonly shortInstructions: readonly InstructionBlock[];
  readonly fullInstructions: readonly InstructionBlock[];
  readonly imageToken: string;
  readonly sourceName: string;
  readonly claimedAtMs: number;
  readonly expiresAtMs: number;
  readonly draft: unknown;
  readonly initialValue: readonly Box[] | undefined;
}

const DEFAULT_LIFETIME_S = 30 * 86400;
const MAX_OBJECTS = 100_000;
const MAX_LINE = 100_000;
const MAX_DRAFT_BYTES = 1024 * 1024;
const MAX_BOXES = 2000;

const ID_BATCH = 400;

export class Labeling {
  readonly workteams: WorkteamRepository;
  private readonly db: Kysely<Tables>;
  private signer: ImageSigner | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly initializing = new Set<string>();
  private readonly imageUrlTtlMs: number;

  constructor(private readonly deps: LabelingDeps) {
    this.db = deps.db.withTables<Tables>() as unknown as Kysely<Tables>;
    this.workteams = new WorkteamRepository(this.db as unknown as Kysely<WorkteamsTable>, deps.clock, deps.arn);
    this.imageUrlTtlMs = deps.imageUrlTtlMs ?? 300_000;
  }

  start(): void {
    const period = this.deps.tickMs ?? 1000;
    if (period > 0 && !this.timer) {
      this.timer = setInterval(() => void this.tick(), period);
      this.timer.unref();
    }
    void this.tick();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }

  jobArn(name: string): string {
    return sagemakerArn(this.deps.arn, 'labeling-job', name);
  }

  // ---- work teams ------------------------------------------------------------------------

  /** Whether an ARN names a labeling resource that exists (for tag operations); undefined if not ours. */
  async arnExists(arn: string): Promise<boolean | undefined> {
    const m = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:(labeling-job|workteam)\/(.+)$/.exec(arn);
    if (!m) return undefined;
    if (m[1] === 'workteam') return (await this.workteams.findByArn(arn)) !== undefined;
    const job = await this.findJob(m[2]!);
    return job !== undefined && job.arn === arn.toLowerCase().replace(/^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:labeling-job\/)/, '$1');
  }

  async deleteWorkteam(name: string): Promise<void> {
    const team = await this.workteams.get(name);
    const busy = await this.db
      .selectFrom('labeling_jobs')
      .select(['name'])
      .where('workteam_arn', '=', team.arn)
      .where('status', 'in', ['Initializing', 'InProgress', 'Stopping'])
      .executeTakeFirst();
    if (busy) {
      throw new AppError(ErrorCodes.InUse, `Workteam "${team.arn}" is used by labeling job ${busy.name}, which is still running; stop it first.`);
    }
    await this.workteams.delete(name);
    await this.deps.tags.removeAll(team.arn);
  }

  // ---- jobs ------------------------------------------------------------------------------

  /** @throws ResourceInUse (duplicate name), ValidationException (bad input). Starts Initializing. */
  async createJob(input: {
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
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }): Promise<LabelingJobRecord> {
    const attr = input.labelAttributeName;
    if (attr.endsWith('-metadata')) {
      throw new AppError(ErrorCodes.Validation, `LabelAttributeName '${attr}' must not end with '-metadata': Ground Truth writes '<LabelAttributeName>-metadata' next to it`);
    }
    if (attr.endsWith('-ref')) {
      throw new AppError(ErrorCodes.Validation, `LabelAttributeName '${attr}' must not end with '-ref' for image bounding box and classification jobs`);
    }
    parseS3Uri(input.manifestUri, 'InputConfig.DataSource.S3DataSource.ManifestS3Uri');
    parseS3Uri(input.outputPath, 'OutputConfig.S3OutputPath');
    if (input.labelCategoryConfigUri) parseS3Uri(input.labelCategoryConfigUri, 'LabelCategoryConfigS3Uri');
    if (input.uiTemplateUri) parseS3Uri(input.uiTemplateUri, 'HumanTaskConfig.UiConfig.UiTemplateS3Uri');
    if (!input.uiTemplateUri && !input.humanTaskUiArn) {
      throw new AppError(ErrorCodes.Validation, 'HumanTaskConfig.UiConfig needs UiTemplateS3Uri or HumanTaskUiArn');
    }
    if (input.humanTaskUiArn && !taskTypeFromUiArn(input.humanTaskUiArn)) {
      throw new AppError(
        ErrorCodes.Validation,
        `HumanTaskUiArn '${input.humanTaskUiArn}' names no Apiary template; use human-task-ui/apiary-bounding-box, apiary-adjustment-bounding-box, apiary-verification-bounding-box, apiary-image-classification or apiary-image-classification-multilabel`,
      );
    }
    if (input.taskTimeLimitSeconds > 28_800) {
      throw new AppError(ErrorCodes.Validation, `TaskTimeLimitInSeconds ${input.taskTimeLimitSeconds} is more than 28800 (8 hours)`);
    }
    if (input.availabilityLifetimeSeconds !== undefined && input.availabilityLifetimeSeconds > DEFAULT_LIFETIME_S) {
      throw new AppError(ErrorCodes.Validation, `TaskAvailabilityLifetimeInSeconds ${input.availabilityLifetimeSeconds} is more than ${DEFAULT_LIFETIME_S} (30 days)`);
    }
    const team = await this.workteams.findByArn(input.workteamArn);
    if (!team) {
      throw new AppError(ErrorCodes.Validation, `Workteam "${input.workteamArn}" does not exist; create it with CreateWorkteam first`);
    }
    const spec: JobSpec = {
      taskType:
        taskTypeFromLambda(input.preHumanTaskLambdaArn) ??
        taskTypeFromUiArn(input.humanTaskUiArn) ??
        taskTypeFromLambda(input.consolidationLambdaArn) ??
        'bounding-box',
      labels: [],
      labelAttributeName: attr,
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
    };
    const now = this.now();
    const row: JobRow = {
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn: this.jobArn(input.name),
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
    const res = await this.db.insertInto('labeling_jobs').values(row).onConflict((oc) => oc.column('name_lower').doNothing()).executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw new AppError(ErrorCodes.InUse, `A labeling job named ${input.name} already exists in this account and region ("${row.arn}").`);
    }
    await this.deps.tags.add(row.arn, input.tags);
    void this.tick();
    return toJob(row);
  }

  async findJob(name: string): Promise<LabelingJobRecord | undefined> {
    const row = await this.db.selectFrom('labeling_jobs').selectAll().where('name_lower', '=', name.toLowerCase()).executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  /** @throws ResourceNotFound (as DescribeLabelingJob / StopLabelingJob answer). */
  async getJob(name: string): Promise<LabelingJobRecord> {
    const job = await this.findJob(name);
    if (!job) throw new AppError(ErrorCodes.NotFound, `Could not find requested job with name ${name}`);
    return job;
  }

  async listJobs(q: ListQuery, workteamArn?: string): Promise<ListPage<LabelingJobRecord>> {
    let base = this.db.selectFrom('labeling_jobs').selectAll();
    if (workteamArn) base = base.where('workteam_arn', '=', workteamArn.toLowerCase());
    const page = await listPage(base, q);
    return { items: page.items.map(toJob), nextOffset: page.nextOffset };
  }

  async counters(name: string): Promise<LabelCounters> {
    const rows = await this.db
      .selectFrom('labeling_objects')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('job', '=', name.toLowerCase())
      .groupBy('status')
      .execute();
    const by = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
    const labeled = by('labeled');
    return { totalLabeled: labeled, humanLabeled: labeled, machineLabeled: 0, failedNonRetryableError: by('failed'), unlabeled: by('pending') };
  }

  /** Pending human work for ListLabelingJobsForWorkteam: objects still waiting for answers. */
  async pendingHuman(name: string): Promise<number> {
    const row = await this.db
      .selectFrom('labeling_objects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job', '=', name.toLowerCase())
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** InProgress → Stopping; the tick writes partial results and ends Stopped. @throws ResourceNotFound */
  async stopJob(name: string): Promise<void> {
    const job = await this.getJob(name);
    if (job.status === 'Stopping' || job.status === 'Stopped') return;
    if (!canTransition(job.status, 'Stopping')) {
      throw new AppError(ErrorCodes.Validation, `The labeling job ${job.name} is ${job.status} and cannot be stopped.`);
    }
    await this.setStatus(job.name, job.status, 'Stopping');
    void this.tick();
  }

  private async setStatus(name: string, from: LabelingJobStatus, to: LabelingJobStatus, failureReason?: string): Promise<boolean> {
    if (from !== to && !canTransition(from, to)) throw new Error(`labeling job transition ${from} → ${to} is not allowed`);
    const res = await this.db
      .updateTable('labeling_jobs')
      .set({ status: to, last_modified_ms: this.now(), ...(failureReason !== undefined ? { failure_reason: failureReason.slice(0, 1024) } : {}) })
      .where('name_lower', '=', name.toLowerCase())
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  // ---- background work -------------------------------------------------------------------

  /** One pass of background work: initialize jobs, expire claims, close stale slots, finish jobs. */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runTick()
      .catch((err) => this.deps.onError?.(err))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const jobs = await this.db
      .selectFrom('labeling_jobs')
      .select(['name', 'status'])
      .where('status', 'in', ['Initializing', 'InProgress', 'Stopping'])
      .execute();
    for (const j of jobs) {
      if (j.status === 'Initializing') await this.initialize(j.name);
      else if (j.status === 'Stopping') await this.finalize(j.name, 'Stopping', 'Stopped');
      else {
        await this.expireClaims(j.name);
        await this.closeUnavailable(j.name);
        await this.maybeComplete(j.name);
      }
    }
  }

  private async initialize(name: string): Promise<void> {
    if (this.initializing.has(name)) return;
    this.initializing.add(name);
    try {
      const job = await this.getJob(name);
      let spec: JobSpec;
      let lines: { line: Record<string, unknown>; raw: string }[];
      try {
        spec = await this.resolveSpec(job);
        lines = await this.readManifest(spec);
      } catch (err) {
        if (err instanceof AppError) {
          await this.setStatus(name, 'Initializing', 'Failed', err.message);
          return;
        }
        throw err;
      }
      const key = name.toLowerCase();
      const now = this.now();
      const availableUntil = now + spec.availabilityLifetimeSeconds * 1000;
      await this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('labeling_tasks').where('job', '=', key).execute();
        await trx.deleteFrom('labeling_objects').where('job', '=', key).execute();
        const objects: ObjectRow[] = lines.map((l, i) => {
          const initial =
            spec.taskType === 'adjustment-bounding-box' || spec.taskType === 'verification-bounding-box'
              ? boxesFromLabel(l.line, spec.auditLabelAttributeName)
              : undefined;
          return {
            job: key,
            object_id: i,
            source_ref: typeof l.line['source-ref'] === 'string' ? (l.line['source-ref'] as string) : null,
            line: l.raw,
            status: 'pending',
            released: i < spec.maxConcurrentTaskCount ? 1 : 0,
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
          await trx.insertInto('labeling_objects').values(objects.slice(i, i + ID_BATCH)).execute();
        }
        const tasks: TaskRow[] = [];
        for (const o of objects) {
          for (let slot = 0; slot < spec.workersPerObject; slot++) {
            tasks.push(newTask(key, o.object_id, 1, slot, o.released === 1, availableUntil));
          }
        }
        for (let i = 0; i < tasks.length; i += ID_BATCH) {
          await trx.insertInto('labeling_tasks').values(tasks.slice(i, i + ID_BATCH)).execute();
        }
        await trx
          .updateTable('labeling_jobs')
          .set({ spec: jsonColumn(spec), object_count: objects.length, status: 'InProgress', last_modified_ms: now })
          .where('name_lower', '=', key)
          .where('status', '=', 'Initializing')
          .execute();
      });
      if (lines.length === 0) await this.maybeComplete(name);
    } finally {
      this.initializing.delete(name);
    }
  }

  /** Reads the UI template and the label category file into the job's spec. @throws AppError */
  private async resolveSpec(job: LabelingJobRecord): Promise<JobSpec> {
    const request = job.request as { HumanTaskConfig?: { UiConfig?: { UiTemplateS3Uri?: string; HumanTaskUiArn?: string }; PreHumanTaskLambdaArn?: string; AnnotationConsolidationConfig?: { AnnotationConsolidationLambdaArn?: string } } };
    const hc = request.HumanTaskConfig ?? {};
    let spec = job.spec;
    let templateLabels: readonly string[] | undefined;
    const explicit = taskTypeFromLambda(hc.PreHumanTaskLambdaArn) ?? taskTypeFromUiArn(hc.UiConfig?.HumanTaskUiArn) ?? taskTypeFromLambda(hc.AnnotationConsolidationConfig?.AnnotationConsolidationLambdaArn);
    if (hc.UiConfig?.UiTemplateS3Uri) {
      const html = await this.readText(hc.UiConfig.UiTemplateS3Uri, 'UiTemplateS3Uri', 512 * 1024);
      const t = parseTemplate(html);
      if (!explicit && !t.taskType) {
        throw new AppError(ErrorCodes.Validation, 'The UI template uses none of crowd-bounding-box, crowd-image-classifier, crowd-image-classifier-multi-select, and no PreHumanTaskLambdaArn names a built-in task type');
      }
      templateLabels = t.labels;
      spec = {
        ...spec,
        taskType: explicit ?? t.taskType!,
        header: t.header ?? spec.header,
        shortInstructions: t.shortInstructions.length ? t.shortInstructions : spec.shortInstructions,
        fullInstructions: t.fullInstructions,
      };
    }
    let labels = templateLabels;
    if (spec.labelCategoryConfigUri) {
      const text = await this.readText(spec.labelCategoryConfigUri, 'LabelCategoryConfigS3Uri', 1024 * 1024);
      let parsed: { labels?: { label?: unknown }[]; auditLabelAttributeName?: unknown; instructions?: { shortInstruction?: unknown; fullInstruction?: unknown } };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        throw new AppError(ErrorCodes.Validation, `The label category configuration file ${spec.labelCategoryConfigUri} is not valid JSON`);
      }
      if (!Array.isArray(parsed.labels) || !parsed.labels.every((l) => l && typeof l.label === 'string' && l.label.length > 0)) {
        throw new AppError(ErrorCodes.Validation, `The label category configuration file ${spec.labelCategoryConfigUri} needs "labels": [{"label": "..."}, ...]`);
      }
      labels = parsed.labels.map((l) => l.label as string);
      if (typeof parsed.auditLabelAttributeName === 'string') spec = { ...spec, auditLabelAttributeName: parsed.auditLabelAttributeName };
    }
    if (!labels || labels.length === 0) {
      throw new AppError(ErrorCodes.Validation, 'No labels: give LabelCategoryConfigS3Uri (a label category file) or labels in the UI template');
    }
    if (new Set(labels).size !== labels.length) throw new AppError(ErrorCodes.Validation, 'The labels must be unique');
    if (labels.length > 50) throw new AppError(ErrorCodes.Validation, `${labels.length} labels; a job can have at most 50`);
    if (labels.some((l) => l.length > 256)) throw new AppError(ErrorCodes.Validation, 'A label is at most 256 characters');
    if (spec.taskType.startsWith('image-classification') && labels.length < 2) {
      throw new AppError(ErrorCodes.Validation, 'An image classification job needs at least 2 labels');
    }
    return { ...spec, labels };
  }

  private async readText(uri: string, member: string, maxBytes: number): Promise<string> {
    const loc = parseS3Uri(uri, member);
    const buf = await this.deps.objects.getObjectBuffer(loc.bucket, loc.key).catch(() => undefined);
    if (!buf) throw new AppError(ErrorCodes.Validation, `${member} ${uri} does not exist or cannot be read`);
    if (buf.length > maxBytes) throw new AppError(ErrorCodes.Validation, `${member} ${uri} is larger than ${maxBytes} bytes`);
    return buf.toString('utf8');
  }

  private async readManifest(spec: JobSpec): Promise<{ line: Record<string, unknown>; raw: string }[]> {
    const text = await this.readText(spec.manifestUri, 'ManifestS3Uri', 512 * 1024 * 1024);
    const out: { line: Record<string, unknown>; raw: string }[] = [];
    const rows = text.split(/\r?\n/);
    for (let i = 0; i < rows.length; i++) {
      const raw = rows[i]!.trim();
      if (raw === '') continue;
      const where = `line ${i + 1} of the input manifest`;
      if (raw.length > MAX_LINE) throw new AppError(ErrorCodes.Validation, `${where} is longer than ${MAX_LINE} characters`);
      let line: unknown;
      try {
        line = JSON.parse(raw);
      } catch {
        throw new AppError(ErrorCodes.Validation, `${where} is not a JSON object`);
      }
      if (!line || typeof line !== 'object' || Array.isArray(line)) throw new AppError(ErrorCodes.Validation, `${where} is not a JSON object`);
      const ref = (line as Record<string, unknown>)['source-ref'];
      if (typeof ref !== 'string' || !/^s3:\/\/[^/]+\/.+/.test(ref)) {
        throw new AppError(ErrorCodes.Validation, `${where} has no "source-ref" S3 URI of an image`);
      }
      if (Object.keys(line).some((k) => k.startsWith('$'))) throw new AppError(ErrorCodes.Validation, `${where} has an attribute name starting with '$'`);
      out.push({ line: line as Record<string, unknown>, raw });
      if (out.length > MAX_OBJECTS) throw new AppError(ErrorCodes.Validation, `The input manifest has more than ${MAX_OBJECTS} objects`);
    }
    return out;
  }

  /** Claims that ran past their time limit go back to the queue (their drafts with them). */
  private async expireClaims(job: string): Promise<void> {
    const now = this.now();
    const key = job.toLowerCase();
    await this.db.transaction().execute(async (trx) => {
      const stale = await trx
        .selectFrom('labeling_tasks')
        .select(['id', 'object_id', 'worker_id', 'iteration'])
        .where('job', '=', key)
        .where('status', '=', 'claimed')
        .where('expires_at_ms', '<=', now)
        .execute();
      if (stale.length === 0) return;
      for (const t of stale) {
        await trx
          .deleteFrom('labeling_exclusions')
          .where('job', '=', key)
          .where('worker_id', '=', t.worker_id!)
          .where('object_id', '=', t.object_id)
          .where('iteration', '=', t.iteration)
          .where('reason', '=', 'assigned')
          .execute();
      }
      await trx
        .updateTable('labeling_tasks')
        .set((eb) => ({ status: 'open', worker_id: null, worker_name: null, claimed_at_ms: null, expires_at_ms: null, draft: null, version: eb('version', '+', 1) }))
        .where('id', 'in', stale.map((t) => t.id))
        .execute();
    });
  }

  /** Open slots past their availability lifetime close; objects with no slot left finish. */
  private async closeUnavailable(job: string): Promise<void> {
    const key = job.toLowerCase();
    const stale = await this.db
      .selectFrom('labeling_tasks')
      .select(['object_id'])
      .distinct()
      .where('job', '=', key)
      .where('status', '=', 'open')
      .where('released', '=', 1)
      .where('available_until_ms', '<=', this.now())
      .execute();
    if (stale.length === 0) return;
    await this.db
      .updateTable('labeling_tasks')
      .set({ status: 'closed' })
      .where('job', '=', key)
      .where('status', '=', 'open')
      .where('released', '=', 1)
      .where('available_until_ms', '<=', this.now())
      .execute();
    for (const s of stale) await this.maybeFinishObject(job, s.object_id);
  }

  // ---- the worker's side -----------------------------------------------------------------

  /** Jobs of the worker's teams that are InProgress, with what is left for them. */
  async jobsForWorker(worker: Worker): Promise<{ job: LabelingJobRecord; available: number; claimedTaskId: string | undefined }[]> {
    const teams = await this.workteams.teamsOfGroups(worker.groups);
    if (teams.length === 0) return [];
    const rows = await this.db
      .selectFrom('labeling_jobs')
      .selectAll()
      .where('workteam_arn', 'in', teams.map((t) => t.arn))
      .where('status', '=', 'InProgress')
      .orderBy('created_at_ms', 'asc')
      .execute();
    const out = [];
    for (const row of rows) {
      const claimed = await this.db
        .selectFrom('labeling_tasks')
        .select('id')
        .where('job', '=', row.name_lower)
        .where('worker_id', '=', worker.id)
        .where('status', '=', 'claimed')
        .where('expires_at_ms', '>', this.now())
        .executeTakeFirst();
      const available = await this.db
        .selectFrom('labeling_tasks as t')
        .select((eb) => eb.fn.count<number>('t.object_id').distinct().as('n'))
        .where('t.job', '=', row.name_lower)
        .where('t.status', '=', 'open')
        .where('t.released', '=', 1)
        .where('t.available_until_ms', '>', this.now())
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('labeling_exclusions as e')
                .select('e.object_id')
                .whereRef('e.job', '=', 't.job')
                .where('e.worker_id', '=', worker.id)
                .whereRef('e.object_id', '=', 't.object_id')
                .whereRef('e.iteration', '=', 't.iteration'),
            ),
          ),
        )
        .executeTakeFirst();
      out.push({ job: toJob(row), available: Number(available?.n ?? 0), claimedTaskId: claimed?.id });
    }
    return out;
  }

  /** The job, when `worker` is in its team. @throws TaskError NotFound (never says whether it exists). */
  private async jobForWorker(worker: Worker, jobName: string): Promise<LabelingJobRecord> {
    const job = await this.findJob(jobName);
    const team = job ? await this.workteams.findByArn(job.workteamArn) : undefined;
    if (!job || !team || !team.memberGroups.some((g) => worker.groups.includes(g))) {
      throw new TaskError('NotFound', 'No such labeling job for your teams');
    }
    return job;
  }

  /**
   * Hands the worker their current task of the job, or claims the next open slot: atomically in SQL
   * (`UPDATE … WHERE id = ? AND status = 'open'`), never a slot of an object they already hold,
   * answered, skipped or declined. Undefined when nothing is left for them.
   */
  async claimNext(worker: Worker, jobName: string): Promise<TaskView | undefined> {
    const job = await this.jobForWorker(worker, jobName);
    if (job.status !== 'InProgress') return undefined;
    const key = job.name.toLowerCase();
    const now = this.now();
    await this.expireClaims(job.name);
    const current = await this.db
      .selectFrom('labeling_tasks')
      .selectAll()
      .where('job', '=', key)
      .where('worker_id', '=', worker.id)
      .where('status', '=', 'claimed')
      .orderBy('claimed_at_ms')
      .executeTakeFirst();
    if (current) return this.view(job, current, worker);
    for (let attempt = 0; attempt < 5; attempt++) {
      const claimed = await this.db.transaction().execute(async (trx) => {
        const candidate = await trx
          .selectFrom('labeling_tasks as t')
          .select(['t.id', 't.object_id', 't.iteration'])
          .where('t.job', '=', key)
          .where('t.status', '=', 'open')
          .where('t.released', '=', 1)
          .where('t.available_until_ms', '>', now)
          .where((eb) =>
            eb.not(
              eb.exists(
                eb
                  .selectFrom('labeling_exclusions as e')
                  .select('e.object_id')
                  .where('e.job', '=', key)
                  .where('e.worker_id', '=', worker.id)
                  .whereRef('e.object_id', '=', 't.object_id')
                  .whereRef('e.iteration', '=', 't.iteration'),
              ),
            ),
          )
          .orderBy('t.object_id')
          .orderBy('t.slot')
          .limit(1)
          .executeTakeFirst();
        if (!candidate) return null;
        const res = await trx
          .updateTable('labeling_tasks')
          .set((eb) => ({
            status: 'claimed',
            worker_id: worker.id,
            worker_name: worker.username,
            claimed_at_ms: now,
            expires_at_ms: now + job.spec.taskTimeLimitSeconds * 1000,
            draft: null,
            version: eb('version', '+', 1),
          }))
          .where('id', '=', candidate.id)
          .where('status', '=', 'open')
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) return undefined; // lost a race: try again
        await trx
          .insertInto('labeling_exclusions')
          .values({ job: key, object_id: candidate.object_id, worker_id: worker.id, iteration: candidate.iteration, reason: 'assigned' })
          .execute();
        return trx.selectFrom('labeling_tasks').selectAll().where('id', '=', candidate.id).executeTakeFirstOrThrow();
      });
      if (claimed === null) return undefined;
      if (claimed) return this.view(job, claimed, worker);
    }
    return undefined;
  }

  /** The worker's own claimed task (a reload). @throws TaskError NotFound / Gone */
  async getTask(worker: Worker, taskId: string): Promise<TaskView> {
    const { job, task } = await this.ownTask(worker, taskId);
    return this.view(job, task, worker);
  }

  private async ownTask(worker: Worker, taskId: string): Promise<{ job: LabelingJobRecord; task: TaskRow }> {
    const task = await this.db.selectFrom('labeling_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
    if (!task) throw new TaskError('NotFound', 'No such task of yours');
    if (task.worker_id !== worker.id) {
      // Back in the queue (worker_id cleared): its time limit ran out and a sweep reopened it. Say
      // so to a worker of the job's teams; to anyone else the task does not exist.
      const ofTeam = await this.jobForWorker(worker, task.job).then(() => true, () => false);
      if (ofTeam && task.worker_id === null && task.status === 'open') throw new TaskError('Gone', 'The time limit of this task ran out; it went back to the queue');
      throw new TaskError('NotFound', 'No such task of yours');
    }
    const job = await this.jobForWorker(worker, task.job);
    if (task.status === 'claimed' && Number(task.expires_at_ms) <= this.now()) {
      await this.expireClaims(job.name);
      throw new TaskError('Gone', 'The time limit of this task ran out; it went back to the queue');
    }
    return { job, task };
  }

  /** Saves the worker's draft; `version` must be the task's current one (409 otherwise). */
  async saveDraft(worker: Worker, taskId: string, version: number, draft: unknown): Promise<{ version: number }> {
    const { task } = await this.ownTask(worker, taskId);
    if (task.status !== 'claimed') throw new TaskError('Gone', 'This task is no longer yours to edit');
    const text = JSON.stringify(draft ?? null);
    if (text.length > MAX_DRAFT_BYTES) throw new TaskError('Invalid', `A draft is at most ${MAX_DRAFT_BYTES} bytes`);
    const res = await this.db
      .updateTable('labeling_tasks')
      .set((eb) => ({ draft: text, version: eb('version', '+', 1) }))
      .where('id', '=', taskId)
      .where('worker_id', '=', worker.id)
      .where('status', '=', 'claimed')
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      throw new TaskError('Conflict', `The task was saved elsewhere (version ${task.version}, you sent ${version}); reload it`, task.version);
    }
    return { version: version + 1 };
  }

  /**
   * Submits an answer. Idempotent on `submissionId`: a retried submit returns the first result and
   * stores one answer. A stale `version` gets Conflict (409).
   */
  async submit(worker: Worker, taskId: string, version: number, submissionId: string, rawAnswer: unknown): Promise<{ version: number }> {
    const { job, task } = await this.ownTask(worker, taskId);
    if (task.status === 'submitted') {
      if (task.submission_id === submissionId) return { version: task.version };
      throw new TaskError('Conflict', 'This task was already submitted', task.version);
    }
    if (task.status !== 'claimed') throw new TaskError('Gone', 'This task is no longer yours to submit');
    const answer = validateAnswer(job.spec, rawAnswer);
    const now = this.now();
    const res = await this.db
      .updateTable('labeling_tasks')
      .set((eb) => ({ status: 'submitted', answer: jsonColumn(answer), submission_id: submissionId, submitted_at_ms: now, draft: null, version: eb('version', '+', 1) }))
      .where('id', '=', taskId)
      .where('worker_id', '=', worker.id)
      .where('status', '=', 'claimed')
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      const again = await this.db.selectFrom('labeling_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
      if (again?.status === 'submitted' && again.submission_id === submissionId) return { version: again.version };
      throw new TaskError('Conflict', `The task changed since you loaded it (version ${again?.version ?? '?'}, you sent ${version}); reload it`, again?.version);
    }
    await this.db
      .updateTable('labeling_exclusions')
      .set({ reason: 'answered' })
      .where('job', '=', task.job)
      .where('worker_id', '=', worker.id)
      .where('object_id', '=', task.object_id)
      .where('iteration', '=', task.iteration)
      .execute();
    if (answer.kind === 'boxes') {
      await this.db
        .updateTable('labeling_objects')
        .set({ image_width: answer.imageWidth, image_height: answer.imageHeight })
        .where('job', '=', task.job)
        .where('object_id', '=', task.object_id)
        .where('image_width', 'is', null)
        .execute();
    }
    await this.maybeFinishObject(job.name, task.object_id);
    return { version: version + 1 };
  }

  /** Gives the slot back: `skip` lets someone else take it; `decline` also counts towards the object failing. */
  async release(worker: Worker, taskId: string, kind: 'skip' | 'decline'): Promise<void> {
    const { job, task } = await this.ownTask(worker, taskId);
    if (task.status !== 'claimed') throw new TaskError('Gone', 'This task is no longer yours');
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('labeling_tasks')
        .set((eb) => ({ status: 'open', worker_id: null, worker_name: null, claimed_at_ms: null, expires_at_ms: null, draft: null, version: eb('version', '+', 1) }))
        .where('id', '=', taskId)
        .where('status', '=', 'claimed')
        .execute();
      await trx
        .updateTable('labeling_exclusions')
        .set({ reason: kind === 'skip' ? 'skipped' : 'declined' })
        .where('job', '=', task.job)
        .where('worker_id', '=', worker.id)
        .where('object_id', '=', task.object_id)
        .where('iteration', '=', task.iteration)
        .execute();
      if (kind === 'decline') {
        await trx
          .updateTable('labeling_objects')
          .set((eb) => ({ declines: eb('declines', '+', 1) }))
          .where('job', '=', task.job)
          .where('object_id', '=', task.object_id)
          .execute();
        const obj = await trx.selectFrom('labeling_objects').select(['declines']).where('job', '=', task.job).where('object_id', '=', task.object_id).executeTakeFirstOrThrow();
        // Once N workers declined, nobody else is asked: the object's open slots close.
        if (obj.declines >= job.spec.workersPerObject) {
          await trx
            .updateTable('labeling_tasks')
            .set({ status: 'closed' })
            .where('job', '=', task.job)
            .where('object_id', '=', task.object_id)
            .where('iteration', '=', task.iteration)
            .where('status', '=', 'open')
            .execute();
        }
      }
    });
    await this.maybeFinishObject(job.name, task.object_id);
  }

  private async view(job: LabelingJobRecord, task: TaskRow, worker: Worker): Promise<TaskView> {
    const obj = await this.db.selectFrom('labeling_objects').selectAll().where('job', '=', task.job).where('object_id', '=', task.object_id).executeTakeFirstOrThrow();
    const initial = parseJsonColumn<Box[]>(obj.initial_value);
    // A relabel after review starts from the consolidated answer of the earlier iteration.
    const fromReview = obj.iteration > 1 ? boxesOfConsolidated(parseJsonColumn<Consolidated>(obj.consolidated)) : undefined;
    return {
      taskId: task.id,
      version: task.version,
      jobName: job.name,
      title: job.spec.taskTitle,
      description: job.spec.taskDescription,
      header: job.spec.header,
      taskType: job.spec.taskType,
      labels: job.spec.labels,
      shortInstructions: job.spec.shortInstructions,
      fullInstructions: job.spec.fullInstructions,
      imageToken: await this.imageToken(worker, { j: task.job, o: task.object_id }),
      sourceName: (obj.source_ref ?? '').split('/').pop() ?? '',
      claimedAtMs: Number(task.claimed_at_ms),
      expiresAtMs: Number(task.expires_at_ms),
      draft: parseJsonColumn(task.draft) ?? null,
      initialValue: initial ?? fromReview,
    };
  }

  // ---- images ----------------------------------------------------------------------------

  async imageToken(worker: Worker, what: { j: string; o: number } | { s: string }): Promise<string> {
    this.signer ??= await ImageSigner.open(this.deps.db);
    return this.signer.sign({ ...what, u: worker.id, e: this.now() + this.imageUrlTtlMs });
  }

  /**
   * The image a signed token names, for the user it was minted for; undefined when the token is
   * forged, expired, someone else's, or the image is gone.
   */
  async imageFor(worker: Worker, token: string): Promise<{ bucket: string; key: string } | undefined> {
    this.signer ??= await ImageSigner.open(this.deps.db);
    const grant: ImageGrant | undefined = this.signer.verify(token, this.now());
    if (!grant || grant.u !== worker.id) return undefined;
    if (grant.s) return parseS3UriSafe(grant.s);
    if (grant.j === undefined || grant.o === undefined) return undefined;
    const obj = await this.db.selectFrom('labeling_objects').select(['source_ref']).where('job', '=', grant.j).where('object_id', '=', grant.o).executeTakeFirst();
    return obj?.source_ref ? parseS3UriSafe(obj.source_ref) : undefined;
  }

  // ---- finishing objects and jobs --------------------------------------------------------

  /** An object finishes when none of its slots is open or claimed: labeled with ≥ 1 answer, else failed. */
  private async maybeFinishObject(jobName: string, objectId: number): Promise<void> {
    const key = jobName.toLowerCase();
    const job = await this.getJob(jobName);
    const obj = await this.db.selectFrom('labeling_objects').selectAll().where('job', '=', key).where('object_id', '=', objectId).executeTakeFirst();
    if (!obj || obj.status !== 'pending') return;
    const slots = await this.db.selectFrom('labeling_tasks').selectAll().where('job', '=', key).where('object_id', '=', objectId).where('iteration', '=', obj.iteration).execute();
    if (slots.some((s) => s.status === 'open' || s.status === 'claimed')) return;
    const submitted = slots.filter((s) => s.status === 'submitted');
    const now = this.now();
    const result = submitted.length ? consolidateObject(job.spec, submitted, obj) : undefined;
    const res = await this.db
      .updateTable('labeling_objects')
      .set({ status: result ? 'labeled' : 'failed', consolidated: result ? jsonColumn(result) : null, completed_at_ms: now })
      .where('job', '=', key)
      .where('object_id', '=', objectId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return;
    if (submitted.length) await this.writeWorkerResponses(job, obj, submitted);
    await this.releaseMore(job);
    await this.maybeComplete(job.name);
  }

  /** Keeps MaxConcurrentTaskCount objects out for labeling. */
  private async releaseMore(job: LabelingJobRecord): Promise<void> {
    const key = job.name.toLowerCase();
    const out = await this.db
      .selectFrom('labeling_objects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job', '=', key)
      .where('status', '=', 'pending')
      .where('released', '=', 1)
      .executeTakeFirst();
    const room = job.spec.maxConcurrentTaskCount - Number(out?.n ?? 0);
    if (room <= 0) return;
    const next = await this.db
      .selectFrom('labeling_objects')
      .select('object_id')
      .where('job', '=', key)
      .where('released', '=', 0)
      .orderBy('object_id')
      .limit(room)
      .execute();
    if (next.length === 0) return;
    const ids = next.map((n) => n.object_id);
    const until = this.now() + job.spec.availabilityLifetimeSeconds * 1000;
    await this.db.updateTable('labeling_objects').set({ released: 1 }).where('job', '=', key).where('object_id', 'in', ids).execute();
    await this.db.updateTable('labeling_tasks').set({ released: 1, available_until_ms: until }).where('job', '=', key).where('object_id', 'in', ids).execute();
  }

  private async maybeComplete(jobName: string): Promise<void> {
    const job = await this.getJob(jobName);
    if (job.status !== 'InProgress') return;
    const c = await this.counters(job.name);
    const limitReached =
      (job.spec.maxHumanLabeledObjectCount !== undefined && c.humanLabeled >= job.spec.maxHumanLabeledObjectCount) ||
      (job.spec.maxPercentageOfInputDatasetLabeled !== undefined &&
        job.objectCount > 0 &&
        (c.humanLabeled * 100) / job.objectCount >= job.spec.maxPercentageOfInputDatasetLabeled);
    if (c.unlabeled > 0 && !limitReached) return;
    if (c.unlabeled > 0) {
      if (await this.setStatus(job.name, 'InProgress', 'Stopping')) await this.finalize(job.name, 'Stopping', 'Stopped');
      return;
    }
    await this.finalize(job.name, 'InProgress', 'Completed');
  }

  /**
   * Writes the job's output (consolidation request/response of the iteration and the output
   * manifest) and only then moves it to `to`: when a job says Completed its manifest exists.
   */
  private async finalize(jobName: string, from: LabelingJobStatus, to: LabelingJobStatus): Promise<void> {
    const job = await this.getJob(jobName);
    if (job.status !== from) return;
    const key = job.name.toLowerCase();
    if (to === 'Stopped') {
      // Partial results: objects with some answers are consolidated; open work closes.
      const pending = await this.db.selectFrom('labeling_objects').select(['object_id']).where('job', '=', key).where('status', '=', 'pending').execute();
      await this.db.updateTable('labeling_tasks').set({ status: 'closed' }).where('job', '=', key).where('status', 'in', ['open', 'claimed']).execute();
      for (const p of pending) await this.maybeFinishObjectNoCascade(job, p.object_id);
    }
    try {
      await this.writeOutput(job);
    } catch (err) {
      await this.setStatus(job.name, from, 'Failed', `Could not write the output to ${job.spec.outputPath}: ${(err as Error).message}`);
      return;
    }
    await this.db
      .updateTable('labeling_jobs')
      .set({ status: to, output_written_ms: this.now(), last_modified_ms: this.now() })
      .where('name_lower', '=', key)
      .where('status', '=', from)
      .execute();
  }

  private async maybeFinishObjectNoCascade(job: LabelingJobRecord, objectId: number): Promise<void> {
    const key = job.name.toLowerCase();
    const obj = await this.db.selectFrom('labeling_objects').selectAll().where('job', '=', key).where('object_id', '=', objectId).executeTakeFirstOrThrow();
    const submitted = await this.db.selectFrom('labeling_tasks').selectAll().where('job', '=', key).where('object_id', '=', objectId).where('iteration', '=', obj.iteration).where('status', '=', 'submitted').execute();
    if (submitted.length === 0) {
      // Unlabeled when stopped: left out of the labels, copied verbatim into the output manifest.
      if (obj.iteration > 1 && obj.consolidated) await this.db.updateTable('labeling_objects').set({ status: 'labeled' }).where('job', '=', key).where('object_id', '=', objectId).execute();
      return;
    }
    const result = consolidateObject(job.spec, submitted, obj);
    await this.db.updateTable('labeling_objects').set({ status: 'labeled', consolidated: jsonColumn(result), completed_at_ms: this.now() }).where('job', '=', key).where('object_id', '=', objectId).execute();
    await this.writeWorkerResponses(job, obj, submitted);
  }

  private outputKey(job: LabelingJobRecord, rest: string): { bucket: string; key: string } {
    const loc = parseS3Uri(job.spec.outputPath, 'S3OutputPath');
    const prefix = loc.key.replace(/\/+$/, '');
    return { bucket: loc.bucket, key: `${prefix ? prefix + '/' : ''}${job.name}/${rest}` };
  }

  /** `{S3OutputPath}/{job}/manifests/output/output.manifest`. */
  outputManifestUri(job: LabelingJobRecord): string {
    const { bucket, key } = this.outputKey(job, 'manifests/output/output.manifest');
    return `s3://${bucket}/${key}`;
  }

  private async writeWorkerResponses(job: LabelingJobRecord, obj: ObjectRow, submitted: readonly TaskRow[]): Promise<void> {
    const answers = submitted.map((s) => ({
      workerId: `private.${this.deps.arn.region}.${s.worker_id}`,
      acceptanceTime: gtTimestamp(Number(s.claimed_at_ms)),
      submissionTime: gtTimestamp(Number(s.submitted_at_ms)),
      timeSpentInSeconds: Math.round((Number(s.submitted_at_ms) - Number(s.claimed_at_ms)) / 10) / 100,
      answerContent: answerContent(parseJsonColumn<Answer>(s.answer)!),
      workerMetadata: { identityData: { identityProviderType: 'Apiary', issuer: `apiary:${this.deps.arn.accountId}`, sub: s.worker_id, username: s.worker_name } },
    }));
    const stamp = gtTimestamp(this.now());
    const { bucket, key } = this.outputKey(job, `annotations/worker-response/iteration-${obj.iteration}/${obj.object_id}/${stamp}.json`);
    await this.deps.objects.putObject(bucket, key, JSON.stringify({ answers }), { contentType: 'application/json' });
  }

  private async writeOutput(job: LabelingJobRecord): Promise<void> {
    const key = job.name.toLowerCase();
    const objects = await this.db.selectFrom('labeling_objects').selectAll().where('job', '=', key).orderBy('object_id').execute();
    const submitted = await this.db
      .selectFrom('labeling_tasks')
      .select(['object_id', 'iteration', 'worker_id', 'answer'])
      .where('job', '=', key)
      .where('status', '=', 'submitted')
      .execute();
    const byObject = new Map<number, { worker_id: string | null; answer: string | null; iteration: number }[]>();
    for (const s of submitted) byObject.set(s.object_id, [...(byObject.get(s.object_id) ?? []), s]);
    const labeled = objects.filter((o) => o.status === 'labeled');

    // Box jobs: a second, job-level pass weights workers by their reliability.
    const final = new Map<number, Consolidated>();
    if (job.spec.taskType === 'bounding-box' || job.spec.taskType === 'adjustment-bounding-box') {
      const inputs: WorkerBoxes[][] = labeled.map((o) =>
        (byObject.get(o.object_id) ?? [])
          .filter((s) => s.iteration === o.iteration)
          .map((s) => ({ workerId: s.worker_id ?? '', boxes: (parseJsonColumn<Answer & { kind: 'boxes' }>(s.answer)?.boxes ?? []) as Box[] })),
      );
      const results = consolidateBoxJob(inputs);
      labeled.forEach((o, i) => {
        const prev = parseJsonColumn<Consolidated>(o.consolidated);
        if (prev?.kind === 'boxes' && inputs[i]!.length > 0) final.set(o.object_id, { ...prev, boxes: results[i]! });
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
      if (final.has(o.object_id)) {
        await this.db.updateTable('labeling_objects').set({ consolidated: jsonColumn(result) }).where('job', '=', key).where('object_id', '=', o.object_id).execute();
      }
      const members = labelMembers({
        attr: job.spec.labelAttributeName,
        jobName: job.name,
        taskType: job.spec.taskType,
        labels: job.spec.labels,
        result,
        completedAtMs: Number(o.completed_at_ms ?? this.now()),
      });
      const line = JSON.parse(o.line) as Record<string, unknown>;
      lines.push(JSON.stringify({ ...line, ...members }));
      if (o.iteration === iteration) {
        request.push({
          datasetObjectId: String(o.object_id),
          dataObject: { s3Uri: o.source_ref },
          annotations: (byObject.get(o.object_id) ?? [])
            .filter((s) => s.iteration === o.iteration)
            .map((s) => ({ workerId: s.worker_id, annotationData: { content: JSON.stringify(answerContent(parseJsonColumn<Answer>(s.answer)!)) } })),
        });
        response.push({ datasetObjectId: String(o.object_id), consolidatedAnnotation: { content: members } });
      }
    }
    const stamp = gtTimestamp(this.now());
    const put = async (rest: string, body: string, contentType: string) => {
      const loc = this.outputKey(job, rest);
      await this.deps.objects.putObject(loc.bucket, loc.key, body, { contentType });
    };
    await put(`annotations/consolidated-annotation/consolidation-request/iteration-${iteration}/${stamp}.json`, JSON.stringify(request), 'application/json');
    await put(`annotations/consolidated-annotation/consolidation-response/iteration-${iteration}/${stamp}.json`, JSON.stringify(response), 'application/json');
    await put('manifests/output/output.manifest', lines.length ? lines.join('\n') + '\n' : '', 'application/jsonlines');
  }

  // ---- review ----------------------------------------------------------------------------

  async reviewObjects(jobName: string, offset: number, limit: number, status?: string): Promise<{
    total: number;
    items: { objectId: number; sourceRef: string | null; status: string; iteration: number; consolidated: Consolidated | undefined; answers: { worker: string; answer: Answer; submittedAtMs: number }[]; imageWidth: number | null; imageHeight: number | null }[];
  }> {
    const job = await this.getJob(jobName);
    const key = job.name.toLowerCase();
    let q = this.db.selectFrom('labeling_objects').selectAll().where('job', '=', key);
    if (status) q = q.where('status', '=', status);
    const rows = await q.orderBy('object_id').limit(limit).offset(offset).execute();
    let countQ = this.db.selectFrom('labeling_objects').select((eb) => eb.fn.countAll<number>().as('n')).where('job', '=', key);
    if (status) countQ = countQ.where('status', '=', status);
    const total = Number((await countQ.executeTakeFirst())?.n ?? 0);
    const ids = rows.map((r) => r.object_id);
    const answers = ids.length
      ? await this.db.selectFrom('labeling_tasks').selectAll().where('job', '=', key).where('status', '=', 'submitted').where('object_id', 'in', ids).execute()
      : [];
    return {
      total,
      items: rows.map((r) => ({
        objectId: r.object_id,
        sourceRef: r.source_ref,
        status: r.status,
        iteration: r.iteration,
        consolidated: parseJsonColumn<Consolidated>(r.consolidated),
        imageWidth: r.image_width,
        imageHeight: r.image_height,
        answers: answers
          .filter((a) => a.object_id === r.object_id && a.iteration === r.iteration)
          .map((a) => ({ worker: a.worker_name ?? '', answer: parseJsonColumn<Answer>(a.answer)!, submittedAtMs: Number(a.submitted_at_ms) })),
      })),
    };
  }

  /** Per worker: answers, median seconds per task, skips/declines, mean IoU of their boxes to the consolidated ones. */
  async workerStats(jobName: string): Promise<{ worker: string; submitted: number; medianSeconds: number; skipped: number; declined: number; meanIou: number | null; agreement: number | null }[]> {
    const job = await this.getJob(jobName);
    const key = job.name.toLowerCase();
    const tasks = await this.db.selectFrom('labeling_tasks').selectAll().where('job', '=', key).where('status', '=', 'submitted').execute();
    const objects = await this.db.selectFrom('labeling_objects').select(['object_id', 'iteration', 'consolidated']).where('job', '=', key).where('status', '=', 'labeled').execute();
    const consolidated = new Map(objects.map((o) => [`${o.object_id}/${o.iteration}`, parseJsonColumn<Consolidated>(o.consolidated)]));
    const exclusions = await this.db.selectFrom('labeling_exclusions').select(['worker_id', 'reason']).where('job', '=', key).execute();
    const names = new Map<string, string>();
    const stats = new Map<string, { times: number[]; ious: number[]; agree: number[] }>();
    for (const t of tasks) {
      const id = t.worker_id ?? '';
      names.set(id, t.worker_name ?? id);
      const s = stats.get(id) ?? { times: [], ious: [], agree: [] };
      s.times.push((Number(t.submitted_at_ms) - Number(t.claimed_at_ms)) / 1000);
      const c = consolidated.get(`${t.object_id}/${t.iteration}`);
      const a = parseJsonColumn<Answer>(t.answer);
      if (c?.kind === 'boxes' && a?.kind === 'boxes') {
        for (const r of c.boxes) s.ious.push(Math.max(0, ...a.boxes.map((b) => iou(b, r))));
      } else if (c?.kind === 'label' && a?.kind === 'label') s.agree.push(a.label === c.result.label ? 1 : 0);
      stats.set(id, s);
    }
    const mean = (xs: number[]) => (xs.length ? Math.round((xs.reduce((p, q) => p + q, 0) / xs.length) * 1000) / 1000 : null);
    return [...stats.entries()]
      .map(([id, s]) => {
        const sorted = [...s.times].sort((a, b) => a - b);
        return {
          worker: names.get(id) ?? id,
          submitted: s.times.length,
          medianSeconds: Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10,
          skipped: exclusions.filter((e) => e.worker_id === id && e.reason === 'skipped').length,
          declined: exclusions.filter((e) => e.worker_id === id && e.reason === 'declined').length,
          meanIou: mean(s.ious),
          agreement: mean(s.agree),
        };
      })
      .sort((a, b) => (a.worker < b.worker ? -1 : 1));
  }

  /** Sends objects back for relabelling: a new iteration with N fresh slots; a Completed job reopens. */
  async relabel(jobName: string, objectIds: readonly number[]): Promise<void> {
    const job = await this.getJob(jobName);
    if (job.status !== 'InProgress' && job.status !== 'Completed') {
      throw new AppError(ErrorCodes.Validation, `The labeling job ${job.name} is ${job.status}; only InProgress or Completed jobs take objects back`);
    }
    const key = job.name.toLowerCase();
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      for (const id of objectIds) {
        const obj = await trx.selectFrom('labeling_objects').selectAll().where('job', '=', key).where('object_id', '=', id).executeTakeFirst();
        if (!obj) throw new AppError(ErrorCodes.Validation, `The job has no object ${id}`);
        if (obj.status === 'pending') continue;
        const iteration = obj.iteration + 1;
        await trx.updateTable('labeling_objects').set({ status: 'pending', released: 1, iteration, declines: 0, completed_at_ms: null }).where('job', '=', key).where('object_id', '=', id).execute();
        for (let slot = 0; slot < job.spec.workersPerObject; slot++) {
          await trx.insertInto('labeling_tasks').values(newTask(key, id, iteration, slot, true, now + job.spec.availabilityLifetimeSeconds * 1000)).execute();
        }
        await trx.updateTable('labeling_jobs').set((eb) => ({ iteration: eb.fn('max', [eb.ref('iteration'), eb.val(iteration)]) })).where('name_lower', '=', key).execute();
      }
      if (job.status === 'Completed') {
        await trx.updateTable('labeling_jobs').set({ status: 'InProgress', last_modified_ms: now }).where('name_lower', '=', key).where('status', '=', 'Completed').execute();
      }
    });
  }
}

function newTask(job: string, objectId: number, iteration: number, slot: number, released: boolean, availableUntil: number): TaskRow {
  return {
    id: randomUUID(),
    job,
    object_id: objectId,
    iteration,
    slot,
    status: 'open',
    released: released ? 1 : 0,
    available_until_ms: availableUntil,
    worker_id: null,
    worker_name: null,
    claimed_at_ms: null,
    expires_at_ms: null,
    version: 0,
    draft: null,
    answer: null,
    submission_id: null,
    submitted_at_ms: null,
  };
}

function toJob(row: JobRow): LabelingJobRecord {
  return {
    name: row.name,
    arn: row.arn,
    status: row.status as LabelingJobStatus,
    failureReason: row.failure_reason ?? undefined,
    workteamArn: row.workteam_arn,
    jobReferenceCode: row.job_reference_code,
    spec: parseJsonColumn<JobSpec>(row.spec)!,
    request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
    objectCount: Number(row.object_count),
    iteration: Number(row.iteration),
    outputWritten: row.output_written_ms !== null,
    createdAtMs: Number(row.created_at_ms),
    lastModifiedMs: Number(row.last_modified_ms),
  };
}

function parseS3UriSafe(uri: string): { bucket: string; key: string } | undefined {
  try {
    return parseS3Uri(uri);
  } catch {
    return undefined;
  }
}

function boxesOfConsolidated(c: Consolidated | undefined): Box[] | undefined {
  return c?.kind === 'boxes' ? c.boxes.map(({ label, left, top, width, height }) => ({ label, left, top, width, height })) : undefined;
}

function consolidateObject(spec: JobSpec, submitted: readonly TaskRow[], obj: ObjectRow): Consolidated {
  const answers = submitted.map((s) => ({ worker: s.worker_id ?? '', answer: parseJsonColumn<Answer>(s.answer)! }));
  switch (spec.taskType) {
    case 'bounding-box':
    case 'adjustment-bounding-box': {
      const boxAnswers = answers.filter((a) => a.answer.kind === 'boxes') as { worker: string; answer: Extract<Answer, { kind: 'boxes' }> }[];
      const first = boxAnswers[0]?.answer;
      return {
        kind: 'boxes',
        boxes: consolidateBoxes(boxAnswers.map((a) => ({ workerId: a.worker, boxes: a.answer.boxes }))),
        imageWidth: obj.image_width ?? first?.imageWidth ?? 0,
        imageHeight: obj.image_height ?? first?.imageHeight ?? 0,
        ...(spec.taskType === 'adjustment-bounding-box' ? { adjusted: boxAnswers.some((a) => a.answer.initialValueModified) } : {}),
      };
    }
    case 'image-classification':
      return { kind: 'label', result: consolidateLabel(answers.map((a) => ({ workerId: a.worker, label: (a.answer as { label: string }).label })))! };
    case 'image-classification-multilabel':
      return { kind: 'labels', results: consolidateLabels(answers.map((a) => ({ workerId: a.worker, labels: (a.answer as Extract<Answer, { kind: "labels" }>).labels }))) };
    case 'verification-bounding-box':
      return {
        kind: 'verification',
        result: consolidateLabel(answers.map((a) => ({ workerId: a.worker, label: (a.answer as { label: string }).label })))!,
        comments: answers.map((a) => (a.answer as { comment?: string }).comment ?? '').filter((c) => c !== ''),
      };
  }
}

/** Checks a submitted answer against the job: known labels, finite pixel boxes inside the image. */
export function validateAnswer(spec: JobSpec, raw: unknown): Answer {
  const bad = (msg: string): never => {
    throw new TaskError('Invalid', msg);
  };
  if (!raw || typeof raw !== 'object') bad('The answer must be a JSON object');
  const a = raw as Record<string, unknown>;
  const knownLabel = (l: unknown): string => {
    if (typeof l !== 'string' || !spec.labels.includes(l)) bad(`Unknown label ${JSON.stringify(l)?.slice(0, 100)}; the job's labels are ${spec.labels.join(', ')}`);
    return l as string;
  };
  switch (spec.taskType) {
    case 'bounding-box':
    case 'adjustment-bounding-box': {
      const w = a.imageWidth;
      const h = a.imageHeight;
      if (!Number.isInteger(w) || !Number.isInteger(h) || (w as number) < 1 || (h as number) < 1 || (w as number) > 100_000 || (h as number) > 100_000) {
        bad('imageWidth and imageHeight must be the image size in pixels');
      }
      if (!Array.isArray(a.boxes)) bad('boxes must be an array');
      const boxes = a.boxes as unknown[];
      if (boxes.length > MAX_BOXES) bad(`At most ${MAX_BOXES} boxes per image`);
      const out: Box[] = [];
      for (const b of boxes) {
        const x = b as Record<string, unknown>;
        const nums = [x.left, x.top, x.width, x.height];
        if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n))) bad('Every box needs numeric left, top, width, height');
        const left = Math.max(0, Math.min(x.left as number, w as number));
        const top = Math.max(0, Math.min(x.top as number, h as number));
        const right = Math.max(left, Math.min((x.left as number) + (x.width as number), w as number));
        const bottom = Math.max(top, Math.min((x.top as number) + (x.height as number), h as number));
        if (right - left < 1 || bottom - top < 1) continue; // a degenerate box carries no information
        out.push({ label: knownLabel(x.label), left, top, width: right - left, height: bottom - top });
      }
      return { kind: 'boxes', boxes: out, imageWidth: w as number, imageHeight: h as number, ...(spec.taskType === 'adjustment-bounding-box' ? { initialValueModified: Boolean(a.initialValueModified) } : {}) };
    }
    case 'image-classification':
      return { kind: 'label', label: knownLabel(a.label) };
    case 'image-classification-multilabel': {
      if (!Array.isArray(a.labels)) bad('labels must be an array');
      return { kind: 'labels', labels: [...new Set((a.labels as unknown[]).map(knownLabel))] };
    }
    case 'verification-bounding-box': {
      const comment = typeof a.comment === 'string' ? a.comment.slice(0, 2000) : undefined;
      return { kind: 'verification', label: knownLabel(a.label), ...(comment ? { comment } : {}) };
    }
  }
}
