import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateLabelingJobCommand,
  CreateWorkteamCommand,
  DeleteWorkteamCommand,
  DescribeLabelingJobCommand,
  DescribeWorkteamCommand,
  ListLabelingJobsCommand,
  ListLabelingJobsForWorkteamCommand,
  ListWorkteamsCommand,
  SageMakerClient,
  StopLabelingJobCommand,
  UpdateWorkteamCommand,
  type CreateLabelingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { sdkConfig, type TestServer } from './helpers/server.js';
import {
  ACS_BOX,
  BOX_UI,
  createCognitoTeam,
  getText,
  JumpClock,
  PortalClient,
  PRE_BOX,
  putObject,
  startLabelingServer,
  uploadDataset,
  waitForStatus,
} from './labeling-helpers.js';

const clock = new JumpClock();
let server: TestServer;
let sm: SageMakerClient;
let s3: S3Client;
let data: Awaited<ReturnType<typeof uploadDataset>>;
let teamArn: string;
const ada = new PortalClient('');
const bob = new PortalClient('');
const eve = new PortalClient('');

const XSS = '<img src=x onerror=alert(1)>';

beforeAll(async () => {
  server = await startLabelingServer(clock);
  sm = new SageMakerClient(sdkConfig(server));
  data = await uploadDataset(server, 'bees', {
    n: 3,
    labels: ['bee', `wasp ${XSS}`],
    width: 64,
    height: 48,
  });
  s3 = data.s3;
  const id = server.apiary.identity;
  await id.createUser({
    username: 'ada',
    password: 'ada-password',
    role: 'worker',
    groups: ['bee-team'],
  });
  await id.createUser({
    username: 'bob',
    password: 'bob-password',
    role: 'worker',
    groups: ['bee-team', 'other'],
  });
  await id.createUser({
    username: 'eve',
    password: 'eve-password',
    role: 'worker',
    groups: ['wasps'],
  });
  for (const [c, u] of [
    [ada, 'ada'],
    [bob, 'bob'],
    [eve, 'eve'],
  ] as const) {
    (c as { url: string }).url = server.url;
    expect((await c.login(u, `${u}-password`)).status).toBe(200);
  }
  teamArn = await createCognitoTeam(sm, {
    name: 'bee-labelers',
    group: 'bee-team',
    description: 'People who know bees',
  });
});
afterAll(async () => {
  sm?.destroy();
  await server?.close();
});

const jobInput = (
  name: string,
  extra: Partial<CreateLabelingJobCommandInput> = {},
): CreateLabelingJobCommandInput => ({
  LabelingJobName: name,
  LabelAttributeName: 'bounding-box',
  InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: data.manifestUri } } },
  OutputConfig: { S3OutputPath: 's3://bees/output/' },
  RoleArn: 'arn:aws:iam::000000000000:role/labeling',
  LabelCategoryConfigS3Uri: data.labelsUri,
  HumanTaskConfig: {
    WorkteamArn: teamArn,
    UiConfig: { HumanTaskUiArn: BOX_UI(server.region) },
    PreHumanTaskLambdaArn: PRE_BOX,
    AnnotationConsolidationConfig: { AnnotationConsolidationLambdaArn: ACS_BOX },
    TaskTitle: 'Draw a box around every bee',
    TaskDescription: `Boxes tight around each bee ${XSS}`,
    NumberOfHumanWorkersPerDataObject: 2,
    TaskTimeLimitInSeconds: 300,
    TaskAvailabilityLifetimeInSeconds: 3600,
    MaxConcurrentTaskCount: 100,
  },
  ...extra,
});

const box = (left: number, top: number, width: number, height: number, label = 'bee') => ({
  label,
  left,
  top,
  width,
  height,
});

