import { seededRandom } from '../../shared/random.js';
import { AppError, ErrorCodes } from '../../shared/errors.js';
import { parseS3Uri } from '../../shared/s3-uri.js';
import { jsonColumn, parseJsonColumn } from '../../store/index.js';
import type { Completion } from '../completion.js';
import type { LabelingContext } from '../context.js';
import type { LabelingJobRecord } from '../model.js';
import type { Consolidated } from '../output.js';
import { jobKey, type LabelingTables, type ObjectRow } from '../repository.js';
import { humanLabelLines, putManifest } from './manifest.js';
import type { AutoLabelingPort, PortDetections } from './port.js';
import { decideRound, scoredBoxes, type ValidationObject } from './prediction.js';
import { toView, type RoundView } from './round-view.js';
import {
  firstBatch,
  HELD_BY_LOOP,
  humanBatchSize,
  roundStates,
  roundTrainingJobName,
  validationShare,
  type RoundStatus,
} from './rounds.js';
import { BOX_TARGET_IOU } from './threshold.js';
import { roundHyperParameters, roundTrainingRequest, type WarmStart } from './training-round.js';

/**
 * The active-learning loop of automated data labeling, one step per labeling tick (under the
 * coordinator lease). Its state is the `labeling_al_rounds` table; every step is idempotent and
 * guarded by the round's status, so a restarted server resumes where it was:
 *
 *   HumanLabeling (a batch is out to people) → Training (an ordinary `<job>-al-round-N` training
 *   job of the built-in detector on every human label so far, starting from the previous round's
 *   model, or for round 1 from `InitialActiveLearningModelArn`'s) → Predicting (an ordinary model;
 *   the artifact runs over the held objects and the held-out validation objects; the threshold is
 *   chosen; objects above it are machine-labelled, the least confident go to people as round N+1)
 *   → Done. A failed training or prediction ends the round Failed with a notice and gives every
 *   object still held to people.
 */

type RoundRow = LabelingTables['labeling_al_rounds'];

/** The loop (see the module comment). */
export class ActiveLearningLoop {
  private readonly running = new Set<string>();

  constructor(
    private readonly ctx: LabelingContext,
    private readonly completion: Completion,
  ) {}

  private get db() {
    return this.ctx.repo.db;
  }

  /** The job's rounds, oldest first. */
  async rounds(jobName: string): Promise<RoundView[]> {
    return (await this.roundRows(jobKey(jobName))).map(toView);
  }

  /** The last round's model: `LabelingJobOutput.FinalActiveLearningModelArn`. */
  async finalModelArn(jobName: string): Promise<string | undefined> {
    const rows = await this.roundRows(jobKey(jobName));
    return rows
      .map((r) => r.model_arn)
      .filter((a): a is string => !!a)
      .at(-1);
  }

  /** One step for an InProgress job with automated labeling; a no-op for the others. */
  async step(jobName: string): Promise<void> {
    const port = this.ctx.deps.autoLabeling;
    if (!port || this.running.has(jobName)) return;
    this.running.add(jobName);
    try {
      const job = await this.ctx.repo.getJob(jobName);
      if (!job.spec.autoLabeling || job.status !== 'InProgress') return;
      const key = jobKey(job.name);
      const cur = (await this.roundRows(key)).at(-1);
      if (!cur) return await this.startFirstRound(job);
      switch (cur.status as RoundStatus) {
        case 'HumanLabeling':
          return await this.afterHumans(job, port, cur);
        case 'Training':
          return await this.followTraining(job, port, cur);
        case 'Predicting':
          return await this.predict(job, port, cur);
        case 'Done':
        case 'Failed':
          return;
      }
    } finally {
      this.running.delete(jobName);
    }
  }

  private roundRows(key: string): Promise<RoundRow[]> {
    return this.db
      .selectFrom('labeling_al_rounds')
      .selectAll()
      .where('job', '=', key)
      .orderBy('round')
      .execute();
  }

  private async held(key: string): Promise<ObjectRow[]> {
    return this.db
      .selectFrom('labeling_objects')
      .selectAll()
      .where('job', '=', key)
      .where('status', '=', 'pending')
      .where('released', '=', HELD_BY_LOOP)
      .orderBy('object_id')
      .execute();
  }

