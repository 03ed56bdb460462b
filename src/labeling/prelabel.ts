import type { Kysely } from 'kysely';
import { jsonColumn, parseJsonColumn, type MigrationSet } from '../store/index.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import type { LabelingContext } from './context.js';
import type { Answer, Box, LabelingJobRecord } from './model.js';

export { diffSuggestions, type SuggestionEdit } from '../shared/suggestion-edits.js';
import { diffSuggestions, type SuggestionEdit } from '../shared/suggestion-edits.js';
import { sniffImageType } from './image-urls.js';
import { jobKey, type ObjectRow, type TaskRow } from './repository.js';

/**
 * The job tag that names the endpoint whose boxes the portal shows as suggestions. A tag, not a
 * request field: CreateLabelingJob has no such field, and every SageMaker client (boto3, the CLI,
 * the SDKs, CloudFormation) passes Tags through unchanged, where an unknown field would be refused
 * by their request validation before it reached Apiary.
 */
export const PRELABEL_ENDPOINT_TAG = 'apiary:prelabel-endpoint';
/** Optional tag: suggestions below this score are not shown (default 0.3). */
export const PRELABEL_MIN_SCORE_TAG = 'apiary:prelabel-min-score';
const DEFAULT_MIN_SCORE = 0.3;
const DEFAULT_TIMEOUT_MS = 3000;
/** Calls an endpoint with one image; answers the body of the built-in detector's annotation JSON. */
export type PrelabelInvoker = (
  endpoint: string,
  image: Buffer,
  contentType: string,
) => Promise<string>;

/** How the labeling context reaches the hosting runtime for suggestions. */
export interface PrelabelDeps {
  readonly invoke: PrelabelInvoker;
  /** Time bound of one invocation; default 3000 ms. */
  readonly timeoutMs?: number;
}

/** A model box shown to the worker, with its score. */
export interface Suggestion extends Box {
  readonly score: number;
}

/** What a task view carries about suggestions. */
export interface TaskSuggestions {
  readonly endpoint: string;
  readonly boxes: readonly Suggestion[];
  /** Set when the endpoint could not answer: the task opens without suggestions. */
  readonly notice?: string;
}

/** The per-job summary the console shows. */
export interface PrelabelSummary {
  readonly endpoint: string | undefined;
  readonly objectsWithSuggestions: number;
  readonly objectsWithoutSuggestions: number;
  readonly answers: number;
  readonly suggested: number;
  readonly kept: number;
  readonly moved: number;
  readonly deleted: number;
  readonly added: number;
  /** Mean IoU of moved boxes to their suggestion. */
  readonly meanMovedIou: number | null;
  readonly lastNotice: string | null;
}

interface SuggestionsTable {
  job: string;
  object_id: number;
  endpoint: string;
  boxes: string;
  created_at_ms: number;
}
interface EditsTable {
  task_id: string;
  job: string;
  object_id: number;
  edits: string;
  suggested: number;
}
interface NoticesTable {
  job: string;
  object_id: number;
  notice: string;
  at_ms: number;
}
interface PrelabelDb {
  labeling_suggestions: SuggestionsTable;
  labeling_suggestion_edits: EditsTable;
  labeling_suggestion_notices: NoticesTable;
}

