/**
 * Labeling benchmarks (not tests): next-task latency with 10,000 objects in a job, over real HTTP
 * with a signed-in worker; consolidating 10,000 objects × 3 workers. Prints measured numbers next
 * to the targets of issue #6. Run: npx tsx bench/labeling/bench.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiary } from '../../src/api/server.js';
import { loadSettings } from '../../src/config/index.js';
import { consolidateBoxJob } from '../../src/labeling/index.js';
import { seededRandom } from '../../src/shared/random.js';

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 10_000);
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 300);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function nextTaskBench() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-labeling-'));
  const apiary = await createApiary(
    loadSettings({ APIARY_LOG_LEVEL: 'silent' }, { port: 0, host: '127.0.0.1', dataDir }),
  );
  const url = await apiary.listen();
  try {
    await apiary.objects.createBucket('bench');
    const lines = Array.from({ length: OBJECTS }, (_, i) =>
      JSON.stringify({ 'source-ref': `s3://bench/images/${i}.jpg` }),
    ).join('\n');
    await apiary.objects.putObject('bench', 'input.manifest', lines);
    await apiary.objects.putObject(
      'bench',
      'labels.json',
      JSON.stringify({ labels: [{ label: 'bee' }] }),
    );
    const workers = ['w1', 'w2', 'w3'];
    for (const w of workers)
      await apiary.identity.createUser({
        username: w,
        password: `${w}-password`,
        role: 'worker',
        groups: ['bench'],
      });
    const team = await apiary.labeling.workteams.create({
      name: 'bench',
      description: 'bench',
      memberGroups: ['bench'],
      request: {},
    });
    const t0 = performance.now();
    await apiary.labeling.createJob({
      name: 'bench-job',
      labelAttributeName: 'boxes',
      manifestUri: 's3://bench/input.manifest',
      outputPath: 's3://bench/out',
      labelCategoryConfigUri: 's3://bench/labels.json',
      workteamArn: team.arn,
      uiTemplateUri: undefined,
      humanTaskUiArn: 'arn:aws:sagemaker:us-east-1:000000000000:human-task-ui/apiary-bounding-box',
      preHumanTaskLambdaArn: undefined,
      consolidationLambdaArn: undefined,
      taskTitle: 'bench',
      taskDescription: 'bench',
      workersPerObject: 3,
      taskTimeLimitSeconds: 300,
      availabilityLifetimeSeconds: undefined,
      maxConcurrentTaskCount: 5000,
      maxHumanLabeledObjectCount: undefined,
      maxPercentageOfInputDatasetLabeled: undefined,
      request: {},
      tags: [],
    });
    while ((await apiary.labeling.getJob('bench-job')).status === 'Initializing')
      await apiary.labeling.tick();
    const initMs = performance.now() - t0;

    const sessions = [];
    for (const w of workers) {
      const res = await fetch(`${url}/_apiary/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: w, password: `${w}-password` }),
      });
      sessions.push({
        cookie: res.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; '),
        csrf: ((await res.json()) as { csrfToken: string }).csrfToken,
      });
    }
    const times: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const s = sessions[i % sessions.length]!;
      const headers = {
        cookie: s.cookie,
        'x-apiary-csrf': s.csrf,
        'content-type': 'application/json',
      };
      const a = performance.now();
      const r = await fetch(`${url}/_apiary/api/labeling/jobs/bench-job/next`, {
        method: 'POST',
        headers,
        body: '{}',
      });
      const { task } = (await r.json()) as { task: { taskId: string; version: number } };
      times.push(performance.now() - a);
      await fetch(`${url}/_apiary/api/labeling/tasks/${task.taskId}/submit`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          version: task.version,
          submissionId: `bench-${i}-submission`,
          answer: {
            imageWidth: 640,
            imageHeight: 480,
            boxes: [{ label: 'bee', left: 10, top: 10, width: 50, height: 40 }],
          },
        }),
      });
    }
    return { initMs, p50: pct(times, 50), p95: pct(times, 95), max: Math.max(...times) };
  } finally {
    await apiary.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function consolidationBench() {
  const rnd = seededRandom(7);
  const objects = Array.from({ length: OBJECTS }, () => {
    const truth = Array.from({ length: 1 + Math.floor(rnd.next() * 8) }, () => ({
      left: rnd.next() * 3000,
      top: rnd.next() * 2000,
      width: 50 + rnd.next() * 300,
      height: 50 + rnd.next() * 300,
    }));
    return ['a', 'b', 'c'].map((workerId) => ({
      workerId,
      boxes: truth
        .filter(() => rnd.next() > 0.1)
        .map((t) => ({
          label: 'bee',
          left: t.left + (rnd.next() - 0.5) * 20,
          top: t.top + (rnd.next() - 0.5) * 20,
          width: t.width * (0.9 + rnd.next() * 0.2),
          height: t.height * (0.9 + rnd.next() * 0.2),
        })),
    }));
  });
  const t0 = performance.now();
  const out = consolidateBoxJob(objects);
  const ms = performance.now() - t0;
  return { ms, boxes: out.reduce((s, o) => s + o.length, 0) };
}

const c = consolidationBench();
const n = await nextTaskBench();
const row = (what: string, measured: string, limit: string, ratio: number) =>
  `| ${what} | ${measured} | ${limit} | ${ratio.toFixed(3)} |`;
console.log(
  `\nLabeling bench (${os.cpus().length} CPUs, node ${process.version}, ${OBJECTS} objects × 3 workers)\n`,
);
console.log('| measurement | measured | target | measured / target |');
console.log('|---|---|---|---|');
console.log(
  row(
    `next-task p95 over HTTP (${CLAIMS} claims, signed-in workers)`,
    `${n.p95.toFixed(1)} ms (p50 ${n.p50.toFixed(1)}, max ${n.max.toFixed(1)})`,
    '150 ms',
    n.p95 / 150,
  ),
);
console.log(
  row(
    `consolidate ${OBJECTS} objects × 3 workers (${c.boxes} boxes out)`,
    `${c.ms.toFixed(0)} ms`,
    '5000 ms',
    c.ms / 5000,
  ),
);
console.log(
  row(
    `initialize the job (read manifest, ${OBJECTS} objects, ${OBJECTS * 3} slots)`,
    `${n.initMs.toFixed(0)} ms`,
    '—',
    NaN,
  ),
);
