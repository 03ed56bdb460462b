import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateNotebookInstanceCommand,
  CreatePresignedNotebookInstanceUrlCommand,
  DescribeNotebookInstanceCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { afterAll, describe, expect, it } from 'vitest';
import { serveInChild as serveChild } from './helpers/child-server.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const KEY = 'APIARYNBRESTART0001';
const SECRET = 'notebook-restart-secret-0123456789abcdef';
const ROLE = 'arn:aws:iam::000000000000:role/SageMakerRole';

let child: ChildProcess | undefined;
let server: TestServer | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-nb-restart-'));

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serveInChild(): Promise<string> {
  const started = await serveChild({
    dataDir: dir,
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
  });
  child = started.child;
  return started.url;
}

const client = (url: string) =>
  new SageMakerClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
  });

async function waitStatus(sm: SageMakerClient, name: string, want: string): Promise<void> {
  for (;;) {
    const d = await sm.send(new DescribeNotebookInstanceCommand({ NotebookInstanceName: name }));
    if (d.NotebookInstanceStatus === want) return;
    if (d.NotebookInstanceStatus === 'Failed') throw new Error(`Failed: ${d.FailureReason}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills an instance's JupyterLab (its whole process group), as a reboot of the machine would. */
function killInstance(name: string): void {
  for (const pid of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (
        !fs
          .readFileSync(`/proc/${pid}/environ`, 'latin1')
          .split('\0')
          .includes(`NOTEBOOK_INSTANCE_NAME=${name}`)
      )
        continue;
      const pgid = Number(
        fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2],
      );
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone or not ours */
    }
  }
}

describe('notebook instances across a kill -9 of Apiary', () => {
  it('finds a still-running JupyterLab again, marks one whose process is gone Stopped, and keeps both volumes', async () => {
    const first = client(await serveInChild());
    for (const name of ['nb-lives', 'nb-dies']) {
      await first.send(
        new CreateNotebookInstanceCommand({
          NotebookInstanceName: name,
          InstanceType: 'ml.t3.medium',
          RoleArn: ROLE,
        }),
      );
    }
    await waitStatus(first, 'nb-lives', 'InService');
    await waitStatus(first, 'nb-dies', 'InService');
    first.destroy();
    const exited = new Promise((r) => child!.once('exit', r));
    child!.kill('SIGKILL');
    await exited;
    killInstance('nb-dies');

    server = await startTestServer({
      dataDir: dir,
      rootAccessKeyId: KEY,
      rootSecretAccessKey: SECRET,
    });
    const sm = client(server.url);
    const lives = await sm.send(
      new DescribeNotebookInstanceCommand({ NotebookInstanceName: 'nb-lives' }),
    );
    expect(lives.NotebookInstanceStatus).toBe('InService');
    const dies = await sm.send(
      new DescribeNotebookInstanceCommand({ NotebookInstanceName: 'nb-dies' }),
    );
    expect(dies.NotebookInstanceStatus).toBe('Stopped');
    // The survivor still answers through the new server's proxy; both volumes hold the tutorial.
    const { AuthorizedUrl } = await sm.send(
      new CreatePresignedNotebookInstanceUrlCommand({ NotebookInstanceName: 'nb-lives' }),
    );
    const redirect = await fetch(AuthorizedUrl!, { redirect: 'manual' });
    const cookie = redirect.headers.get('set-cookie')!.split(';')[0]!;
    const contents = await fetch(`${server.url}/_apiary/notebooks/nb-lives/api/contents`, {
      headers: { cookie },
    });
    expect(contents.status).toBe(200);
    const volumes = fs
      .readdirSync(path.join(dir, 'notebooks'))
      .map((d) => fs.readdirSync(path.join(dir, 'notebooks', d, 'volume')));
    expect(volumes).toEqual([['bee-tutorial.ipynb'], ['bee-tutorial.ipynb']]);
    sm.destroy();
  }, 120_000);
});
