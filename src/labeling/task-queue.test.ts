import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelingTaskStates, type TaskStatus, type Worker } from './model.js';
import { TaskError } from './task-error.js';
import { openLabelingFixture, type LabelingFixture } from './testing/labeling-fixture.js';

let f: LabelingFixture;
const ada = () => f.worker('ada');
const bob = () => f.worker('bob');
const cyd = () => f.worker('cyd');
const answer = (label = 'bee') => ({
  imageWidth: 64,
  imageHeight: 48,
  boxes: [{ label, left: 4, top: 4, width: 20, height: 10 }],
});

beforeEach(async () => {
  f = await openLabelingFixture();
});
afterEach(async () => {
  await f.close();
});

/** Every slot's status, by id. */
async function slotStatuses(job: string): Promise<Map<string, TaskStatus>> {
  const rows = await f.ctx.repo.db
    .selectFrom('labeling_tasks')
    .select(['id', 'status'])
    .where('job', '=', job)
    .execute();
  return new Map(rows.map((r) => [r.id, r.status as TaskStatus]));
}

/** Runs `op` and checks that every slot that changed status moved along TASK_TRANSITIONS. */
async function expectLegalMoves<T>(
  job: string,
  op: () => Promise<T>,
): Promise<{ result: T; moves: string[] }> {
  const before = await slotStatuses(job);
  const result = await op();
  const after = await slotStatuses(job);
  const moves: string[] = [];
  for (const [id, to] of after) {
    const from = before.get(id);
    if (from === undefined || from === to) continue;
    moves.push(`${from}->${to}`);
    expect(labelingTaskStates.canTransition(from, to), `${from} -> ${to}`).toBe(true);
  }
  return { result, moves: moves.sort() };
}

async function rejection(p: Promise<unknown>): Promise<TaskError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskError);
  return err as TaskError;
}

