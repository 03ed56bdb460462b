import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import cliProgress from 'cli-progress';
import {
  S3Client,
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import {
  SageMakerClient,
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  type DescribeTrainingJobCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { loadSettings, loadRootCredentials } from '../config/index.js';
import { splitManifest } from '../shared/index.js';
import { trainerEnv, trainerPython } from './python.js';
import { drawDetections, type Detection } from './draw.js';
import { bestF1Threshold, type CalibrationImage } from './calibrate.js';
import { DEMO_BATCH, DEMO_LEARNING_RATE, demoCleanupCommands } from './demo-recipe.js';
import { boxLabelsOf } from '../api/console/manifests.js';

export interface DemoOptions {
  readonly endpointUrl?: string;
  readonly out: string;
  readonly images: number;
  readonly epochs: number;
  readonly network: 'mobilenet-v3' | 'resnet-50' | 'vgg-16';
  readonly imageShape: number;
  readonly bucket: string;
  readonly cleanup: boolean;
  readonly keepServing: boolean;
  readonly seed: number;
  /** Draw boxes with score ≥ this; default: the best-F1 threshold on the validation images. */
  readonly threshold?: number;
}

/** The built-in object-detection image name the tutorial uses (us-east-1). */
export const OBJECT_DETECTION_IMAGE =
  '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1';
const ROLE = 'arn:aws:iam::000000000000:role/ApiaryDemo';

const say = (s: string): void => void process.stdout.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_apiary/health`, { signal: AbortSignal.timeout(1500) });
    return res.ok;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited with ${code}`)),
    );
  });
}

interface Connection {
  url: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  stop?: () => Promise<void>;
}

/** Uses a running Apiary (health check) or starts one in this process on the embedded defaults. */
async function connect(opts: DemoOptions): Promise<Connection> {
  const settings = loadSettings();
  const url =
    opts.endpointUrl ?? process.env.APIARY_ENDPOINT_URL ?? `http://127.0.0.1:${settings.port}`;
  const envCreds =
    process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: process.env.AWS_ACCESS_KEY_ID,
          secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
        }
      : undefined;
  if (await healthy(url)) {
    const creds = envCreds ?? loadRootCredentials(settings, false);
    if (!creds) {
      throw new Error(
        `Apiary answers at ${url} but no credentials were found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or run the demo with the server's APIARY_DATA_DIR`,
      );
    }
    say(`Using the Apiary running at ${url}`);
    return {
      url,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      region: settings.region,
    };
  }
  if (opts.endpointUrl) throw new Error(`no Apiary answers at ${opts.endpointUrl}`);
  const { createApiary } = await import('../api/server.js');
  const apiary = await createApiary(settings);
  const started = await apiary.listen();
  say(`Started Apiary at ${started} (data in ${settings.dataDir})`);
  return {
    url: started,
    credentials: {
      accessKeyId: apiary.credentials.accessKeyId,
      secretAccessKey: apiary.credentials.secretAccessKey,
    },
    region: settings.region,
    stop: () => apiary.close(),
  };
}

