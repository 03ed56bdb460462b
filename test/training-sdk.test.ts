import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/training/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { FIXTURES, untar } from './training-helpers.js';

const execFileP = promisify(execFile);
/** The SageMaker Python SDK lives in its own virtualenv (it needs numpy 2; the trainer's torch needs numpy 1). */
const SDK_PYTHON = path.join(REPO_ROOT, '.venv-sdk', 'bin', 'python');
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const SCRIPT = `
import json, os, sys, boto3, sagemaker
from sagemaker.pytorch import PyTorch
ep = os.environ["APIARY_ENDPOINT_URL"]
boto = boto3.Session(region_name="us-east-1")
s3 = boto.client("s3", endpoint_url=ep)
s3.create_bucket(Bucket="sdk-bucket")
s3.put_object(Bucket="sdk-bucket", Key="data/points.csv", Body="\\n".join(f"{x},{2 * x + 1}" for x in range(-5, 6)))
session = sagemaker.Session(boto_session=boto, sagemaker_client=boto.client("sagemaker", endpoint_url=ep),
                            sagemaker_runtime_client=boto.client("sagemaker-runtime", endpoint_url=ep))
est = PyTorch(entry_point="train.py", source_dir=sys.argv[1], role="arn:aws:iam::000000000000:role/SageMakerRole",
              framework_version="1.13.1", py_version="py39", instance_count=1, instance_type="ml.m5.large",
              output_path="s3://sdk-bucket/output", code_location="s3://sdk-bucket/code", sagemaker_session=session,
              hyperparameters={"epochs": 3, "lr": 0.05, "note": "; id $(id) \`id\`"},
              metric_definitions=[{"Name": "train:loss", "Regex": "train_loss=([0-9.e-]+)"}])
est.fit({"training": "s3://sdk-bucket/data/"}, job_name="sdk-script-mode", wait=True, logs="All")
d = session.describe_training_job("sdk-script-mode")
sys.stdout.write("\\nRESULT " + json.dumps({"status": d["TrainingJobStatus"], "image": d["AlgorithmSpecification"]["TrainingImage"],
  "artifact": est.model_data, "metrics": {m["MetricName"]: m["Value"] for m in d.get("FinalMetricDataList", [])}}) + "\\n")
sys.stdout.flush()
`;

describe('script mode with the SageMaker Python SDK', () => {
  it("runs a PyTorch estimator's entry point with the local PyTorch, tails its logs and stores its model", async () => {
    expect(fs.existsSync(SDK_PYTHON)).toBe(true);
    const { stdout, stderr } = await execFileP(
      SDK_PYTHON,
      ['-c', SCRIPT, path.join(FIXTURES, 'pytorch-src')],
      {
        env: server.env,
        timeout: 170_000,
      },
    );
    const result = JSON.parse(
      stdout
        .split('\n')
        .find((l) => l.startsWith('RESULT '))!
        .slice(7),
    );
    expect(result.status).toBe('Completed');
    expect(result.image).toMatch(/\/pytorch-training:1\.13\.1-cpu-py39$/);
    expect(result.artifact).toBe('s3://sdk-bucket/output/sdk-script-mode/output/model.tar.gz');
    expect(result.metrics['train:loss']).toBeLessThan(0.5);
    // The SDK printed the job's log lines it read through the CloudWatch Logs API.
    expect(stdout).toContain('note ; id $(id) `id`');
    expect(stdout).toContain('argv ["--epochs", "3", "--lr", "0.05", "--note", "; id $(id) `id`"]');
    expect(stdout).not.toMatch(/uid=\d+/);
    // Telemetry is off (the SDK's config file, test/helpers/server.ts): no request to AWS tried.
    expect(stdout + stderr).not.toContain('sm-pysdk-t');
    const log = (await server.apiary.training.readLogs('sdk-script-mode', 0, 1000)).lines.map(
      (l) => l.message,
    );
    expect(log).toContain('saved');
    const tarball = await server.apiary.objects.getObjectBuffer(
      'sdk-bucket',
      'output/sdk-script-mode/output/model.tar.gz',
    );
    expect(Object.keys(await untar(tarball!))).toEqual(['model.pth']);
  }, 180_000);
});