describe('work teams over the SageMaker API', () => {
  it('creates, describes, lists and updates a private work team whose members are Apiary groups', async () => {
    expect(teamArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:workteam/private-crowd/bee-labelers',
    );
    const d = await sm.send(new DescribeWorkteamCommand({ WorkteamName: 'bee-labelers' }));
    expect(d.Workteam).toMatchObject({
      WorkteamName: 'bee-labelers',
      WorkteamArn: teamArn,
      WorkforceArn: 'arn:aws:sagemaker:us-east-1:000000000000:workforce/default',
      Description: 'People who know bees',
      MemberDefinitions: [
        {
          CognitoMemberDefinition: {
            UserPool: 'us-east-1_apiary',
            UserGroup: 'bee-team',
            ClientId: 'apiary',
          },
        },
      ],
    });
    expect(d.Workteam!.CreateDate).toBeInstanceOf(Date);
    await sm.send(
      new CreateWorkteamCommand({
        WorkteamName: 'temp',
        Description: 'x',
        MemberDefinitions: [{ OidcMemberDefinition: { Groups: ['g1', 'g2'] } }],
      }),
    );
    const listed = await sm.send(new ListWorkteamsCommand({ SortBy: 'Name' }));
    expect(listed.Workteams!.map((t) => t.WorkteamName)).toEqual(['bee-labelers', 'temp']);
    const updated = await sm.send(
      new UpdateWorkteamCommand({ WorkteamName: 'temp', Description: 'renamed' }),
    );
    expect(updated.Workteam!.Description).toBe('renamed');
    expect(updated.Workteam!.MemberDefinitions).toEqual([
      { OidcMemberDefinition: { Groups: ['g1', 'g2'] } },
    ]);
    await expect(
      sm.send(
        new CreateWorkteamCommand({
          WorkteamName: 'TEMP',
          Description: 'x',
          MemberDefinitions: [{ OidcMemberDefinition: { Groups: ['g'] } }],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ResourceInUse',
    });
    expect((await sm.send(new DeleteWorkteamCommand({ WorkteamName: 'temp' }))).Success).toBe(true);
    await expect(
      sm.send(new DescribeWorkteamCommand({ WorkteamName: 'temp' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        'Could not find workteam "arn:aws:sagemaker:us-east-1:000000000000:workteam/private-crowd/temp".',
    });
  });
});

describe('a bounding-box labeling job from manifest to output manifest', () => {
  it('runs two workers per object, consolidates, and writes the Ground Truth output', async () => {
    const created = await sm.send(new CreateLabelingJobCommand(jobInput('bees-1')));
    expect(created.LabelingJobArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:labeling-job/bees-1',
    );
    await expect(sm.send(new CreateLabelingJobCommand(jobInput('BEES-1')))).rejects.toMatchObject({
      name: 'ResourceInUse',
    });
    const running = await waitForStatus(sm, 'bees-1', ['InProgress']);
    expect(running.LabelCounters).toEqual({
      TotalLabeled: 0,
      HumanLabeled: 0,
      MachineLabeled: 0,
      FailedNonRetryableError: 0,
      Unlabeled: 3,
    });
    expect(running.LabelingJobOutput).toBeUndefined();
    expect(running.HumanTaskConfig?.TaskTitle).toBe('Draw a box around every bee');

    // The outsider sees nothing of the team's job.
    expect((await eve.call('GET', '/_apiary/api/labeling/jobs')).json).toEqual({ jobs: [] });
    expect((await eve.call('POST', '/_apiary/api/labeling/jobs/bees-1/next')).status).toBe(404);

    const jobs = (await ada.call('GET', '/_apiary/api/labeling/jobs')).json.jobs;
    expect(jobs).toEqual([
      expect.objectContaining({
        name: 'bees-1',
        available: 3,
        labels: ['bee', `wasp ${XSS}`],
        claimedTaskId: null,
      }),
    ]);

    const a1 = (await ada.call('POST', '/_apiary/api/labeling/jobs/bees-1/next')).json.task;
    const b1 = (await bob.call('POST', '/_apiary/api/labeling/jobs/bees-1/next')).json.task;
    expect(a1.taskId).not.toBe(b1.taskId);
    expect(a1.sourceName).toBe('bee-0.png');
    expect(b1.sourceName).toBe('bee-0.png'); // the same object, another slot: N different workers
    // Asking again returns the task already held, not a second one.
    expect(
      (await ada.call('POST', '/_apiary/api/labeling/jobs/bees-1/next')).json.task.taskId,
    ).toBe(a1.taskId);

    // Images: only through the signed URL, only for the user it was minted for.
    const img = await ada.call('GET', a1.imageUrl);
    expect(img.status).toBe(200);
    expect(img.res.headers.get('content-type')).toBe('image/png');
    expect(img.res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect((await eve.call('GET', a1.imageUrl)).status).toBe(404);
    expect((await bob.call('GET', a1.imageUrl)).status).toBe(404);
    expect((await new PortalClient(server.url).call('GET', a1.imageUrl)).status).toBe(401);
    // Someone else's task: 404 with no data.
    const peek = await eve.call('GET', `/_apiary/api/labeling/tasks/${a1.taskId}`);
    expect(peek).toMatchObject({
      status: 404,
      json: { error: { code: 'NotFound', message: 'No such task of yours' } },
    });
    expect(
      (
        await bob.call('PUT', `/_apiary/api/labeling/tasks/${a1.taskId}/draft`, {
          version: a1.version,
          draft: {},
        })
      ).status,
    ).toBe(404);
    // Workers never reach admin routes.
    expect((await ada.call('GET', '/_apiary/api/labeling/jobs/bees-1/workers')).status).toBe(403);

    // Drafts: saved server-side, versioned; a stale save is 409.
    const d1 = await ada.call('PUT', `/_apiary/api/labeling/tasks/${a1.taskId}/draft`, {
      version: a1.version,
      draft: { boxes: [box(1, 2, 3, 4)] },
    });
    expect(d1).toMatchObject({ status: 200, json: { version: a1.version + 1 } });
    const stale = await ada.call('PUT', `/_apiary/api/labeling/tasks/${a1.taskId}/draft`, {
      version: a1.version,
      draft: { boxes: [] },
    });
    expect(stale.status).toBe(409);
    expect(stale.json.error).toMatchObject({ code: 'Conflict', currentVersion: a1.version + 1 });
    const reloaded = (await ada.call('GET', `/_apiary/api/labeling/tasks/${a1.taskId}`)).json.task;
    expect(reloaded.draft).toEqual({ boxes: [box(1, 2, 3, 4)] });

    // Submit is idempotent on submissionId.
    const answer = {
      imageWidth: 64,
      imageHeight: 48,
      boxes: [box(10, 10, 20, 20), box(40, 5, 10, 10, `wasp ${XSS}`)],
    };
    const s1 = await ada.call('POST', `/_apiary/api/labeling/tasks/${a1.taskId}/submit`, {
      version: reloaded.version,
      submissionId: 'sub-ada-00001',
      answer,
    });
    expect(s1.status).toBe(200);
    const retry = await ada.call('POST', `/_apiary/api/labeling/tasks/${a1.taskId}/submit`, {
      version: reloaded.version,
      submissionId: 'sub-ada-00001',
      answer,
    });
    expect(retry).toMatchObject({ status: 200, json: s1.json });
    const other = await ada.call('POST', `/_apiary/api/labeling/tasks/${a1.taskId}/submit`, {
      version: reloaded.version,
      submissionId: 'sub-ada-00002',
      answer,
    });
    expect(other.status).toBe(409);
    const badLabel = await bob.call('POST', `/_apiary/api/labeling/tasks/${b1.taskId}/submit`, {
      version: b1.version,
      submissionId: 'sub-bob-00001',
      answer: { imageWidth: 64, imageHeight: 48, boxes: [box(1, 1, 5, 5, 'dog')] },
    });
    expect(badLabel.status).toBe(400);
    expect(badLabel.json.error.message).toContain('Unknown label "dog"');
    await bob.call('POST', `/_apiary/api/labeling/tasks/${b1.taskId}/submit`, {
      version: b1.version,
      submissionId: 'sub-bob-00001',
      answer: { imageWidth: 64, imageHeight: 48, boxes: [box(12, 11, 20, 19)] },
    });

    // The other two objects: both workers, one draws nothing on the last image.
    for (const [c, who] of [
      [ada, 'ada'],
      [bob, 'bob'],
    ] as const) {
      for (let i = 0; i < 2; i++) {
        const t = (await c.call('POST', '/_apiary/api/labeling/jobs/bees-1/next')).json.task;
        expect(t).not.toBeNull();
        const boxes = t.sourceName === 'bee-2.png' ? [] : [box(5, 5, 30, 30)];
        const r = await c.call('POST', `/_apiary/api/labeling/tasks/${t.taskId}/submit`, {
          version: t.version,
          submissionId: `sub-${who}-1${i}000`,
          answer: { imageWidth: 64, imageHeight: 48, boxes },
        });
        expect(r.status).toBe(200);
      }
      expect((await c.call('POST', '/_apiary/api/labeling/jobs/bees-1/next')).json.task).toBeNull();
    }

    const done = await waitForStatus(sm, 'bees-1', ['Completed']);
    expect(done.LabelCounters).toEqual({
      TotalLabeled: 3,
      HumanLabeled: 3,
      MachineLabeled: 0,
      FailedNonRetryableError: 0,
      Unlabeled: 0,
    });
    const outputUri = done.LabelingJobOutput!.OutputDatasetS3Uri!;
    // The tutorial's own way of finding it.
    expect(outputUri).toBe(
      done.OutputConfig!.S3OutputPath + 'bees-1' + '/manifests/output/output.manifest',
    );
    const lines = (await getText(s3, 'bees', 'output/bees-1/manifests/output/output.manifest'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]['source-ref']).toBe(data.refs[0]);
    // The wasp box only one of two workers drew is kept (half is not a minority), with half the confidence.
    expect(lines[0]['bounding-box']).toEqual({
      image_size: [{ width: 64, height: 48, depth: 3 }],
      annotations: [
        { class_id: 1, left: 40, top: 5, width: 10, height: 10 },
        { class_id: 0, left: 11, top: 10, width: 20, height: 20 },
      ],
    });
    const meta = lines[0]['bounding-box-metadata'];
    expect(meta).toMatchObject({
      'class-map': { '0': 'bee', '1': `wasp ${XSS}` },
      type: 'groundtruth/object-detection',
      'human-annotated': 'yes',
      'job-name': 'labeling-job/bees-1',
    });
    expect(meta.objects).toHaveLength(2);
    expect(meta.objects[0].confidence).toBe(0.5);
    expect(meta.objects[1].confidence).toBeGreaterThan(0.8);
    expect(meta['creation-date']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(lines[2]['bounding-box']).toEqual({
      image_size: [{ width: 64, height: 48, depth: 3 }],
      annotations: [],
    });

    const keys = (
      await s3.send(new ListObjectsV2Command({ Bucket: 'bees', Prefix: 'output/bees-1/' }))
    ).Contents!.map((c) => c.Key!);
    expect(
      keys.filter((k) => k.startsWith('output/bees-1/annotations/worker-response/iteration-1/0/')),
    ).toHaveLength(1);
    expect(
      keys.some((k) =>
        k.startsWith(
          'output/bees-1/annotations/consolidated-annotation/consolidation-request/iteration-1/',
        ),
      ),
    ).toBe(true);
    expect(
      keys.some((k) =>
        k.startsWith(
          'output/bees-1/annotations/consolidated-annotation/consolidation-response/iteration-1/',
        ),
      ),
    ).toBe(true);
    const wr = JSON.parse(
      await getText(
        s3,
        'bees',
        keys.find((k) => k.includes('worker-response/iteration-1/0/'))!,
      ),
    );
    expect(wr.answers).toHaveLength(2);
    expect(wr.answers[0].answerContent.boundingBox.inputImageProperties).toEqual({
      height: 48,
      width: 64,
    });
    expect(wr.answers[0].acceptanceTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const forTeam = await sm.send(new ListLabelingJobsForWorkteamCommand({ WorkteamArn: teamArn }));
    expect(forTeam.LabelingJobSummaryList).toEqual([
      expect.objectContaining({
        LabelingJobName: 'bees-1',
        WorkRequesterAccountId: '000000000000',
        NumberOfHumanWorkersPerDataObject: 2,
        LabelCounters: { HumanLabeled: 3, PendingHuman: 0, Total: 3 },
      }),
    ]);
    const list = await sm.send(new ListLabelingJobsCommand({ StatusEquals: 'Completed' }));
    expect(list.LabelingJobSummaryList!.map((j) => j.LabelingJobName)).toEqual(['bees-1']);
  });

  it('returns an expired claim to the queue, and a late submit is refused', async () => {
    await sm.send(
      new CreateLabelingJobCommand(
        jobInput('bees-expiry', {
          HumanTaskConfig: {
            ...jobInput('x').HumanTaskConfig!,
            NumberOfHumanWorkersPerDataObject: 1,
            TaskTimeLimitInSeconds: 60,
          },
        }),
      ),
    );
    await waitForStatus(sm, 'bees-expiry', ['InProgress']);
    const t = (await ada.call('POST', '/_apiary/api/labeling/jobs/bees-expiry/next')).json.task;
    expect(t.expiresAtMs - t.claimedAtMs).toBe(60_000);
    // Bob gets the next object, not ada's.
    const b = (await bob.call('POST', '/_apiary/api/labeling/jobs/bees-expiry/next')).json.task;
    expect(b.sourceName).toBe('bee-1.png');
    clock.advance(61_000);
    const late = await ada.call('POST', `/_apiary/api/labeling/tasks/${t.taskId}/submit`, {
      version: t.version,
      submissionId: 'late-submit-1',
      answer: { imageWidth: 64, imageHeight: 48, boxes: [] },
    });
    expect(late).toMatchObject({ status: 410, json: { error: { code: 'Gone' } } });
    // The object went back to the queue: the first to ask gets it.
    const again = await eve.call('POST', '/_apiary/api/labeling/jobs/bees-expiry/next');
    expect(again.status).toBe(404);
    const retaken = (await bob.call('POST', '/_apiary/api/labeling/jobs/bees-expiry/next')).json
      .task;
    expect(retaken.sourceName).toBe('bee-0.png');
    await sm.send(new StopLabelingJobCommand({ LabelingJobName: 'bees-expiry' }));
    const stopped = await waitForStatus(sm, 'bees-expiry', ['Stopped']);
    expect(stopped.LabelCounters!.Unlabeled).toBe(3);
    expect(stopped.LabelingJobOutput!.OutputDatasetS3Uri).toBe(
      's3://bees/output/bees-expiry/manifests/output/output.manifest',
    );
    // Unlabeled lines are copied verbatim.
    expect(await getText(s3, 'bees', 'output/bees-expiry/manifests/output/output.manifest')).toBe(
      data.refs.map((r) => JSON.stringify({ 'source-ref': r })).join('\n') + '\n',
    );
  });

  it('answers ResourceNotFound for unknown jobs and fails a job with a bad manifest', async () => {
    await expect(
      sm.send(new DescribeLabelingJobCommand({ LabelingJobName: 'nope' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFound' });
    await expect(
      sm.send(new StopLabelingJobCommand({ LabelingJobName: 'nope' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFound' });
    await putObject(
      s3,
      'bees',
      'bad.manifest',
      '{"source-ref": "s3://bees/images/bee-0.png"}\nnot json\n',
    );
    await sm.send(
      new CreateLabelingJobCommand(
        jobInput('bad-manifest', {
          InputConfig: {
            DataSource: { S3DataSource: { ManifestS3Uri: 's3://bees/bad.manifest' } },
          },
        }),
      ),
    );
    const failed = await waitForStatus(sm, 'bad-manifest', ['Failed']);
    expect(failed.FailureReason).toBe('line 2 of the input manifest is not a JSON object');
    await expect(
      sm.send(
        new CreateLabelingJobCommand(
          jobInput('bad-attr', { LabelAttributeName: 'boxes-metadata' }),
        ),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await sm.send(
      new CreateLabelingJobCommand(
        jobInput('no-labels', { LabelCategoryConfigS3Uri: 's3://bees/missing.json' }),
      ),
    );
    expect((await waitForStatus(sm, 'no-labels', ['Failed'])).FailureReason).toBe(
      'LabelCategoryConfigS3Uri s3://bees/missing.json does not exist or cannot be read',
    );
  });

  it('runs an image-classification job and writes groundtruth/image-classification', async () => {
    await sm.send(
      new CreateLabelingJobCommand(
        jobInput('classify', {
          LabelAttributeName: 'species',
          HumanTaskConfig: {
            ...jobInput('x').HumanTaskConfig!,
            UiConfig: {
              HumanTaskUiArn:
                'arn:aws:sagemaker:us-east-1:000000000000:human-task-ui/apiary-image-classification',
            },
            PreHumanTaskLambdaArn: undefined,
            AnnotationConsolidationConfig: undefined,
            NumberOfHumanWorkersPerDataObject: 1,
          },
        }),
      ),
    );
    await waitForStatus(sm, 'classify', ['InProgress']);
    for (let i = 0; i < 3; i++) {
      const t = (await ada.call('POST', '/_apiary/api/labeling/jobs/classify/next')).json.task;
      expect(t.taskType).toBe('image-classification');
      await ada.call('POST', `/_apiary/api/labeling/tasks/${t.taskId}/submit`, {
        version: t.version,
        submissionId: `classify-${i}-0000`,
        answer: { label: i === 1 ? `wasp ${XSS}` : 'bee' },
      });
    }
    await waitForStatus(sm, 'classify', ['Completed']);
    const lines = (await getText(s3, 'bees', 'output/classify/manifests/output/output.manifest'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[1].species).toBe(1);
    expect(lines[1]['species-metadata']).toMatchObject({
      'class-name': `wasp ${XSS}`,
      confidence: 0,
      type: 'groundtruth/image-classification',
      'human-annotated': 'yes',
    });
  });
});