function bar(title: string, total: number, unit: string): cliProgress.SingleBar {
  const b = new cliProgress.SingleBar(
    {
      format: `${title.padEnd(18)} {bar} {value}/{total} ${unit} {extra}`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0, { extra: '' });
  return b;
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const started = Date.now();
  const conn = await connect(opts);
  const clientConfig = {
    endpoint: conn.url,
    region: conn.region,
    credentials: conn.credentials,
    forcePathStyle: true,
  };
  const s3 = new S3Client(clientConfig);
  const sm = new SageMakerClient(clientConfig);
  const runtime = new SageMakerRuntimeClient(clientConfig);
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const name = `bees-demo-${stamp}`;
  const bucket = opts.bucket;
  const out = path.resolve(opts.out);
  const dataDir = path.join(out, 'dataset');
  try {
    // 1. Generate the dataset (what the tutorial's dataset.zip holds): images + a labelled output.manifest.
    if (!fs.existsSync(path.join(dataDir, 'output.manifest'))) {
      say(`Generating ${opts.images} bee images and 10 test images in ${dataDir} …`);
      fs.mkdirSync(dataDir, { recursive: true });
      await run(
        trainerPython(),
        [
          '-m',
          'apiary_od.synthetic',
          '--out',
          dataDir,
          '--n',
          String(opts.images),
          '--test',
          '10',
          '--seed',
          String(opts.seed),
          '--size',
          String(Math.max(opts.imageShape, 320)),
          '--bucket-uri',
          `s3://${bucket}/input/images/`,
        ],
        trainerEnv(),
      );
    } else {
      say(`Reusing the dataset in ${dataDir}`);
    }
    // 2. Upload it to a bucket (aws s3 sync, as the tutorial does).
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    const imagesDir = path.join(dataDir, 'images');
    const files = fs
      .readdirSync(imagesDir)
      .filter((f) => /\.(jpe?g|png)$/i.test(f))
      .sort();
    const up = bar('Uploading', files.length, 'images');
    await mapLimit(files, 8, async (f) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `input/images/${f}`,
          Body: fs.readFileSync(path.join(imagesDir, f)),
          ContentType: 'image/jpeg',
        }),
      );
      up.increment();
    });
    up.stop();
    // 3. Split the labels 80/20 into train and validation manifests (seeded, reproducible).
    const manifest = fs.readFileSync(path.join(dataDir, 'output.manifest'), 'utf8');
    const split = splitManifest(manifest, { trainFraction: 0.8, seed: opts.seed });
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'input/output.manifest', Body: manifest }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'input/train.manifest', Body: split.train }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'input/validation.manifest',
        Body: split.validation,
      }),
    );
    say(
      `Split ${split.trainCount + split.validationCount} labelled images: ${split.trainCount} train, ${split.validationCount} validation`,
    );

    // 4. Train the built-in object detector with the tutorial's request shape.
    const attributes = ['source-ref', 'bounding-box'];
    const channel = (channelName: string, key: string) => ({
      ChannelName: channelName,
      ContentType: 'application/x-recordio',
      InputMode: 'Pipe' as const,
      RecordWrapperType: 'RecordIO' as const,
      S3DataDistributionType: 'FullyReplicated' as const,
      DataSource: {
        S3DataSource: {
          AttributeNames: attributes,
          S3DataDistributionType: 'FullyReplicated' as const,
          S3DataType: 'AugmentedManifestFile' as const,
          S3Uri: `s3://${bucket}/input/${key}`,
        },
      },
    });
    await sm.send(
      new CreateTrainingJobCommand({
        TrainingJobName: name,
        AlgorithmSpecification: {
          TrainingImage: OBJECT_DETECTION_IMAGE,
          TrainingInputMode: 'Pipe',
        },
        RoleArn: ROLE,
        InputDataConfig: [
          channel('train', 'train.manifest'),
          channel('validation', 'validation.manifest'),
        ],
        OutputDataConfig: { S3OutputPath: `s3://${bucket}/output/` },
        ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.p3.2xlarge', VolumeSizeInGB: 50 },
        StoppingCondition: { MaxRuntimeInSeconds: 86400 },
        HyperParameters: {
          base_network: opts.network,
          use_pretrained_model: '0',
          num_classes: '1',
          num_training_samples: String(split.trainCount),
          epochs: String(opts.epochs),
          image_shape: String(opts.imageShape),
          mini_batch_size: String(DEMO_BATCH),
          // The tutorial's 0.001 suits an ImageNet-pretrained base; from scratch SSD needs a higher peak.
          learning_rate: String(DEMO_LEARNING_RATE),
          lr_scheduler_step: '',
          lr_scheduler_factor: '0.1',
          optimizer: 'sgd',
          momentum: '0.9',
          weight_decay: '0.0005',
          overlap_threshold: '0.5',
          nms_threshold: '0.45',
          label_width: '350',
        },
      }),
    );
    say(
      `Training job ${name} created (${opts.network}, ${opts.epochs} epochs, ${opts.imageShape}px)`,
    );
    const tb = bar('Training', 100, '%');
    let job: DescribeTrainingJobCommandOutput;
    for (;;) {
      job = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
      const metrics = new Map((job.FinalMetricDataList ?? []).map((m) => [m.MetricName, m.Value]));
      const progress =
        metrics.get('train:progress') ?? (job.TrainingJobStatus === 'Completed' ? 100 : 0);
      const map = metrics.get('validation:mAP');
      const loss = metrics.get('train:cross_entropy');
      tb.update(Math.round(progress), {
        extra: `${job.SecondaryStatus ?? ''}${loss !== undefined ? ` loss ${loss.toFixed(3)}` : ''}${map !== undefined ? ` mAP ${map.toFixed(3)}` : ''}`,
      });
      if (['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus ?? '')) break;
      await sleep(2000);
    }
    tb.stop();
    if (job.TrainingJobStatus !== 'Completed') {
      throw new Error(
        `training job ${name} ended ${job.TrainingJobStatus}: ${job.FailureReason ?? ''}`,
      );
    }
    const finalMap = job.FinalMetricDataList?.find((m) => m.MetricName === 'validation:mAP')?.Value;
    say(
      `Trained in ${job.TrainingTimeInSeconds ?? '?'} s; validation mAP@0.5 = ${finalMap?.toFixed(3) ?? 'n/a'}`,
    );
    say(`Model artifact: ${job.ModelArtifacts?.S3ModelArtifacts}`);

    // 5. Model → endpoint config → endpoint, then wait until it is InService.
    await sm.send(
      new CreateModelCommand({
        ModelName: name,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: {
          Image: OBJECT_DETECTION_IMAGE,
          ModelDataUrl: job.ModelArtifacts!.S3ModelArtifacts,
        },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: name,
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: name,
            InitialInstanceCount: 1,
            InstanceType: 'ml.m4.xlarge',
            InitialVariantWeight: 1,
          },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
    const epStart = Date.now();
    for (;;) {
      const ep = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
      if (ep.EndpointStatus === 'InService') break;
      if (ep.EndpointStatus === 'Failed')
        throw new Error(`endpoint ${name} failed: ${ep.FailureReason}`);
      await sleep(500);
    }
    say(`Endpoint ${name} is InService (${((Date.now() - epStart) / 1000).toFixed(1)} s)`);

    const detect = async (body: Buffer): Promise<Detection[]> => {
      const res = await runtime.send(
        new InvokeEndpointCommand({ EndpointName: name, ContentType: 'image/jpeg', Body: body }),
      );
      const parsed = JSON.parse(Buffer.from(res.Body!).toString('utf8')) as {
        prediction: number[][];
      };
      return parsed.prediction.map(([classId, score, xmin, ymin, xmax, ymax]) => ({
        classId: classId!,
        score: score!,
        xmin: xmin!,
        ymin: ymin!,
        xmax: xmax!,
        ymax: ymax!,
      }));
    };

    // 6. Pick the score threshold on the validation images (best F1 against their labels), as a
    //    data scientist would before drawing boxes: a model trained from scratch for minutes is
    //    rarely calibrated so that 0.5 is the right cut.
    const cal = bar('Calibrating', split.validationCount, 'validation images');
    const validationLines = split.validation.split('\n').filter((line) => line.trim());
    // A few requests in flight keep the endpoint busy while this process reads and parses; the
    // results keep the manifest's order so the threshold does not depend on arrival order.
    const calibrated: (CalibrationImage | undefined)[] = validationLines.map(() => undefined);
    await mapLimit([...validationLines.keys()], 4, async (i) => {
      const entry = JSON.parse(validationLines[i]!) as Record<string, unknown>;
      const label = boxLabelsOf(entry)[0];
      const file = path.join(imagesDir, path.basename(String(entry['source-ref'])));
      if (label?.imageSize && fs.existsSync(file)) {
        calibrated[i] = {
          truth: label.boxes,
          detections: await detect(fs.readFileSync(file)),
          width: label.imageSize.width,
          height: label.imageSize.height,
        };
      }
      cal.increment();
    });
    cal.stop();
    const calibration = calibrated.filter((c): c is CalibrationImage => c !== undefined);
    const best = bestF1Threshold(calibration);
    const threshold = opts.threshold ?? best?.threshold ?? 0.5;
    if (!best) {
      say(
        `Score threshold ${threshold.toFixed(2)}: the endpoint detected nothing on the validation images to calibrate with`,
      );
    } else {
      say(
        `Score threshold ${threshold.toFixed(2)}${opts.threshold === undefined ? '' : ' (--threshold)'}: on the ${calibration.length} validation images the best F1 is ${best.f1.toFixed(3)} at ${best.threshold.toFixed(2)} (precision ${best.precision.toFixed(3)}, recall ${best.recall.toFixed(3)})`,
      );
    }

    // 7. Send the test images and draw the returned boxes.
    const testDir = path.join(dataDir, 'test');
    const annotatedDir = path.join(out, 'annotated');
    fs.mkdirSync(annotatedDir, { recursive: true });
    const tests = fs
      .readdirSync(testDir)
      .filter((f) => /\.(jpe?g|png)$/i.test(f))
      .sort();
    let boxes = 0;
    for (const f of tests) {
      const body = fs.readFileSync(path.join(testDir, f));
      const detections = (await detect(body)).filter((d) => d.score >= threshold);
      boxes += detections.length;
      const png = await drawDetections(body, detections);
      fs.writeFileSync(path.join(annotatedDir, f.replace(/\.[a-z]+$/i, '.png')), png);
    }
    say(
      `Annotated ${tests.length} test images (${boxes} boxes with score ≥ ${threshold.toFixed(2)}) in ${annotatedDir}`,
    );
    say(
      `Console: ${conn.url}/_apiary/ui/   (total ${((Date.now() - started) / 60000).toFixed(1)} min)`,
    );

    if (opts.cleanup) {
      await sm.send(new DeleteEndpointCommand({ EndpointName: name }));
      await sm.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name }));
      await sm.send(new DeleteModelCommand({ ModelName: name }));
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
        );
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length)
          await s3.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
          );
        token = page.NextContinuationToken;
      } while (token);
      say(`Cleaned up: endpoint, endpoint config, model and the objects in s3://${bucket}/`);
    } else {
      say(
        `Clean up later (the endpoint, its config and the model), or run the demo with --cleanup:\n` +
          demoCleanupCommands(name, conn.url)
            .map((argv) => `  ${argv.join(' ')}`)
            .join('\n'),
      );
    }
  } finally {
    s3.destroy();
    sm.destroy();
    runtime.destroy();
    if (conn.stop && !opts.keepServing) await conn.stop();
    else if (conn.stop) say(`Apiary keeps serving at ${conn.url}; press Ctrl+C to stop.`);
  }
}

export const defaultDemoOut = (): string => path.join(process.cwd(), 'bees-demo');
export const tmpDemoOut = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'bees-demo-'));