describe('the labeling task queue', () => {
  it('gives two workers different slots, never two of one object to one worker, and the same task on asking again', async () => {
    await f.createJob('bees', 2);
    const { result: a, moves } = await expectLegalMoves('bees', () =>
      f.queue.claimNext(ada(), 'bees'),
    );
    expect(moves).toEqual(['open->claimed']);
    const b = await f.queue.claimNext(bob(), 'bees');
    expect(a && b).toBeTruthy();
    expect(a!.taskId).not.toBe(b!.taskId);
    // Both get object 0 (2 workers per object), each their own slot.
    expect(a!.sourceName).toBe('img-0.jpg');
    expect(b!.sourceName).toBe('img-0.jpg');
    expect((await f.queue.claimNext(ada(), 'bees'))!.taskId).toBe(a!.taskId);

    await f.queue.submit(ada(), a!.taskId, a!.version, 'sub-a', answer());
    const next = await f.queue.claimNext(ada(), 'bees');
    expect(next!.sourceName).toBe('img-1.jpg');
  });

  it('never hands one slot to two workers claiming at once', async () => {
    await f.createJob('bees', 1, { workersPerObject: 2 });
    const workers = ['w1', 'w2', 'w3', 'w4'].map((n) => f.worker(n));
    const claims = await Promise.all(workers.map((w) => f.queue.claimNext(w, 'bees')));
    const got = claims.filter((c) => c !== undefined).map((c) => c.taskId);
    expect(got).toHaveLength(2);
    expect(new Set(got).size).toBe(2);
    const holders = await f.ctx.repo.db
      .selectFrom('labeling_tasks')
      .select(['worker_id'])
      .where('status', '=', 'claimed')
      .execute();
    expect(new Set(holders.map((h) => h.worker_id)).size).toBe(2);
  });

  it('versions drafts: a stale version is a Conflict that carries the current one', async () => {
    await f.createJob('bees', 1);
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    const saved = await f.queue.saveDraft(ada(), t.taskId, t.version, { boxes: [1] });
    expect(saved.version).toBe(t.version + 1);
    const err = await rejection(f.queue.saveDraft(ada(), t.taskId, t.version, { boxes: [2] }));
    expect(err.code).toBe('Conflict');
    expect(err.currentVersion).toBe(saved.version);
    expect((await f.queue.getTask(ada(), t.taskId)).draft).toEqual({ boxes: [1] });
  });

  it('makes submit idempotent on submissionId and refuses a second, different submission', async () => {
    await f.createJob('bees', 1);
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    const { result: first, moves } = await expectLegalMoves('bees', () =>
      f.queue.submit(ada(), t.taskId, t.version, 'sub-1', answer()),
    );
    expect(moves).toEqual(['claimed->submitted']);
    expect(await f.queue.submit(ada(), t.taskId, t.version, 'sub-1', answer())).toEqual(first);
    const err = await rejection(f.queue.submit(ada(), t.taskId, first.version, 'sub-2', answer()));
    expect(err.code).toBe('Conflict');
    const stored = await f.ctx.repo.db
      .selectFrom('labeling_tasks')
      .select(['answer'])
      .where('status', '=', 'submitted')
      .execute();
    expect(stored).toHaveLength(1);
  });

  it('refuses an answer with an unknown label as Invalid and keeps the claim', async () => {
    await f.createJob('bees', 1);
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    const err = await rejection(
      f.queue.submit(ada(), t.taskId, t.version, 'sub-1', answer('hornet')),
    );
    expect(err.code).toBe('Invalid');
    expect(err.message).toBe(`Unknown label "hornet"; the job's labels are bee, wasp`);
    expect((await f.queue.getTask(ada(), t.taskId)).taskId).toBe(t.taskId);
  });

  it('returns an expired claim to the queue with its draft dropped; the late submit is Gone', async () => {
    await f.createJob('bees', 1);
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    await f.queue.saveDraft(ada(), t.taskId, t.version, { boxes: [1] });
    f.clock.advance(300_000);
    const { moves } = await expectLegalMoves('bees', () => f.queue.expireClaims('bees'));
    expect(moves).toEqual(['claimed->open']);
    const row = await f.ctx.repo.findTask(t.taskId);
    expect(row).toMatchObject({ status: 'open', worker_id: null, draft: null });
    const err = await rejection(f.queue.submit(ada(), t.taskId, t.version + 1, 'late', answer()));
    expect(err.code).toBe('Gone');
    // The slot is claimable again, by anyone (ada included: an expiry is not an exclusion).
    const again = (await f.queue.claimNext(ada(), 'bees'))!;
    expect(again.taskId).toBe(t.taskId);
    expect(again.draft).toBeNull();
  });

  it('hides a task from a worker who does not hold it, and a job from a worker outside its team', async () => {
    await f.createJob('bees', 1);
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    expect((await rejection(f.queue.getTask(bob(), t.taskId))).code).toBe('NotFound');
    const outsider: Worker = { id: 'id-eve', username: 'eve', role: 'worker', groups: ['wasps'] };
    expect((await rejection(f.queue.claimNext(outsider, 'bees'))).message).toBe(
      'No such labeling job for your teams',
    );
    expect(await f.queue.jobsForWorker(outsider)).toEqual([]);
  });

  it('lets a skipped object go to someone else, never back to the worker who skipped it', async () => {
    await f.createJob('bees', 1, { workersPerObject: 1 });
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    const { moves } = await expectLegalMoves('bees', () =>
      f.queue.release(ada(), t.taskId, 'skip'),
    );
    expect(moves).toEqual(['claimed->open']);
    expect(await f.queue.claimNext(ada(), 'bees')).toBeUndefined();
    expect((await f.queue.claimNext(bob(), 'bees'))!.taskId).toBe(t.taskId);
  });

  it('closes an object once N workers declined it, and the object fails', async () => {
    await f.createJob('bees', 2, { workersPerObject: 2 });
    for (const w of [ada(), bob()]) {
      const t = (await f.queue.claimNext(w, 'bees'))!;
      expect(t.sourceName).toBe('img-0.jpg');
      await f.queue.release(w, t.taskId, 'decline');
    }
    const slots = await f.ctx.repo.slots('bees', 0, 1);
    expect(slots.map((s) => s.status)).toEqual(['closed', 'closed']);
    expect((await f.ctx.repo.getObject('bees', 0)).status).toBe('failed');
    expect((await f.queue.claimNext(cyd(), 'bees'))!.sourceName).toBe('img-1.jpg');
  });

  it('keeps MaxConcurrentTaskCount objects out and releases the next as one finishes', async () => {
    await f.createJob('bees', 3, { workersPerObject: 1, maxConcurrentTaskCount: 1 });
    const [mine] = await f.queue.jobsForWorker(ada());
    expect(mine!.available).toBe(1);
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    expect(await f.queue.claimNext(bob(), 'bees')).toBeUndefined();
    await f.queue.submit(ada(), t.taskId, t.version, 's', answer());
    expect((await f.queue.claimNext(bob(), 'bees'))!.sourceName).toBe('img-1.jpg');
  });

  it('closes open slots past their availability lifetime; unanswered objects fail and the job completes', async () => {
    await f.createJob('bees', 2, { workersPerObject: 1, availabilityLifetimeSeconds: 60 });
    const t = (await f.queue.claimNext(ada(), 'bees'))!;
    await f.queue.submit(ada(), t.taskId, t.version, 's', answer());
    f.clock.advance(60_000);
    const { moves } = await expectLegalMoves('bees', () => f.queue.closeUnavailable('bees'));
    expect(moves).toEqual(['open->closed']);
    expect((await f.ctx.repo.getObject('bees', 1)).status).toBe('failed');
    expect(await f.ctx.repo.counters('bees')).toMatchObject({
      totalLabeled: 1,
      failedNonRetryableError: 1,
      unlabeled: 0,
    });
    expect((await f.ctx.repo.getJob('bees')).status).toBe('Completed');
  });
});
