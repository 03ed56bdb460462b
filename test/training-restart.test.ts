import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SageMakerClient,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { serveInChild as serveChild } from './helpers/child-server.js';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';
import { createApiary } from '../src/api/server.js';
import { loadSettings } from '../src/config/index.js';
import {
  baseJob,
  JOB_SCRIPT,
  pidsWithCmdline,
  SYSTEM_PYTHON,
  TEST_IMAGE,
  waitForJob,
} from './training-helpers.js';

const KEY = 'APIARYRESTARTTEST01';
const SECRET = 'restart-test-secret-key-0123456789abcdef';

/** `apiary serve` in its own process, so that the test can kill -9 it. */
async function serveInChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  // Register the test image in the data dir (in-process: no second CLI start-up).
  const setup = await createApiary(
    loadSettings(
      {
        APIARY_LOG_LEVEL: 'silent',
        APIARY_ROOT_ACCESS_KEY_ID: KEY,
        APIARY_ROOT_SECRET_ACCESS_KEY: SECRET,
      },
      { dataDir },
    ),
  );
  await setup.training.registerImage(TEST_IMAGE, [SYSTEM_PYTHON, JOB_SCRIPT]);
  await setup.close();
  const { child, url } = await serveChild({
    dataDir,
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
  });
  return { child, url };
}

const clients = (url: string) => {
  const cfg = {
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
    forcePathStyle: true,
  };
  return { sm: new SageMakerClient(cfg), s3: new S3Client(cfg) };
};

/** Kills a job's whole process tree (sandbox, wrapper and trainer), as a machine reboot would. */
function killJobTree(name: string): void {
  for (const pid of pidsWithCmdline(JOB_SCRIPT)) {
    if (!fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`TRAINING_JOB_NAME=${name}`))
      continue;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    process.kill(-pgid, 'SIGKILL');
  }
}

/** SIGKILL the first server and wait until it is really gone (kill() only sends the signal). */
async function killServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const open: { child?: ChildProcess; server?: TestServer; dir?: string }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    if (o.child && o.child.exitCode === null) o.child.kill('SIGKILL');
    await o.server?.close();
    for (const pid of pidsWithCmdline(JOB_SCRIPT)) {
      try {
        if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes('TRAINING_JOB_NAME=restart-'))
          process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (o.dir) fs.rmSync(o.dir, { recursive: true, force: true });
  }
});

async function startJob(name: string, extra: Record<string, unknown>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-restart-'));
  const first = await serveInChild(dir);
  open.push({ child: first.child, dir });
  const { sm, s3 } = clients(first.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'restart' }));
  await sm.send(
    new CreateTrainingJobCommand(
      baseJob(name, 'restart', extra) as unknown as CreateTrainingJobCommandInput,
    ),
  );
  await waitForJob(sm, name, (d) => d.SecondaryStatus === 'Training');
  sm.destroy();
  s3.destroy();
  return { dir, first };
}

const logOf = (server: TestServer, name: string) =>
  server.apiary.training.readLogs(name, 0, 10_000).then((r) => r.lines.map((l) => l.message));