  /** Round 1: a seeded random first batch (the same after a restart), 20 % held out. */
  private async startFirstRound(job: LabelingJobRecord): Promise<void> {
    const key = jobKey(job.name);
    const ids = (await this.held(key)).map((o) => o.object_id);
    if (ids.length === 0) return;
    const seed = Array.from(`${job.name}/${job.createdAtMs}`).reduce(
      (h, c) => (h * 31 + c.charCodeAt(0)) >>> 0,
      7,
    );
    const batch = firstBatch(
      ids,
      humanBatchSize(job.objectCount, job.spec.maxConcurrentTaskCount),
      seededRandom(seed),
      validationShare(job.objectCount),
    );
    await this.insertRound(key, 1, [...batch.validation, ...batch.train], batch.validation);
    await this.giveToPeople(job, [...batch.validation, ...batch.train]);
  }

  private async insertRound(
    key: string,
    round: number,
    batch: readonly number[],
    validation: readonly number[],
  ): Promise<void> {
    const now = this.ctx.now();
    await this.db
      .insertInto('labeling_al_rounds')
      .values({
        job: key,
        round,
        status: 'HumanLabeling',
        batch: jsonColumn(batch),
        validation: jsonColumn(validation),
        training_job: null,
        model_arn: null,
        threshold: null,
        estimated_quality: null,
        support: null,
        machine_labeled: 0,
        notice: null,
        created_at_ms: now,
        updated_at_ms: now,
      })
      .onConflict((oc) => oc.columns(['job', 'round']).doNothing())
      .execute();
  }

  /** Held objects → the queue (released 0; Completion releases them within MaxConcurrentTaskCount). */
  private async giveToPeople(job: LabelingJobRecord, ids: readonly number[]): Promise<void> {
    const key = jobKey(job.name);
    for (let i = 0; i < ids.length; i += 400) {
      await this.db
        .updateTable('labeling_objects')
        .set({ released: 0 })
        .where('job', '=', key)
        .where('released', '=', HELD_BY_LOOP)
        .where('object_id', 'in', ids.slice(i, i + 400))
        .execute();
    }
    await this.completion.releaseMore(await this.ctx.repo.getJob(job.name));
  }

