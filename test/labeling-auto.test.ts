import {
  CreateLabelingJobCommand,
  DescribeLabelingJobCommand,
  SageMakerClient,
  type CreateLabelingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkConfig, type TestServer } from './helpers/server.js';
import {
  ACS_BOX,
  BOX_UI,
  createCognitoTeam,
  JumpClock,
  PRE_BOX,
  startLabelingServer,
  uploadDataset,
  waitForStatus,
} from './labeling-helpers.js';

/**
 * Automated data labeling (LabelingJobAlgorithmsConfig) over the real SageMaker SDK: SageMaker's
 * validation of the config and of the dataset size (the loop itself: labeling-auto-loop.test.ts).
 */

let server: TestServer;
let sm: SageMakerClient;
let data: Awaited<ReturnType<typeof uploadDataset>>;
let teamArn: string;

const ALGO = (algo: string, region = 'us-west-2') =>
  `arn:aws:sagemaker:${region}:027400017018:labeling-job-algorithm-specification/${algo}`;

beforeAll(async () => {
  server = await startLabelingServer(new JumpClock());
  sm = new SageMakerClient(sdkConfig(server));
  data = await uploadDataset(server, 'bees', { n: 2, labels: ['bee'], width: 16, height: 16 });
  teamArn = await createCognitoTeam(sm, {
    name: 'auto-team',
    group: 'bee-team',
    description: 'bees',
  });
});
afterAll(async () => {
  sm?.destroy();
  await server?.close();
});

const jobInput = (
  name: string,
  algorithms: CreateLabelingJobCommandInput['LabelingJobAlgorithmsConfig'],
  preLambda = PRE_BOX,
): CreateLabelingJobCommandInput => ({
  LabelingJobName: name,
  LabelAttributeName: 'bees',
  InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: data.manifestUri } } },
  OutputConfig: { S3OutputPath: 's3://bees/output/' },
  RoleArn: 'arn:aws:iam::000000000000:role/labeling',
  LabelCategoryConfigS3Uri: data.labelsUri,
  LabelingJobAlgorithmsConfig: algorithms,
  HumanTaskConfig: {
    WorkteamArn: teamArn,
    UiConfig: { HumanTaskUiArn: BOX_UI(server.region) },
    PreHumanTaskLambdaArn: preLambda,
    AnnotationConsolidationConfig: { AnnotationConsolidationLambdaArn: ACS_BOX },
    TaskTitle: 'Box the bees',
    TaskDescription: 'Boxes tight around each bee',
    NumberOfHumanWorkersPerDataObject: 1,
    TaskTimeLimitInSeconds: 300,
  },
});

async function refused(input: CreateLabelingJobCommandInput): Promise<string> {
  const err = await sm.send(new CreateLabelingJobCommand(input)).then(
    () => undefined,
    (e: unknown) => e as { name: string; message: string },
  );
  expect(err?.name).toBe('ValidationException');
  // Nothing was created.
  await expect(
    sm.send(new DescribeLabelingJobCommand({ LabelingJobName: input.LabelingJobName })),
  ).rejects.toMatchObject({ name: 'ResourceNotFound' });
  return err!.message;
}

describe('LabelingJobAlgorithmsConfig', () => {
  it('refuses an algorithm ARN for another task type, naming the right ARN', async () => {
    const msg = await refused(
      jobInput('auto-wrong-algo', {
        LabelingJobAlgorithmSpecificationArn: ALGO('image-classification'),
      }),
    );
    expect(msg).toContain('is for image-classification, but this is a bounding-box labeling job');
    expect(msg).toContain('labeling-job-algorithm-specification/object-detection');
  });

  it('refuses ARNs that are not SageMaker labeling algorithms', async () => {
    for (const arn of [
      'arn:aws:sagemaker:us-west-2:123456789012:labeling-job-algorithm-specification/object-detection',
      'arn:aws:sagemaker:us-west-2:027400017018:labeling-job-algorithm-specification/ssd',
    ]) {
      expect(
        await refused(jobInput('auto-bad-arn', { LabelingJobAlgorithmSpecificationArn: arn })),
      ).toContain('is not a SageMaker labeling job algorithm');
    }
  });

  it('refuses a malformed InitialActiveLearningModelArn', async () => {
    expect(
      await refused(
        jobInput('auto-bad-model', {
          LabelingJobAlgorithmSpecificationArn: ALGO('object-detection'),
          InitialActiveLearningModelArn: 'arn:aws:sagemaker:us-west-2:000000000000:endpoint/bees',
        }),
      ),
    ).toContain("at 'labelingJobAlgorithmsConfig.initialActiveLearningModelArn' failed to satisfy");
  });

  it('accepts a valid config and fails the job below SageMaker’s minimum of 1,250 objects', async () => {
    const created = await sm.send(
      new CreateLabelingJobCommand(
        jobInput('auto-valid', {
          LabelingJobAlgorithmSpecificationArn: ALGO('object-detection', 'eu-west-1'),
          LabelingJobResourceConfig: { VolumeKmsKeyId: 'alias/labeling' },
        }),
      ),
    );
    expect(created.LabelingJobArn).toMatch(/labeling-job\/auto-valid$/);
    const d = await waitForStatus(sm, 'auto-valid', ['Failed', 'InProgress']);
    expect(d.LabelingJobStatus).toBe('Failed');
    expect(d.FailureReason).toBe(
      'Input manifest has 2 objects. Automated data labeling requires an input dataset of at least 1250 objects; add objects or remove LabelingJobAlgorithmsConfig',
    );
    expect(d.LabelingJobAlgorithmsConfig?.LabelingJobAlgorithmSpecificationArn).toBe(
      ALGO('object-detection', 'eu-west-1'),
    );
    expect(d.LabelCounters?.MachineLabeled).toBe(0);
  });
});
