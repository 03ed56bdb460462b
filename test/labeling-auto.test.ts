import {
  CreateLabelingJobCommand,
  CreateWorkteamCommand,
  DescribeLabelingJobCommand,
  SageMakerClient,
  type CreateLabelingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkConfig, type TestServer } from './helpers/server.js';
import { ACS_BOX, BOX_UI, JumpClock, PRE_BOX, startLabelingServer, uploadDataset } from './labeling-helpers.js';

/**
 * Automated data labeling (LabelingJobAlgorithmsConfig) over the real SageMaker SDK: SageMaker's
 * validation of the config. The active-learning loop itself is not built yet (see
 * src/labeling/README.md), so a valid config is refused with a message that says so.
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
  const team = await sm.send(
    new CreateWorkteamCommand({
      WorkteamName: 'auto-team',
      Description: 'bees',
      MemberDefinitions: [
        { CognitoMemberDefinition: { UserPool: 'us-east-1_apiary', UserGroup: 'bee-team', ClientId: 'apiary' } },
      ],
    }),
  );
  teamArn = team.WorkteamArn!;
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

  it('says plainly that a valid config cannot run yet (no silent all-human job)', async () => {
    expect(
      await refused(
        jobInput('auto-valid', {
          LabelingJobAlgorithmSpecificationArn: ALGO('object-detection', 'eu-west-1'),
          LabelingJobResourceConfig: { VolumeKmsKeyId: 'alias/labeling' },
        }),
      ),
    ).toContain('is valid, but automated data labeling (the active-learning loop) is not available');
  });
});
