import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createObjectStore, objectsMigrations, type ObjectStore } from '../../objects/index.js';
import { FakeClock } from '../../shared/clock.js';
import { openDatabase, TagRepository, type Database } from '../../store/index.js';
import type { AutoLabelingPort } from '../active-learning/port.js';
import { Completion } from '../completion.js';
import type { LabelingContext } from '../context.js';
import { ImageGrants } from '../image-grants.js';
import { Initializer } from '../initializer.js';
import { createLabelingJob, type CreateLabelingJobInput } from '../job-creation.js';
import { labelingMigrations } from '../migrations.js';
import type { LabelingJobRecord, Worker } from '../model.js';
import { Prelabel } from '../prelabel.js';
import { OutputWriter } from '../output-writer.js';
import { LabelingRepository } from '../repository.js';
import { Review } from '../review.js';
import { TaskQueue } from '../task-queue.js';
import { WorkteamRepository } from '../workteams.js';

/** The labeling parts wired on a real SQLite database and fs object store in a temp dir. */
export interface LabelingFixture {
  readonly dir: string;
  readonly database: Database;
  readonly objects: ObjectStore;
  readonly clock: FakeClock;
  readonly ctx: LabelingContext;
  readonly queue: TaskQueue;
  readonly completion: Completion;
  readonly initializer: Initializer;
  readonly review: Review;
  readonly teamArn: string;
  /** Creates a job over `n` images (labels bee, wasp) and initializes it. */
  createJob(
    name: string,
    n: number,
    extra?: Partial<CreateLabelingJobInput>,
  ): Promise<LabelingJobRecord>;
  /** A worker of the fixture's team (group `bees`). */
  worker(name: string): Worker;
  close(): Promise<void>;
}

const ARN = { region: 'us-east-1', accountId: '000000000000' } as const;

/** `autoLabeling`: the active-learning port the loop's tests pass (absent = no automated labeling). */
export async function openLabelingFixture(
  options: { autoLabeling?: AutoLabelingPort } = {},
): Promise<LabelingFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-labeling-'));
  const database = await openDatabase({
    dataDir: dir,
    migrations: { ...objectsMigrations, ...labelingMigrations },
  });
  const clock = new FakeClock();
  const objects = await createObjectStore({ db: database.db, dataDir: dir, fsync: false, clock });
  await objects.start();
  await objects.createBucket('bees');
  await objects.putObject(
    'bees',
    'labels.json',
    JSON.stringify({ labels: [{ label: 'bee' }, { label: 'wasp' }] }),
    {
      contentType: 'application/json',
    },
  );
  const repo = new LabelingRepository(database.db, clock);
  const workteams = new WorkteamRepository(repo.db as never, clock, ARN);
  const tags = new TagRepository(database.db);
  const ctx: LabelingContext = {
    deps: {
      db: database.db,
      clock,
      arn: ARN,
      objects,
      tags,
      tickMs: 0,
      ...(options.autoLabeling ? { autoLabeling: options.autoLabeling } : {}),
    },
    repo,
    workteams,
    now: () => clock.nowMs(),
  };
  const prelabel = new Prelabel(ctx);
  const output = new OutputWriter(ctx, prelabel);
  const completion = new Completion(ctx, output);
  const queue = new TaskQueue(ctx, completion, new ImageGrants(ctx), prelabel);
  const initializer = new Initializer(ctx, completion);
  const team = await workteams.create({
    name: 'bee-team',
    description: 'bees',
    memberGroups: ['bees'],
    request: {},
  });
  return {
    dir,
    database,
    objects,
    clock,
    ctx,
    queue,
    completion,
    initializer,
    review: new Review(ctx),
    teamArn: team.arn,
    async createJob(name, n, extra = {}) {
      const manifest = Array.from({ length: n }, (_, i) =>
        JSON.stringify({ 'source-ref': `s3://bees/img-${i}.jpg` }),
      );
      await objects.putObject('bees', `${name}.manifest`, manifest.join('\n') + '\n', {
        contentType: 'application/jsonlines',
      });
      await createLabelingJob(ctx, {
        name,
        labelAttributeName: 'bounding-box',
        manifestUri: `s3://bees/${name}.manifest`,
        outputPath: 's3://bees/output/',
        labelCategoryConfigUri: 's3://bees/labels.json',
        workteamArn: team.arn,
        uiTemplateUri: undefined,
        humanTaskUiArn: `arn:aws:sagemaker:us-east-1:000000000000:human-task-ui/apiary-bounding-box`,
        preHumanTaskLambdaArn: undefined,
        consolidationLambdaArn: undefined,
        taskTitle: 'Draw boxes',
        taskDescription: 'Draw a box around each bee',
        workersPerObject: 2,
        taskTimeLimitSeconds: 300,
        availabilityLifetimeSeconds: 3600,
        maxConcurrentTaskCount: undefined,
        maxHumanLabeledObjectCount: undefined,
        maxPercentageOfInputDatasetLabeled: undefined,
        request: {},
        tags: [],
        ...extra,
      });
      await initializer.initialize(name);
      return repo.getJob(name);
    },
    worker: (name) => ({ id: `id-${name}`, username: name, role: 'worker', groups: ['bees'] }),
    async close() {
      await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
