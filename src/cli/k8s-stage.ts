import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import * as tar from 'tar';

/**
 * `apiary k8s-stage fetch|upload-on-exit`: the two steps Apiary's image runs inside a Kubernetes
 * training pod (see src/training/executors/kubernetes/job-spec.ts). They talk to Apiary only
 * through the signed URLs in their environment; the pod holds no other credential.
 */
export function registerK8sStageCommands(program: Command): void {
  const cmd = program
    .command('k8s-stage')
    .description(
      'steps of a training pod under APIARY_EXECUTOR=kubernetes (run by the pod, not by people)',
    );

  cmd
    .command('fetch')
    .description(
      "init step: fetch the job's staged /opt/ml and write this host's resourceconfig.json",
    )
    .action(async () => {
      const root = process.env.APIARY_ML_ROOT ?? '/opt/ml';
      const res = await fetchWithRetry(need('APIARY_STAGE_URL'), { method: 'GET' });
      await pipeline(
        Readable.fromWeb(res.body! as never),
        tar.extract({ cwd: root, strict: true }) as unknown as NodeJS.WritableStream,
      );
      const hosts = JSON.parse(process.env.APIARY_SM_HOSTS ?? '[]') as string[];
      const index = Number(process.env.JOB_COMPLETION_INDEX ?? '0');
      const current = hosts[index] ?? hosts[0] ?? 'algo-1';
      const config = path.join(root, 'input', 'config');
      fs.mkdirSync(config, { recursive: true });
      fs.writeFileSync(
        path.join(config, 'resourceconfig.json'),
        JSON.stringify({ current_host: current, hosts, network_interface_name: 'eth0' }),
      );
      for (const d of ['model', 'output', 'output/data', 'checkpoints'])
        fs.mkdirSync(path.join(root, d), { recursive: true });
      process.stdout.write(`staged /opt/ml for ${current}\n`);
    });

  cmd
    .command('upload-on-exit')
    .description(
      'sidecar: when the training container has ended (SIGTERM), send /opt/ml/model and /opt/ml/output back',
    )
    .action(async () => {
      const root = process.env.APIARY_ML_ROOT ?? '/opt/ml';
      // SageMaker keeps the first host's model; the other hosts of a distributed job upload nothing.
      const first = Number(process.env.JOB_COMPLETION_INDEX ?? '0') === 0;
      await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
      if (!first) return;
      const dirs = ['model', 'output'].filter((d) => fs.existsSync(path.join(root, d)));
      // tar's stream is a Minipass: wrapped in a real stream.Readable for Readable.toWeb.
      const body = Readable.from(tar.create({ cwd: root, portable: true }, dirs), {
        objectMode: false,
      });
      const res = await fetchWithRetry(need('APIARY_UPLOAD_URL'), {
        method: 'PUT',
        headers: { 'content-type': 'application/x-tar' },
        body: Readable.toWeb(body) as never,
        duplex: 'half',
      } as RequestInit);
      process.stdout.write(`outputs sent (${res.status})\n`);
    });
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (this command runs inside an Apiary training pod)`);
  return v;
}

async function fetchWithRetry(url: string, init: RequestInit): Promise<Response> {
  let last: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      const res = await fetch(url, init);
      if (res.ok) return res;
      last = new Error(
        `${init.method} ${new URL(url).pathname.split('/').slice(0, 4).join('/')}/…: HTTP ${res.status} ${await res.text()}`,
      );
      if (res.status < 500) break;
    } catch (err) {
      last = err;
      if (init.body) break; // a streamed body cannot be sent twice
    }
    await new Promise((r) => setTimeout(r, 1000 * 2 ** i));
  }
  throw last;
}