async function waitForLog(dir: string, name: string, needle: string): Promise<void> {
  const file = path.join(dir, 'training', 'jobs', name, 'log', 'output.log');
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(needle)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no '${needle}' in the log of ${name}`);
}

const restart = async (dir: string): Promise<TestServer> => {
  const server = await startTestServer({
    dataDir: dir,
    rootAccessKeyId: KEY,
    rootSecretAccessKey: SECRET,
  });
  open.push({ server });
  return server;
};

describe('training jobs across a server restart', () => {
  it('re-attaches to a job whose process survived a crash of the server, with one runner only', async () => {
    const { dir, first } = await startJob('restart-reattach', {
      HyperParameters: { mode: 'slow-steps', steps: '8' },
    });
    await waitForLog(dir, 'restart-reattach', 'step 1');
    await killServer(first.child);
    const server = await restart(dir);
    const sm = new SageMakerClient(sdkConfig(server));
    const d = await waitForJob(sm, 'restart-reattach');
    sm.destroy();
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    const log = await logOf(server, 'restart-reattach');
    expect(log.filter((l) => l.startsWith('resuming after step'))).toEqual([
      'resuming after step 0',
    ]);
    expect(log.filter((l) => /^step \d+$/.test(l))).toEqual([
      'step 1',
      'step 2',
      'step 3',
      'step 4',
      'step 5',
      'step 6',
      'step 7',
      'step 8',
    ]);
    expect(log).toContain('Apiary: the server restarted; re-attached to the running training job');
  });

  it('retries an interrupted job from its checkpoint when RetryStrategy allows', async () => {
    const { dir, first } = await startJob('restart-retry', {
      HyperParameters: { mode: 'slow-steps', steps: '6' },
      RetryStrategy: { MaximumRetryAttempts: 1 },
    });
    await waitForLog(dir, 'restart-retry', 'step 2');
    await killServer(first.child);
    killJobTree('restart-retry');
    await new Promise((r) => setTimeout(r, 300));
    const server = await restart(dir);
    const sm = new SageMakerClient(sdkConfig(server));
    const d = await waitForJob(sm, 'restart-retry');
    sm.destroy();
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    expect(d.SecondaryStatusTransitions?.[3]?.StatusMessage).toContain(
      'after a server restart (attempt 2 of 2)',
    );
    const resumed = (await logOf(server, 'restart-retry')).filter((l) =>
      l.startsWith('resuming after step'),
    );
    expect(resumed[0]).toBe('resuming after step 0');
    expect(Number(resumed[1]!.split(' ').pop())).toBeGreaterThanOrEqual(2);
  });

  it('fails an interrupted job without RetryStrategy: "interrupted by a server restart"', async () => {
    const { dir, first } = await startJob('restart-fail', {
      HyperParameters: { mode: 'slow-steps', steps: '20' },
    });
    await waitForLog(dir, 'restart-fail', 'step 1');
    await killServer(first.child);
    killJobTree('restart-fail');
    await new Promise((r) => setTimeout(r, 300));
    const server = await restart(dir);
    const sm = new SageMakerClient(sdkConfig(server));
    const d = await waitForJob(sm, 'restart-fail');
    sm.destroy();
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toBe(
      'InternalServerError: the training job was interrupted by a server restart (set RetryStrategy to resume such jobs from their checkpoint)',
    );
  });

  it('never leaves a Pipe-mode job blocked on its pipe after a crash: the trainer is stopped and the job retried from its checkpoint', async () => {
    const dir0 = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-restart-'));
    const first = await serveInChild(dir0);
    open.push({ child: first.child, dir: dir0 });
    const { sm: sm0, s3 } = clients(first.url);
    await s3.send(new CreateBucketCommand({ Bucket: 'restart' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'restart', Key: 'pipe/data.txt', Body: 'bees in a pipe' }),
    );
    await sm0.send(
      new CreateTrainingJobCommand(
        baseJob('restart-pipe', 'restart', {
          HyperParameters: { mode: 'pipe-epochs', epochs: '3', pause: '1' },
          AlgorithmSpecification: { TrainingImage: TEST_IMAGE, TrainingInputMode: 'Pipe' },
          InputDataConfig: [
            {
              ChannelName: 'train',
              DataSource: {
                S3DataSource: {
                  S3DataType: 'S3Prefix',
                  S3Uri: 's3://restart/pipe/',
                  S3DataDistributionType: 'FullyReplicated',
                },
              },
            },
          ],
          RetryStrategy: { MaximumRetryAttempts: 1 },
        }) as unknown as CreateTrainingJobCommandInput,
      ),
    );
    sm0.destroy();
    s3.destroy();
    await waitForLog(dir0, 'restart-pipe', 'pipe epoch 0 bytes=14');
    await killServer(first.child);
    const server = await restart(dir0);
    const sm = new SageMakerClient(sdkConfig(server));
    const d = await waitForJob(sm, 'restart-pipe');
    sm.destroy();
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    expect(d.SecondaryStatusTransitions?.[3]?.StatusMessage).toContain(
      'its Pipe-mode input cannot be resumed mid-stream, so the trainer was stopped',
    );
    const log = await logOf(server, 'restart-pipe');
    expect(log.filter((l) => l.startsWith('pipe epoch 2'))).toEqual(['pipe epoch 2 bytes=14']);
  });
});
