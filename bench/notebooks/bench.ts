/**
 * Notebook instance benchmark (never a test):
 *
 *   npx tsx bench/notebooks/bench.ts [--instances 3]
 *
 * 1. CreateNotebookInstance → InService and StartNotebookInstance → InService, seconds, against the
 *    same JupyterLab started by hand (no sandbox, no Apiary) until its /api/status answers: the
 *    ratio is what Apiary adds. (SageMaker itself takes minutes for either.)
 * 2. Memory an idle instance holds: the proportional set size (PSS) of its process tree
 *    (bwrap + JupyterLab), idle, and again with one idle conda_python3 kernel started.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  CreateNotebookInstanceCommand,
  DescribeNotebookInstanceCommand,
  SageMakerClient,
  StartNotebookInstanceCommand,
  StopNotebookInstanceCommand,
} from '@aws-sdk/client-sagemaker';
import { createApiary } from '../../src/api/server.js';
import { loadSettings } from '../../src/config/index.js';
import { APIARY_ROOT } from '../../src/shared/index.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('instances', 3);
const ROLE = 'arn:aws:iam::000000000000:role/SageMakerRole';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** PSS of a process and all its descendants (bwrap, JupyterLab, its kernels), in MiB. */
function treePssMiB(root: number): number {
  const parent = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited */
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p))
      if (p === root) return true;
    return false;
  };
  let kb = 0;
  for (const pid of parent.keys()) {
    if (!inTree(pid)) continue;
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return kb / 1024;
}

function get(
  socketPath: string | undefined,
  port: number | undefined,
  urlPath: string,
  token: string,
  method = 'GET',
  body?: string,
): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        socketPath,
        port,
        host: '127.0.0.1',
        path: urlPath,
        method,
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function byHand(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-bench-hand-'));
  const token = 'bench-token';
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t0 = performance.now();
  const child = spawn(
    path.join(APIARY_ROOT, '.venv-notebook', 'bin', 'python'),
    [
      '-m',
      'jupyterlab',
      '--no-browser',
      `--port=${port}`,
      '--ip=127.0.0.1',
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${dir}`,
      '--allow-root',
    ],
    { stdio: 'ignore', env: { ...process.env, HOME: dir } },
  );
  while ((await get(undefined, port, '/api/status', token)) !== 200) await sleep(50);
  const s = (performance.now() - t0) / 1000;
  child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
  return s;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-bench-'));
const apiary = await createApiary(
  loadSettings({ APIARY_LOG_LEVEL: 'silent' }, { port: 0, host: '127.0.0.1', dataDir }),
);
const url = await apiary.listen();
const sm = new SageMakerClient({
  endpoint: url,
  region: 'us-east-1',
  credentials: {
    accessKeyId: apiary.credentials.accessKeyId,
    secretAccessKey: apiary.credentials.secretAccessKey,
  },
});
async function until(name: string, status: string): Promise<void> {
  for (;;) {
    const d = await sm.send(new DescribeNotebookInstanceCommand({ NotebookInstanceName: name }));
    if (d.NotebookInstanceStatus === status) return;
    if (d.NotebookInstanceStatus === 'Failed') throw new Error(d.FailureReason);
    await sleep(50);
  }
}
try {
  const hand: number[] = [];
  const create: number[] = [];
  const start: number[] = [];
  for (let i = 0; i < N; i++) {
    hand.push(await byHand());
    const name = `bench-${i}`;
    let t0 = performance.now();
    await sm.send(
      new CreateNotebookInstanceCommand({
        NotebookInstanceName: name,
        InstanceType: 'ml.t3.medium',
        RoleArn: ROLE,
      }),
    );
    await until(name, 'InService');
    create.push((performance.now() - t0) / 1000);
    await sm.send(new StopNotebookInstanceCommand({ NotebookInstanceName: name }));
    await until(name, 'Stopped');
    t0 = performance.now();
    await sm.send(new StartNotebookInstanceCommand({ NotebookInstanceName: name }));
    await until(name, 'InService');
    start.push((performance.now() - t0) / 1000);
  }
  await sleep(3000); // let the servers settle to idle
  const recs = await Promise.all(
    Array.from({ length: N }, (_, i) => apiary.notebooks.instances.get(`bench-${i}`)),
  );
  const idle = recs.map((r) => treePssMiB(r.process!.pid));
  const target = (await apiary.notebooks.target('bench-0'))!;
  await get(
    target.socket,
    undefined,
    '/_apiary/notebooks/bench-0/api/kernels',
    target.token,
    'POST',
    JSON.stringify({ name: 'conda_python3' }),
  );
  await sleep(4000);
  const withKernel = treePssMiB(recs[0]!.process!.pid);
  const h = median(hand);
  console.log(`notebook instances (${N}, ${os.cpus().length} cores)`);
  console.log(`  JupyterLab by hand → /api/status 200   median ${h.toFixed(2)} s`);
  console.log(
    `  CreateNotebookInstance → InService     median ${median(create).toFixed(2)} s  (${(median(create) / h).toFixed(2)}× by hand)  all: ${create.map((x) => x.toFixed(2)).join(', ')}`,
  );
  console.log(
    `  StartNotebookInstance → InService      median ${median(start).toFixed(2)} s  (${(median(start) / h).toFixed(2)}× by hand)  all: ${start.map((x) => x.toFixed(2)).join(', ')}`,
  );
  console.log(
    `  memory per idle instance (PSS)         median ${median(idle).toFixed(0)} MiB  all: ${idle.map((x) => x.toFixed(0)).join(', ')}`,
  );
  console.log(`  … with one idle conda_python3 kernel   ${withKernel.toFixed(0)} MiB`);
} finally {
  sm.destroy();
  await apiary.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
