import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, ErrorCodes } from '../shared/errors.js';
import {
  JOB_TRANSITIONS,
  LabelingJobStatuses,
  TASK_TRANSITIONS,
  TaskStatuses,
  labelingJobStates,
  labelingTaskStates,
  type LabelingJobStatus,
} from './model.js';
import { openLabelingFixture, type LabelingFixture } from './testing/labeling-fixture.js';

const pairs = (table: Readonly<Record<string, readonly string[]>>) =>
  Object.entries(table)
    .flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`))
    .sort();

describe('the labeling transition tables', () => {
  it('allow exactly Ground Truth job paths: run, fail, stop, and a review reopening a completed job', () => {
    expect(labelingJobStates.states).toEqual(Object.values(LabelingJobStatuses));
    expect(pairs(JOB_TRANSITIONS)).toEqual(
      [
        'Initializing->InProgress',
        'Initializing->Failed',
        'Initializing->Stopping',
        'InProgress->Completed',
        'InProgress->Failed',
        'InProgress->Stopping',
        'Completed->InProgress',
        'Stopping->Stopped',
        'Stopping->Failed',
      ].sort(),
    );
    expect(labelingJobStates.terminalStates).toEqual(['Failed', 'Stopped']);
  });

  it('allow exactly the slot paths: claim, submit, return to the queue, close', () => {
    expect(labelingTaskStates.states).toEqual(Object.values(TaskStatuses));
    expect(pairs(TASK_TRANSITIONS)).toEqual(
      [
        'open->claimed',
        'open->closed',
        'claimed->submitted',
        'claimed->open',
        'claimed->closed',
      ].sort(),
    );
    expect(labelingTaskStates.terminalStates).toEqual(['submitted', 'closed']);
  });
});

describe('labeling job transitions on the database', () => {
  let f: LabelingFixture;
  beforeEach(async () => {
    f = await openLabelingFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  /** Records each status the job passes through while `op` runs steps. */
  const history: LabelingJobStatus[] = [];
  async function observe(name: string): Promise<void> {
    const { status } = await f.ctx.repo.getJob(name);
    if (history[history.length - 1] !== status) history.push(status);
  }
  function expectLegal(path: readonly LabelingJobStatus[]): void {
    for (let i = 1; i < path.length; i++) {
      expect(
        labelingJobStates.canTransition(path[i - 1]!, path[i]!),
        `${path[i - 1]} -> ${path[i]}`,
      ).toBe(true);
    }
  }
  beforeEach(() => {
    history.length = 0;
  });

  it('goes Initializing → InProgress → Completed, then back to InProgress on a relabel', async () => {
    const w = f.worker('ada');
    const job = await f.createJob('bees', 1, { workersPerObject: 1 });
    history.push('Initializing');
    await observe(job.name);
    const t = (await f.queue.claimNext(w, 'bees'))!;
    await f.queue.submit(w, t.taskId, t.version, 's', {
      imageWidth: 64,
      imageHeight: 48,
      boxes: [{ label: 'bee', left: 1, top: 1, width: 10, height: 10 }],
    });
    await observe('bees');
    expect((await f.ctx.repo.getJob('bees')).outputWritten).toBe(true);
    await f.review.relabel('bees', [0]);
    await observe('bees');
    expect(history).toEqual(['Initializing', 'InProgress', 'Completed', 'InProgress']);
    expectLegal(history);
  });

  it('goes Initializing → Failed with the reason when the manifest is missing', async () => {
    const job = await f.createJob('gone', 1, { manifestUri: 's3://bees/nothing.manifest' });
    expect(job.status).toBe('Failed');
    expect(job.failureReason).toBe(
      'ManifestS3Uri s3://bees/nothing.manifest does not exist or cannot be read',
    );
    expectLegal(['Initializing', job.status]);
  });

  it('goes InProgress → Stopping → Stopped with the output written', async () => {
    await f.createJob('bees', 2);
    expect(await f.ctx.repo.setStatus('bees', 'InProgress', 'Stopping')).toBe(true);
    await f.completion.finalize('bees', 'Stopping', 'Stopped');
    const job = await f.ctx.repo.getJob('bees');
    expect(job.status).toBe('Stopped');
    expect(job.outputWritten).toBe(true);
    const slots = await f.ctx.repo.slots('bees', 0, 1);
    expect(slots.every((s) => s.status === 'closed')).toBe(true);
  });

  it('refuses a move the table does not allow as an internal error, leaving the row alone', async () => {
    await f.createJob('bees', 1);
    const err = await f.ctx.repo.setStatus('bees', 'InProgress', 'Initializing').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCodes.Internal);
    expect((err as AppError).message).toBe(
      'illegal labeling job transition InProgress -> Initializing: InProgress may only go to Completed, Failed, Stopping',
    );
    expect((await f.ctx.repo.getJob('bees')).status).toBe('InProgress');
  });

  it('moves only from the status it expects (a compare-and-set)', async () => {
    await f.createJob('bees', 1);
    expect(
      await f.ctx.repo.setStatus('bees', 'Initializing', 'Failed', { failureReason: 'late' }),
    ).toBe(false);
    expect((await f.ctx.repo.getJob('bees')).status).toBe('InProgress');
  });
});
