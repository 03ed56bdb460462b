/**
 * Training overhead benchmark (never a test): what running a job through Apiary costs over running
 * the same trainer by hand, measured side by side in one run.
 *
 *   npx tsx bench/training-overhead/bench.ts [--images 500] [--epochs 2] [--train 16]
 *
 * 1. CreateTrainingJob → the algorithm's first log line, for a trivial algorithm (pure platform
 *    overhead) and for the built-in trainer, against starting the same process directly.
 *    Target: ≤ 1 s of overhead.
 * 2. A whole small object-detection job (File mode, mobilenet-v3, 64 px) through Apiary vs the
 *    trainer run directly on the same staged data. Target: ≤ 1.05× + 2 s.
 * 3. Staging N images from the object store into a channel folder (hard links in the sandbox,
 *    reflink/copy without it) vs a plain recursive file copy of the same files. Target ≥ 50 %.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  SageMakerClient,
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { createApiary } from '../../src/api/server.js';
import { loadSettings } from '../../src/config/index.js';
import { REPO_ROOT } from '../../src/training/index.js';
import { stageFileChannel } from '../../src/training/channels.js';
import { specFromRequest } from '../../src/training/spec.js';

const execFileP = promisify(execFile);
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const IMAGES = arg('images', 500);
const EPOCHS = arg('epochs', 2);
const TRAIN = arg('train', 16);
const PY = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const ALG = path.join(REPO_ROOT, 'algorithms', 'object-detection');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-training-'));
const rows: string[][] = [];
const row = (...c: (string | number)[]) => rows.push(c.map(String));
const s = (ms: number) => (ms / 1000).toFixed(2);

async function main() {
  const dataDir = path.join(work, 'data');
  const settings = loadSettings(
    { APIARY_LOG_LEVEL: 'silent' },
    { port: 0, host: '127.0.0.1', dataDir, maxRunningTrainingJobs: 1 },
  );
  const apiary = await createApiary(settings);
  const url = await apiary.listen();
  const sm = new SageMakerClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: {
      accessKeyId: apiary.credentials.accessKeyId,
      secretAccessKey: apiary.credentials.secretAccessKey,
    },
  });
  const sandbox = apiary.settings.sandbox;
  try {
    await apiary.objects.createBucket('bench');

    // ---- data: generated bees (manifest layout), uploaded into the store ----------------------
    const gen = path.join(work, 'bees');
    await execFileP(
      PY,
      [
        '-m',
        'apiary_od.synthetic',
        '--out',
        gen,
        '--n',
        String(Math.max(IMAGES, TRAIN + 4)),
        '--test',
        '0',
        '--seed',
        '0',
        '--size',
        '64',
        '--bucket-uri',
        's3://bench/images/',
        '--validation',
        '4',
      ],
      {
        env: { ...process.env, PYTHONPATH: ALG },
      },
    );
    const imageFiles = fs.readdirSync(path.join(gen, 'images')).sort();
    for (const f of imageFiles)
      await apiary.objects.putObject(
        'bench',
        `images/${f}`,
        fs.readFileSync(path.join(gen, 'images', f)),
      );
    const lines = fs
      .readFileSync(path.join(gen, 'train.manifest'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, TRAIN);
    const val = fs.readFileSync(path.join(gen, 'validation.manifest'), 'utf8').trim().split('\n');
    await apiary.objects.putObject('bench', 'manifests/train.manifest', lines.join('\n') + '\n');
    await apiary.objects.putObject('bench', 'manifests/validation.manifest', val.join('\n') + '\n');

    const waitFor = async (
      name: string,
      pred: (d: { TrainingJobStatus?: string; SecondaryStatus?: string }) => boolean,
      poll = 50,
    ) => {
      for (;;) {
        const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
        if (pred(d)) return d;
        if (d.TrainingJobStatus === 'Failed') throw new Error(`${name} failed: ${d.FailureReason}`);
        await new Promise((r) => setTimeout(r, poll));
      }
    };
    const firstLine = (name: string, pred: (m: string) => boolean) =>
      new Promise<number>((resolve) => {
        const on = (e: { jobName: string; line: { message: string } }) => {
          if (e.jobName === name && pred(e.line.message)) {
            apiary.training.events.off('log', on);
            resolve(performance.now());
          }
        };
        apiary.training.events.on('log', on);
      });
    const job = (name: string, image: string, channels: unknown[], hps: Record<string, string>) =>
      ({
        TrainingJobName: name,
        RoleArn: 'arn:aws:iam::000000000000:role/r',
        AlgorithmSpecification: { TrainingImage: image, TrainingInputMode: 'File' },
        HyperParameters: hps,
        ...(channels.length ? { InputDataConfig: channels } : {}),
        OutputDataConfig: { S3OutputPath: 's3://bench/output' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      }) as unknown as CreateTrainingJobCommandInput;

    // ---- 1a. trivial algorithm: create → first line vs spawn → first line ----------------------
    await apiary.training.registerImage('bench/echo:1', ['/bin/echo', 'hello from the algorithm']);
    const trivialApiary: number[] = [];
    const trivialDirect: number[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `echo-${i}`;
      const seen = firstLine(name, (m) => m === 'hello from the algorithm');
      const t0 = performance.now();
      await sm.send(new CreateTrainingJobCommand(job(name, 'bench/echo:1', [], {})));
      trivialApiary.push((await seen) - t0);
      await waitFor(name, (d) => d.TrainingJobStatus === 'Completed');
      const t1 = performance.now();
      await execFileP('/bin/echo', ['hello']);
      trivialDirect.push(performance.now() - t1);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    row(
      'create → first log line, trivial algorithm (median of 5)',
      s(med(trivialApiary)),
      s(med(trivialDirect)),
      `+${s(med(trivialApiary) - med(trivialDirect))} s`,
      '≤ 1 s overhead',
    );

    // ---- staged data for the direct runs ----------------------------------------------------------
    const direct = path.join(work, 'direct');
    const mk = (d: string) => fs.mkdirSync(d, { recursive: true });
    for (const ch of ['train', 'validation']) {
      mk(path.join(direct, 'input', 'data', ch));
      const src = ch === 'train' ? lines : val;
      fs.writeFileSync(
        path.join(direct, 'input', 'data', ch, `${ch}.manifest`),
        src.join('\n') + '\n',
      );
      for (const l of src) {
        const key = (JSON.parse(l) as { 'source-ref': string })['source-ref'].replace(
          's3://bench/',
          '',
        );
        mk(path.dirname(path.join(direct, 'input', 'data', ch, key)));
        fs.copyFileSync(
          path.join(gen, 'images', path.basename(key)),
          path.join(direct, 'input', 'data', ch, key),
        );
      }
    }
    const hps = {
      base_network: 'mobilenet-v3',
      use_pretrained_model: '0',
      num_classes: '1',
      num_training_samples: String(TRAIN),
      epochs: String(EPOCHS),
      mini_batch_size: '8',
      image_shape: '64',
    };
    const chan = (name: string, key: string) => ({
      ChannelName: name,
      DataSource: {
        S3DataSource: {
          S3DataType: 'AugmentedManifestFile',
          S3Uri: `s3://bench/${key}`,
          AttributeNames: ['source-ref', 'bounding-box'],
        },
      },
      ContentType: 'application/x-recordio',
      InputMode: 'File',
    });
    mk(path.join(direct, 'input', 'config'));
    fs.writeFileSync(
      path.join(direct, 'input', 'config', 'hyperparameters.json'),
      JSON.stringify(hps),
    );
    fs.writeFileSync(
      path.join(direct, 'input', 'config', 'inputdataconfig.json'),
      JSON.stringify({
        train: {
          TrainingInputMode: 'File',
          S3DataType: 'AugmentedManifestFile',
          AttributeNames: ['source-ref', 'bounding-box'],
        },
        validation: {
          TrainingInputMode: 'File',
          S3DataType: 'AugmentedManifestFile',
          AttributeNames: ['source-ref', 'bounding-box'],
        },
      }),
    );
    const runDirect = () =>
      new Promise<{ first: number; total: number }>((resolve, reject) => {
        fs.rmSync(path.join(direct, 'model'), { recursive: true, force: true });
        fs.rmSync(path.join(direct, 'checkpoints'), { recursive: true, force: true });
        mk(path.join(direct, 'model'));
        const t0 = performance.now();
        let first = 0;
        const p = spawn(PY, ['-m', 'apiary_od.train', '--ml-root', direct], {
          env: { ...process.env, PYTHONPATH: ALG, PYTHONUNBUFFERED: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        p.stdout.on('data', () => (first ||= performance.now() - t0));
        p.on('exit', (code) =>
          code === 0
            ? resolve({ first, total: performance.now() - t0 })
            : reject(new Error(`direct trainer exited ${code}`)),
        );
      });

    // ---- 1b + 2. the built-in trainer through Apiary vs directly, interleaved --------------------
    // Completion comes from the context's status events: no Describe polling competes for the CPU.
    const completed = (name: string) =>
      new Promise<number>((resolve, reject) => {
        const on = (r: { name: string; status: string; failureReason?: string }) => {
          if (r.name !== name || !['Completed', 'Failed', 'Stopped'].includes(r.status)) return;
          apiary.training.events.off('status', on);
          if (r.status === 'Completed') resolve(performance.now());
          else reject(new Error(`${name}: ${r.status} ${r.failureReason ?? ''}`));
        };
        apiary.training.events.on('status', on);
      });
    const runApiary = async (name: string) => {
      const seen = firstLine(name, (m) => !m.startsWith('Apiary'));
      const done = completed(name);
      const t0 = performance.now();
      await sm.send(
        new CreateTrainingJobCommand(
          job(
            name,
            'object-detection',
            [
              chan('train', 'manifests/train.manifest'),
              chan('validation', 'manifests/validation.manifest'),
            ],
            hps,
          ),
        ),
      );
      return { first: (await seen) - t0, total: (await done) - t0 };
    };
    const directRuns = [await runDirect()];
    const apiaryRuns = [await runApiary('od-job-1')];
    directRuns.push(await runDirect());
    apiaryRuns.push(await runApiary('od-job-2'));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const directTotal = mean(directRuns.map((r) => r.total));
    const directFirst = mean(directRuns.map((r) => r.first));
    const viaApiary = mean(apiaryRuns.map((r) => r.total));
    const firstOd = mean(apiaryRuns.map((r) => r.first));
    const each = (rs: { total: number }[]) => rs.map((r) => s(r.total)).join('/');
    row(
      'create → first log line, built-in trainer (mean of 2)',
      s(firstOd),
      s(directFirst),
      `+${s(firstOd - directFirst)} s`,
      '≤ 1 s overhead',
    );
    row(
      `whole job: ${TRAIN} images, ${EPOCHS} epochs, mobilenet-v3 64 px (runs ${each(apiaryRuns)} vs ${each(directRuns)})`,
      s(viaApiary),
      s(directTotal),
      `${(viaApiary / directTotal).toFixed(3)}× (limit ${((1.05 * directTotal + 2000) / directTotal).toFixed(3)}×)`,
      '≤ 1.05× + 2 s',
    );

    // ---- 3. staging N images vs a plain copy ------------------------------------------------------
    const n = Math.min(IMAGES, imageFiles.length);
    const srcDir = path.join(work, 'copy-src');
    mk(srcDir);
    for (const f of imageFiles.slice(0, n))
      fs.copyFileSync(path.join(gen, 'images', f), path.join(srcDir, f));
    await apiary.objects.putObject('bench', 'staging/keep', 'x');
    for (const f of imageFiles.slice(n)) await apiary.objects.deleteObject('bench', `images/${f}`);
    const spec = specFromRequest({
      TrainingJobName: 'x',
      AlgorithmSpecification: { TrainingImage: 'object-detection' },
      OutputDataConfig: { S3OutputPath: 's3://bench/o' },
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://bench/images/' } },
        },
      ],
    });
    const ch = spec.channels[0]!;
    const timeIt = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    const results: Record<string, number[]> = { link: [], copy: [], plain: [] };
    for (let i = 0; i < 3; i++) {
      const dst = (k: string) => path.join(work, `stage-${k}-${i}`);
      results.plain!.push(
        await timeIt(() => fs.promises.cp(srcDir, dst('plain'), { recursive: true })),
      );
      results.link!.push(
        await timeIt(() => stageFileChannel(apiary.objects, ch, dst('link'), { link: true })),
      );
      results.copy!.push(
        await timeIt(() => stageFileChannel(apiary.objects, ch, dst('copy'), { link: false })),
      );
    }
    const plain = med(results.plain!);
    row(
      `staging ${n} images, sandbox (hard links) vs plain copy (median of 3)`,
      s(med(results.link!)),
      s(plain),
      `${((plain / med(results.link!)) * 100).toFixed(0)} % of copy speed`,
      '≥ 50 %',
    );
    row(
      `staging ${n} images, no sandbox (reflink/copy) vs plain copy`,
      s(med(results.copy!)),
      s(plain),
      `${((plain / med(results.copy!)) * 100).toFixed(0)} % of copy speed`,
      '≥ 50 %',
    );
  } finally {
    sm.destroy();
    await apiary.close();
  }
  const header = ['measure', 'Apiary (s)', 'peer (s)', 'ratio / overhead', 'target'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  process.stdout.write(
    `\ntraining overhead — ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, sandbox ${sandbox}\n`,
  );
  for (const r of all)
    process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(work, { recursive: true, force: true }));