/** Schema of the suggestion cache (per object), the workers' edits (per task) and the notices. */
export const prelabelMigrations: MigrationSet = {
  '0530_labeling_prelabel_suggestions': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('labeling_suggestions')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('object_id', 'integer', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('boxes', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('labeling_suggestions_pk', ['job', 'object_id'])
        .execute();
      await db.schema
        .createTable('labeling_suggestion_edits')
        .addColumn('task_id', 'text', (c) => c.primaryKey())
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('object_id', 'integer', (c) => c.notNull())
        .addColumn('edits', 'text', (c) => c.notNull())
        .addColumn('suggested', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('labeling_suggestion_edits_job')
        .on('labeling_suggestion_edits')
        .column('job')
        .execute();
      await db.schema
        .createTable('labeling_suggestion_notices')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('object_id', 'integer', (c) => c.notNull())
        .addColumn('notice', 'text', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('labeling_suggestion_notices_pk', ['job', 'object_id'])
        .execute();
    },
  },
};

/**
 * The built-in detector's annotation answer (`Accept: application/json;annotation=1`) as boxes
 * named by the job's labels: class ids outside the label list and scores below `minScore` dropped.
 */
export function boxesFromDetector(
  body: string,
  labels: readonly string[],
  minScore: number,
): Suggestion[] {
  const parsed = JSON.parse(body) as {
    annotations?: {
      class_id: number;
      score: number;
      left: number;
      top: number;
      width: number;
      height: number;
    }[];
  };
  if (!Array.isArray(parsed.annotations))
    throw new Error(
      'the endpoint did not answer with the built-in detector\'s JSON ("annotations")',
    );
  const out: Suggestion[] = [];
  for (const a of parsed.annotations) {
    const label = labels[a.class_id];
    if (label === undefined || !(a.score >= minScore)) continue;
    if (![a.left, a.top, a.width, a.height].every(Number.isFinite) || a.width <= 0 || a.height <= 0)
      continue;
    out.push({ label, left: a.left, top: a.top, width: a.width, height: a.height, score: a.score });
  }
  return out.slice(0, 100);
}

/**
 * Pre-labeling: asks the job's endpoint for an object's boxes when a task opens (once per object,
 * cached), records how each worker changed them, and sums that up per job.
 */
export class Prelabel {
  private readonly db: Kysely<PrelabelDb>;
  private readonly inflight = new Map<string, Promise<TaskSuggestions | undefined>>();

  constructor(private readonly ctx: LabelingContext) {
    this.db = ctx.repo.db as unknown as Kysely<PrelabelDb>;
  }

  /** The endpoint and score floor a job names in its tags, if any. */
  async config(
    job: LabelingJobRecord,
  ): Promise<{ endpoint: string; minScore: number } | undefined> {
    const tags = await this.ctx.deps.tags.list(job.arn);
    const endpoint = tags.find((t) => t.key === PRELABEL_ENDPOINT_TAG)?.value.trim();
    if (!endpoint) return undefined;
    const raw = Number(tags.find((t) => t.key === PRELABEL_MIN_SCORE_TAG)?.value);
    return { endpoint, minScore: Number.isFinite(raw) ? raw : DEFAULT_MIN_SCORE };
  }

  /**
   * The suggestions for an object of a box job that names an endpoint: the cached ones, else one
   * time-bounded invocation. A failure (endpoint gone, slow, bad answer) is not cached: the task
   * opens with a notice and the next task of the object asks again.
   */
  async forObject(job: LabelingJobRecord, obj: ObjectRow): Promise<TaskSuggestions | undefined> {
    if (job.spec.taskType !== 'bounding-box') return undefined;
    const cfg = await this.config(job);
    if (!cfg) return undefined;
    const key = `${obj.job}\u0000${obj.object_id}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetch(job, obj, cfg).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async fetch(
    job: LabelingJobRecord,
    obj: ObjectRow,
    cfg: { endpoint: string; minScore: number },
  ): Promise<TaskSuggestions> {
    const cached = await this.db
      .selectFrom('labeling_suggestions')
      .selectAll()
      .where('job', '=', obj.job)
      .where('object_id', '=', obj.object_id)
      .executeTakeFirst();
    if (cached)
      return {
        endpoint: cached.endpoint,
        boxes: parseJsonColumn<Suggestion[]>(cached.boxes) ?? [],
      };
    const prelabel = this.ctx.deps.prelabel;
    try {
      if (!prelabel) throw new Error('this server has no hosting runtime for suggestions');
      if (!obj.source_ref) throw new Error('the object has no image');
      const loc = parseS3Uri(obj.source_ref);
      const image = await this.ctx.deps.objects.getObjectBuffer(
        loc.bucket,
        loc.key,
        20 * 1024 * 1024,
      );
      if (!image) throw new Error(`the image ${obj.source_ref} does not exist`);
      const timeoutMs = prelabel.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const body = await Promise.race([
        prelabel.invoke(cfg.endpoint, image, sniffImageType(image) ?? 'application/x-image'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the endpoint did not answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      const boxes = boxesFromDetector(body, job.spec.labels, cfg.minScore);
      await this.db
        .insertInto('labeling_suggestions')
        .values({
          job: obj.job,
          object_id: obj.object_id,
          endpoint: cfg.endpoint,
          boxes: jsonColumn(boxes),
          created_at_ms: this.ctx.now(),
        })
        .onConflict((oc) => oc.columns(['job', 'object_id']).doNothing())
        .execute();
      return { endpoint: cfg.endpoint, boxes };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const notice = `No suggestions for this image: endpoint ${cfg.endpoint} could not be asked (${reason.slice(0, 300)}). Label it by hand.`;
      await this.db
        .insertInto('labeling_suggestion_notices')
        .values({ job: obj.job, object_id: obj.object_id, notice, at_ms: this.ctx.now() })
        .onConflict((oc) =>
          oc.columns(['job', 'object_id']).doUpdateSet({ notice, at_ms: this.ctx.now() }),
        )
        .execute();
      return { endpoint: cfg.endpoint, boxes: [], notice };
    }
  }

  /** The cached suggestions of an object (no invocation). */
  async cached(jobName: string, objectId: number): Promise<Suggestion[] | undefined> {
    const row = await this.db
      .selectFrom('labeling_suggestions')
      .select('boxes')
      .where('job', '=', jobKey(jobName))
      .where('object_id', '=', objectId)
      .executeTakeFirst();
    return row ? parseJsonColumn<Suggestion[]>(row.boxes) : undefined;
  }

  /** Records what the worker of a submitted box task did with the object's suggestions. */
  async recordSubmit(task: TaskRow, answer: Answer): Promise<void> {
    if (answer.kind !== 'boxes') return;
    const row = await this.db
      .selectFrom('labeling_suggestions')
      .select('boxes')
      .where('job', '=', task.job)
      .where('object_id', '=', task.object_id)
      .executeTakeFirst();
    if (!row) return;
    const suggestions = parseJsonColumn<Suggestion[]>(row.boxes) ?? [];
    const edits = diffSuggestions(suggestions, answer.boxes);
    await this.db
      .insertInto('labeling_suggestion_edits')
      .values({
        task_id: task.id,
        job: task.job,
        object_id: task.object_id,
        edits: jsonColumn(edits),
        suggested: suggestions.length,
      })
      .onConflict((oc) => oc.column('task_id').doNothing())
      .execute();
  }

  /** Each submitted task's record, by task id (for the worker-response files). */
  async editsOfTasks(
    taskIds: readonly string[],
  ): Promise<Map<string, { suggestions: Suggestion[]; edits: SuggestionEdit[] }>> {
    const out = new Map<string, { suggestions: Suggestion[]; edits: SuggestionEdit[] }>();
    if (taskIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('labeling_suggestion_edits as e')
      .innerJoin('labeling_suggestions as s', (j) =>
        j.onRef('s.job', '=', 'e.job').onRef('s.object_id', '=', 'e.object_id'),
      )
      .select(['e.task_id', 'e.edits', 's.boxes'])
      .where('e.task_id', 'in', [...taskIds])
      .execute();
    for (const r of rows)
      out.set(r.task_id, {
        suggestions: parseJsonColumn<Suggestion[]>(r.boxes) ?? [],
        edits: parseJsonColumn<SuggestionEdit[]>(r.edits) ?? [],
      });
    return out;
  }

  /** The per-job summary: how many suggestions workers kept, moved, deleted, and boxes they added. */
  async summary(job: LabelingJobRecord): Promise<PrelabelSummary> {
    const key = jobKey(job.name);
    const cfg = await this.config(job);
    const [withS, edits, notices] = await Promise.all([
      this.db
        .selectFrom('labeling_suggestions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('job', '=', key)
        .executeTakeFirst(),
      this.db
        .selectFrom('labeling_suggestion_edits')
        .select(['edits', 'suggested'])
        .where('job', '=', key)
        .execute(),
      this.db
        .selectFrom('labeling_suggestion_notices')
        .select(['object_id', 'notice', 'at_ms'])
        .where('job', '=', key)
        .orderBy('at_ms', 'desc')
        .execute(),
    ]);
    const cachedCount = Number(withS?.n ?? 0);
    const counts = { kept: 0, moved: 0, deleted: 0, added: 0 };
    let suggested = 0;
    let movedIou = 0;
    for (const e of edits) {
      suggested += Number(e.suggested);
      for (const x of parseJsonColumn<SuggestionEdit[]>(e.edits) ?? []) {
        counts[x.action]++;
        if (x.action === 'moved') movedIou += x.iou ?? 0;
      }
    }
    const cachedObjects = new Set(
      (
        await this.db
          .selectFrom('labeling_suggestions')
          .select('object_id')
          .where('job', '=', key)
          .execute()
      ).map((r) => r.object_id),
    );
    return {
      endpoint: cfg?.endpoint,
      objectsWithSuggestions: cachedCount,
      objectsWithoutSuggestions: notices.filter((n) => !cachedObjects.has(n.object_id)).length,
      answers: edits.length,
      suggested,
      ...counts,
      meanMovedIou: counts.moved > 0 ? Math.round((movedIou / counts.moved) * 1000) / 1000 : null,
      lastNotice: notices[0]?.notice ?? null,
    };
  }
}
