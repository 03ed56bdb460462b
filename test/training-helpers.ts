import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import {
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export const FIXTURES = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'training-fixtures',
);
export const JOB_SCRIPT = path.join(FIXTURES, 'job.py');
export const TEST_IMAGE = 'apiary-test/job:1';
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Polls DescribeTrainingJob until `done` says so (or throws with the last state). */
export async function waitForJob(
  sm: SageMakerClient,
  name: string,
  done: (d: DescribeTrainingJobCommandOutput) => boolean = (d) =>
    ['Completed', 'Failed', 'Stopped'].includes(d.TrainingJobStatus ?? ''),
  timeoutMs = 30_000,
): Promise<DescribeTrainingJobCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  let last: DescribeTrainingJobCommandOutput | undefined;
  while (Date.now() < deadline) {
    last = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `training job ${name} did not reach the expected state; last: ${last?.TrainingJobStatus}/${last?.SecondaryStatus} ${last?.FailureReason ?? ''}`,
  );
}

export async function getObjectBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Entries (path → content) of a .tar.gz. */
export async function untar(buf: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({
      onReadEntry: (entry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          if (entry.type === 'File') out[entry.path] = Buffer.concat(chunks).toString('utf8');
        });
      },
    });
    parser.on('end', resolve);
    parser.on('error', reject);
    Readable.from(buf).pipe(parser);
  });
  return out;
}

/** Host pids whose command line contains `needle` (to kill -9 a trainer in a test). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(needle) && !cmd.startsWith('/bin/sh') && !cmd.startsWith('bwrap'))
        out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function baseJob(name: string, bucket: string, extra: Record<string, unknown> = {}) {
  return {
    TrainingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole',
    AlgorithmSpecification: { TrainingImage: TEST_IMAGE, TrainingInputMode: 'File' as const },
    OutputDataConfig: { S3OutputPath: `s3://${bucket}/output` },
    ResourceConfig: { InstanceType: 'ml.m5.large' as const, InstanceCount: 1, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    ...extra,
  };
}
