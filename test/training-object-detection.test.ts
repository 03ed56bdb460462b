import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/training/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const execFileP = promisify(execFile);
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer({ maxRunningTrainingJobs: 1 });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-od-'));
  // Generated bees, as the tutorial's Ground Truth job would have labelled them.
  await execFileP(
    path.join(REPO_ROOT, '.venv', 'bin', 'python'),
    [
      '-m',
      'apiary_od.synthetic',
      '--out',
      work,
      '--n',
      '8',
      '--test',
      '0',
      '--seed',
      '0',
      '--size',
      '64',
      '--bucket-uri',
      's3://bees-tutorial/input/',
      '--validation',
      '2',
    ],
    { env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, 'algorithms', 'object-detection') } },
  );
});
afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/**
 * The tutorial's create_training_job request (SageMaker's Ground Truth object-detection notebook):
 * AugmentedManifestFile channels in Pipe mode with RecordIO, resnet-50 — with
 * use_pretrained_model 0 (no downloads here), two epochs, 64-px images and 8 generated bees.
 */
const TUTORIAL = `
import boto3, json, os, sys, time
work = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["APIARY_ENDPOINT_URL"])
client = boto3.client("sagemaker", endpoint_url=os.environ["APIARY_ENDPOINT_URL"])
bucket = "bees-tutorial"
s3.create_bucket(Bucket=bucket)
for fn in sorted(os.listdir(os.path.join(work, "images"))):
    s3.upload_file(os.path.join(work, "images", fn), bucket, "input/" + fn)
s3.upload_file(os.path.join(work, "train.manifest"), bucket, "manifests/train.manifest")
s3.upload_file(os.path.join(work, "validation.manifest"), bucket, "manifests/validation.manifest")
num_training_samples = sum(1 for _ in open(os.path.join(work, "train.manifest")))

training_image = "811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1"
attribute_names = ["source-ref", "bounding-box"]
job_name = "bees-object-detection-tutorial"
training_params = {
    "AlgorithmSpecification": {"TrainingImage": training_image, "TrainingInputMode": "Pipe"},
    "RoleArn": "arn:aws:iam::000000000000:role/service-role/AmazonSageMaker-ExecutionRole",
    "OutputDataConfig": {"S3OutputPath": "s3://{}/output".format(bucket)},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.p3.2xlarge", "VolumeSizeInGB": 50},
    "TrainingJobName": job_name,
    "HyperParameters": {
        "base_network": "resnet-50",
        "use_pretrained_model": "0",
        "num_classes": "1",
        "mini_batch_size": "1",
        "epochs": "2",
        "learning_rate": "0.001",
        "lr_scheduler_step": "",
        "lr_scheduler_factor": "0.1",
        "optimizer": "sgd",
        "momentum": "0.9",
        "weight_decay": "0.0005",
        "overlap_threshold": "0.5",
        "nms_threshold": "0.45",
        "image_shape": "64",
        "label_width": "350",
        "num_training_samples": str(num_training_samples),
    },
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "AugmentedManifestFile", "S3Uri": "s3://{}/manifests/train.manifest".format(bucket),
                                            "S3DataDistributionType": "FullyReplicated", "AttributeNames": attribute_names}},
            "ContentType": "application/x-recordio",
            "RecordWrapperType": "RecordIO",
            "CompressionType": "None",
        },
        {
            "ChannelName": "validation",
            "DataSource": {"S3DataSource": {"S3DataType": "AugmentedManifestFile", "S3Uri": "s3://{}/manifests/validation.manifest".format(bucket),
                                            "S3DataDistributionType": "FullyReplicated", "AttributeNames": attribute_names}},
            "ContentType": "application/x-recordio",
            "RecordWrapperType": "RecordIO",
            "CompressionType": "None",
        },
    ],
}
client.create_training_job(**training_params)
status = client.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"]
while status == "InProgress":
    time.sleep(1)
    status = client.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"]
d = client.describe_training_job(TrainingJobName=job_name)
head = s3.head_object(Bucket=bucket, Key="output/{}/output/model.tar.gz".format(job_name))
print(json.dumps({"status": d["TrainingJobStatus"], "secondary": d["SecondaryStatus"], "failure": d.get("FailureReason"),
  "transitions": [t["Status"] for t in d["SecondaryStatusTransitions"]],
  "metrics": {m["MetricName"]: m["Value"] for m in d.get("FinalMetricDataList", [])},
  "artifact": d["ModelArtifacts"]["S3ModelArtifacts"], "artifact_bytes": head["ContentLength"],
  "seconds": d["TrainingTimeInSeconds"], "billable": d["BillableTimeInSeconds"]}, default=str))
`;

describe("the tutorial's create_training_job on the built-in object-detection algorithm", () => {
  it('trains resnet-50 SSD from an augmented manifest in Pipe mode (RecordIO) via boto3, reporting validation:mAP', async () => {
    const { stdout } = await execFileP('python3', ['-c', TUTORIAL, work], {
      env: server.env,
      timeout: 290_000,
    }).catch(async (e) => {
      const r = await server.apiary.training
        .readLogs('bees-object-detection-tutorial', 0, 10_000)
        .catch(() => undefined);
      throw new Error(
        `${(e as Error).message.slice(0, 300)}\nlog:\n${r?.lines.map((l) => l.message).join('\n')}`,
      );
    });
    const out = JSON.parse(stdout);
    expect(out.failure).toBeNull();
    expect(out.status).toBe('Completed');
    expect(out.transitions).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    expect(Object.keys(out.metrics).sort()).toEqual([
      'train:cross_entropy',
      'train:progress',
      'train:smooth_l1',
      'train:throughput',
      'validation:mAP',
    ]);
    expect(out.metrics['validation:mAP']).toBeGreaterThanOrEqual(0);
    expect(out.metrics['validation:mAP']).toBeLessThanOrEqual(1);
    expect(out.metrics['train:progress']).toBe(100);
    expect(out.artifact).toBe(
      's3://bees-tutorial/output/bees-object-detection-tutorial/output/model.tar.gz',
    );
    expect(out.artifact_bytes).toBeGreaterThan(1000);
    expect(out.billable).toBe(out.seconds);
    const series = await server.apiary.training.metricSeries('bees-object-detection-tutorial');
    expect(series['validation:mAP']).toHaveLength(2);
  }, 300_000);
});