  private async setRound(
    key: string,
    round: RoundRow,
    to: RoundStatus,
    patch: Partial<RoundRow> = {},
  ): Promise<boolean> {
    roundStates.assertTransition(round.status as RoundStatus, to);
    const r = await this.db
      .updateTable('labeling_al_rounds')
      .set({ ...patch, status: to, updated_at_ms: this.ctx.now() })
      .where('job', '=', key)
      .where('round', '=', round.round)
      .where('status', '=', round.status)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The round's people are done: train on every human label so far (or finish when nothing is held). */
  private async afterHumans(
    job: LabelingJobRecord,
    port: AutoLabelingPort,
    round: RoundRow,
  ): Promise<void> {
    const key = jobKey(job.name);
    const batch = parseJsonColumn<number[]>(round.batch) ?? [];
    const waiting = await this.db
      .selectFrom('labeling_objects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job', '=', key)
      .where('status', '=', 'pending')
      .where('object_id', 'in', batch.length ? batch : [-1])
      .executeTakeFirst();
    if (Number(waiting?.n ?? 0) > 0) return;
    if ((await this.held(key)).length === 0) {
      await this.setRound(key, round, 'Done');
      return;
    }
    const name = roundTrainingJobName(job.name, round.round);
    const rows = await this.roundRows(key);
    const heldOut = new Set(rows.flatMap((r) => parseJsonColumn<number[]>(r.validation) ?? []));
    const data = await humanLabelLines(this.ctx, job, key, heldOut);
    if (data.train.length === 0) {
      await this.fail(job, key, round, 'no human-labelled objects to train on');
      return;
    }
    const prefix = `${job.spec.outputPath}/${job.name}/activelearning/round-${round.round}`;
    await putManifest(this.ctx, `${prefix}/train.manifest`, data.train);
    if (data.validation.length) {
      await putManifest(this.ctx, `${prefix}/validation.manifest`, data.validation);
    }
    const warm = await this.warmStart(job, port, rows, round);
    const request = roundTrainingRequest({
      name,
      prefix,
      labelAttributeName: job.spec.labelAttributeName,
      labelingJobName: job.name,
      roleArn: roleArn(this.ctx),
      hasValidation: data.validation.length > 0,
      warm,
      hyperParameters: roundHyperParameters({
        warm,
        maxImageSide: data.maxImageSide,
        overrides: port.hyperParameters,
        numClasses: job.spec.labels.length,
        numTrainingSamples: data.train.length,
      }),
    });
    try {
      await port.createTrainingJob(request);
    } catch (err) {
      // A retry after a restart finds its own job: carry on following it.
      if (!(err instanceof AppError && err.code === ErrorCodes.InUse)) {
        await this.fail(job, key, round, `CreateTrainingJob ${name}: ${(err as Error).message}`);
        return;
      }
    }
    await this.setRound(key, round, 'Training', { training_job: name });
  }

  /**
   * The model a round starts from (SageMaker's incremental training): the last round that trained
   * one, else `InitialActiveLearningModelArn`'s; none when neither exists or its signature does not
   * fit the job (another number of classes) — the round then trains from scratch.
   */
  private async warmStart(
    job: LabelingJobRecord,
    port: AutoLabelingPort,
    rows: readonly RoundRow[],
    round: RoundRow,
  ): Promise<WarmStart | undefined> {
    const previous = rows
      .filter((r) => r.round < round.round && r.model_arn && r.training_job)
      .at(-1);
    let source: { url: string | undefined; what: string } | undefined;
    if (previous) {
      const t = await port.trainingJob(previous.training_job!);
      source = { url: t?.modelArtifacts, what: `round ${previous.round}` };
    } else if (job.spec.autoLabeling?.initialModelArn) {
      const arn = job.spec.autoLabeling.initialModelArn;
      const m = await port.model(arn.split('/').pop()!);
      source = { url: m?.objectDetection ? m.modelDataUrl : undefined, what: arn };
    }
    if (!source?.url) return undefined;
    try {
      const signature = await port.artifactSignature(source.url);
      if (signature.numClasses !== Math.max(1, job.spec.labels.length)) return undefined;
      return { modelDataUrl: source.url, signature, source: source.what };
    } catch {
      return undefined; // an unreadable artifact: train from scratch rather than fail the round
    }
  }

  private async followTraining(
    job: LabelingJobRecord,
    port: AutoLabelingPort,
    round: RoundRow,
  ): Promise<void> {
    const key = jobKey(job.name);
    const name = round.training_job!;
    const t = await port.trainingJob(name);
    if (!t) {
      await this.fail(job, key, round, `training job ${name} is gone`);
      return;
    }
    if (t.status === 'InProgress' || t.status === 'Stopping') return;
    if (t.status !== 'Completed' || !t.modelArtifacts) {
      await this.fail(
        job,
        key,
        round,
        `training job ${name} ${t.status}${t.failureReason ? `: ${t.failureReason}` : ''}`,
      );
      return;
    }
    let modelArn: string;
    try {
      modelArn = await port.createModel(name, t.modelArtifacts, roleArn(this.ctx));
    } catch (err) {
      await this.fail(job, key, round, `CreateModel ${name}: ${(err as Error).message}`);
      return;
    }
    await this.setRound(key, round, 'Predicting', { model_arn: modelArn });
  }

  /**
   * Predicts on the held objects and the held-out validation objects, picks the threshold,
   * machine-labels what passes it and opens round N+1 with the least confident — one transaction,
   * guarded by the round's status, so a restart mid-way repeats the (pure) predictions only.
   */
  private async predict(
    job: LabelingJobRecord,
    port: AutoLabelingPort,
    round: RoundRow,
  ): Promise<void> {
    const key = jobKey(job.name);
    const t = await port.trainingJob(round.training_job!);
    const artifact = t?.modelArtifacts;
    const heldOut = new Set(
      (await this.roundRows(key)).flatMap((r) => parseJsonColumn<number[]>(r.validation) ?? []),
    );
    const validationObjs = await this.db
      .selectFrom('labeling_objects')
      .selectAll()
      .where('job', '=', key)
      .where('status', '=', 'labeled')
      .where('object_id', 'in', heldOut.size ? [...heldOut] : [-1])
      .execute();
    const pool = await this.held(key);
    const all = [...validationObjs, ...pool].filter((o) => o.source_ref);
    let detections: PortDetections[];
    try {
      if (!artifact) throw new Error('the training job has no model artifact');
      detections = await port.detect(
        artifact,
        all.map((o) => parseS3Uri(o.source_ref!, 'source-ref')),
      );
    } catch (err) {
      await this.fail(
        job,
        key,
        round,
        `predicting with ${round.training_job}: ${(err as Error).message}`,
      );
      return;
    }
    const labels = job.spec.labels;
    const byId = new Map(all.map((o, i) => [o.object_id, detections[i]!]));
    const validation: ValidationObject[] = validationObjs.flatMap((o) => {
      const d = byId.get(o.object_id);
      const human = parseJsonColumn<Consolidated>(o.consolidated);
      return d && human?.kind === 'boxes'
        ? [{ boxes: scoredBoxes(d, labels), human: human.boxes }]
        : [];
    });
    const decision = decideRound(
      validation,
      pool.flatMap((o) => {
        const d = byId.get(o.object_id);
        return d ? [{ item: o, detections: d }] : [];
      }),
      labels,
    );
    const { choice, machine } = decision;
    const next = decision.toHumans
      .slice(0, humanBatchSize(job.objectCount, job.spec.maxConcurrentTaskCount))
      .map((c) => c.item.object_id);
    const every = Math.round(1 / validationShare(job.objectCount));
    const nextValidation = next.filter((_, i) => i % every === 0);
    const now = this.ctx.now();
    const moved = await this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('labeling_al_rounds')
        .set({
          status: roundStates.transition('Predicting', 'Done').to,
          threshold: choice?.threshold ?? null,
          estimated_quality: choice?.estimatedQuality ?? null,
          support: choice?.support ?? decision.validated,
          machine_labeled: machine.length,
          notice: choice
            ? null
            : `no threshold reaches mean IoU ${BOX_TARGET_IOU} on ${decision.validated} held-out objects: nothing machine-labelled this round`,
          updated_at_ms: now,
        })
        .where('job', '=', key)
        .where('round', '=', round.round)
        .where('status', '=', 'Predicting')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      for (const c of machine) {
        const result: Consolidated = {
          kind: 'boxes',
          boxes: c.boxes.map((b) => ({
            label: b.label,
            left: b.left,
            top: b.top,
            width: b.width,
            height: b.height,
            confidence: b.score,
            support: 0,
          })),
          imageWidth: c.detections.width,
          imageHeight: c.detections.height,
          machine: true,
        };
        await trx
          .updateTable('labeling_objects')
          .set({
            status: 'labeled',
            machine_labeled: 1,
            consolidated: jsonColumn(result),
            image_width: c.detections.width,
            image_height: c.detections.height,
            completed_at_ms: now,
          })
          .where('job', '=', key)
          .where('object_id', '=', c.item.object_id)
          .where('status', '=', 'pending')
          .where('released', '=', HELD_BY_LOOP)
          .execute();
        // Its slots never reach a worker.
        await trx
          .updateTable('labeling_tasks')
          .set({ status: 'closed' })
          .where('job', '=', key)
          .where('object_id', '=', c.item.object_id)
          .where('status', '=', 'open')
          .where('released', '=', 0)
          .execute();
      }
      if (next.length) {
        await trx
          .insertInto('labeling_al_rounds')
          .values({
            job: key,
            round: round.round + 1,
            status: 'HumanLabeling',
            batch: jsonColumn(next),
            validation: jsonColumn(nextValidation),
            training_job: null,
            model_arn: null,
            threshold: null,
            estimated_quality: null,
            support: null,
            machine_labeled: 0,
            notice: null,
            created_at_ms: now,
            updated_at_ms: now,
          })
          .execute();
      }
      return true;
    });
    if (!moved) return;
    if (next.length) await this.giveToPeople(job, next);
    await this.completion.maybeComplete(job.name);
  }

  /** The round failed: say so, and give every object still held to people (the job goes on). */
  private async fail(
    job: LabelingJobRecord,
    key: string,
    round: RoundRow,
    why: string,
  ): Promise<void> {
    const notice = `Automated labeling round ${round.round} failed (${why.slice(0, 900)}); the remaining objects go to people.`;
    if (!(await this.setRound(key, round, 'Failed', { notice }))) return;
    await this.giveToPeople(
      job,
      (await this.held(key)).map((o) => o.object_id),
    );
  }
}

/** The execution role the loop's jobs and models name (Apiary does not assume roles). */
const roleArn = (ctx: LabelingContext): string =>
  `arn:aws:iam::${ctx.deps.arn.accountId}:role/apiary-labeling-active-learning`;
