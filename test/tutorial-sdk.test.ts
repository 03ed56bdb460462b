import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The SageMaker Python SDK lives in its own virtualenv (it needs numpy 2; the trainer's torch needs numpy 1). */
const SDK_PYTHON = path.join(ROOT, '.venv-sdk', 'bin', 'python');
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-sdk-'));
  await promisify(execFile)(path.join(ROOT, '.venv', 'bin', 'python'), [
    '-m',
    'apiary_od.synthetic',
    '--out',
    path.join(work, 'bees'),
    '--n',
    '16',
    '--test',
    '2',
    '--seed',
    '3',
    '--size',
    '128',
    '--bucket-uri',
    's3://sdk-bees/input/',
  ]);
});
afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// The tutorial's notebook as the SageMaker Python SDK writes it: Session, an Estimator on the
// built-in object-detection image, fit on augmented manifests in Pipe mode, deploy, a Predictor,
// a HyperparameterTuner, and clean-up.
const SCRIPT = String.raw`
import glob, json, os, random, sys
import boto3, sagemaker
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.predictor import Predictor
from sagemaker.serializers import IdentitySerializer
from sagemaker.deserializers import JSONDeserializer
from sagemaker.tuner import HyperparameterTuner, ContinuousParameter, CategoricalParameter
from sagemaker import image_uris

work = sys.argv[1]
boto = boto3.Session(region_name="us-east-1")
session = sagemaker.Session(boto_session=boto, sagemaker_client=boto.client("sagemaker"),
                            sagemaker_runtime_client=boto.client("sagemaker-runtime"))
role = "arn:aws:iam::000000000000:role/SageMakerRole"
bucket = "sdk-bees"
s3 = boto.client("s3")
s3.create_bucket(Bucket=bucket)
for path in glob.glob(os.path.join(work, "bees", "images", "*.jpg")):
    s3.upload_file(path, bucket, "input/" + os.path.basename(path))
lines = open(os.path.join(work, "bees", "output.manifest")).readlines()
random.Random(0).shuffle(lines)
n_train = int(len(lines) * 0.8)
s3.put_object(Bucket=bucket, Key="input/train.manifest", Body="".join(lines[:n_train]).encode())
s3.put_object(Bucket=bucket, Key="input/validation.manifest", Body="".join(lines[n_train:]).encode())

training_image = image_uris.retrieve("object-detection", "us-east-1")
od = Estimator(training_image, role, instance_count=1, instance_type="ml.p3.2xlarge", volume_size=50,
               max_run=3600, input_mode="Pipe", output_path=f"s3://{bucket}/output", sagemaker_session=session)
od.set_hyperparameters(base_network="mobilenet-v3", use_pretrained_model=0, num_classes=1, mini_batch_size=8,
                       epochs=1, learning_rate=0.001, optimizer="sgd", momentum=0.9, weight_decay=0.0005,
                       image_shape=64, label_width=350, num_training_samples=n_train)
def channel(key):
    return TrainingInput(f"s3://{bucket}/input/{key}", distribution="FullyReplicated", content_type="application/x-recordio",
                         s3_data_type="AugmentedManifestFile", attribute_names=["source-ref", "bounding-box"],
                         record_wrapping="RecordIO", input_mode="Pipe")
od.fit({"train": channel("train.manifest"), "validation": channel("validation.manifest")}, job_name="sdk-od", logs=False)
desc = session.describe_training_job("sdk-od")
metrics = {m["MetricName"]: m["Value"] for m in desc.get("FinalMetricDataList", [])}

predictor = od.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge", endpoint_name="sdk-od-endpoint",
                      serializer=IdentitySerializer("image/jpeg"), deserializer=JSONDeserializer())
test_image = sorted(glob.glob(os.path.join(work, "bees", "test", "*.jpg")))[0]
result = predictor.predict(open(test_image, "rb").read())
again = Predictor("sdk-od-endpoint", sagemaker_session=session, serializer=IdentitySerializer("image/jpeg"),
                  deserializer=JSONDeserializer()).predict(open(test_image, "rb").read())

tuner = HyperparameterTuner(od, objective_metric_name="validation:mAP", objective_type="Maximize", strategy="Bayesian",
                            hyperparameter_ranges={"learning_rate": ContinuousParameter(0.0001, 0.1, scaling_type="Logarithmic"),
                                                   "mini_batch_size": CategoricalParameter([4, 8])},
                            max_jobs=2, max_parallel_jobs=1, base_tuning_job_name="sdk-hpo")
tuner.fit({"train": channel("train.manifest"), "validation": channel("validation.manifest")}, job_name="sdk-hpo", wait=True)
best = tuner.best_training_job()
predictor.delete_endpoint()
print("RESULT " + json.dumps({"status": desc["TrainingJobStatus"], "image": desc["AlgorithmSpecification"]["TrainingImage"],
      "artifact": od.model_data, "has_map": "validation:mAP" in metrics, "prediction": result["prediction"][:3],
      "same": result == again, "best": best}))
`;

describe('the tutorial with the SageMaker Python SDK', () => {
  it('trains with an Estimator, deploys, predicts, tunes with a HyperparameterTuner and deletes the endpoint', async () => {
    const { stdout } = await promisify(execFile)(SDK_PYTHON, ['-c', SCRIPT, work], {
      env: {
        ...server.env,
        SAGEMAKER_SUPPRESS_V2_WARNING: '1',
      },
      timeout: 400_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const result = JSON.parse(
      stdout
        .split('\n')
        .find((l) => l.startsWith('RESULT '))!
        .slice(7),
    );
    expect(result.status).toBe('Completed');
    expect(result.image).toMatch(/\.dkr\.ecr\.us-east-1\.amazonaws\.com\/object-detection:1$/);
    expect(result.artifact).toBe('s3://sdk-bees/output/sdk-od/output/model.tar.gz');
    expect(result.has_map).toBe(true);
    expect(Array.isArray(result.prediction)).toBe(true);
    for (const det of result.prediction) expect(det).toHaveLength(6);
    expect(result.same).toBe(true);
    expect(result.best).toMatch(/^sdk-hpo-00[12]-[0-9a-f]{8}$/);
  }, 420_000);
});
