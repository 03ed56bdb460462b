import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { FIXTURES } from './training-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/**
 * The SageMaker Python SDK v3 (what `pip install sagemaker` installs today) in its own virtualenv,
 * beside v2's `.venv-sdk` (see scripts/install.sh).
 */
const SDK3_PYTHON = path.join(ROOT, '.venv-sdk3', 'bin', 'python');
const run = promisify(execFile);
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-sdk3-'));
  await run(path.join(ROOT, '.venv', 'bin', 'python'), [
    '-m',
    'apiary_od.synthetic',
    '--out',
    path.join(work, 'bees'),
    '--n',
    '12',
    '--test',
    '1',
    '--seed',
    '3',
    '--size',
    '64',
    '--bucket-uri',
    's3://sdk3-bees/input/',
  ]);
});
afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const sdk3 = async (script: string, ...args: string[]): Promise<Record<string, unknown>> => {
  const { stdout } = await run(SDK3_PYTHON, ['-c', script, ...args], {
    env: server.env,
    timeout: 400_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the script printed no RESULT line:\n${stdout.slice(-4000)}`);
  return { ...(JSON.parse(line.slice(7)) as Record<string, unknown>), stdout };
};

// Shared by both scripts: the role as an IAM record (v3's ModelTrainer validates it through IAM).
const PRELUDE = String.raw`
import glob, json, os, sys, boto3
from sagemaker.core.helper.session_helper import Session
boto = boto3.Session(region_name="us-east-1")
iam = boto.client("iam")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
try:
    role = iam.create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
except iam.exceptions.EntityAlreadyExistsException:
    role = iam.get_role(RoleName="SageMakerRole")["Role"]["Arn"]
`;

// The tutorial's flow in v3's terms: ModelTrainer on the built-in object detector (Pipe mode,
// augmented manifests), a HyperparameterTuner over it, and deploy + invoke with sagemaker-core
// resources (Model, EndpointConfig, Endpoint).
const TUTORIAL =
  PRELUDE +
  String.raw`
from sagemaker.core import image_uris
from sagemaker.core.parameter import ContinuousParameter, CategoricalParameter
from sagemaker.core.resources import Model, EndpointConfig, Endpoint
from sagemaker.core.shapes import ContainerDefinition, ProductionVariant
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, OutputDataConfig, StoppingCondition, Channel, DataSource, S3DataSource
from sagemaker.train.tuner import HyperparameterTuner
work, bucket = sys.argv[1], "sdk3-bees"
s3 = boto.client("s3")
s3.create_bucket(Bucket=bucket)
for p in glob.glob(os.path.join(work, "bees", "images", "*.jpg")):
    s3.upload_file(p, bucket, "input/" + os.path.basename(p))
lines = open(os.path.join(work, "bees", "output.manifest")).readlines()
n_train = len(lines) - 2
s3.put_object(Bucket=bucket, Key="input/train.manifest", Body="".join(lines[:n_train]).encode())
s3.put_object(Bucket=bucket, Key="input/validation.manifest", Body="".join(lines[n_train:]).encode())
session = Session(boto_session=boto, default_bucket=bucket)
image = image_uris.retrieve("object-detection", "us-east-1")
def channel(name, key):
    return Channel(channel_name=name, content_type="application/x-recordio", record_wrapper_type="RecordIO", input_mode="Pipe",
                   data_source=DataSource(s3_data_source=S3DataSource(s3_data_type="AugmentedManifestFile", s3_uri=f"s3://{bucket}/input/{key}",
                                                                      s3_data_distribution_type="FullyReplicated", attribute_names=["source-ref", "bounding-box"])))
channels = [channel("train", "train.manifest"), channel("validation", "validation.manifest")]
trainer = ModelTrainer(training_image=image, role=role, compute=Compute(instance_type="ml.p3.2xlarge", instance_count=1, volume_size_in_gb=50),
    training_input_mode="Pipe", sagemaker_session=session, base_job_name="v3-od",
    stopping_condition=StoppingCondition(max_runtime_in_seconds=3600),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/output"),
    hyperparameters=dict(base_network="mobilenet-v3", use_pretrained_model=0, num_classes=1, mini_batch_size=4, epochs=1,
                         learning_rate=0.001, optimizer="sgd", image_shape=64, label_width=350, num_training_samples=n_train))
trainer.train(input_data_config=channels, wait=True, logs=False)
job = trainer._latest_training_job

tuner = HyperparameterTuner(model_trainer=trainer, objective_metric_name="validation:mAP", objective_type="Maximize", strategy="Random",
                            hyperparameter_ranges={"learning_rate": ContinuousParameter(0.0001, 0.1, scaling_type="Logarithmic"),
                                                   "mini_batch_size": CategoricalParameter([2, 4])},
                            max_jobs=1, max_parallel_jobs=1)
tuner.tune(inputs=channels, job_name="v3-hpo", wait=True)
best = tuner.best_training_job()

model = Model.create(model_name="v3-od-model", execution_role_arn=role, session=boto,
                     primary_container=ContainerDefinition(image=image, model_data_url=job.model_artifacts.s3_model_artifacts))
config = EndpointConfig.create(endpoint_config_name="v3-od-config", session=boto, production_variants=[
    ProductionVariant(variant_name="AllTraffic", model_name=model.model_name, instance_type="ml.m4.xlarge", initial_instance_count=1)])
endpoint = Endpoint.create(endpoint_name="v3-od-endpoint", endpoint_config_name=config.endpoint_config_name, session=boto)
endpoint.wait_for_status("InService")
test_image = sorted(glob.glob(os.path.join(work, "bees", "test", "*.jpg")))[0]
res = endpoint.invoke(body=open(test_image, "rb").read(), content_type="image/jpeg", accept="application/json")
prediction = json.loads(res.body.read())["prediction"]
endpoint.delete(); config.delete(); model.delete()
sys.stdout.write("\nRESULT " + json.dumps({"status": job.training_job_status, "artifact": job.model_artifacts.s3_model_artifacts,
  "metrics": sorted(m.metric_name for m in (job.final_metric_data_list or [])), "best": best,
  "tuning": boto.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="v3-hpo")["HyperParameterTuningJobStatus"],
  "prediction": prediction[:3]}) + "\n")
sys.stdout.flush()
`;

// Script mode: ModelTrainer with a SourceCode directory on a PyTorch image; the SDK's own driver
// script (its 'sm_drivers' channel) runs the entry point with Apiary's local PyTorch.
const SCRIPT_MODE =
  PRELUDE +
  String.raw`
import logging
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import SourceCode, Compute, InputData, OutputDataConfig
# The SDK prints the job's log (read through CloudWatch Logs) at INFO.
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
s3 = boto.client("s3")
s3.create_bucket(Bucket="sdk3")
s3.put_object(Bucket="sdk3", Key="data/points.csv", Body="\n".join(f"{x},{2 * x + 1}" for x in range(-5, 6)))
session = Session(boto_session=boto, default_bucket="sdk3")
trainer = ModelTrainer(
    training_image="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311",
    source_code=SourceCode(source_dir=sys.argv[1], entry_script="train.py"),
    role=role, compute=Compute(instance_type="ml.m5.large", instance_count=1),
    hyperparameters={"epochs": 2, "lr": 0.05, "note": "v3"}, sagemaker_session=session, base_job_name="v3-script",
    output_data_config=OutputDataConfig(s3_output_path="s3://sdk3/output"))
trainer.train(input_data_config=[InputData(channel_name="training", data_source="s3://sdk3/data/")], wait=True, logs=True)
job = trainer._latest_training_job
sys.stdout.write("\nRESULT " + json.dumps({"name": job.training_job_name, "status": job.training_job_status,
  "artifact": job.model_artifacts.s3_model_artifacts, "entrypoint": job.algorithm_specification.container_entrypoint}) + "\n")
sys.stdout.flush()
`;

describe('the SageMaker Python SDK v3', () => {
  it('trains the object detector with ModelTrainer, tunes it, deploys and invokes it with sagemaker-core resources', async () => {
    expect(fs.existsSync(SDK3_PYTHON), 'run scripts/install.sh to create .venv-sdk3').toBe(true);
    const r = await sdk3(TUTORIAL, work);
    expect(r.status).toBe('Completed');
    expect(r.artifact).toMatch(/^s3:\/\/sdk3-bees\/output\/v3-od-\d+\/output\/model\.tar\.gz$/);
    expect(r.metrics).toContain('validation:mAP');
    expect(r.tuning).toBe('Completed');
    expect(r.best).toMatch(/^v3-hpo-001-[0-9a-f]{8}$/);
    expect((r.prediction as unknown[]).length).toBeGreaterThan(0);
    for (const det of r.prediction as unknown[]) expect(det).toHaveLength(6);
  }, 420_000);

  it("runs a PyTorch script with ModelTrainer's SourceCode through the SDK's own driver", async () => {
    const r = await sdk3(SCRIPT_MODE, path.join(FIXTURES, 'pytorch-src'));
    expect(r.status).toBe('Completed');
    expect(r.entrypoint).toEqual(['/bin/bash']);
    expect(r.artifact).toBe(`s3://sdk3/output/${String(r.name)}/output/model.tar.gz`);
    const log = (await server.apiary.training.readLogs(String(r.name), 0, 2000)).lines.map(
      (l) => l.message,
    );
    expect(log).toContain('Running Basic Script driver');
    expect(log).toContain('note v3');
    expect(log).toContain('saved');
    // v3 tailed the job's log through Apiary's CloudWatch Logs.
    expect(r.stdout).toContain('Running Basic Script driver');
    expect(r.stdout).toContain('Final Resource Status: [bold]Completed');
  }, 300_000);
});
